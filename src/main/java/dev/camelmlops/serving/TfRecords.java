package dev.camelmlops.serving;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * TensorFlow's TFRecord file format, uncompressed: each record is its length (uint64, little
 * endian), the masked CRC-32C of those 8 bytes (uint32 LE), the data, and the masked CRC-32C of the
 * data (uint32 LE). Reading is for files nobody vouches for: every CRC is checked, a length is
 * checked against a cap and against the bytes left in the file before anything is allocated, and
 * the number of records is capped, so a corrupt or hostile file gives a {@link BadRecordFile}
 * naming the file and the defect, never an out-of-memory.
 */
public final class TfRecords {
    private static final int MASK_DELTA = 0xa282ead8;

    private TfRecords() {
    }

    /** A TFRecord file that cannot be read: the message names the file, the record and the defect. */
    public static final class BadRecordFile extends IOException {
        BadRecordFile(String message) {
            super(message);
        }
    }

    /** TensorFlow's masked CRC-32C (crc32c.h: rotate right by 15, add a constant). */
    static int maskedCrc(byte[] b, int off, int len) {
        CRC32C c = new CRC32C();
        c.update(b, off, len);
        int crc = (int) c.getValue();
        return ((crc >>> 15) | (crc << 17)) + MASK_DELTA;
    }

    /** Writes {@code records} as a TFRecord stream. */
    public static void write(OutputStream out, List<byte[]> records) throws IOException {
        for (byte[] data : records) {
            byte[] header = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putLong(data.length).array();
            ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).putInt(8, maskedCrc(header, 0, 8));
            out.write(header);
            out.write(data);
            out.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(maskedCrc(data, 0, data.length))
                    .array());
        }
    }

    /**
     * Reads every record of {@code file}.
     *
     * @param maxRecords     more records than this is an error (TF Serving's warm-up allows 1000)
     * @param maxRecordBytes a record longer than this is an error
     */
    public static List<byte[]> read(Path file, int maxRecords, int maxRecordBytes) throws IOException {
        List<byte[]> records = new ArrayList<>();
        read(file, maxRecords, maxRecordBytes, (n, data) -> records.add(data));
        return records;
    }

    /** What is done with each record as it is read (n counts from 1). */
    public interface RecordHandler {
        void record(int n, byte[] data) throws IOException;
    }

    /**
     * Reads {@code file} record by record, handing each to {@code handler} once its CRCs are
     * checked (only one record is held at a time); stops at the first defect.
     */
    public static void read(Path file, int maxRecords, int maxRecordBytes, RecordHandler handler) throws IOException {
        long size = Files.size(file);
        int count = 0;
        long left = size;
        try (InputStream in = new java.io.BufferedInputStream(Files.newInputStream(file))) {
            byte[] header = new byte[12];
            byte[] footer = new byte[4];
            while (left > 0) {
                int n = count + 1;
                if (n > maxRecords) {
                    throw bad(file, n, "more than " + maxRecords + " records");
                }
                if (left < 12) {
                    throw bad(file, n, "truncated header: " + left + " bytes left, a header has 12");
                }
                readFully(in, header, 12, file, n);
                ByteBuffer h = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
                if (h.getInt(8) != maskedCrc(header, 0, 8)) {
                    throw bad(file, n, "corrupted length (its CRC does not match)");
                }
                long length = h.getLong(0);
                left -= 12;
                if (length < 0 || length > maxRecordBytes) {
                    throw bad(file, n, "length " + Long.toUnsignedString(length) + " is above the limit of "
                            + maxRecordBytes + " bytes");
                }
                if (length + 4 > left) {
                    throw bad(file, n, "truncated: its length says " + length + " bytes of data and 4 of CRC, "
                            + left + " bytes are left");
                }
                byte[] data = new byte[(int) length];
                readFully(in, data, data.length, file, n);
                readFully(in, footer, 4, file, n);
                left -= length + 4;
                if (ByteBuffer.wrap(footer).order(ByteOrder.LITTLE_ENDIAN).getInt(0) != maskedCrc(data, 0, data.length)) {
                    throw bad(file, n, "corrupted data (its CRC does not match)");
                }
                count = n;
                handler.record(n, data);
            }
        }
    }

    private static void readFully(InputStream in, byte[] b, int len, Path file, int record) throws IOException {
        if (in.readNBytes(b, 0, len) != len) {
            throw bad(file, record, "truncated (the file ended while it was read)");
        }
    }

    private static BadRecordFile bad(Path file, int record, String defect) {
        return new BadRecordFile(file + ": not a valid TFRecord file: record " + record + ": " + defect);
    }
}
