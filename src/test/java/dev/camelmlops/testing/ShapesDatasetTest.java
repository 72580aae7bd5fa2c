package dev.camelmlops.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.camelmlops.data.Dataset;
import java.awt.image.BufferedImage;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The generator itself: deterministic, the promised files and formats, and hard for any model that ignores shape. */
class ShapesDatasetTest {
    @TempDir
    Path tmp;

    @Test
    void theDatasetIsDeterministicForASeedAndDiffersAcrossSeeds() {
        Dataset a = ShapesDataset.dataset(6, 11);
        Dataset b = ShapesDataset.dataset(6, 11);
        Dataset c = ShapesDataset.dataset(6, 12);
        assertEquals("32x32x3", a.shapeText());
        assertEquals(24, a.size());
        assertArrayEquals(new int[]{6, 6, 6, 6}, a.classHistogram(4));
        assertEquals(List.of(0, 1, 2, 3, 0), List.of(a.label(0), a.label(1), a.label(2), a.label(3), a.label(4)));
        assertArrayEquals(a.pixels(), b.pixels());
        assertArrayEquals(a.labels(), b.labels());
        assertFalse(Arrays.equals(a.pixels(), c.pixels()));
        // a smaller dataset is the start of a bigger one (image j of class k depends on seed, k, j only)
        Dataset more = ShapesDataset.dataset(8, 11);
        assertArrayEquals(a.pixels(), Arrays.copyOf(more.pixels(), a.pixels().length));
        assertEquals(List.of("circle", "square", "triangle", "cross"), ShapesDataset.CLASSES);
    }

    @Test
    void theImageFolderHasTrainAndTestClassFoldersOfPngAndJpegFilesOfSeveralSizes() throws IOException {
        Path dir = tmp.resolve("shapes");
        ShapesDataset.writeImageFolder(dir, 8, 3, 5);
        Set<String> extensions = new TreeSet<>();
        Set<String> sizes = new TreeSet<>();
        for (String split : List.of("train", "test")) {
            int per = split.equals("train") ? 8 : 3;
            try (Stream<Path> s = Files.list(dir.resolve(split))) {
                assertEquals(ShapesDataset.CLASSES, s.map(p -> p.getFileName().toString()).sorted(
                        (x, y) -> ShapesDataset.CLASSES.indexOf(x) - ShapesDataset.CLASSES.indexOf(y)).toList());
            }
            Dataset same = ShapesDataset.dataset(per, split.equals("train") ? 5 : ShapesDataset.testSeed(5));
            for (int k = 0; k < 4; k++) {
                Path classDir = dir.resolve(split).resolve(ShapesDataset.CLASSES.get(k));
                List<String> names;
                try (Stream<Path> s = Files.list(classDir)) {
                    names = s.map(p -> p.getFileName().toString()).sorted().toList();
                }
                assertEquals(per, names.size(), classDir.toString());
                for (int j = 0; j < per; j++) {
                    String name = ShapesDataset.fileName(j);
                    assertEquals(name, names.get(j));
                    extensions.add(name.substring(name.indexOf('.') + 1));
                    byte[] bytes = Files.readAllBytes(classDir.resolve(name));
                    assertTrue(name.endsWith(".png") ? bytes[1] == 'P' && bytes[2] == 'N' && bytes[3] == 'G'
                            : (bytes[0] & 0xFF) == 0xFF && (bytes[1] & 0xFF) == 0xD8, name + " has its format's magic bytes");
                    BufferedImage img = ImageIO.read(classDir.resolve(name).toFile());
                    sizes.add(img.getWidth() + "x" + img.getHeight());
                    if (name.endsWith(".png") && img.getWidth() == 32 && img.getHeight() == 32) {
                        // lossless files hold exactly the in-memory images
                        int at = (j * 4 + k) * 3072;
                        for (int y = 0; y < 32; y++) {
                            for (int x = 0; x < 32; x++, at += 3) {
                                int rgb = img.getRGB(x, y);
                                assertEquals((same.pixels()[at] & 0xFF) << 16 | (same.pixels()[at + 1] & 0xFF) << 8
                                        | (same.pixels()[at + 2] & 0xFF), rgb & 0xFFFFFF, name + " pixel " + x + "," + y);
                            }
                        }
                    }
                }
            }
        }
        assertEquals(Set.of("jpg", "png"), extensions);
        assertEquals(Set.of("32x32", "40x40", "48x36"), sizes);
        // the same call writes the same bytes
        Path again = tmp.resolve("again");
        ShapesDataset.writeImageFolder(again, 8, 3, 5);
        for (String f : List.of("train/circle/0001.png", "train/cross/0003.jpg", "test/triangle/0002.png", "train/square/0007.png")) {
            assertArrayEquals(Files.readAllBytes(dir.resolve(f)), Files.readAllBytes(again.resolve(f)), f);
        }
    }

