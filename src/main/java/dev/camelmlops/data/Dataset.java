package dev.camelmlops.data;

import java.util.Objects;

/**
 * Labelled grey-scale images held as raw bytes (0-255), row-major, one image after another.
 * Bytes rather than floats keep a 60k-image split at 47 MB; conversion to float happens per batch.
 */
public final class Dataset {
    public static final int CLASSES = 10;

    private final byte[] pixels;
    private final byte[] labels;
    private final int rows;
    private final int cols;

    public Dataset(byte[] pixels, byte[] labels, int rows, int cols) {
        this.pixels = Objects.requireNonNull(pixels);
        this.labels = Objects.requireNonNull(labels);
        this.rows = rows;
        this.cols = cols;
        if ((long) labels.length * rows * cols != pixels.length) {
            throw new IllegalArgumentException("pixel count " + pixels.length + " does not match "
                    + labels.length + " images of " + rows + "x" + cols);
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

    public int imageSize() {
        return rows * cols;
    }

    /** The label of image {@code i}, 0-9. */
    public int label(int i) {
        return labels[i];
    }

    /** Raw pixels, shared (not copied): callers must not modify. */
    public byte[] pixels() {
        return pixels;
    }

    /** Raw labels, shared (not copied): callers must not modify. */
    public byte[] labels() {
        return labels;
    }

    /** Number of images per class. */
    public int[] classHistogram() {
        int[] h = new int[CLASSES];
        for (byte l : labels) {
            h[l]++;
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

    /** All images of the given datasets, in order. */
    public static Dataset concat(java.util.List<Dataset> parts) {
        int n = 0;
        for (Dataset d : parts) {
            n += d.size();
        }
        byte[] p = new byte[n * 784];
        byte[] l = new byte[n];
        int at = 0;
        for (Dataset d : parts) {
            System.arraycopy(d.pixels, 0, p, at * 784, d.pixels.length);
            System.arraycopy(d.labels, 0, l, at, d.labels.length);
            at += d.size();
        }
        return new Dataset(p, l, 28, 28);
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
        int size = imageSize();
        byte[] p = new byte[n * size];
        byte[] l = new byte[n];
        for (int i = 0; i < n; i++) {
            System.arraycopy(pixels, idx[i] * size, p, i * size, size);
            l[i] = labels[idx[i]];
        }
        return new Dataset(p, l, rows, cols);
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
        return new Dataset(p, l, rows, cols);
    }
}
