package dev.camelmlops.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Datasets other than Fashion-MNIST at the data layer: RGB IDX files (magic 2052), CSV of any
 * width with labels as names or indexes, the stratified test split, and shape checks.
 */
class OwnDataFormatsTest {
    private static final DatasetSpec RGB = new DatasetSpec("tiny", 2, 3, 3, List.of("cat", "dog", "Bird"));

    @TempDir
    Path tmp;

    private static Dataset rgb(int n) {
        byte[] px = new byte[n * 18];
        byte[] labels = new byte[n];
        for (int i = 0; i < px.length; i++) {
            px[i] = (byte) (i * 7);
        }
        for (int i = 0; i < n; i++) {
            labels[i] = (byte) (i % 3);
        }
        return new Dataset(px, labels, 2, 3, 3);
    }

    @Test
    void rgbIdxFilesRoundTripWithTheirChannelDimension() throws Exception {
        Dataset d = rgb(7);
        IdxWriter.writeImages(tmp.resolve("train-images.idx.gz"), d);
        IdxWriter.writeLabels(tmp.resolve("train-labels.idx.gz"), d.labels());
        byte[] head = new java.util.zip.GZIPInputStream(Files.newInputStream(tmp.resolve("train-images.idx.gz")))
                .readNBytes(20);
        assertArrayEquals(new byte[]{0, 0, 8, 4, 0, 0, 0, 7, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 3}, head);

        IdxDataset idx = IdxDataset.in(RGB, tmp, 0.3, 1);
        BaseDataset.Splits s = idx.read();
        assertEquals(7, s.train().size() + s.test().size());
        assertEquals("2x3x3", s.train().shapeText());
        assertTrue(s.testSplit().contains("30% of each class"), s.testSplit());
        assertEquals(3, s.test().size(), "one of each class (7 images, 0.3 of 3, 2, 2 rounds to 1 each)");

        DatasetSpec grey = new DatasetSpec("g", 2, 3, 1, List.of("a", "b", "c"));
        InvalidDataException e = assertThrows(InvalidDataException.class, () -> IdxDataset.in(grey, tmp, 0.3, 1).read());
        assertEquals("images are 2x3x3, expected 2x3x1 (dataset.height x dataset.width x dataset.channels)", e.defect());
        DatasetSpec two = new DatasetSpec("two", 2, 3, 3, List.of("a", "b"));
        e = assertThrows(InvalidDataException.class, () -> IdxDataset.in(two, tmp, 0.3, 1).read());
        assertEquals("label 2 at index 2 is outside 0-1 (2 classes)", e.defect());
    }

    @Test
    void idxFolderWithoutTrainFilesSaysWhatItNeeds() throws Exception {
        Files.writeString(tmp.resolve("readme.txt"), "x");
        String m = assertThrows(InvalidDataException.class, () -> IdxDataset.in(RGB, tmp, 0.2, 1)).getMessage();
        assertTrue(m.contains("no train-images* file"), m);
    }

    private static String header(int values) {
        StringBuilder b = new StringBuilder("label");
        for (int i = 1; i <= values; i++) {
            b.append(",pixel").append(i);
        }
        return b.append('\n').toString();
    }

    private static String row(String label, int value) {
        StringBuilder b = new StringBuilder(label);
        for (int i = 0; i < 18; i++) {
            b.append(',').append(value);
        }
        return b.append('\n').toString();
    }

    @Test
    void csvLabelsAreClassNamesOrIndexes() throws Exception {
        Path f = tmp.resolve("train.csv");
        Files.writeString(f, header(18) + row("cat", 1) + row("2", 2) + row("bird", 3) + row("DOG", 4) + row("0", 5));
        Dataset d = new CsvImages(RGB).read(f, "train.csv");
        assertEquals(List.of(0, 2, 2, 1, 0), List.of(d.label(0), d.label(1), d.label(2), d.label(3), d.label(4)));
        assertEquals(3, d.pixels()[2 * 18] & 0xFF);
        assertEquals("2x3x3", d.shapeText());
    }

    @Test
    void csvDefectsNameLineColumnAndTheDatasetShape() throws Exception {
        Path f = tmp.resolve("x.csv");
        Files.writeString(f, header(784) + row("cat", 1));
        String m = assertThrows(InvalidDataException.class, () -> new CsvImages(RGB).read(f, "x.csv")).getMessage();
        assertEquals("x.csv: line 1: wrong header: expected 19 columns 'label,pixel1,...,pixel18' (label + 2x3x3"
                + " values), found 785 ('label,pixel1,pixel2,pixel3,pix...')", m);
        Files.writeString(f, header(18) + row("horse", 1));
        m = assertThrows(InvalidDataException.class, () -> new CsvImages(RGB).read(f, "x.csv")).getMessage();
        assertEquals("x.csv: line 2, column 1 (label): 'horse' is neither a class name (cat, dog, Bird) nor a class"
                + " index 0-2", m);
        Files.writeString(f, header(18) + row("3", 1));
        m = assertThrows(InvalidDataException.class, () -> new CsvImages(RGB).read(f, "x.csv")).getMessage();
        assertEquals("x.csv: line 2, column 1 (label): 3 is outside 0-2 (3 classes)", m);
        Files.writeString(f, "name" + header(18).substring(5) + row("1", 1));
        m = assertThrows(InvalidDataException.class, () -> new CsvImages(RGB).read(f, "x.csv")).getMessage();
        assertEquals("x.csv: line 1, column 1: wrong header: expected 'label', found 'name'", m);
        // Columns named otherwise than pixel<k> are the user's own: taken as they are.
        StringBuilder own = new StringBuilder("label");
        for (int i = 0; i < 18; i++) {
            own.append(",v").append(i);
        }
        Files.writeString(f, own + "\n" + row("dog", 9));
        assertEquals(1, new CsvImages(RGB).read(f, "x.csv").label(0));
    }

