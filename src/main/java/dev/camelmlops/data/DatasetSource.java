package dev.camelmlops.data;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/**
 * Where the base dataset comes from and how it is read: its {@link DatasetSpec}, its format, the
 * folder holding it, and how a test split is cut when the data has none (a fraction of each
 * class, chosen with a fixed seed, so every run tests on the same images).
 */
public record DatasetSource(DatasetSpec spec, Format format, Optional<Path> path, double testFraction,
                            long splitSeed) {

    /** The formats the build stage reads. */
    public enum Format {
        /** Fashion-MNIST's four IDX files, found (or downloaded) by {@link FashionMnistLocator}. */
        FASHION_MNIST,
        /** IDX files of any size in a folder: train-images/train-labels (+ test- or t10k-), plain or gzip. */
        IDX,
        /** train.csv (+ test.csv), or any single .csv, with header {@code label,<pixel columns>}. */
        CSV,
        /** Keras' image_dataset_from_directory layout: [train/, test/]&lt;class&gt;/*.png|jpg. */
        IMAGE_FOLDER;

        public String id() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }

        public static Format parse(String s) {
            for (Format f : values()) {
                if (f.id().equals(s.trim().toLowerCase(Locale.ROOT))) {
                    return f;
                }
            }
            throw new IllegalArgumentException("unknown dataset.format '" + s
                    + "' (expected one of: fashion-mnist, idx, csv, image-folder)");
        }
    }

    public boolean isFashionMnist() {
        return format == Format.FASHION_MNIST;
    }
}
