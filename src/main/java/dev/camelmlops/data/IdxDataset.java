package dev.camelmlops.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * IDX files of any image size in one folder (plain or gzip): {@code train-images*} and
 * {@code train-labels*}, and {@code t10k-images*}/{@code t10k-labels*} or
 * {@code test-images*}/{@code test-labels*} (MNIST's names; without them the test split is cut
 * from the train files). Fashion-MNIST's four files are the default case.
 */
public final class IdxDataset implements BaseDataset {
    private final DatasetSpec spec;
    private final Path dir;
    private final Path trainImages;
    private final Path trainLabels;
    private final Optional<Path> testImages;
    private final Optional<Path> testLabels;
    private final double testFraction;
    private final long splitSeed;

    public IdxDataset(DatasetSpec spec, Path trainImages, Path trainLabels, Optional<Path> testImages,
                      Optional<Path> testLabels, double testFraction, long splitSeed) {
        this.spec = spec;
        this.dir = trainImages.toAbsolutePath().getParent();
        this.trainImages = trainImages;
        this.trainLabels = trainLabels;
        this.testImages = testImages;
        this.testLabels = testLabels;
        this.testFraction = testFraction;
        this.splitSeed = splitSeed;
    }

    /** Fashion-MNIST's four files. */
    public static IdxDataset of(DatasetSpec spec, FashionMnistFiles files) {
        return new IdxDataset(spec, files.trainImages(), files.trainLabels(), Optional.of(files.testImages()),
                Optional.of(files.testLabels()), 0.2, 42);
    }

    /** Finds the files in {@code dir} by their MNIST-style names; a missing train pair is an error. */
    public static IdxDataset in(DatasetSpec spec, Path dir, double testFraction, long splitSeed) {
        if (!Files.isDirectory(dir)) {
            throw new InvalidDataException(dir, "dataset.path is not a folder");
        }
        Optional<Path> trainImages = find(dir, "train-images");
        Optional<Path> trainLabels = find(dir, "train-labels");
        Optional<Path> testImages = find(dir, "t10k-images").or(() -> find(dir, "test-images"));
        Optional<Path> testLabels = find(dir, "t10k-labels").or(() -> find(dir, "test-labels"));
        if (trainImages.isEmpty() || trainLabels.isEmpty()) {
            throw new InvalidDataException(dir, "no " + (trainImages.isEmpty() ? "train-images*" : "train-labels*")
                    + " file: an IDX dataset folder holds train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz],"
                    + " and optionally t10k-* (or test-*) files");
        }
        if (testImages.isPresent() != testLabels.isPresent()) {
            throw new InvalidDataException(dir, "has " + (testImages.isPresent() ? "test images but no test labels"
                    : "test labels but no test images") + " (t10k-* or test-* files)");
        }
        return new IdxDataset(spec, trainImages.get(), trainLabels.get(), testImages, testLabels, testFraction,
                splitSeed);
    }

    private static Optional<Path> find(Path dir, String prefix) {
        try (var list = Files.list(dir)) {
            List<Path> found = list.filter(Files::isRegularFile)
                    .filter(p -> p.getFileName().toString().toLowerCase(Locale.ROOT).startsWith(prefix))
                    .sorted().toList();
            if (found.size() > 1) {
                throw new InvalidDataException(dir, "more than one " + prefix + "* file: "
                        + found.stream().map(p -> p.getFileName().toString()).toList() + " (keep one)");
            }
            return found.stream().findFirst();
        } catch (IOException e) {
            throw new InvalidDataException(dir, "cannot be listed: " + e.getMessage());
        }
    }

    @Override
    public List<Path> files() {
        List<Path> all = new ArrayList<>(List.of(trainImages, trainLabels));
        testImages.ifPresent(all::add);
        testLabels.ifPresent(all::add);
        return all;
    }

    @Override
    public Path location() {
        return dir;
    }

    /** Reads the train pair on this thread and the test pair on a second one (the train split is most of the bytes). */
    @Override
    public Splits read() {
        IdxReader reader = IdxReader.of(spec);
        if (testImages.isEmpty()) {
            Dataset all = reader.read(trainImages, trainLabels);
            return TestSplit.cut(all, spec.classCount(), testFraction, splitSeed);
        }
        ExecutorService second = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "idx-test-reader");
            t.setDaemon(true);
            return t;
        });
        try {
            Future<Dataset> test = second.submit(() -> reader.read(testImages.get(), testLabels.get()));
            Dataset train = reader.read(trainImages, trainLabels);
            return new Splits(train, Concurrent.join(test), "its own files (" + testImages.get().getFileName()
                    + ", " + testLabels.get().getFileName() + ")");
        } finally {
            second.shutdownNow();
        }
    }

    @Override
    public List<DataManifest.FileEntry> inputs() {
        return fileEntries(files());
    }

    /** Name, SHA-256 and size of each file. */
    static List<DataManifest.FileEntry> fileEntries(List<Path> paths) {
        List<DataManifest.FileEntry> list = new ArrayList<>();
        for (Path p : paths) {
            try {
                list.add(new DataManifest.FileEntry(p.getFileName().toString(), Sha256.of(p), Files.size(p)));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return list;
    }
}
