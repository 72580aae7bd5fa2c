package dev.camelmlops.data;

import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.awt.color.ColorSpace;
import java.io.IOException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.FileVisitOption;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.event.IIOReadWarningListener;
import javax.imageio.stream.FileImageInputStream;
import javax.imageio.stream.ImageInputStream;

/**
 * Reads labelled images laid out as Keras' {@code image_dataset_from_directory} expects: one
 * sub-folder of the root per class, named as the class (exact, else ignoring case), holding image
 * files directly or in nested folders. Files directly in the root are not read (as Keras); hidden
 * files and folders (name starting with '.') and {@code __MACOSX} are skipped. Files are read in
 * the order of their relative paths, so a folder always gives the same dataset.
 *
 * <p>Decoding is the JDK's image I/O (PNG, JPEG, BMP, GIF, TIFF, WBMP; the first frame of an
 * animation). Colour follows PIL's {@code convert}: grey is replicated to RGB, alpha is dropped
 * (not composited), palettes are looked up, RGB to grey is the rounded luminance
 * 0.299R + 0.587G + 0.114B. Grey samples are taken as stored (no gamma conversion). Images of
 * another size are resized with a separable triangle (bilinear) filter whose support widens with
 * the shrink factor, as PIL's and TensorFlow's antialiased bilinear resize: plain bilinear when
 * enlarging, an average over the covered source pixels when shrinking, so a large photo reduced
 * to 32x32 does not alias. An image over {@value #MAX_MEGAPIXELS} megapixels is refused from its
 * header, before any pixel is decoded.
 */
public final class ImageFolderReader {
    /** Largest image decoded, in megapixels (read from the header, before decoding). */
    public static final int MAX_MEGAPIXELS = 50;
    private static final String READABLE = "ImageIO reads PNG, JPEG, BMP, GIF, TIFF and WBMP";
    private static final AtomicInteger POOLS = new AtomicInteger();

    private final DatasetSpec spec;

    public ImageFolderReader(DatasetSpec spec) {
        this.spec = spec;
    }

