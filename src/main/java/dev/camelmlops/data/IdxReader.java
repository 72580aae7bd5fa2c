package dev.camelmlops.data;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Reads and validates IDX files (the MNIST format), gzip-compressed or plain: magic numbers
 * (2051 grey images [n,rows,cols], 2052 images with channels [n,rows,cols,channels], 2049 labels),
 * image dimensions against the dataset's, declared counts against the bytes present (a truncated
 * file is an error, so is trailing garbage), labels below the number of classes.
 */
public final class IdxReader {
    /** Unsigned bytes, 3 dimensions: grey images. */
    public static final int IMAGES_MAGIC = 2051;
    /** Unsigned bytes, 4 dimensions: images with a channel dimension last (RGB). */
    public static final int IMAGES4_MAGIC = 2052;
    public static final int LABELS_MAGIC = 2049;
    /** Guard against absurd headers allocating gigabytes before the truncation is noticed. */
    private static final long MAX_BYTES = Integer.MAX_VALUE - 16;

    private final int expectedRows;
    private final int expectedCols;
    private final int expectedChannels;
    private final int classes;

    public IdxReader(int expectedRows, int expectedCols, int expectedChannels, int classes) {
        this.expectedRows = expectedRows;
        this.expectedCols = expectedCols;
        this.expectedChannels = expectedChannels;
        this.classes = classes;
    }

    public static IdxReader of(DatasetSpec spec) {
        return new IdxReader(spec.height(), spec.width(), spec.channels(), spec.classCount());
    }

    public static IdxReader fashionMnist() {
        return of(DatasetSpec.FASHION_MNIST);
    }

    /** Is this an IDX images magic number (either form)? */
    /**
     * A reader that takes the image shape from each file's header (files this program wrote
     * itself, such as stored batches), and accepts labels 0-255; check the result against the
     * dataset with {@link DatasetSpec#check}.
     */
    public static IdxReader selfDescribing() {
        return new IdxReader(0, 0, 0, DatasetSpec.MAX_CLASSES);
    }

    public static boolean isImagesMagic(int magic) {
        return magic == IMAGES_MAGIC || magic == IMAGES4_MAGIC;
    }

    /** Images file: returns pixels, count = length / (rows*cols*channels). */
    public byte[] readImages(Path file) {
        return readImagesAndShape(file).pixels();
    }

    private record Images(byte[] pixels, int rows, int cols, int channels) {
    }

    private Images readImagesAndShape(Path file) {
        try (DataInputStream in = open(file)) {
            Header h = readHeader(in, file, true);
            if (h.payloadBytes() > MAX_BYTES) {
                throw new InvalidDataException(file, "header declares " + h.count() + " images, too many to load");
            }
            byte[] pixels = new byte[(int) h.payloadBytes()];
            readPayload(in, file, pixels, h.count(), h.rows() * h.cols() * h.channels(), "image");
            return new Images(pixels, h.rows(), h.cols(), h.channels());
        } catch (IOException e) {
            throw ioFailure(file, e);
        }
    }

    /** Labels file: returns labels, each validated to be a class index. */
    public byte[] readLabels(Path file) {
        try (DataInputStream in = open(file)) {
            Header h = readHeader(in, file, false);
            byte[] labels = new byte[h.count()];
            readPayload(in, file, labels, h.count(), 1, "label");
            for (int i = 0; i < labels.length; i++) {
                int l = labels[i] & 0xFF;
                if (l >= classes) {
                    throw new InvalidDataException(file, "label " + l + " at index " + i + " is outside 0-"
                            + (classes - 1) + " (" + classes + " classes)");
                }
            }
            return labels;
        } catch (IOException e) {
            throw ioFailure(file, e);
        }
    }

    /** What an IDX header declares. */
    public record Header(boolean images, int count, long headerBytes, long payloadBytes, int rows, int cols,
                         int channels) {
    }

    /**
     * A quick check without reading the data: the header (as {@link #readImages} / {@link #readLabels}
     * check it), and the size the header implies against the file's size (plain) or the
     * uncompressed size in the gzip trailer (mod 2^32, as gzip records it).
     */
    public Header checkHeader(Path file, boolean images) {
        boolean gzip;
        try (InputStream raw = Files.newInputStream(file)) {
            gzip = raw.read() == 0x1f && raw.read() == 0x8b;
        } catch (NoSuchFileException e) {
            throw new InvalidDataException(file, "file not found");
        } catch (IOException e) {
            throw ioFailure(file, e);
        }
        Header h;
        try (DataInputStream in = open(file)) {
            h = readHeader(in, file, images);
        } catch (IOException e) {
            throw ioFailure(file, e);
        }
        long expected = h.headerBytes() + h.payloadBytes();
        try {
            long actual;
            if (gzip) {
                try (java.nio.channels.SeekableByteChannel ch = Files.newByteChannel(file)) {
                    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                    ch.position(Math.max(0, ch.size() - 4));
                    while (b.hasRemaining() && ch.read(b) > 0) {
                        // fill
                    }
                    actual = b.flip().remaining() == 4 ? Integer.toUnsignedLong(b.getInt()) : -1;
                }
                expected &= 0xFFFFFFFFL;
            } else {
                actual = Files.size(file);
            }
            if (actual != expected) {
                throw new InvalidDataException(file, "header declares " + h.count() + (images ? " images" : " labels")
                        + " (" + expected + " bytes" + (gzip ? " uncompressed" : "") + ") but the file "
                        + (gzip ? "trailer records " : "has ") + actual + " bytes: truncated or corrupt");
            }
        } catch (IOException e) {
            throw ioFailure(file, e);
        }
        return h;
    }

