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

    public static void tarGz(Path file, List<Member> members) throws IOException {
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(file))) {
            for (Member m : members) {
                byte[] h = new byte[512];
                byte[] name = m.name().getBytes(StandardCharsets.UTF_8);
                System.arraycopy(name, 0, h, 0, Math.min(100, name.length));
                put(h, 100, String.format("%07o", 0644));
                put(h, 108, String.format("%07o", 0));
                put(h, 116, String.format("%07o", 0));
                put(h, 124, String.format("%011o", m.data().length));
                put(h, 136, String.format("%011o", 0));
                h[156] = '0';
                put(h, 257, "ustar");
                for (int i = 148; i < 156; i++) {
                    h[i] = ' ';
                }
                long sum = 0;
                for (byte x : h) {
                    sum += x & 0xFF;
                }
                put(h, 148, String.format("%06o", sum));
                h[154] = 0;
                out.write(h);
                out.write(m.data());
                out.write(new byte[(512 - m.data().length % 512) % 512]);
            }
            out.write(new byte[1024]);
        }
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
