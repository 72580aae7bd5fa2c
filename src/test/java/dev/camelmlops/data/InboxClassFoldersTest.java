package dev.camelmlops.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.camelmlops.testing.InboxFiles;
import dev.camelmlops.testing.InboxFiles.Member;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Inbox archives of class folders: read into the dataset's shape, every defect named by archive member. */
class InboxClassFoldersTest {
    private static final DatasetSpec SPEC = new DatasetSpec("shapes", 4, 4, 3, List.of("red", "blue"));

    @TempDir
    Path tmp;

    private static byte[] image(Color c, int w, int h, String format) throws Exception {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(c);
        g.fillRect(0, 0, w, h);
        g.dispose();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, format, out);
        return out.toByteArray();
    }

    private Dataset parse(Path archive) {
        return new InboxParser(SPEC, 10_000_000).parse(archive);
    }

    private String defect(Path archive) {
        return assertThrows(InvalidDataException.class, () -> parse(archive)).getMessage();
    }

    @Test
    void aZipOfClassFoldersInsideOneTopFolderIsResizedAndLabelledByFolder() throws Exception {
        Path zip = tmp.resolve("new.zip");
        InboxFiles.zip(zip, List.of(
                new Member("batch/red/a.png", image(Color.RED, 8, 8, "png")),
                new Member("batch/Blue/b.png", image(Color.BLUE, 4, 4, "png")),
                new Member("batch/Blue/c.jpg", image(Color.BLUE, 16, 12, "jpg")),
                new Member("batch/.DS_Store", new byte[]{1, 2, 3}),
                new Member("__MACOSX/batch/red/._a.png", new byte[]{0})));
        Dataset d = parse(zip);
        assertEquals("4x4x3", d.shapeText());
        assertEquals(3, d.size());
        int red = 0;
        for (int i = 0; i < d.size(); i++) {
            if (d.label(i) == 0) {
                red++;
                assertEquals(255, d.pixels()[i * 48] & 0xFF, "red channel of a red image");
                assertEquals(0, d.pixels()[i * 48 + 2] & 0xFF, "blue channel of a red image");
            } else {
                assertTrue((d.pixels()[i * 48 + 2] & 0xFF) > 240, "blue channel of a blue image");
            }
        }
        assertEquals(1, red);

        Path tgz = tmp.resolve("new.tar.gz");
        InboxFiles.tarGz(tgz, List.of(new Member("red/a.png", image(Color.RED, 4, 4, "png")),
                new Member("blue/b.png", image(Color.BLUE, 4, 4, "png"))));
        assertEquals(2, parse(tgz).size());
    }

    @Test
    void defectsNameTheArchiveMember() throws Exception {
        Path zip = tmp.resolve("bad.zip");
        InboxFiles.zip(zip, List.of(new Member("red/a.png", image(Color.RED, 4, 4, "png")),
                new Member("red/notes.txt", "hello".getBytes())));
        String m = defect(zip);
        assertTrue(m.startsWith("bad.zip!/red/notes.txt: "), m);

        InboxFiles.zip(zip, List.of(new Member("red/a.png", image(Color.RED, 4, 4, "png")),
                new Member("green/b.png", image(Color.GREEN, 4, 4, "png"))));
        m = defect(zip);
        assertTrue(m.contains("green") && m.contains("red, blue"), m);

        byte[] png = image(Color.RED, 4, 4, "png");
        InboxFiles.zip(zip, List.of(new Member("red/a.png", java.util.Arrays.copyOf(png, png.length / 2))));
        m = defect(zip);
        assertTrue(m.startsWith("bad.zip!/red/a.png: "), m);

        Path tgz = tmp.resolve("bad.tar.gz");
        InboxFiles.tarGz(tgz, List.of(new Member("red/a.png", png), new Member("red/a.png", png)));
        assertTrue(defect(tgz).contains("two entries named 'red/a.png'"), defect(tgz));

        InboxFiles.zip(zip, List.of(new Member("red/../../a.png", png)));
        assertTrue(defect(zip).contains("escapes the archive"));
    }
}
