package dev.camelmlops.data;

import java.util.Objects;

/**
 * Labelled images held as raw bytes (0-255), row-major with the channels interleaved (height x
 * width x channels, as TensorFlow's NHWC), one image after another; labels are class indexes,
 * one unsigned byte each. Bytes rather than floats keep a 60k-image split at 47 MB; conversion to
 * float happens per batch.
 */
public final class Dataset {
    private final byte[] pixels;
    private final byte[] labels;
    private final int rows;
    private final int cols;
    private final int channels;

    /** Grey-scale images (one channel). */
    public Dataset(byte[] pixels, byte[] labels, int rows, int cols) {
        this(pixels, labels, rows, cols, 1);
    }

    public Dataset(byte[] pixels, byte[] labels, int rows, int cols, int channels) {
        this.pixels = Objects.requireNonNull(pixels);
        this.labels = Objects.requireNonNull(labels);
        this.rows = rows;
        this.cols = cols;
        this.channels = channels;
        if (rows < 1 || cols < 1 || channels < 1) {
            throw new IllegalArgumentException("image shape " + rows + "x" + cols + "x" + channels);
        }
        if ((long) labels.length * rows * cols * channels != pixels.length) {
            throw new IllegalArgumentException("pixel count " + pixels.length + " does not match "
                    + labels.length + " images of " + rows + "x" + cols + "x" + channels);
        }
    }

    public int size() {
        return labels.length;
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    public int channels() {
        return channels;
    }

    /** "28x28x1": height x width x channels. */
    public String shapeText() {
        return rows + "x" + cols + "x" + channels;
    }

    /** Values per image: rows x cols x channels. */
    public int imageSize() {
        return rows * cols * channels;
    }

    /** The label (class index) of image {@code i}. */
    public int label(int i) {
        return labels[i] & 0xFF;
    }

    /** Raw pixels, shared (not copied): callers must not modify. */
    public byte[] pixels() {
        return pixels;
    }

    /** Raw labels, shared (not copied): callers must not modify. */
    public byte[] labels() {
        return labels;
    }

    /** Number of images per class, for {@code classes} classes (labels beyond are not counted). */
    public int[] classHistogram(int classes) {
        int[] h = new int[classes];
        for (byte l : labels) {
            int k = l & 0xFF;
            if (k < classes) {
                h[k]++;
            }
        }
        return h;
    }

    /** Copies pixel values of image {@code i}, scaled to [0,1], into {@code dst} at {@code offset}. */
    public void copyScaled(int i, float[] dst, int offset) {
        int size = imageSize();
        int base = i * size;
        for (int p = 0; p < size; p++) {
            dst[offset + p] = (pixels[base + p] & 0xFF) * (1f / 255f);
        }
    }

    /** All images of the given datasets (all of one shape), in order; empty parts list: no images of {@code like}'s shape. */
    public static Dataset concat(java.util.List<Dataset> parts, Dataset like) {
        long n = 0;
        for (Dataset d : parts) {
            if (d.rows != like.rows || d.cols != like.cols || d.channels != like.channels) {
                throw new IllegalArgumentException("cannot join images of " + d.shapeText() + " and " + like.shapeText());
            }
            n += d.size();
        }
        int size = like.imageSize();
        if (n * size > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException(n + " images of " + like.shapeText() + " do not fit in memory as one split");
        }
        byte[] p = new byte[(int) n * size];
        byte[] l = new byte[(int) n];
        int at = 0;
        for (Dataset d : parts) {
            System.arraycopy(d.pixels, 0, p, at * size, d.pixels.length);
            System.arraycopy(d.labels, 0, l, at, d.labels.length);
            at += d.size();
        }
        return new Dataset(p, l, like.rows, like.cols, like.channels);
    }

    /** The images at the given indexes, in that order. */
    public Dataset select(int[] indexes) {
        int size = imageSize();
        byte[] p = new byte[indexes.length * size];
        byte[] l = new byte[indexes.length];
        for (int i = 0; i < indexes.length; i++) {
            System.arraycopy(pixels, indexes[i] * size, p, i * size, size);
            l[i] = labels[indexes[i]];
        }
        return new Dataset(p, l, rows, cols, channels);
    }

    /** A random sample of {@code fraction} of the images (seeded; without repetition). */
    public Dataset sample(double fraction, long seed) {
        int n = (int) Math.round(size() * Math.max(0, Math.min(1, fraction)));
        int[] idx = new int[size()];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i;
        }
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        for (int i = 0; i < n; i++) {
            int j = i + r.nextInt(idx.length - i);
            int t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
        }
        return select(java.util.Arrays.copyOf(idx, n));
    }

    /** The first {@code n} images (or all, if fewer). */
    public Dataset head(int n) {
        if (n >= size()) {
            return this;
        }
        byte[] p = new byte[n * imageSize()];
        System.arraycopy(pixels, 0, p, 0, p.length);
        byte[] l = new byte[n];
        System.arraycopy(labels, 0, l, 0, n);
        return new Dataset(p, l, rows, cols, channels);
    }
}
