package dev.camelmlops.testing;

import dev.camelmlops.data.Dataset;
import dev.camelmlops.data.IdxWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/** Writes inbox files (CSV, zip and tar.gz IDX pairs), good or deliberately broken. */
public final class InboxFiles {
    private InboxFiles() {
    }

    public static String header() {
        StringBuilder b = new StringBuilder("label");
        for (int i = 1; i <= 784; i++) {
            b.append(",pixel").append(i);
        }
        return b.toString();
    }

    public static String csv(Dataset d) {
        StringBuilder b = new StringBuilder(header()).append('\n');
        for (int i = 0; i < d.size(); i++) {
            b.append(d.label(i));
            for (int p = 0; p < 784; p++) {
                b.append(',').append(d.pixels()[i * 784 + p] & 0xFF);
            }
            b.append('\n');
        }
        return b.toString();
    }

    /** The same images with labels shuffled independently of them (the example's failure case). */
    public static Dataset shuffledLabels(Dataset d, long seed) {
        byte[] labels = d.labels().clone();
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = labels.length - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            byte t = labels[i];
            labels[i] = labels[j];
            labels[j] = t;
        }
        return new Dataset(d.pixels(), labels, 28, 28);
    }

    public static byte[] idxImages(Dataset d, boolean gzip) throws IOException {
        Path tmp = Files.createTempFile("img", gzip ? ".gz" : "");
        IdxWriter.writeImages(tmp, d.pixels(), 28, 28);
        byte[] b = Files.readAllBytes(tmp);
        Files.delete(tmp);
        return b;
    }

    public static byte[] idxLabels(Dataset d, boolean gzip) throws IOException {
        Path tmp = Files.createTempFile("lbl", gzip ? ".gz" : "");
        IdxWriter.writeLabels(tmp, d.labels());
        byte[] b = Files.readAllBytes(tmp);
        Files.delete(tmp);
        return b;
    }

    public record Member(String name, byte[] data) {
    }

    public static void zip(Path file, List<Member> members) throws IOException {
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(file))) {
            for (Member m : members) {
                z.putNextEntry(new ZipEntry(m.name()));
                z.write(m.data());
                z.closeEntry();
            }
        }
    }

    /**
     * A gzip-compressed POSIX ustar archive of {@code members}, in order: a name ending in '/' is a
     * folder (type '5'), any other a regular file (type '0'); fixed owner and time, so the same
     * members always give the same bytes.
     */
    public static void tarGz(Path file, List<Member> members) throws IOException {
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(file))) {
            for (Member m : members) {
                boolean folder = m.name().endsWith("/");
                byte[] h = new byte[512];
                byte[] name = m.name().getBytes(StandardCharsets.UTF_8);
                if (name.length > 100) {
                    throw new IllegalArgumentException("tar entry name longer than 100 bytes: " + m.name());
                }
                System.arraycopy(name, 0, h, 0, name.length);
                octal(h, 100, 8, folder ? 0755 : 0644);
                octal(h, 108, 8, 0);
                octal(h, 116, 8, 0);
                octal(h, 124, 12, m.data().length);
                octal(h, 136, 12, TAR_TIME);
                h[156] = (byte) (folder ? '5' : '0');
                put(h, 257, "ustar\0");
                put(h, 263, "00");
                put(h, 265, "root");
                put(h, 297, "root");
                for (int i = 148; i < 156; i++) {
                    h[i] = ' ';
                }
                long sum = 0;
                for (byte x : h) {
                    sum += x & 0xFF;
                }
                put(h, 148, String.format("%06o", sum) + "\0 ");
                out.write(h);
                out.write(m.data());
                out.write(new byte[(512 - m.data().length % 512) % 512]);
            }
            out.write(new byte[1024]); // end of archive: two zero blocks
        }
    }

    /** 2020-01-01T00:00:00Z, in seconds. */
    private static final long TAR_TIME = 1_577_836_800L;

    /** {@code len-1} octal digits, zero-padded, then NUL. */
    private static void octal(byte[] h, int at, int len, long v) {
        put(h, at, String.format("%0" + (len - 1) + "o", v) + "\0");
    }

    private static void put(byte[] h, int off, String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(b, 0, h, off, b.length);
    }

    public static byte[] gzip(byte[] data) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (GZIPOutputStream g = new GZIPOutputStream(b)) {
            g.write(data);
        }
        return b.toByteArray();
    }
}
