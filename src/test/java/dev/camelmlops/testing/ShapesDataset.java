package dev.camelmlops.testing;

import dev.camelmlops.data.Dataset;
import java.awt.Shape;
import java.awt.geom.AffineTransform;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Path2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/**
 * A generated RGB image-classification dataset that is not Fashion-MNIST: one filled shape per
 * image on a noisy background, the class being the shape ({@link #CLASSES}: circle, square,
 * triangle, cross). Everything else is random per image, drawn the same way for all classes:
 * background and fill colour (any hue; the fill is brighter in every channel, which lets the
 * default network learn the shapes in a few epochs), a background gradient, pixel noise, the
 * position (within the middle half of the free room), the rotation (square, triangle, cross) and
 * the size, drawn as the shape's <em>area</em> from one range for all classes so that neither the
 * colours nor the number of foreground pixels tell the classes apart: only where the pixels are
 * (the shape) does.
 *
 * <p>Deterministic from a seed. Image {@code j} (0-based) of class {@code k} depends only on
 * {@code (seed, k, j)}: {@link #dataset(int, long)} holds it at index {@code 4*j + k} as 32x32x3,
 * and the file writers save it as {@code <class>/NNNN.png} or {@code .jpg} with {@code NNNN = j+1}.
 * Files are 32x32 PNG except every third ({@code j % 3 == 2}) is a JPEG (quality 0.9) and
 * {@code j % 7 == 5} is drawn 40x40, {@code j % 7 == 6} 48x36 (same geometry in relative
 * coordinates, so resizing to 32x32 gives back the same picture up to interpolation); the 32x32
 * PNGs decode to exactly the bytes of {@link #dataset(int, long)}.
 */
public final class ShapesDataset {
    /** The class names, in label order. */
    public static final List<String> CLASSES = List.of("circle", "square", "triangle", "cross");
    public static final int HEIGHT = 32;
    public static final int WIDTH = 32;
    public static final int CHANNELS = 3;

    /** Shape area as a fraction of the image, the same range for every class. */
    private static final double MIN_AREA = 0.15;
    private static final double MAX_AREA = 0.25;
    /** Background channels are drawn below {@code SPLIT - GAP/2}, fill channels from {@code SPLIT + GAP/2} up. */
    private static final int SPLIT = 120;
    private static final int GAP = 20;
    /** Fraction of the free room (image minus the shape's circumcircle) the centre may move in. */
    private static final double JITTER = 0.5;
    /** Standard deviation of the per-pixel, per-channel noise. */
    private static final double NOISE = 14;
    /** Largest background gradient, in levels across the image. */
    private static final double GRADIENT = 40;
    private static final int SUPERSAMPLE = 4;
    /** Fixed entry time, so archives are byte-identical for a seed. */
    private static final long ENTRY_TIME = 1_577_836_800_000L; // 2020-01-01T00:00:00Z

    private ShapesDataset() {
    }

    /** The seed {@link #writeImageFolder} uses for the test split of {@code seed}. */
    public static long testSeed(long seed) {
        return seed ^ 0x7E57_5EED_0000_0001L;
    }

    /**
     * {@code perClass} images of each class, 32x32x3, in memory; labels interleaved (0,1,2,3,0,...).
     * The same pictures {@link #writeClassFolders} writes for {@code (perClass, seed)}.
     */
    public static Dataset dataset(int perClass, long seed) {
        int n = perClass * CLASSES.size();
        int size = HEIGHT * WIDTH * CHANNELS;
        byte[] pixels = new byte[n * size];
        byte[] labels = new byte[n];
        for (int j = 0; j < perClass; j++) {
            for (int k = 0; k < CLASSES.size(); k++) {
                int i = j * CLASSES.size() + k;
                labels[i] = (byte) k;
                BufferedImage img = render(k, j, seed, WIDTH, HEIGHT);
                int at = i * size;
                for (int y = 0; y < HEIGHT; y++) {
                    for (int x = 0; x < WIDTH; x++) {
                        int rgb = img.getRGB(x, y);
                        pixels[at++] = (byte) (rgb >> 16);
                        pixels[at++] = (byte) (rgb >> 8);
                        pixels[at++] = (byte) rgb;
                    }
                }
            }
        }
        return new Dataset(pixels, labels, HEIGHT, WIDTH, CHANNELS);
    }

