package dev.camelmlops.testing;

import dev.camelmlops.data.Dataset;
import dev.camelmlops.data.FashionMnistFiles;
import dev.camelmlops.data.IdxWriter;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Small generated stand-ins for Fashion-MNIST: 28x28 images where class c is a bright 7x7 patch
 * at a position of its own plus noise, so a tiny model learns it in a few hundred steps.
 */
public final class TinyFashion {
    private TinyFashion() {
    }

    public static Dataset dataset(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        byte[] pixels = new byte[n * 784];
        byte[] labels = new byte[n];
        for (int i = 0; i < n; i++) {
            int c = i % 10;
            labels[i] = (byte) c;
            int top = (c / 5) * 14 + 3;
            int left = (c % 5) * 5 + 1;
            for (int p = 0; p < 784; p++) {
                int y = p / 28;
                int x = p % 28;
                boolean patch = y >= top && y < top + 7 && x >= left && x < left + 5;
                int v = patch ? 180 + r.nextInt(76) : r.nextInt(60);
                pixels[i * 784 + p] = (byte) v;
            }
        }
        return new Dataset(pixels, labels, 28, 28);
    }

    /** Writes the four files, gzip-compressed, under their Fashion-MNIST names. */
    public static FashionMnistFiles write(Path dir, int train, int test) {
        Dataset tr = dataset(train, 1);
        Dataset te = dataset(test, 2);
        FashionMnistFiles f = FashionMnistFiles.in(dir);
        IdxWriter.writeImages(f.trainImages(), tr.pixels(), 28, 28);
        IdxWriter.writeLabels(f.trainLabels(), tr.labels());
        IdxWriter.writeImages(f.testImages(), te.pixels(), 28, 28);
        IdxWriter.writeLabels(f.testLabels(), te.labels());
        return f;
    }
}
