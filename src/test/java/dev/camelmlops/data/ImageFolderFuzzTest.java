package dev.camelmlops.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded random damage to valid PNG and JPEG files (byte flips, truncations, random runs, a
 * header followed by noise): every read gives a dataset or an {@link InvalidDataException}
 * naming the file, never another exception, never a hang.
 */
class ImageFolderFuzzTest {
    /** -Dimagefolder.fuzz.cases=5000 -Dimagefolder.fuzz.seed=... to search further by hand. */
    private static final int CASES = Integer.getInteger("imagefolder.fuzz.cases", 300);
    private static final long SEED = Long.getLong("imagefolder.fuzz.seed", 7L);

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void damagedImagesGiveADatasetOrANamedError() throws IOException {
        BufferedImage grey = new BufferedImage(12, 9, BufferedImage.TYPE_BYTE_GRAY);
        SplittableRandom r0 = new SplittableRandom(1);
        for (int y = 0; y < 9; y++) {
            for (int x = 0; x < 12; x++) {
                grey.getRaster().setSample(x, y, 0, r0.nextInt(256));
            }
        }
        List<byte[]> valid = List.of(
                encode(ImageFolderReaderTest.noise(16, 12, 3), "png"),
                encode(grey, "png"),
                encode(ImageFolderReaderTest.noise(24, 16, 4), "jpeg"),
                encode(grey, "jpeg"),
                encode(ImageFolderReaderTest.noise(10, 7, 5), "bmp"),
                encode(ImageFolderReaderTest.noise(9, 11, 6), "gif"));
        ImageFolderReader reader = new ImageFolderReader(new DatasetSpec("fuzz", 4, 4, 3, List.of("a", "b")));
        SplittableRandom random = new SplittableRandom(SEED);
        int decoded = 0;
        int refused = 0;
        for (int i = 0; i < CASES; i++) {
            byte[] source = valid.get(i % valid.size());
            byte[] damaged = mutate(source, random);
            Path root = dir.resolve("case" + i);
            String name = "x." + List.of("png", "png", "jpg", "jpg", "bmp", "gif").get(i % valid.size());
            Path file = root.resolve("a").resolve(name);
            Files.createDirectories(file.getParent());
            Files.write(file, damaged);
            try {
                Dataset d = reader.read(root, "case" + i);
                assertEquals(1, d.size());
                assertEquals("4x4x3", d.shapeText());
                decoded++;
            } catch (InvalidDataException e) {
                assertEquals("case" + i + "/a/" + name, e.file(), e.getMessage());
                assertTrue(e.defect() != null && !e.defect().isBlank(), e.getMessage());
                refused++;
            } catch (RuntimeException | Error e) {
                fail("case " + i + " (" + name + ", " + damaged.length + " bytes, starts "
                        + Arrays.toString(Arrays.copyOf(damaged, Math.min(16, damaged.length))) + "): " + e, e);
            }
        }
        System.out.printf("fuzz: %d damaged files, %d still decoded, %d refused by name%n", CASES, decoded, refused);
        assertTrue(refused > CASES / 4, "most damage is detected: " + refused + " refused");
    }

    private static byte[] mutate(byte[] valid, SplittableRandom r) {
        byte[] b = valid.clone();
        switch (r.nextInt(6)) {
            case 0 -> { // a few bit flips anywhere
                for (int k = 1 + r.nextInt(8); k > 0; k--) {
                    int at = r.nextInt(b.length);
                    b[at] ^= (byte) (1 << r.nextInt(8));
                }
                return b;
            }
            case 1 -> { // truncated
                return Arrays.copyOf(b, r.nextInt(b.length));
            }
            case 2 -> { // a run of random bytes
                int at = r.nextInt(b.length);
                int n = Math.min(b.length - at, 1 + r.nextInt(64));
                for (int k = 0; k < n; k++) {
                    b[at + k] = (byte) r.nextInt(256);
                }
                return b;
            }
            case 3 -> { // the header (signature and first chunk/segment) kept, the rest noise
                int keep = Math.min(b.length, 8 + r.nextInt(40));
                byte[] n = new byte[keep + r.nextInt(400)];
                System.arraycopy(b, 0, n, 0, keep);
                for (int k = keep; k < n.length; k++) {
                    n[k] = (byte) r.nextInt(256);
                }
                return n;
            }
            case 4 -> { // declared size made huge (a decompression bomb): PNG IHDR, JPEG SOF0
                int at = dimensionsAt(b);
                int bytes = b[0] == (byte) 0x89 || b[0] == 'B' ? 4 : 2;
                boolean bigEndian = b[0] != 'B' && b[0] != 'G';
                for (int k = 0; k < 2 * bytes; k++) {
                    int significance = bigEndian ? bytes - 1 - k % bytes : k % bytes;
                    if (significance < 2) {
                        b[at + k] = (byte) (0x40 + r.nextInt(0xC0));
                    }
                }
                return b;
            }
            default -> { // bytes in the first 64 (headers: sizes, types, lengths) set to extremes
                for (int k = 1 + r.nextInt(4); k > 0; k--) {
                    int at = r.nextInt(Math.min(64, b.length));
                    b[at] = (byte) (r.nextBoolean() ? 0xFF : 0x00);
                }
                return b;
            }
        }
    }

    /** Where width and height are: PNG's IHDR data, or JPEG's SOF0 segment after its length and precision. */
    private static int dimensionsAt(byte[] b) {
        if (b[0] == (byte) 0x89) {
            return 16;
        }
        if (b[0] == 'B') { // BMP: BITMAPINFOHEADER width and height, little-endian
            return 18;
        }
        if (b[0] == 'G') { // GIF: logical screen width and height, little-endian
            return 6;
        }
        for (int i = 2; i + 8 < b.length; i++) {
            if (b[i] == (byte) 0xFF && b[i + 1] == (byte) 0xC0) {
                return i + 5;
            }
        }
        throw new IllegalStateException("no SOF0 segment in the JPEG");
    }

    private static byte[] encode(BufferedImage img, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertTrue(ImageIO.write(img, format, out));
        return out.toByteArray();
    }
}
