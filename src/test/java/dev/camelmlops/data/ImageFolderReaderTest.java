package dev.camelmlops.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

class ImageFolderReaderTest {
    static final List<String> CLASSES = List.of("circle", "square", "triangle");

    @TempDir
    Path dir;

    static DatasetSpec spec(int h, int w, int c) {
        return new DatasetSpec("shapes", h, w, c, CLASSES);
    }

    static BufferedImage filled(int w, int h, int type, Color color) {
        BufferedImage img = new BufferedImage(w, h, type);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, color.getRGB());
            }
        }
        return img;
    }

    static Path write(Path file, BufferedImage img, String format) {
        try {
            Files.createDirectories(file.getParent());
            if (!ImageIO.write(img, format, file.toFile())) {
                throw new IllegalStateException("no " + format + " writer for " + img);
            }
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Path bytes(Path file, byte[] content) {
        try {
            Files.createDirectories(file.getParent());
            return Files.write(file, content);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void assertAll(Dataset d, int... value) {
        byte[] p = d.pixels();
        for (int i = 0; i < p.length; i++) {
            assertEquals(value[i % value.length], p[i] & 0xFF, "value " + i + " of " + Arrays.toString(value));
        }
    }

    @Test
    void redPngIsRedInRgbAndLuminance76InGrey() {
        write(dir.resolve("circle/red.png"), filled(4, 4, BufferedImage.TYPE_INT_RGB, Color.RED), "png");
        Dataset rgb = new ImageFolderReader(spec(2, 2, 3)).read(dir, "shapes");
        assertEquals("2x2x3", rgb.shapeText());
        assertEquals(1, rgb.size());
        assertEquals(0, rgb.label(0));
        assertAll(rgb, 255, 0, 0);
        Dataset grey = new ImageFolderReader(spec(2, 2, 1)).read(dir, "shapes");
        assertEquals("2x2x1", grey.shapeText());
        assertAll(grey, 76);
    }

    @Test
    void greyPngIsTakenAsStoredAndReplicatedToRgb() {
        // A grey colour model has a linear colour space: going through getRGB would turn 128 into 186.
        BufferedImage img = new BufferedImage(3, 3, BufferedImage.TYPE_BYTE_GRAY);
        img.getRaster().setSamples(0, 0, 3, 3, 0, filledInts(9, 128));
        write(dir.resolve("square/grey.png"), img, "png");
        assertAll(new ImageFolderReader(spec(3, 3, 1)).read(dir, "x"), 128);
        Dataset rgb = new ImageFolderReader(spec(3, 3, 3)).read(dir, "x");
        assertAll(rgb, 128, 128, 128);
        assertEquals(1, rgb.label(0));
    }

    @Test
    void sixteenBitGreyPngIsScaledTo8Bits() {
        BufferedImage img = new BufferedImage(2, 2, BufferedImage.TYPE_USHORT_GRAY);
        img.getRaster().setSamples(0, 0, 2, 2, 0, filledInts(4, 0x8080));
        write(dir.resolve("square/grey16.png"), img, "png");
        assertAll(new ImageFolderReader(spec(2, 2, 1)).read(dir, "x"), 128);
    }

    @Test
    void alphaIsDroppedNotComposited() {
        BufferedImage img = filled(2, 2, BufferedImage.TYPE_INT_ARGB, new Color(10, 200, 30, 0));
        write(dir.resolve("circle/clear.png"), img, "png");
        assertAll(new ImageFolderReader(spec(2, 2, 3)).read(dir, "x"), 10, 200, 30);
    }

    @Test
    void palettePngIsLookedUp() throws IOException {
        IndexColorModel palette = new IndexColorModel(8, 2, new byte[]{0, (byte) 250}, new byte[]{(byte) 100, 0},
                new byte[]{(byte) 200, 5});
        BufferedImage img = new BufferedImage(4, 2, BufferedImage.TYPE_BYTE_INDEXED, palette);
        img.getRaster().setSamples(0, 0, 4, 2, 0, new int[]{0, 0, 1, 1, 0, 0, 1, 1});
        Path file = write(dir.resolve("triangle/palette.png"), img, "png");
        assertTrue(ImageIO.read(file.toFile()).getColorModel() instanceof IndexColorModel, "written with a palette");
        Dataset d = new ImageFolderReader(spec(2, 4, 3)).read(dir, "x");
        assertArrayEquals(new int[]{0, 100, 200, 0, 100, 200, 250, 0, 5, 250, 0, 5}, ints(d, 0, 12));
        assertEquals(2, d.label(0));
    }

    @Test
    void jpegRgbAndGreyAreReadApproximately() {
        write(dir.resolve("circle/rgb.jpg"), filled(8, 8, BufferedImage.TYPE_INT_RGB, new Color(30, 90, 220)), "jpeg");
        BufferedImage grey8 = new BufferedImage(8, 8, BufferedImage.TYPE_BYTE_GRAY);
        grey8.getRaster().setSamples(0, 0, 8, 8, 0, filledInts(64, 77)); // setRGB would store linear grey 19
        write(dir.resolve("square/grey.jpeg"), grey8, "jpeg");
        Dataset d = new ImageFolderReader(spec(4, 4, 3)).read(dir, "x");
        assertEquals(2, d.size());
        int[] rgb = ints(d, 0, 48);
        int[] grey = ints(d, 48, 48);
        for (int i = 0; i < 48; i += 3) {
            assertTrue(Math.abs(rgb[i] - 30) <= 4 && Math.abs(rgb[i + 1] - 90) <= 4 && Math.abs(rgb[i + 2] - 220) <= 4,
                    Arrays.toString(rgb));
            assertTrue(Math.abs(grey[i] - 77) <= 2 && grey[i] == grey[i + 1] && grey[i] == grey[i + 2], Arrays.toString(grey));
        }
    }

    @Test
    void nonSquareImageIsResizedWithoutAliasing() {
        // 8 wide x 6 high, left half black, right half white, to 2 high x 4 wide: each output
        // pixel averages two columns with a triangle filter twice as wide (PIL's BILINEAR).
        BufferedImage img = new BufferedImage(8, 6, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 6; y++) {
            img.getRaster().setSamples(4, y, 4, 1, 0, filledInts(4, 255));
        }
        write(dir.resolve("square/half.png"), img, "png");
        Dataset d = new ImageFolderReader(spec(2, 4, 1)).read(dir, "x");
        assertEquals("2x4x1", d.shapeText());
        assertArrayEquals(new int[]{0, 32, 223, 255, 0, 32, 223, 255}, ints(d, 0, 8));
        // Enlarging is plain bilinear with half-pixel centres: 2x1 black/white to 4x1.
        BufferedImage two = new BufferedImage(2, 1, BufferedImage.TYPE_BYTE_GRAY);
        two.getRaster().setSample(1, 0, 0, 255);
        write(dir.resolve("square/half.png"), two, "png");
        assertArrayEquals(new int[]{0, 64, 191, 255}, ints(new ImageFolderReader(spec(1, 4, 1)).read(dir, "x"), 0, 4));
    }

    @Test
    void aFolderThatIsNoClassIsNamedWithTheClasses() {
        write(dir.resolve("circle/a.png"), filled(2, 2, BufferedImage.TYPE_INT_RGB, Color.RED), "png");
        write(dir.resolve("hexagon/b.png"), filled(2, 2, BufferedImage.TYPE_INT_RGB, Color.RED), "png");
        InvalidDataException e = assertThrows(InvalidDataException.class,
                () -> new ImageFolderReader(spec(2, 2, 3)).read(dir, "shapes"));
        assertEquals("shapes/hexagon", e.file());
        assertTrue(e.defect().contains("'hexagon' is not a class") && e.defect().contains("circle, square, triangle"),
                e.getMessage());
    }

    @Test
    void classFoldersMatchIgnoringCaseButNotTwice() throws IOException {
        write(dir.resolve("CIRCLE/a.png"), filled(2, 2, BufferedImage.TYPE_INT_RGB, Color.RED), "png");
        assertEquals(0, new ImageFolderReader(spec(2, 2, 3)).read(dir, "x").label(0));
        write(dir.resolve("circle/b.png"), filled(2, 2, BufferedImage.TYPE_INT_RGB, Color.RED), "png");
        if (Files.list(dir).count() == 2) { // a case-sensitive file system: two folders for one class
            InvalidDataException e = assertThrows(InvalidDataException.class,
                    () -> new ImageFolderReader(spec(2, 2, 3)).read(dir, "x"));
            assertTrue(e.defect().contains("are both class 'circle'"), e.getMessage());
        }
    }

    @Test
    void aTextFileIsNotAnImage() {
        write(dir.resolve("circle/a.png"), filled(2, 2, BufferedImage.TYPE_INT_RGB, Color.RED), "png");
        bytes(dir.resolve("circle/README.txt"), "these are circles\n".getBytes(StandardCharsets.UTF_8));
        InvalidDataException e = assertThrows(InvalidDataException.class,
                () -> new ImageFolderReader(spec(2, 2, 3)).read(dir, "new.zip!"));
        assertEquals("new.zip!/circle/README.txt", e.file());
        assertTrue(e.defect().startsWith("not an image ImageIO can read"), e.getMessage());
    }

    @Test
    void aTruncatedPngIsCorrupt() throws IOException {
        Path png = write(dir.resolve("square/s.png"), noise(16, 16, 1), "png");
        byte[] all = Files.readAllBytes(png);
        Files.write(png, Arrays.copyOf(all, all.length / 2));
        InvalidDataException e = assertThrows(InvalidDataException.class,
                () -> new ImageFolderReader(spec(2, 2, 3)).read(dir, "shapes"));
        assertEquals("shapes/square/s.png", e.file());
        assertTrue(e.defect().startsWith("truncated or corrupt PNG: "), e.getMessage());
    }

    @Test
    void aTruncatedJpegIsCorruptNotGreyFilled() throws IOException {
        Path jpg = write(dir.resolve("square/s.jpg"), noise(64, 64, 2), "jpeg");
        byte[] all = Files.readAllBytes(jpg);
        Files.write(jpg, Arrays.copyOf(all, all.length / 2));
        InvalidDataException e = assertThrows(InvalidDataException.class,
                () -> new ImageFolderReader(spec(2, 2, 3)).read(dir, "shapes"));
        assertEquals("shapes/square/s.jpg", e.file());
        assertTrue(e.defect().startsWith("truncated or corrupt JPEG: "), e.getMessage());
    }

    @Test
    void aZeroByteJpegIsEmpty() {
        bytes(dir.resolve("triangle/empty.jpg"), new byte[0]);
        InvalidDataException e = assertThrows(InvalidDataException.class,
                () -> new ImageFolderReader(spec(2, 2, 3)).read(dir, "shapes"));
        assertEquals("shapes/triangle/empty.jpg", e.file());
        assertTrue(e.defect().contains("empty file (0 bytes)"), e.getMessage());
    }

    @Test
    void aDecoderThatThrowsOnCorruptInputGivesTheClearError() throws IOException {
        // The BMP decoder meets a pixel-data offset of -16 MB with a NegativeArraySizeException.
        Path bmp = write(dir.resolve("circle/c.bmp"), noise(10, 7, 5), "bmp");
        byte[] b = Files.readAllBytes(bmp);
        b[13] = (byte) 0xFF;
        Files.write(bmp, b);
        InvalidDataException e = assertThrows(InvalidDataException.class,
                () -> new ImageFolderReader(spec(2, 2, 3)).read(dir, "shapes"));
        assertEquals("shapes/circle/c.bmp", e.file());
        assertTrue(e.defect().startsWith("truncated or corrupt BMP: "), e.getMessage());
    }

    @Test
    @Timeout(value = 5, unit = TimeUnit.SECONDS)
    void aDecompressionBombIsRefusedFromItsHeader() {
        bytes(dir.resolve("circle/bomb.png"), pngHeaderOnly(20000, 20000));
        long before = System.nanoTime();
        InvalidDataException e = assertThrows(InvalidDataException.class,
                () -> new ImageFolderReader(spec(2, 2, 3)).read(dir, "shapes"));
        long ms = (System.nanoTime() - before) / 1_000_000;
        assertEquals("shapes/circle/bomb.png", e.file());
        assertTrue(e.defect().contains("20000x20000") && e.defect().contains("400 megapixels")
                && e.defect().contains("50-megapixel limit"), e.getMessage());
        assertTrue(ms < 2000, "refused in " + ms + " ms");
    }

    @Test
    void hiddenFilesAndMacFoldersAreSkipped() {
        write(dir.resolve("circle/a.png"), filled(2, 2, BufferedImage.TYPE_INT_RGB, Color.RED), "png");
        bytes(dir.resolve("circle/.DS_Store"), "junk".getBytes(StandardCharsets.UTF_8));
        bytes(dir.resolve("circle/._a.png"), "junk".getBytes(StandardCharsets.UTF_8));
        bytes(dir.resolve("__MACOSX/circle/._a.png"), "junk".getBytes(StandardCharsets.UTF_8));
        bytes(dir.resolve(".git/config"), "junk".getBytes(StandardCharsets.UTF_8));
        bytes(dir.resolve("circle/.thumbs/x"), "junk".getBytes(StandardCharsets.UTF_8));
        bytes(dir.resolve("LICENSE.txt"), "files in the root are not read".getBytes(StandardCharsets.UTF_8));
        write(dir.resolve("square/nested/deeper/b.gif"), filled(2, 2, BufferedImage.TYPE_INT_RGB, Color.BLUE), "gif");
        Dataset d = new ImageFolderReader(spec(2, 2, 3)).read(dir, "x");
        assertEquals(2, d.size());
        assertEquals(List.of(dir.resolve("circle/a.png"), dir.resolve("square/nested/deeper/b.gif")),
                ImageFolderReader.imageFiles(dir));
        assertArrayEquals(new int[]{255, 0, 0}, ints(d, 0, 3));
        assertArrayEquals(new int[]{0, 0, 255}, ints(d, 12, 3));
    }

    @Test
    void aRootWithoutImagesIsAnError() throws IOException {
        Files.createDirectories(dir.resolve("circle"));
        InvalidDataException e = assertThrows(InvalidDataException.class,
                () -> new ImageFolderReader(spec(2, 2, 3)).read(dir, "shapes"));
        assertEquals("shapes", e.file());
        assertTrue(e.defect().startsWith("no images"), e.getMessage());
    }

    @Test
    void theSameFolderAlwaysGivesTheSameDataset() {
        for (int i = 0; i < 40; i++) {
            String cls = CLASSES.get(i % 3);
            write(dir.resolve(cls + "/img" + (i * 7919 % 97) + (i % 2 == 0 ? ".png" : ".bmp")), noise(5 + i % 4, 6, i), i % 2 == 0 ? "png" : "bmp");
        }
        ImageFolderReader reader = new ImageFolderReader(spec(4, 4, 3));
        Dataset a = reader.read(dir, "x");
        Dataset b = reader.read(dir, "x");
        assertEquals(40, a.size());
        assertArrayEquals(a.pixels(), b.pixels());
        assertArrayEquals(a.labels(), b.labels());
        // Sorted by relative path: all circles, then squares, then triangles.
        assertArrayEquals(new int[]{14, 13, 13}, a.classHistogram(3));
        for (int i = 1; i < a.size(); i++) {
            assertTrue(a.label(i - 1) <= a.label(i));
        }
        List<Path> files = ImageFolderReader.imageFiles(dir);
        List<Path> sorted = files.stream().sorted().toList();
        assertEquals(sorted, files);
    }

    @Test
    void trainAndTestFolders() {
        for (String split : List.of("train", "test")) {
            for (String cls : CLASSES) {
                for (int i = 0; i < (split.equals("train") ? 3 : 1); i++) {
                    write(dir.resolve(split + "/" + cls + "/" + i + ".png"), noise(3, 3, i), "png");
                }
            }
        }
        ImageFolderDataset base = new ImageFolderDataset(spec(3, 3, 3), dir, 0.5, 1);
        BaseDataset.Splits s = base.read();
        assertEquals(9, s.train().size());
        assertEquals(3, s.test().size());
        assertEquals("test/ folder (3 images)", s.testSplit());
        assertEquals(12, base.files().size());
        assertEquals(List.of("train/", "test/"), base.inputs().stream().map(DataManifest.FileEntry::name).toList());
        assertEquals(dir, base.location());
    }

    @Test
    void trainWithoutTestIsCutAndSaysSo() {
        for (String cls : CLASSES) {
            for (int i = 0; i < 4; i++) {
                write(dir.resolve("train/" + cls + "/" + i + ".png"), noise(3, 3, i), "png");
            }
        }
        BaseDataset.Splits s = new ImageFolderDataset(spec(3, 3, 3), dir, 0.25, 7).read();
        assertEquals(9, s.train().size());
        assertArrayEquals(new int[]{1, 1, 1}, s.test().classHistogram(3));
        assertTrue(s.testSplit().startsWith("cut from train/ as there is no test/ folder: 25% of each class"), s.testSplit());
    }

    @Test
    void oneFolderIsSplitStratifiedWithTheSeed() {
        for (String cls : CLASSES) {
            for (int i = 0; i < 10; i++) {
                write(dir.resolve(cls + "/" + i + ".png"), noise(3, 3, i * 31 + cls.length()), "png");
            }
        }
        ImageFolderDataset base = new ImageFolderDataset(spec(3, 3, 3), dir, 0.2, 42);
        BaseDataset.Splits s = base.read();
        assertArrayEquals(new int[]{2, 2, 2}, s.test().classHistogram(3));
        assertArrayEquals(new int[]{8, 8, 8}, s.train().classHistogram(3));
        assertArrayEquals(s.test().pixels(), base.read().test().pixels());
        assertNotEquals(Arrays.toString(s.test().pixels()),
                Arrays.toString(new ImageFolderDataset(spec(3, 3, 3), dir, 0.2, 43).read().test().pixels()));
        assertEquals(List.of(dir.getFileName() + "/"), base.inputs().stream().map(DataManifest.FileEntry::name).toList());
    }

    @Test
    void aClassWithoutTrainingImagesIsNamed() throws IOException {
        write(dir.resolve("train/circle/a.png"), noise(3, 3, 1), "png");
        write(dir.resolve("train/square/a.png"), noise(3, 3, 1), "png");
        Files.createDirectories(dir.resolve("train/triangle"));
        write(dir.resolve("test/triangle/a.png"), noise(3, 3, 1), "png");
        // BaseDatasets.read checks every format's train split the same way
        InvalidDataException e = assertThrows(InvalidDataException.class,
                () -> BaseDatasets.read(new ImageFolderDataset(spec(3, 3, 3), dir, 0.2, 1), spec(3, 3, 3)));
        assertEquals(dir.toString(), e.file());
        assertTrue(e.defect().startsWith("no training image of class triangle: "), e.getMessage());
    }

    @Test
    void inputsHashChangesWhenOneImageChanges() {
        for (String cls : CLASSES) {
            write(dir.resolve("train/" + cls + "/a.png"), noise(3, 3, cls.length()), "png");
            write(dir.resolve("test/" + cls + "/a.png"), noise(3, 3, cls.length() + 1), "png");
        }
        ImageFolderDataset base = new ImageFolderDataset(spec(3, 3, 3), dir, 0.2, 1);
        List<DataManifest.FileEntry> before = base.inputs();
        assertEquals(before, base.inputs());
        write(dir.resolve("test/square/a.png"), noise(3, 3, 99), "png");
        List<DataManifest.FileEntry> after = base.inputs();
        assertEquals(before.get(0), after.get(0));
        assertNotEquals(before.get(1).sha256(), after.get(1).sha256());
        // A rename with the same content changes it too.
        try {
            Files.move(dir.resolve("train/circle/a.png"), dir.resolve("train/circle/b.png"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        assertNotEquals(after.get(0).sha256(), base.inputs().get(0).sha256());
        assertEquals(after.get(0).bytes(), base.inputs().get(0).bytes());
    }

    @Test
    void aMissingFolderIsNamed() {
        InvalidDataException e = assertThrows(InvalidDataException.class,
                () -> new ImageFolderDataset(spec(3, 3, 3), dir.resolve("nope"), 0.2, 1));
        assertEquals(dir.resolve("nope").toString(), e.file());
    }

    static BufferedImage noise(int w, int h, long seed) {
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, r.nextInt(1 << 24));
            }
        }
        return img;
    }

    /** A PNG declaring a huge RGB image, with a few bytes of (empty) data: valid up to the pixels. */
    static byte[] pngHeaderOnly(int width, int height) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            DataOutputStream out = new DataOutputStream(bytes);
            out.write(new byte[]{(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'});
            ByteArrayOutputStream ihdr = new ByteArrayOutputStream();
            DataOutputStream h = new DataOutputStream(ihdr);
            h.writeInt(width);
            h.writeInt(height);
            h.write(new byte[]{8, 2, 0, 0, 0});
            chunk(out, "IHDR", ihdr.toByteArray());
            chunk(out, "IDAT", new byte[]{0x78, (byte) 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01});
            chunk(out, "IEND", new byte[0]);
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void chunk(DataOutputStream out, String type, byte[] data) throws IOException {
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        out.writeInt(data.length);
        out.write(t);
        out.write(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.writeInt((int) crc.getValue());
    }

    private static int[] filledInts(int n, int v) {
        int[] a = new int[n];
        Arrays.fill(a, v);
        return a;
    }

    private static int[] ints(Dataset d, int from, int n) {
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = d.pixels()[from + i] & 0xFF;
        }
        return out;
    }
}