    /**
     * The Keras {@code image_dataset_from_directory} layout with a fixed split:
     * {@code dir/train/<class>/NNNN.png|jpg} ({@code trainPerClass} each, from {@code seed}) and
     * {@code dir/test/<class>/...} ({@code testPerClass} each, from {@link #testSeed(long)}).
     */
    public static void writeImageFolder(Path dir, int trainPerClass, int testPerClass, long seed) {
        writeClassFolders(dir.resolve("train"), trainPerClass, seed);
        writeClassFolders(dir.resolve("test"), testPerClass, testSeed(seed));
    }

    /** One folder per class directly under {@code dir} ({@code dir/<class>/NNNN.png|jpg}), no split. */
    public static void writeClassFolders(Path dir, int perClass, long seed) {
        try {
            for (int k = 0; k < CLASSES.size(); k++) {
                Path classDir = dir.resolve(CLASSES.get(k));
                Files.createDirectories(classDir);
                for (int j = 0; j < perClass; j++) {
                    Files.write(classDir.resolve(fileName(j)), encodedFile(k, j, seed));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A zip of class folders: entries {@code circle/}, {@code circle/0001.png}, ... as {@link #writeClassFolders}. */
    public static Path zipClassFolders(Path zip, int perClass, long seed) {
        try (ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(zip))) {
            for (int k = 0; k < CLASSES.size(); k++) {
                ZipEntry d = new ZipEntry(CLASSES.get(k) + "/");
                d.setTime(ENTRY_TIME);
                out.putNextEntry(d);
                out.closeEntry();
                for (int j = 0; j < perClass; j++) {
                    ZipEntry e = new ZipEntry(CLASSES.get(k) + "/" + fileName(j));
                    e.setTime(ENTRY_TIME);
                    out.putNextEntry(e);
                    out.write(encodedFile(k, j, seed));
                    out.closeEntry();
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return zip;
    }

    /**
     * A gzip-compressed POSIX ustar archive of class folders, entries as {@link #zipClassFolders}
     * (directories of type '5', files of type '0').
     */
    public static Path tarGzClassFolders(Path tarGz, int perClass, long seed) {
        List<InboxFiles.Member> members = new ArrayList<>();
        for (int k = 0; k < CLASSES.size(); k++) {
            members.add(new InboxFiles.Member(CLASSES.get(k) + "/", new byte[0]));
            for (int j = 0; j < perClass; j++) {
                members.add(new InboxFiles.Member(CLASSES.get(k) + "/" + fileName(j), encodedFile(k, j, seed)));
            }
        }
        try {
            InboxFiles.tarGz(tarGz, members);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return tarGz;
    }

    /**
     * {@code label,pixel1..pixel3072}: one row per image of {@link #dataset(int, long)}, values HWC
     * interleaved (pixel1..3 are R,G,B of the top-left pixel); labels as class names or indexes.
     */
    public static void writeCsv(Path file, int perClass, long seed, boolean namedLabels) {
        Dataset d = dataset(perClass, seed);
        int size = d.imageSize();
        byte[] px = d.pixels();
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            StringBuilder sb = new StringBuilder("label");
            for (int p = 1; p <= size; p++) {
                sb.append(",pixel").append(p);
            }
            w.write(sb.append('\n').toString());
            for (int i = 0; i < d.size(); i++) {
                sb.setLength(0);
                sb.append(namedLabels ? CLASSES.get(d.label(i)) : Integer.toString(d.label(i)));
                for (int p = 0; p < size; p++) {
                    sb.append(',').append(px[i * size + p] & 0xFF);
                }
                w.write(sb.append('\n').toString());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code NNNN.png} or {@code NNNN.jpg} for image {@code j} (0-based) of a class. */
    public static String fileName(int j) {
        return String.format("%04d.%s", j + 1, isJpeg(j) ? "jpg" : "png");
    }

    static boolean isJpeg(int j) {
        return j % 3 == 2;
    }

    /** The size image {@code j} of a class is drawn at in files: {width, height}. */
    static int[] fileSize(int j) {
        return switch (j % 7) {
            case 5 -> new int[]{40, 40};
            case 6 -> new int[]{48, 36};
            default -> new int[]{WIDTH, HEIGHT};
        };
    }

    private static byte[] encodedFile(int k, int j, long seed) {
        int[] wh = fileSize(j);
        return encode(render(k, j, seed, wh[0], wh[1]), isJpeg(j));
    }

    /**
     * Image {@code j} of class {@code k} for {@code seed}, drawn {@code width x height}: the
     * geometry and colours do not depend on the size, the noise does.
     */
    public static BufferedImage render(int k, int j, long seed, int width, int height) {
        SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + (long) j * CLASSES.size() + k);
        // Colours: any hue for both, the fill brighter than the background in every channel.
        double[] bg = new double[3];
        double[] fg = new double[3];
        for (int c = 0; c < 3; c++) {
            bg[c] = r.nextInt(SPLIT - GAP / 2);
            fg[c] = SPLIT + GAP / 2 + r.nextInt(256 - SPLIT - GAP / 2);
        }
        double gradAngle = r.nextDouble(2 * Math.PI);
        double gradAmp = r.nextDouble() * GRADIENT;
        // Geometry in relative coordinates (the image is the unit square).
        double area = MIN_AREA + r.nextDouble() * (MAX_AREA - MIN_AREA);
        double angle = r.nextDouble(2 * Math.PI);
        Shape base;
        double radius; // circumradius about the centre, so any rotation stays inside
        switch (k) {
            case 0 -> {
                double rr = Math.sqrt(area / Math.PI);
                base = new Ellipse2D.Double(-rr, -rr, 2 * rr, 2 * rr);
                radius = rr;
            }
            case 1 -> {
                double s = Math.sqrt(area);
                base = new Rectangle2D.Double(-s / 2, -s / 2, s, s);
                radius = s / Math.sqrt(2);
            }
            case 2 -> {
                double a = Math.sqrt(4 * area / Math.sqrt(3)); // equilateral side
                double cr = a / Math.sqrt(3);
                Path2D.Double t = new Path2D.Double();
                for (int v = 0; v < 3; v++) {
                    double th = -Math.PI / 2 + v * 2 * Math.PI / 3;
                    if (v == 0) {
                        t.moveTo(cr * Math.cos(th), cr * Math.sin(th));
                    } else {
                        t.lineTo(cr * Math.cos(th), cr * Math.sin(th));
                    }
                }
                t.closePath();
                base = t;
                radius = cr;
            }
            case 3 -> {
                double len = Math.sqrt(9 * area / 5); // arms of thickness len/3: area 5/9 len^2
                double th = len / 3;
                Path2D.Double p = new Path2D.Double(Path2D.WIND_NON_ZERO);
                p.append(new Rectangle2D.Double(-len / 2, -th / 2, len, th), false);
                p.append(new Rectangle2D.Double(-th / 2, -len / 2, th, len), false);
                base = p;
                radius = Math.hypot(len / 2, th / 2);
            }
            default -> throw new IllegalArgumentException("class index " + k + " is outside 0-3");
        }
        double margin = 0.02;
        double lo = radius + margin;
        double room = Math.max(0, 1 - 2 * lo);
        double span = room * JITTER;
        lo += (room - span) / 2;
        double cx = lo + r.nextDouble() * span;
        double cy = lo + r.nextDouble() * span;
        AffineTransform at = AffineTransform.getScaleInstance(width, height);
        at.translate(cx, cy);
        if (k != 0) {
            at.rotate(angle);
        }
        Shape shape = at.createTransformedShape(base);

        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        double gx = Math.cos(gradAngle) * gradAmp;
        double gy = Math.sin(gradAngle) * gradAmp;
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int hits = 0;
                for (int sy = 0; sy < SUPERSAMPLE; sy++) {
                    for (int sx = 0; sx < SUPERSAMPLE; sx++) {
                        if (shape.contains(x + (sx + 0.5) / SUPERSAMPLE, y + (sy + 0.5) / SUPERSAMPLE)) {
                            hits++;
                        }
                    }
                }
                double cover = hits / (double) (SUPERSAMPLE * SUPERSAMPLE);
                double shade = gx * ((x + 0.5) / width - 0.5) + gy * ((y + 0.5) / height - 0.5);
                int rgb = 0;
                for (int c = 0; c < 3; c++) {
                    double v = (bg[c] + shade) * (1 - cover) + fg[c] * cover + r.nextGaussian() * NOISE;
                    rgb = (rgb << 8) | (int) Math.max(0, Math.min(255, Math.round(v)));
                }
                img.setRGB(x, y, rgb);
            }
        }
        return img;
    }

    static byte[] encode(BufferedImage img, boolean jpeg) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try {
            if (!jpeg) {
                if (!ImageIO.write(img, "png", bytes)) {
                    throw new IllegalStateException("no PNG writer");
                }
                return bytes.toByteArray();
            }
            ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
            try (MemoryCacheImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
                ImageWriteParam param = writer.getDefaultWriteParam();
                param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
                param.setCompressionQuality(0.9f);
                writer.setOutput(out);
                writer.write(null, new IIOImage(img, null, null), param);
            } finally {
                writer.dispose();
            }
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
