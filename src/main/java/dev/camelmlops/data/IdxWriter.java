package dev.camelmlops.data;

import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;

/** Writes IDX files (plain, or gzip when the name ends in .gz). */
public final class IdxWriter {
    private IdxWriter() {
    }

    public static void writeImages(Path file, byte[] pixels, int rows, int cols) {
        int count = pixels.length / (rows * cols);
        write(file, out -> {
            out.writeInt(IdxReader.IMAGES_MAGIC);
            out.writeInt(count);
            out.writeInt(rows);
            out.writeInt(cols);
            out.write(pixels);
        });
    }

    public static void writeLabels(Path file, byte[] labels) {
        write(file, out -> {
            out.writeInt(IdxReader.LABELS_MAGIC);
            out.writeInt(labels.length);
            out.write(labels);
        });
    }

    interface Body {
        void write(DataOutputStream out) throws IOException;
    }

    static void write(Path file, Body body) {
        try {
            if (file.getParent() != null) {
                Files.createDirectories(file.getParent());
            }
            OutputStream raw = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16);
            if (file.getFileName().toString().endsWith(".gz")) {
                raw = new GZIPOutputStream(raw, 1 << 16);
            }
            try (DataOutputStream out = new DataOutputStream(raw)) {
                body.write(out);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }
}
