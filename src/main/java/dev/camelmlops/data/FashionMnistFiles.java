package dev.camelmlops.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The four Fashion-MNIST files in one folder, as published (gzip) or already decompressed. */
public record FashionMnistFiles(Path trainImages, Path trainLabels, Path testImages, Path testLabels) {

    public static final List<String> NAMES = List.of(
            "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
            "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz");

    /** Resolves each file in {@code dir}, preferring the .gz name and accepting the decompressed one. */
    public static FashionMnistFiles in(Path dir) {
        return new FashionMnistFiles(find(dir, NAMES.get(0)), find(dir, NAMES.get(1)),
                find(dir, NAMES.get(2)), find(dir, NAMES.get(3)));
    }

    private static Path find(Path dir, String gzName) {
        Path gz = dir.resolve(gzName);
        if (Files.isRegularFile(gz)) {
            return gz;
        }
        Path plain = dir.resolve(gzName.substring(0, gzName.length() - 3));
        return Files.isRegularFile(plain) ? plain : gz;
    }

    public List<Path> all() {
        return List.of(trainImages, trainLabels, testImages, testLabels);
    }

    public List<Path> missing() {
        List<Path> m = new ArrayList<>();
        for (Path p : all()) {
            if (!Files.isRegularFile(p)) {
                m.add(p);
            }
        }
        return m;
    }

    public boolean complete() {
        return missing().isEmpty();
    }
}
