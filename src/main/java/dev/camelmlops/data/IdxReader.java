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
 * (2051 images, 2049 labels), image dimensions, declared counts against the bytes present
 * (a truncated file is an error, so is trailing garbage), labels 0-9.
 */
public final class IdxReader {
    public static final int IMAGES_MAGIC = 2051;
    public static final int LABELS_MAGIC = 2049;
    /** Guard against absurd headers allocating gigabytes before the truncation is noticed. */
    private static final long MAX_BYTES = 1L << 31;

    private final int expectedRows;
    private final int expectedCols;

    public IdxReader(int expectedRows, int expectedCols) {
        this.expectedRows = expectedRows;
        this.expectedCols = expectedCols;
    }

    public static IdxReader fashionMnist() {
        return new IdxReader(28, 28);
    }

    /** Images file: returns pixels, count = length / (rows*cols). */
    public byte[] readImages(Path file) {
        try (DataInputStream in = open(file)) {
            Header h = readHeader(in, file, true);
            if (h.payloadBytes() > MAX_BYTES) {
                throw new InvalidDataException(file, "header declares " + h.count() + " images, too many to load");
            }
            byte[] pixels = new byte[(int) h.payloadBytes()];
            readPayload(in, file, pixels, h.count(), expectedRows * expectedCols, "image");
            return pixels;
        } catch (IOException e) {
            throw ioFailure(file, e);
        }
    }

    /** Labels file: returns labels, each validated to be 0-9. */
    public byte[] readLabels(Path file) {
        try (DataInputStream in = open(file)) {
            Header h = readHeader(in, file, false);
            byte[] labels = new byte[h.count()];
            readPayload(in, file, labels, h.count(), 1, "label");
            for (int i = 0; i < labels.length; i++) {
                int l = labels[i] & 0xFF;
                if (l >= Dataset.CLASSES) {
                    throw new InvalidDataException(file, "label " + l + " at index " + i + " is outside 0-9");
                }
            }
            return labels;
        } catch (IOException e) {
            throw ioFailure(file, e);
        }
    }

    /** What an IDX header declares. */
    public record Header(boolean images, int count, long headerBytes, long payloadBytes) {
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
        if (images && magic != IMAGES_MAGIC) {
            throw new InvalidDataException(file, "bad magic number " + magic + ", expected " + IMAGES_MAGIC
                    + " (IDX unsigned-byte images, 3 dimensions)" + hintFor(magic));
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
            return new Header(false, count, 8, count);
        }
        int rows = readHeaderInt(in, file, "row count");
        int cols = readHeaderInt(in, file, "column count");
        if (count < 0) {
            throw new InvalidDataException(file, "negative image count " + count);
        }
        if (rows != expectedRows || cols != expectedCols) {
            throw new InvalidDataException(file, "images are " + rows + "x" + cols + ", expected "
                    + expectedRows + "x" + expectedCols);
        }
        return new Header(true, count, 16, (long) count * rows * cols);
    }

    /** Reads an images file and a labels file and checks they pair up. */
    public Dataset read(Path images, Path labels) {
        byte[] pixels = readImages(images);
        byte[] l = readLabels(labels);
        int imageCount = pixels.length / (expectedRows * expectedCols);
        if (imageCount != l.length) {
            throw new InvalidDataException(images, "has " + imageCount + " images but " + labels.getFileName()
                    + " has " + l.length + " labels");
        }
        return new Dataset(pixels, l, expectedRows, expectedCols);
    }

    private static String hintFor(int magic) {
        if (magic == IMAGES_MAGIC) {
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
