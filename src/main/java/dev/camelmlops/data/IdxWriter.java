package dev.camelmlops.data;

import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.zip.GZIPOutputStream;

/** Writes IDX files (plain, or gzip when the name ends in .gz); returns the written file's SHA-256. */
public final class IdxWriter {
    private IdxWriter() {
    }

    public static String writeImages(Path file, byte[] pixels, int rows, int cols) {
        return writeImages(file, pixels, rows, cols, 1);
    }

    /** Grey images as IDX 2051 [n,rows,cols]; with more channels IDX 2052 [n,rows,cols,channels]. */
    public static String writeImages(Path file, byte[] pixels, int rows, int cols, int channels) {
        int count = pixels.length / (rows * cols * channels);
        return write(file, out -> {
            out.writeInt(channels == 1 ? IdxReader.IMAGES_MAGIC : IdxReader.IMAGES4_MAGIC);
            out.writeInt(count);
            out.writeInt(rows);
            out.writeInt(cols);
            if (channels != 1) {
                out.writeInt(channels);
            }
            out.write(pixels);
        });
    }

    public static String writeImages(Path file, Dataset d) {
        return writeImages(file, d.pixels(), d.rows(), d.cols(), d.channels());
    }

    public static String writeLabels(Path file, byte[] labels) {
        return write(file, out -> {
            out.writeInt(IdxReader.LABELS_MAGIC);
            out.writeInt(labels.length);
            out.write(labels);
        });
    }

    interface Body {
        void write(DataOutputStream out) throws IOException;
    }

    static String write(Path file, Body body) {
        try {
            if (file.getParent() != null) {
                Files.createDirectories(file.getParent());
            }
            MessageDigest digest = Sha256.newDigest();
            OutputStream raw = new BufferedOutputStream(new DigestOutputStream(Files.newOutputStream(file), digest),
                    1 << 16);
            if (file.getFileName().toString().endsWith(".gz")) {
                raw = new GZIPOutputStream(raw, 1 << 16);
            }
            try (DataOutputStream out = new DataOutputStream(raw)) {
                body.write(out);
            }
            return Sha256.hex(digest.digest());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }
}