    private Header readHeader(DataInputStream in, Path file, boolean images) throws IOException {
        int magic = readHeaderInt(in, file, "magic number");
        if (images && !isImagesMagic(magic)) {
            throw new InvalidDataException(file, "bad magic number " + magic + ", expected " + IMAGES_MAGIC
                    + " (IDX unsigned-byte images, 3 dimensions) or " + IMAGES4_MAGIC
                    + " (4 dimensions, channels last)" + hintFor(magic));
        }
        if (!images && magic != LABELS_MAGIC) {
            throw new InvalidDataException(file, "bad magic number " + magic + ", expected " + LABELS_MAGIC
                    + " (IDX unsigned-byte labels, 1 dimension)" + hintFor(magic));
        }
        int count = readHeaderInt(in, file, images ? "image count" : "label count");
        if (!images) {
            if (count < 0) {
                throw new InvalidDataException(file, "negative label count " + count);
            }
            return new Header(false, count, 8, count, 0, 0, 0);
        }
        int rows = readHeaderInt(in, file, "row count");
        int cols = readHeaderInt(in, file, "column count");
        int channels = magic == IMAGES4_MAGIC ? readHeaderInt(in, file, "channel count") : 1;
        if (count < 0) {
            throw new InvalidDataException(file, "negative image count " + count);
        }
        if (rows < 1 || cols < 1 || channels < 1) {
            throw new InvalidDataException(file, "images are " + rows + "x" + cols + "x" + channels
                    + ": every dimension must be at least 1");
        }
        if (expectedRows > 0 && (rows != expectedRows || cols != expectedCols || channels != expectedChannels)) {
            throw new InvalidDataException(file, "images are " + rows + "x" + cols + "x" + channels + ", expected "
                    + expectedRows + "x" + expectedCols + "x" + expectedChannels
                    + " (dataset.height x dataset.width x dataset.channels)");
        }
        return new Header(true, count, magic == IMAGES4_MAGIC ? 20 : 16, (long) count * rows * cols * channels,
                rows, cols, channels);
    }

    /** Reads an images file and a labels file and checks they pair up. */
    public Dataset read(Path images, Path labels) {
        Images im = readImagesAndShape(images);
        byte[] l = readLabels(labels);
        int imageCount = im.pixels().length / (im.rows() * im.cols() * im.channels());
        if (imageCount != l.length) {
            throw new InvalidDataException(images, "has " + imageCount + " images but " + labels.getFileName()
                    + " has " + l.length + " labels");
        }
        return new Dataset(im.pixels(), l, im.rows(), im.cols(), im.channels());
    }

    private static String hintFor(int magic) {
        if (isImagesMagic(magic)) {
            return " (this is an images file)";
        }
        if (magic == LABELS_MAGIC) {
            return " (this is a labels file)";
        }
        return "";
    }

    private static DataInputStream open(Path file) throws IOException {
        InputStream raw;
        try {
            raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
        } catch (NoSuchFileException e) {
            throw new InvalidDataException(file, "file not found");
        }
        raw.mark(2);
        int b1 = raw.read();
        int b2 = raw.read();
        raw.reset();
        if (b1 == 0x1f && b2 == 0x8b) {
            try {
                return new DataInputStream(new BufferedInputStream(new GZIPInputStream(raw, 1 << 16), 1 << 16));
            } catch (IOException e) {
                raw.close();
                throw e;
            }
        }
        return new DataInputStream(raw);
    }

    private static int readHeaderInt(DataInputStream in, Path file, String what) throws IOException {
        try {
            return in.readInt();
        } catch (EOFException e) {
            throw new InvalidDataException(file, "truncated: file ends inside the header (" + what + ")");
        }
    }

    private static void readPayload(DataInputStream in, Path file, byte[] dst, int count, int itemSize,
                                    String item) throws IOException {
        int off = 0;
        try {
            while (off < dst.length) {
                int n = in.read(dst, off, dst.length - off);
                if (n < 0) {
                    throw new InvalidDataException(file, "truncated: header declares " + count + " " + item
                            + "s but the data ends after " + (off / itemSize) + " (" + off + " of " + dst.length
                            + " bytes)");
                }
                off += n;
            }
            if (in.read() >= 0) {
                throw new InvalidDataException(file, "unexpected data after the " + count + " " + item
                        + "s the header declares");
            }
        } catch (EOFException e) {
            if (off == dst.length) {
                throw new InvalidDataException(file, "truncated: the gzip stream is cut short after the last "
                        + item + " (its trailer is missing)");
            }
            throw new InvalidDataException(file, "truncated: compressed stream ends early after " + off + " of "
                    + dst.length + " bytes");
        }
    }

    private static InvalidDataException ioFailure(Path file, IOException e) {
        if (e instanceof ZipException) {
            return new InvalidDataException(String.valueOf(file), "corrupt gzip data: " + e.getMessage(), e);
        }
        if (e instanceof EOFException) {
            return new InvalidDataException(String.valueOf(file), "truncated: compressed stream ends early", e);
        }
        return new InvalidDataException(String.valueOf(file), "cannot be read: " + e, e);
    }
}