    @Test
    void classFoldersWithoutASplit() throws IOException {
        ShapesDataset.writeClassFolders(tmp, 4, 9);
        try (Stream<Path> s = Files.walk(tmp)) {
            List<String> files = s.filter(Files::isRegularFile).map(p -> tmp.relativize(p).toString()).sorted().toList();
            assertEquals(16, files.size());
            assertTrue(files.containsAll(List.of("circle/0001.png", "circle/0003.jpg", "cross/0004.png")), files.toString());
        }
    }

    @Test
    void theCsvHasALabelAndOnePixelColumnPerValueWithNamedOrIndexLabels() throws IOException {
        Path named = tmp.resolve("named.csv");
        Path indexed = tmp.resolve("indexed.csv");
        ShapesDataset.writeCsv(named, 3, 4, true);
        ShapesDataset.writeCsv(indexed, 3, 4, false);
        Dataset d = ShapesDataset.dataset(3, 4);
        for (Path file : List.of(named, indexed)) {
            List<String> lines = Files.readAllLines(file);
            assertEquals(1 + 12, lines.size());
            String[] header = lines.get(0).split(",");
            assertEquals(1 + 32 * 32 * 3, header.length);
            assertEquals("label", header[0]);
            assertEquals("pixel1", header[1]);
            assertEquals("pixel3072", header[3072]);
            for (int i = 0; i < 12; i++) {
                String[] row = lines.get(1 + i).split(",");
                assertEquals(3073, row.length);
                assertEquals(file == named ? ShapesDataset.CLASSES.get(d.label(i)) : Integer.toString(d.label(i)), row[0]);
                for (int p : new int[]{0, 1, 2, 1500, 3071}) {
                    assertEquals(d.pixels()[i * 3072 + p] & 0xFF, Integer.parseInt(row[1 + p]), "row " + i + " value " + p);
                }
            }
        }
        assertEquals("circle", Files.readAllLines(named).get(1).split(",")[0]);
        assertEquals("3", Files.readAllLines(indexed).get(4).split(",")[0]);
    }

