package dev.camelmlops.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.camelmlops.testing.InboxFiles;
import dev.camelmlops.testing.ShapesDataset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile inbox files for a dataset other than Fashion-MNIST: seeded mutations of a valid CSV
 * with named labels, zip and tar.gz archives of class folders, and a zip of an RGB IDX pair.
 * Every file is either read into the dataset's shape or refused with an {@link InvalidDataException}
 * naming it; nothing else may escape, nothing may hang.
 */
class InboxFuzzTest {
    /** -Dinbox.fuzz.cases=5000 -Dinbox.fuzz.seed=... to search further by hand. */
    private static final int CASES = Integer.getInteger("inbox.fuzz.cases", 400);
    private static final long SEED = Long.getLong("inbox.fuzz.seed", 11L);
    private static final DatasetSpec SPEC = new DatasetSpec("shapes", 32, 32, 3, ShapesDataset.CLASSES);

    @TempDir
    Path tmp;

    private record Sample(String name, byte[] bytes) {
    }

    private List<Sample> samples() throws Exception {
        List<Sample> s = new ArrayList<>();
        Path csv = tmp.resolve("s.csv");
        ShapesDataset.writeCsv(csv, 1, 3, true);
        s.add(new Sample("batch.csv", Files.readAllBytes(csv)));
        s.add(new Sample("batch.zip", Files.readAllBytes(ShapesDataset.zipClassFolders(tmp.resolve("s.zip"), 1, 3))));
        s.add(new Sample("batch.tar.gz", Files.readAllBytes(ShapesDataset.tarGzClassFolders(tmp.resolve("s.tgz"), 1, 3))));
        Dataset d = ShapesDataset.dataset(1, 3);
        Path images = tmp.resolve("images.idx");
        Path labels = tmp.resolve("labels.idx");
        IdxWriter.writeImages(images, d);
        IdxWriter.writeLabels(labels, d.labels());
        Path idxZip = tmp.resolve("idx.zip");
        InboxFiles.zip(idxZip, List.of(new InboxFiles.Member("images.idx", Files.readAllBytes(images)),
                new InboxFiles.Member("labels.idx", Files.readAllBytes(labels))));
        s.add(new Sample("idx.zip", Files.readAllBytes(idxZip)));
        return s;
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void mutatedInboxFilesAreReadOrRefusedByName() throws Exception {
        List<Sample> samples = samples();
        InboxParser parser = new InboxParser(SPEC, 2_000_000);
        for (Sample s : samples) {
            Path f = tmp.resolve(s.name());
            Files.write(f, s.bytes());
            assertEquals(4, parser.parse(f).size(), "the unmutated " + s.name() + " is valid");
        }
        SplittableRandom random = new SplittableRandom(SEED);
        int read = 0;
        int refused = 0;
        for (int i = 0; i < CASES; i++) {
            Sample s = samples.get(i % samples.size());
            byte[] mutated = mutate(s, random);
            Path f = tmp.resolve("case-" + i + "-" + s.name());
            Files.write(f, mutated);
            try {
                Dataset d = parser.parse(f);
                assertEquals("32x32x3", d.shapeText(), "case " + i);
                for (int k = 0; k < d.size(); k++) {
                    assertTrue(d.label(k) < SPEC.classCount(), "case " + i + ": label in range");
                }
                read++;
            } catch (InvalidDataException e) {
                assertTrue(e.getMessage().startsWith(f.getFileName().toString()) || e.file().contains(f.toString()),
                        "case " + i + " names the file: " + e.getMessage());
                refused++;
            } catch (RuntimeException | Error e) {
                fail("case " + i + " (" + s.name() + ", seed " + SEED + "): " + e, e);
            }
            Files.delete(f);
        }
        System.out.printf("inbox fuzz: %d cases, %d read, %d refused by name%n", CASES, read, refused);
        assertTrue(refused > CASES / 4, "the mutations do break files: " + refused + " refused");
    }

    private static byte[] mutate(Sample s, SplittableRandom r) {
        byte[] b = s.bytes().clone();
        switch (r.nextInt(s.name().endsWith(".csv") ? 6 : 4)) {
            case 0 -> { // flip a few bytes
                for (int k = 1 + r.nextInt(8); k > 0; k--) {
                    b[r.nextInt(b.length)] ^= (byte) (1 + r.nextInt(255));
                }
            }
            case 1 -> b = java.util.Arrays.copyOf(b, r.nextInt(b.length)); // truncate
            case 2 -> { // a random run of bytes somewhere
                int at = r.nextInt(b.length);
                for (int k = at; k < Math.min(b.length, at + 1 + r.nextInt(64)); k++) {
                    b[k] = (byte) r.nextInt(256);
                }
            }
            case 3 -> { // a chunk repeated
                int at = r.nextInt(b.length);
                int len = Math.min(b.length - at, 1 + r.nextInt(512));
                byte[] out = new byte[b.length + len];
                System.arraycopy(b, 0, out, 0, at + len);
                System.arraycopy(b, at, out, at + len, b.length - at);
                b = out;
            }
            case 4 -> b = csvEdit(new String(b, StandardCharsets.UTF_8), r, "label", ",,")
                    .getBytes(StandardCharsets.UTF_8);
            default -> b = csvEdit(new String(b, StandardCharsets.UTF_8), r, "circle",
                    List.of("hexagon", "-1", "4", "3.5", "\"square\"", "CROSS", "", "256").get(r.nextInt(8)))
                    .getBytes(StandardCharsets.UTF_8);
        }
        return b;
    }

    /** Replaces one occurrence of {@code what} (or a random comma) with {@code with}. */
    private static String csvEdit(String csv, SplittableRandom r, String what, String with) {
        int at = csv.indexOf(what, r.nextInt(Math.max(1, csv.length() / 2)));
        if (at < 0) {
            at = csv.indexOf(',', r.nextInt(csv.length()));
            what = ",";
        }
        return at < 0 ? csv : csv.substring(0, at) + with + csv.substring(at + what.length());
    }
}