    @Test
    void csvDatasetUsesTrainAndTestFilesOrCutsASplitFromOne() throws Exception {
        StringBuilder rows = new StringBuilder(header(18));
        for (int i = 0; i < 30; i++) {
            rows.append(row(RGB.classes().get(i % 3), i));
        }
        Path one = tmp.resolve("one");
        Files.createDirectories(one);
        Files.writeString(one.resolve("my-data.csv"), rows);
        BaseDataset.Splits s = CsvDataset.at(RGB, one, 0.2, 5).read();
        assertEquals(24, s.train().size());
        assertEquals(6, s.test().size());
        assertArrayEquals(new int[]{2, 2, 2}, s.test().classHistogram(3), "every class tested");
        BaseDataset.Splits again = CsvDataset.at(RGB, one, 0.2, 5).read();
        assertArrayEquals(s.test().pixels(), again.test().pixels(), "the same seed gives the same split");
        BaseDataset.Splits other = CsvDataset.at(RGB, one, 0.2, 6).read();
        assertTrue(!java.util.Arrays.equals(s.test().pixels(), other.test().pixels()), "another seed, another split");

        Path two = tmp.resolve("two");
        Files.createDirectories(two);
        Files.writeString(two.resolve("train.csv"), rows);
        Files.writeString(two.resolve("test.csv"), header(18) + row("cat", 1));
        s = CsvDataset.at(RGB, two, 0.2, 5).read();
        assertEquals(30, s.train().size());
        assertEquals(1, s.test().size());
        assertEquals(2, CsvDataset.at(RGB, two, 0.2, 5).files().size());

        Files.writeString(one.resolve("more.csv"), rows);
        String m = assertThrows(InvalidDataException.class, () -> CsvDataset.at(RGB, one, 0.2, 5)).getMessage();
        assertTrue(m.contains("holds 2 .csv files and no train.csv"), m);
    }

    @Test
    void aClassWithoutTrainingImagesIsRefusedByName() throws Exception {
        Path f = tmp.resolve("train.csv");
        Files.writeString(f, header(18) + row("cat", 1) + row("cat", 2) + row("dog", 3) + row("dog", 4));
        BaseDataset base = CsvDataset.at(RGB, f, 0.5, 1);
        String m = assertThrows(InvalidDataException.class, () -> BaseDatasets.read(base, RGB)).getMessage();
        assertTrue(m.endsWith("no training image of class Bird: a model cannot learn a class it never sees (add images,"
                + " or remove the class from dataset.classes)"), m);
    }

    @Test
    void theSplitIsStratifiedAndLeavesAOneImageClassInTraining() {
        List<Byte> labels = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            labels.add((byte) 0);
        }
        for (int i = 0; i < 9; i++) {
            labels.add((byte) 1);
        }
        labels.add((byte) 2);
        byte[] l = new byte[labels.size()];
        for (int i = 0; i < l.length; i++) {
            l[i] = labels.get(i);
        }
        Dataset all = new Dataset(new byte[l.length], l, 1, 1);
        BaseDataset.Splits s = TestSplit.cut(all, 3, 0.2, 42);
        assertArrayEquals(new int[]{10, 2, 0}, s.test().classHistogram(3));
        assertArrayEquals(new int[]{40, 7, 1}, s.train().classHistogram(3));
    }

    @Test
    void specsRefuseWhatNoModelCanServe() {
        assertThrows(IllegalArgumentException.class, () -> new DatasetSpec("x", 28, 28, 2, List.of("a", "b")));
        assertThrows(IllegalArgumentException.class, () -> new DatasetSpec("x", 28, 28, 1, List.of("a")));
        assertThrows(IllegalArgumentException.class, () -> new DatasetSpec("x", 0, 28, 1, List.of("a", "b")));
        String m = assertThrows(IllegalArgumentException.class,
                () -> new DatasetSpec("x", 8, 8, 1, List.of("Cat", "cat"))).getMessage();
        assertTrue(m.contains("'cat' appears twice"), m);
        Dataset grey = new Dataset(new byte[6], new byte[1], 2, 3);
        m = assertThrows(InvalidDataException.class, () -> RGB.check(grey, "batch x")).getMessage();
        assertEquals("batch x: images are 2x3x1 but the dataset is 2x3x3 (dataset.height, dataset.width,"
                + " dataset.channels)", m);
        assertEquals(2, RGB.indexOf("bird"));
        assertEquals(-1, RGB.indexOf("fish"));
    }
}