    @Test
    void theZipListsTheClassFoldersAndTheirImages() throws IOException {
        Path zip = ShapesDataset.zipClassFolders(tmp.resolve("new.zip"), 3, 8);
        List<String> names = new ArrayList<>();
        Set<String> decoded = new HashSet<>();
        try (ZipInputStream in = new ZipInputStream(Files.newInputStream(zip))) {
            for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
                names.add(e.getName());
                if (!e.isDirectory()) {
                    BufferedImage img = ImageIO.read(new java.io.ByteArrayInputStream(in.readAllBytes()));
                    decoded.add(e.getName() + "=" + img.getWidth());
                }
            }
        }
        assertEquals(List.of("circle/", "circle/0001.png", "circle/0002.png", "circle/0003.jpg",
                "square/", "square/0001.png", "square/0002.png", "square/0003.jpg",
                "triangle/", "triangle/0001.png", "triangle/0002.png", "triangle/0003.jpg",
                "cross/", "cross/0001.png", "cross/0002.png", "cross/0003.jpg"), names);
        assertEquals(12, decoded.size());
        assertArrayEquals(Files.readAllBytes(zip), Files.readAllBytes(ShapesDataset.zipClassFolders(tmp.resolve("b.zip"), 3, 8)));
    }

    @Test
    void theTarGzIsAUstarArchiveOfClassFoldersThatTarReads() throws Exception {
        Path tgz = ShapesDataset.tarGzClassFolders(tmp.resolve("new.tar.gz"), 2, 8);
        // our own reading of the headers: names, types, sizes, checksums
        List<String> entries = new ArrayList<>();
        try (InputStream in = new GZIPInputStream(Files.newInputStream(tgz))) {
            byte[] all = in.readAllBytes();
            assertEquals(0, all.length % 512);
            int at = 0;
            while (true) {
                byte[] h = Arrays.copyOfRange(all, at, at + 512);
                if (Arrays.equals(h, new byte[512])) {
                    break;
                }
                String name = new String(h, 0, 100, StandardCharsets.UTF_8).replace("\0", "");
                char type = (char) h[156];
                assertEquals("ustar\0", new String(h, 257, 6, StandardCharsets.US_ASCII), name);
                long size = Long.parseLong(new String(h, 124, 11, StandardCharsets.US_ASCII), 8);
                long sum = Long.parseLong(new String(h, 148, 6, StandardCharsets.US_ASCII), 8);
                Arrays.fill(h, 148, 156, (byte) ' ');
                long actual = 0;
                for (byte b : h) {
                    actual += b & 0xFF;
                }
                assertEquals(actual, sum, name + " checksum");
                entries.add(type + " " + name);
                if (type == '0') {
                    BufferedImage img = ImageIO.read(new java.io.ByteArrayInputStream(all, at + 512, (int) size));
                    assertTrue(img != null && img.getWidth() == 32, name + " is a 32-wide image");
                }
                at += 512 + (int) ((size + 511) / 512 * 512);
            }
        }
        assertEquals(List.of("5 circle/", "0 circle/0001.png", "0 circle/0002.png", "5 square/", "0 square/0001.png",
                "0 square/0002.png", "5 triangle/", "0 triangle/0001.png", "0 triangle/0002.png",
                "5 cross/", "0 cross/0001.png", "0 cross/0002.png"), entries);
        // and the system's tar agrees
        Process p = new ProcessBuilder("tar", "-tzvf", tgz.toString()).redirectErrorStream(true).start();
        List<String> listing;
        try (BufferedReader r = p.inputReader()) {
            listing = r.lines().toList();
        }
        assertTrue(p.waitFor(20, TimeUnit.SECONDS), "tar finished");
        assertEquals(0, p.exitValue(), listing.toString());
        assertEquals(12, listing.size(), listing.toString());
        assertTrue(listing.get(0).startsWith("d") && listing.get(0).endsWith("circle/"), listing.get(0));
        assertTrue(listing.get(1).startsWith("-") && listing.get(1).endsWith("circle/0001.png"), listing.get(1));
    }

    /**
     * Colour is no cue: a nearest-neighbour classifier that sees each image as a bag of pixels
     * (per channel: the sorted values, at 16 quantiles; so colours, contrast and shape area, but
     * not where the pixels are) stays near chance, while the CNN (ShapesTrainingTest) reaches 0.9+.
     */
    @Test
    void aModelThatIgnoresWherePixelsAreStaysNearChance() {
        Dataset train = ShapesDataset.dataset(150, 21);
        Dataset test = ShapesDataset.dataset(50, ShapesDataset.testSeed(21));
        double[][] ftrain = bagOfPixels(train);
        double[][] ftest = bagOfPixels(test);
        int k = 9;
        int right = 0;
        for (int i = 0; i < test.size(); i++) {
            double[] dist = new double[train.size()];
            Integer[] order = new Integer[train.size()];
            for (int t = 0; t < train.size(); t++) {
                double s = 0;
                for (int f = 0; f < ftest[i].length; f++) {
                    double d = ftest[i][f] - ftrain[t][f];
                    s += d * d;
                }
                dist[t] = s;
                order[t] = t;
            }
            Arrays.sort(order, (a, b) -> Double.compare(dist[a], dist[b]));
            int[] votes = new int[4];
            for (int n = 0; n < k; n++) {
                votes[train.label(order[n])]++;
            }
            int best = 0;
            for (int c = 1; c < 4; c++) {
                if (votes[c] > votes[best]) {
                    best = c;
                }
            }
            if (best == test.label(i)) {
                right++;
            }
        }
        double accuracy = right / (double) test.size();
        System.out.printf("bag-of-pixels %d-NN accuracy on shapes: %.3f%n", k, accuracy);
        assertTrue(accuracy < 0.45, "a position-blind model should stay near chance (0.25), got " + accuracy);
    }

    private static double[][] bagOfPixels(Dataset d) {
        double[][] out = new double[d.size()][48];
        int[] values = new int[1024];
        for (int i = 0; i < d.size(); i++) {
            for (int c = 0; c < 3; c++) {
                for (int p = 0; p < 1024; p++) {
                    values[p] = d.pixels()[i * 3072 + p * 3 + c] & 0xFF;
                }
                Arrays.sort(values);
                for (int q = 0; q < 16; q++) {
                    out[i][c * 16 + q] = values[q * 1023 / 15];
                }
            }
        }
        return out;
    }
}