    /**
     * Reads the class folders under {@code root}. {@code displayName} is how messages call the
     * root; a file's name in a message is {@code displayName + "/" + relativePath} (pass
     * "new.zip!" for an extracted archive to get "new.zip!/cat/1.png").
     */
    public Dataset read(Path root, String displayName) {
        if (!Files.isDirectory(root)) {
            throw new InvalidDataException(displayName, "not a folder", null);
        }
        Map<String, Integer> folderClass = classFolders(root, displayName);
        List<String> files = relativeFiles(root, displayName);
        if (files.isEmpty()) {
            throw new InvalidDataException(displayName, "no images: expected one sub-folder per class ("
                    + String.join(", ", spec.classes()) + ") holding image files", null);
        }
        int size = spec.imageSize();
        if ((long) files.size() * size > Integer.MAX_VALUE - 16) {
            throw new InvalidDataException(displayName, files.size() + " images of " + spec.shapeText()
                    + " do not fit in memory as one split", null);
        }
        byte[] pixels = new byte[files.size() * size];
        byte[] labels = new byte[files.size()];
        int threads = Math.max(1, Math.min(files.size(), Runtime.getRuntime().availableProcessors()));
        int pool = POOLS.incrementAndGet();
        AtomicInteger threadNo = new AtomicInteger();
        ExecutorService decoders = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "image-decode-" + pool + "-" + threadNo.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<?>> done = new ArrayList<>(files.size());
            for (int i = 0; i < files.size(); i++) {
                String rel = files.get(i);
                labels[i] = (byte) (int) folderClass.get(rel.substring(0, rel.indexOf('/')));
                int offset = i * size;
                done.add(decoders.submit(() -> decodeInto(root.resolve(rel), displayName + "/" + rel, pixels, offset)));
            }
            // Joined in file order: the error reported is that of the first defective file, every time.
            for (Future<?> f : done) {
                Concurrent.join(f);
            }
        } finally {
            decoders.shutdownNow();
        }
        return new Dataset(pixels, labels, spec.height(), spec.width(), spec.channels());
    }

    /**
     * The files {@link #read} reads (or reports as not images), sorted by their relative path: every
     * non-hidden file inside the root's non-hidden sub-folders. For change detection.
     */
    public static List<Path> imageFiles(Path root) {
        List<Path> out = new ArrayList<>();
        for (String rel : relativeFiles(root, root.toString())) {
            out.add(root.resolve(rel));
        }
        return out;
    }

    /** The relative paths ('/'-separated) of {@link #imageFiles}, sorted. */
    public static List<String> relativeFiles(Path root, String displayName) {
        List<String> out = new ArrayList<>();
        try {
            Files.walkFileTree(root, EnumSet.of(FileVisitOption.FOLLOW_LINKS), Integer.MAX_VALUE,
                    new SimpleFileVisitor<>() {
                        @Override
                        public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) {
                            return d.equals(root) || !skipped(d) ? FileVisitResult.CONTINUE : FileVisitResult.SKIP_SUBTREE;
                        }

                        @Override
                        public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) {
                            Path rel = root.relativize(f);
                            if (attrs.isRegularFile() && rel.getNameCount() > 1 && !skipped(f)) {
                                out.add(slashed(rel));
                            }
                            return FileVisitResult.CONTINUE;
                        }

                        @Override
                        public FileVisitResult visitFileFailed(Path f, IOException e) throws IOException {
                            if (e instanceof FileSystemLoopException) {
                                throw new InvalidDataException(displayName + "/" + slashed(root.relativize(f)),
                                        "symbolic link loop", e);
                            }
                            throw e;
                        }
                    });
        } catch (IOException e) {
            throw new InvalidDataException(displayName, "cannot list the folder: " + e, e);
        }
        out.sort(Comparator.naturalOrder());
        return out;
    }

    private static boolean skipped(Path p) {
        String n = p.getFileName().toString();
        return n.startsWith(".") || n.equals("__MACOSX");
    }

    private static String slashed(Path rel) {
        StringBuilder b = new StringBuilder();
        for (Path part : rel) {
            if (b.length() > 0) {
                b.append('/');
            }
            b.append(part);
        }
        return b.toString();
    }

    /** Every visible sub-folder of the root with its class index; a folder that is no class is an error. */
    private Map<String, Integer> classFolders(Path root, String displayName) {
        Map<String, Integer> out = new LinkedHashMap<>();
        Map<Integer, String> byClass = new LinkedHashMap<>();
        List<Path> dirs = new ArrayList<>();
        try (var s = Files.list(root)) {
            s.filter(Files::isDirectory).filter(d -> !skipped(d)).forEach(dirs::add);
        } catch (IOException e) {
            throw new InvalidDataException(displayName, "cannot list the folder: " + e, e);
        }
        dirs.sort(Comparator.comparing(d -> d.getFileName().toString()));
        for (Path d : dirs) {
            String name = d.getFileName().toString();
            int k = spec.indexOf(name);
            if (k < 0) {
                throw new InvalidDataException(displayName + "/" + name, "folder '" + name + "' is not a class of"
                        + " dataset " + spec.name() + "; the classes (dataset.classes) are: "
                        + String.join(", ", spec.classes()), null);
            }
            String other = byClass.put(k, name);
            if (other != null) {
                throw new InvalidDataException(displayName + "/" + name, "folders '" + other + "' and '" + name
                        + "' are both class '" + spec.classes().get(k) + "' (names are compared ignoring case)", null);
            }
            out.put(name, k);
        }
        return out;
    }

    private void decodeInto(Path file, String name, byte[] pixels, int offset) {
        BufferedImage image = decode(file, name);
        resize(image, spec.height(), spec.width(), spec.channels(), pixels, offset);
    }

    /** Decodes one image file; every defect is an {@link InvalidDataException} naming {@code name}. */
    static BufferedImage decode(Path file, String name) {
        long bytes;
        try {
            bytes = Files.size(file);
        } catch (IOException e) {
            throw new InvalidDataException(name, "cannot read: " + e, e);
        }
        if (bytes == 0) {
            throw new InvalidDataException(name, "empty file (0 bytes), not an image", null);
        }
        String format = "image";
        try (ImageInputStream in = new FileImageInputStream(file.toFile())) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw new InvalidDataException(name, "not an image ImageIO can read (" + READABLE + ")", null);
            }
            ImageReader reader = readers.next();
            try {
                format = reader.getFormatName().toUpperCase(Locale.ROOT);
                reader.setInput(in, true, true);
                int w = reader.getWidth(0);
                int h = reader.getHeight(0);
                if ((long) w * h > MAX_MEGAPIXELS * 1_000_000L) {
                    throw new InvalidDataException(name, String.format(Locale.ROOT, "%s declares %dx%d pixels"
                            + " (%.0f megapixels), more than the %d-megapixel limit; refused before decoding",
                            format, w, h, w * (double) h / 1e6, MAX_MEGAPIXELS), null);
                }
                List<String> truncated = new ArrayList<>(1);
                reader.addIIOReadWarningListener(warningsInto(truncated));
                BufferedImage image = reader.read(0);
                if (!truncated.isEmpty()) {
                    throw new InvalidDataException(name, "truncated or corrupt " + format + ": " + truncated.get(0), null);
                }
                if (image == null || image.getWidth() < 1 || image.getHeight() < 1) {
                    throw new InvalidDataException(name, "truncated or corrupt " + format + ": no pixels decoded", null);
                }
                return image;
            } finally {
                reader.dispose();
            }
        } catch (InvalidDataException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            // ImageIO's decoders throw IIOException, but also IllegalArgumentException,
            // ArrayIndexOutOfBoundsException, NegativeArraySizeException... on corrupt input.
            throw new InvalidDataException(name, "truncated or corrupt " + format + ": " + causes(e), e);
        }
    }

    /** The JPEG decoder only warns on a file cut short and fills the rest with grey: that is a defect. */
    private static IIOReadWarningListener warningsInto(List<String> truncated) {
        return (source, warning) -> {
            if (warning != null && warning.toLowerCase(Locale.ROOT).contains("premature end")) {
                truncated.add(warning);
            }
        };
    }

    private static String causes(Throwable e) {
        StringBuilder b = new StringBuilder();
        for (Throwable t = e; t != null && t != t.getCause(); t = t.getCause()) {
            String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
            if (b.indexOf(m) < 0) {
                if (b.length() > 0) {
                    b.append(": ");
                }
                b.append(m);
            }
            if (b.length() > 300) {
                break;
            }
        }
        return b.toString();
    }

    /**
     * Converts {@code image} to {@code channels} and resizes it to {@code height x width}, writing
     * unsigned bytes HWC into {@code out} at {@code offset}. Rows are read one at a time, so a big
     * image needs no second full-size copy.
     */
    static void resize(BufferedImage image, int height, int width, int channels, byte[] out, int offset) {
        int w = image.getWidth();
        int h = image.getHeight();
        ColorModel cm = image.getColorModel();
        Raster raster = image.getRaster();
        boolean grey = !(cm instanceof IndexColorModel) && cm.getColorSpace().getType() == ColorSpace.TYPE_GRAY
                && cm.getNumColorComponents() == 1;
        int greyMax = grey ? (1 << cm.getComponentSize(0)) - 1 : 255;
        Taps across = Taps.of(w, width);
        Taps down = Taps.of(h, height);
        int c = channels;
        float[] row = new float[w * c];
        int[] samples = new int[w];
        float[] tmp = new float[h * width * c];
        for (int y = 0; y < h; y++) {
            if (grey) {
                raster.getSamples(0, y, w, 1, 0, samples);
                for (int x = 0; x < w; x++) {
                    float v = greyMax == 255 ? samples[x] : Math.round(samples[x] * 255.0 / greyMax);
                    for (int k = 0; k < c; k++) {
                        row[x * c + k] = v;
                    }
                }
            } else {
                image.getRGB(0, y, w, 1, samples, 0, w);
                for (int x = 0; x < w; x++) {
                    int rgb = samples[x];
                    int r = (rgb >> 16) & 0xFF;
                    int g = (rgb >> 8) & 0xFF;
                    int b = rgb & 0xFF;
                    if (c == 1) {
                        row[x] = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
                    } else {
                        row[x * 3] = r;
                        row[x * 3 + 1] = g;
                        row[x * 3 + 2] = b;
                    }
                }
            }
            int base = y * width * c;
            for (int ox = 0; ox < width; ox++) {
                int start = across.start[ox];
                int n = across.count[ox];
                int wi = ox * across.max;
                for (int k = 0; k < c; k++) {
                    float s = 0;
                    for (int j = 0; j < n; j++) {
                        s += across.weights[wi + j] * row[(start + j) * c + k];
                    }
                    tmp[base + ox * c + k] = s;
                }
            }
        }
        int line = width * c;
        for (int oy = 0; oy < height; oy++) {
            int start = down.start[oy];
            int n = down.count[oy];
            int wi = oy * down.max;
            int dst = offset + oy * line;
            for (int p = 0; p < line; p++) {
                float s = 0;
                for (int j = 0; j < n; j++) {
                    s += down.weights[wi + j] * tmp[(start + j) * line + p];
                }
                out[dst + p] = (byte) Math.max(0, Math.min(255, Math.round(s)));
            }
        }
    }

    /** Triangle-filter taps of one axis: for each output pixel, the first source pixel, how many, and their weights. */
    private record Taps(int[] start, int[] count, float[] weights, int max) {
        static Taps of(int in, int out) {
            double scale = (double) in / out;
            double filterScale = Math.max(1.0, scale);
            int max = (int) Math.ceil(filterScale) * 2 + 1;
            int[] start = new int[out];
            int[] count = new int[out];
            float[] weights = new float[out * max];
            double[] w = new double[max];
            for (int i = 0; i < out; i++) {
                double centre = (i + 0.5) * scale;
                int lo = Math.max(0, (int) Math.floor(centre - filterScale));
                int hi = Math.min(in, (int) Math.ceil(centre + filterScale));
                int first = -1;
                int n = 0;
                double sum = 0;
                for (int j = lo; j < hi; j++) {
                    double t = 1 - Math.abs((j + 0.5 - centre) / filterScale);
                    if (t <= 0) {
                        if (first >= 0) {
                            break;
                        }
                        continue;
                    }
                    if (first < 0) {
                        first = j;
                    }
                    w[n++] = t;
                    sum += t;
                }
                if (n == 0) {
                    // Cannot happen for in, out >= 1 (the nearest pixel always has weight > 0); be safe.
                    first = Math.min(in - 1, (int) centre);
                    w[n++] = 1;
                    sum = 1;
                }
                start[i] = first;
                count[i] = n;
                for (int j = 0; j < n; j++) {
                    weights[i * max + j] = (float) (w[j] / sum);
                }
            }
            return new Taps(start, count, weights, max);
        }
    }
}
