package dev.camelmlops.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.camelmlops.testing.TinyFashion;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxReaderTest {
    @TempDir
    Path dir;

    private final IdxReader reader = IdxReader.fashionMnist();

    @Test
    void readsGzipAndPlainFilesAlike() {
        Dataset d = TinyFashion.dataset(30, 7);
        Path gzImages = dir.resolve("i.gz");
        Path gzLabels = dir.resolve("l.gz");
        Path images = dir.resolve("i");
        Path labels = dir.resolve("l");
        IdxWriter.writeImages(gzImages, d.pixels(), 28, 28);
        IdxWriter.writeLabels(gzLabels, d.labels());
        IdxWriter.writeImages(images, d.pixels(), 28, 28);
        IdxWriter.writeLabels(labels, d.labels());

        Dataset a = reader.read(gzImages, gzLabels);
        Dataset b = reader.read(images, labels);
        assertEquals(30, a.size());
        assertArrayEquals(d.pixels(), a.pixels());
        assertArrayEquals(d.labels(), a.labels());
        assertArrayEquals(a.pixels(), b.pixels());
        assertArrayEquals(new int[]{3, 3, 3, 3, 3, 3, 3, 3, 3, 3}, a.classHistogram(10));
    }

    @Test
    void labelsFileGivenAsImagesIsABadMagicNumber() {
        Path labels = dir.resolve("train-labels-idx1-ubyte.gz");
        IdxWriter.writeLabels(labels, new byte[]{1, 2, 3});
        InvalidDataException e = assertThrows(InvalidDataException.class, () -> reader.readImages(labels));
        assertTrue(e.getMessage().startsWith(labels + ": bad magic number 2049, expected 2051"), e.getMessage());
        assertTrue(e.getMessage().contains("this is a labels file"), e.getMessage());
    }

    @Test
    void imagesFileGivenAsLabelsIsABadMagicNumber() {
        Path images = dir.resolve("x.gz");
        IdxWriter.writeImages(images, new byte[784], 28, 28);
        InvalidDataException e = assertThrows(InvalidDataException.class, () -> reader.readLabels(images));
        assertTrue(e.getMessage().contains("bad magic number 2051, expected 2049"), e.getMessage());
    }

    @Test
    void wrongDimensionsAreNamed() {
        Path images = dir.resolve("small.gz");
        IdxWriter.writeImages(images, new byte[2 * 27 * 28], 27, 28);
        InvalidDataException e = assertThrows(InvalidDataException.class, () -> reader.readImages(images));
        assertEquals("images are 27x28x1, expected 28x28x1 (dataset.height x dataset.width x dataset.channels)", e.defect());
        assertEquals(images.toString(), e.file());
    }

    @Test
    void labelOutsideZeroToNineIsReportedWithItsIndex() {
        Path labels = dir.resolve("l.gz");
        IdxWriter.writeLabels(labels, new byte[]{0, 9, 10, 3});
        InvalidDataException e = assertThrows(InvalidDataException.class, () -> reader.readLabels(labels));
        assertEquals("label 10 at index 2 is outside 0-9 (10 classes)", e.defect());
    }

    @Test
    void imageAndLabelCountsMustMatch() {
        Path images = dir.resolve("i.gz");
        Path labels = dir.resolve("l.gz");
        IdxWriter.writeImages(images, new byte[3 * 784], 28, 28);
        IdxWriter.writeLabels(labels, new byte[]{1, 2});
        InvalidDataException e = assertThrows(InvalidDataException.class, () -> reader.read(images, labels));
        assertEquals("has 3 images but l.gz has 2 labels", e.defect());
    }

    @Test
    void truncatedPayloadSaysHowMuchIsThere() throws IOException {
        Path images = dir.resolve("i");
        IdxWriter.writeImages(images, new byte[5 * 784], 28, 28);
        byte[] all = Files.readAllBytes(images);
        Files.write(images, Arrays.copyOf(all, all.length - 784 - 10));
        InvalidDataException e = assertThrows(InvalidDataException.class, () -> reader.readImages(images));
        assertTrue(e.defect().startsWith("truncated: header declares 5 images but the data ends after 3"), e.defect());
    }

    @Test
    void truncatedHeaderIsNamed() throws IOException {
        Path labels = dir.resolve("l");
        Files.write(labels, new byte[]{0, 0, 8, 1, 0, 0});
        InvalidDataException e = assertThrows(InvalidDataException.class, () -> reader.readLabels(labels));
        assertEquals("truncated: file ends inside the header (label count)", e.defect());
    }

    @Test
    void truncatedGzipStreamIsDetected() throws IOException {
        Path images = dir.resolve("i.gz");
        Dataset d = TinyFashion.dataset(50, 3);
        IdxWriter.writeImages(images, d.pixels(), 28, 28);
        byte[] all = Files.readAllBytes(images);
        Files.write(images, Arrays.copyOf(all, all.length / 2));
        InvalidDataException e = assertThrows(InvalidDataException.class, () -> reader.readImages(images));
        assertTrue(e.defect().startsWith("truncated"), e.defect());
        assertEquals(images.toString(), e.file());
    }

    @Test
    void corruptGzipDataIsDetected() throws IOException {
        Path images = dir.resolve("i.gz");
        IdxWriter.writeImages(images, TinyFashion.dataset(50, 3).pixels(), 28, 28);
        byte[] all = Files.readAllBytes(images);
        for (int i = 40; i < 80; i++) {
            all[i] ^= (byte) 0x5A;
        }
        Files.write(images, all);
        InvalidDataException e = assertThrows(InvalidDataException.class, () -> reader.readImages(images));
        assertTrue(e.defect().contains("gzip") || e.defect().contains("truncated") || e.defect().contains("magic"),
                e.defect());
    }

    @Test
    void trailingBytesAfterTheDeclaredDataAreAnError() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(new GZIPOutputStream(bytes))) {
            out.writeInt(IdxReader.LABELS_MAGIC);
            out.writeInt(2);
            out.write(new byte[]{1, 2, 3});
        }
        Path labels = dir.resolve("l.gz");
        Files.write(labels, bytes.toByteArray());
        InvalidDataException e = assertThrows(InvalidDataException.class, () -> reader.readLabels(labels));
        assertEquals("unexpected data after the 2 labels the header declares", e.defect());
    }

    @Test
    void missingFileIsNamed() {
        Path missing = dir.resolve("nope.gz");
        InvalidDataException e = assertThrows(InvalidDataException.class, () -> reader.readImages(missing));
        assertEquals(missing + ": file not found", e.getMessage());
    }
}
