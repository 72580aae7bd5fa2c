package dev.camelmlops.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The build stage's output in a run's work folder: train and test splits as uncompressed IDX
 * (fast to reload, readable by any MNIST tool) and the data manifest.
 */
public final class PreparedData {
    public static final String TRAIN_IMAGES = "train-images.idx";
    public static final String TRAIN_LABELS = "train-labels.idx";
    public static final String TEST_IMAGES = "test-images.idx";
    public static final String TEST_LABELS = "test-labels.idx";
    public static final String NEW_IMAGES = "new-images.idx";
    public static final String NEW_LABELS = "new-labels.idx";
    public static final String MANIFEST = "data-manifest.json";
    public static final List<String> SPLIT_FILES = List.of(TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS);

    private final Path dir;
    private final DatasetSpec spec;

    /** {@code spec} null: read the splits in whatever shape they were written (the report does). */
    public PreparedData(Path dir, DatasetSpec spec) {
        this.dir = dir;
        this.spec = spec;
    }

    public Path dir() {
        return dir;
    }

    public Path manifest() {
        return dir.resolve(MANIFEST);
    }

    public Path file(String name) {
        return dir.resolve(name);
    }

    /**
     * Writes the four split files, the train images (most of the bytes) on a second thread;
     * returns each file's name, SHA-256 and size, in the order of {@link #SPLIT_FILES}.
     */
    public List<DataManifest.FileEntry> write(Dataset train, Dataset test) {
        Map<String, String> sha = new ConcurrentHashMap<>();
        ExecutorService second = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "prepared-data-writer");
            t.setDaemon(true);
            return t;
        });
        try {
            Future<?> images = second.submit(() -> sha.put(TRAIN_IMAGES,
                    IdxWriter.writeImages(file(TRAIN_IMAGES), train)));
            sha.put(TRAIN_LABELS, IdxWriter.writeLabels(file(TRAIN_LABELS), train.labels()));
            sha.put(TEST_IMAGES, IdxWriter.writeImages(file(TEST_IMAGES), test));
            sha.put(TEST_LABELS, IdxWriter.writeLabels(file(TEST_LABELS), test.labels()));
            Concurrent.join(images);
        } finally {
            second.shutdownNow();
        }
        List<DataManifest.FileEntry> entries = new ArrayList<>();
        for (String name : SPLIT_FILES) {
            try {
                entries.add(new DataManifest.FileEntry(name, sha.get(name), Files.size(file(name))));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the size of " + file(name), e);
            }
        }
        return entries;
    }

    /** Keeps the new batches (also part of the train split) apart, for the new-data check. */
    public void writeNew(Dataset fresh) {
        IdxWriter.writeImages(file(NEW_IMAGES), fresh);
        IdxWriter.writeLabels(file(NEW_LABELS), fresh.labels());
    }

    /** The new batches of a retrain, if this is one. */
    public java.util.Optional<Dataset> readNew() {
        if (!file(NEW_IMAGES).toFile().isFile()) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of(read(NEW_IMAGES, NEW_LABELS));
    }

    public Dataset readTrain() {
        return read(TRAIN_IMAGES, TRAIN_LABELS);
    }

    public Dataset readTest() {
        return read(TEST_IMAGES, TEST_LABELS);
    }

    private Dataset read(String images, String labels) {
        if (!file(images).toFile().isFile()) {
            throw new InvalidDataException(file(images), "prepared data not found: run the build stage first");
        }
        try {
            return (spec == null ? IdxReader.selfDescribing() : IdxReader.of(spec)).read(file(images), file(labels));
        } catch (InvalidDataException e) {
            throw new InvalidDataException(e.file(), e.defect() + " (prepared by an earlier build with another"
                    + " dataset configuration? run the build stage again)", e);
        }
    }
}
