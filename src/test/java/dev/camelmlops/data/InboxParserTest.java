package dev.camelmlops.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.camelmlops.testing.InboxFiles;
import dev.camelmlops.testing.InboxFiles.Member;
import dev.camelmlops.testing.TinyFashion;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InboxParserTest {
    @TempDir
    Path dir;

    private final InboxParser parser = new InboxParser(dev.camelmlops.data.DatasetSpec.FASHION_MNIST, 10_000_000);
    private final Dataset data = TinyFashion.dataset(12, 4);

    private Path write(String name, String content) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, content);
        return p;
    }

    private String defect(Path file) {
        return assertThrows(InvalidDataException.class, () -> parser.parse(file)).getMessage();
    }

    private static String row(String label, int badColumn, String badValue) {
        StringBuilder b = new StringBuilder(label);
        for (int c = 1; c <= 784; c++) {
            b.append(',').append(c + 1 == badColumn ? badValue : "7");
        }
        return b.toString();
    }

    @Test
    void aCsvExportIsReadWithItsLabelsAndPixels() throws Exception {
        Dataset d = parser.parse(write("batch.csv", InboxFiles.csv(data)));
        assertEquals(12, d.size());
        assertArrayEquals(data.pixels(), d.pixels());
        assertArrayEquals(data.labels(), d.labels());
    }

    @Test
    void csvDefectsNameTheLineAndColumn() throws Exception {
        String h = InboxFiles.header() + "\n";
        assertEquals("x.csv: empty file", defect(write("x.csv", "")));
        assertTrue(defect(write("x.csv", "label,pixel1,pixel2\n1,2,3\n")).contains("line 1: wrong header: expected 785 columns"));
        assertTrue(defect(write("x.csv", h.replace("pixel17,", "pixel71,") + row("1", 0, "")))
                .contains("line 1, column 18: wrong header: expected 'pixel17', found 'pixel71'"));
        assertEquals("x.csv: no data rows after the header", defect(write("x.csv", h)));
        assertTrue(defect(write("x.csv", h + row("1", 0, "") + "\n1,2,3\n"))
                .contains("line 3: expected 785 columns (label + 784 pixel values of a 28x28x1 image), found 3"));
        assertTrue(defect(write("x.csv", h + row("1", 17, "abc"))).contains("line 2, column 17 (pixel16): 'abc' is not an integer"));
        assertTrue(defect(write("x.csv", h + row("1", 5, "256"))).contains("line 2, column 5 (pixel4): 256 is outside 0-255"));
        assertTrue(defect(write("x.csv", h + row("1", 5, "-1"))).contains("line 2, column 5 (pixel4): -1 is outside 0-255"));
        assertTrue(defect(write("x.csv", h + row("10", 0, ""))).contains("line 2, column 1 (label): 10 is outside 0-9"));
        assertTrue(defect(write("x.csv", h + row("2.5", 0, ""))).contains("line 2, column 1 (label): '2.5' is neither a class name (T-shirt/top, Trouser, "));
    }

    @Test
    void idxPairsInZipAndTarGzArchivesAreRead() throws Exception {
        List<Member> pair = List.of(new Member("new/images-idx3-ubyte.gz", InboxFiles.idxImages(data, true)),
                new Member("new/labels-idx1-ubyte", InboxFiles.idxLabels(data, false)));
        Path zip = dir.resolve("b.zip");
        InboxFiles.zip(zip, pair);
        Path tgz = dir.resolve("b.tar.gz");
        InboxFiles.tarGz(tgz, pair);
        for (Path p : List.of(zip, tgz)) {
            Dataset d = parser.parse(p);
            assertArrayEquals(data.pixels(), d.pixels(), p.toString());
            assertArrayEquals(data.labels(), d.labels(), p.toString());
        }
    }

    @Test
    void archiveDefectsAreNamed() throws Exception {
        byte[] images = InboxFiles.idxImages(data, true);
        byte[] labels = InboxFiles.idxLabels(data, true);
        Path p = dir.resolve("a.zip");

        InboxFiles.zip(p, List.of(new Member("images.gz", images)));
        assertTrue(defect(p).contains("archive member missing: no labels file (IDX magic 2049)"), defect(p));

        InboxFiles.zip(p, List.of(new Member("images.gz", images), new Member("more-images.gz", images)));
        assertTrue(defect(p).contains("a.zip!more-images.gz: unexpected member (IDX magic 2051)"), defect(p));

        InboxFiles.zip(p, List.of(new Member("images.gz", images), new Member("../../etc/labels.gz", labels)));
        assertTrue(defect(p).contains("'../../etc/labels.gz' escapes the archive"), defect(p));

        Path t = dir.resolve("a.tar.gz");
        InboxFiles.tarGz(t, List.of(new Member("../evil", labels), new Member("images.gz", images)));
        assertTrue(defect(t).contains("'../evil' escapes the archive"), defect(t));

        InboxFiles.zip(p, List.of(new Member("images.gz", Arrays.copyOf(images, images.length / 2)),
                new Member("labels.gz", labels)));
        assertTrue(defect(p).contains("a.zip!images.gz: truncated"), defect(p));

        Dataset fewer = data.head(5);
        InboxFiles.zip(p, List.of(new Member("images.gz", images),
                new Member("labels.gz", InboxFiles.idxLabels(fewer, true))));
        assertTrue(defect(p).contains("has 12 images but labels.gz has 5 labels"), defect(p));

        InboxFiles.zip(p, List.of(new Member("images", new byte[]{0, 0, 8, 5, 0, 0, 0, 0}),
                new Member("labels.gz", labels)));
        assertTrue(defect(p).contains("unexpected member (IDX magic 2053)"), defect(p));

        byte[] tgz = Files.readAllBytes(writeTgz(images, labels));
        Path cut = dir.resolve("cut.tar.gz");
        Files.write(cut, Arrays.copyOf(tgz, tgz.length - 40));
        assertTrue(defect(cut).contains("truncated"), defect(cut));
    }

    private Path writeTgz(byte[] images, byte[] labels) throws Exception {
        Path t = dir.resolve("ok.tar.gz");
        InboxFiles.tarGz(t, List.of(new Member("images.gz", images), new Member("labels.gz", labels)));
        return t;
    }

    @Test
    void oversizedAndUnknownFilesAreRejected() throws Exception {
        Path big = write("big.csv", InboxFiles.csv(data));
        String d = assertThrows(InvalidDataException.class, () -> new InboxParser(dev.camelmlops.data.DatasetSpec.FASHION_MNIST, 1000).parse(big)).getMessage();
        assertTrue(d.contains("over the limit inbox.max-bytes = 1000"), d);
        assertTrue(defect(write("notes.txt", "hello")).contains("unsupported file type"));
        Path bomb = dir.resolve("bomb.zip");
        InboxFiles.zip(bomb, List.of(new Member("images", new byte[2_000_000]), new Member("labels", new byte[10])));
        String b = assertThrows(InvalidDataException.class, () -> new InboxParser(dev.camelmlops.data.DatasetSpec.FASHION_MNIST, 1_000_000).parse(bomb)).getMessage();
        assertTrue(b.contains("unpacks to more than inbox.max-bytes"), b);
    }
}
