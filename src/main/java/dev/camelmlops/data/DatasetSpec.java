package dev.camelmlops.data;

import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * What every image of a dataset looks like and what its labels mean: height, width, channels
 * (1 grey or 3 RGB) and the class names, whose order gives each class its index (label 0 is the
 * first name). The model's input is {@code [-1,height,width,channels]} and its output
 * {@code [-1,classes.size()]}.
 */
public record DatasetSpec(String name, int height, int width, int channels, List<String> classes) {
    /** Largest side accepted; bigger images are resized down by the image-folder reader only. */
    public static final int MAX_SIDE = 1024;
    /** Labels are stored as one unsigned byte. */
    public static final int MAX_CLASSES = 256;

    public static final DatasetSpec FASHION_MNIST = new DatasetSpec("fashion-mnist", 28, 28, 1, List.of(
            "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"));

    public DatasetSpec {
        classes = List.copyOf(classes);
        if (height < 1 || height > MAX_SIDE || width < 1 || width > MAX_SIDE) {
            throw new IllegalArgumentException("image size " + height + "x" + width + " is outside 1.." + MAX_SIDE);
        }
        if (channels != 1 && channels != 3) {
            throw new IllegalArgumentException("channels must be 1 (grey) or 3 (RGB), not " + channels);
        }
        if (classes.size() < 2 || classes.size() > MAX_CLASSES) {
            throw new IllegalArgumentException("a classifier needs 2 to " + MAX_CLASSES + " class names, "
                    + classes.size() + " given");
        }
        Set<String> seen = new HashSet<>();
        for (String c : classes) {
            if (c == null || c.isBlank()) {
                throw new IllegalArgumentException("class names must not be empty");
            }
            if (!c.equals(c.strip())) {
                throw new IllegalArgumentException("class name '" + c + "' has spaces around it");
            }
            if (!seen.add(c.toLowerCase(Locale.ROOT))) {
                throw new IllegalArgumentException("class name '" + c + "' appears twice (names are compared"
                        + " ignoring case, as folder names are on some systems)");
            }
        }
    }

    public int classCount() {
        return classes.size();
    }

    /** Bytes (values) of one image: height x width x channels. */
    public int imageSize() {
        return height * width * channels;
    }

    /** "28x28x1", as messages show a shape. */
    public String shapeText() {
        return height + "x" + width + "x" + channels;
    }

    /** The serving input shape {@code [-1,H,W,C]}. */
    public long[] inputShape() {
        return new long[]{-1, height, width, channels};
    }

    /** The serving output shape {@code [-1,N]}. */
    public long[] outputShape() {
        return new long[]{-1, classes.size()};
    }

    /** The index of a class name (exact, else ignoring case), or -1. */
    public int indexOf(String className) {
        int i = classes.indexOf(className);
        if (i >= 0) {
            return i;
        }
        for (int k = 0; k < classes.size(); k++) {
            if (classes.get(k).equalsIgnoreCase(className)) {
                return k;
            }
        }
        return -1;
    }

    /** Does {@code d} hold images of this spec's shape? */
    public boolean fits(Dataset d) {
        return d.rows() == height && d.cols() == width && d.channels() == channels;
    }

    /** Throws a clear error naming {@code source} when {@code d} has another shape or a label out of range. */
    public Dataset check(Dataset d, String source) {
        if (!fits(d)) {
            throw new InvalidDataException(source, "images are " + d.shapeText() + " but the dataset is "
                    + shapeText() + " (dataset.height, dataset.width, dataset.channels)", null);
        }
        for (int i = 0; i < d.size(); i++) {
            if (d.label(i) >= classes.size()) {
                throw new InvalidDataException(source, "label " + d.label(i) + " at index " + i + " is outside 0-"
                        + (classes.size() - 1) + " (" + classes.size() + " classes)", null);
            }
        }
        return d;
    }
}
