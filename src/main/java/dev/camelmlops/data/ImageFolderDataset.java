package dev.camelmlops.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;

/**
 * A base dataset of image files in class folders (Keras' {@code image_dataset_from_directory}
 * layout). Either {@code dir/train/<class>/...} with {@code dir/test/<class>/...} (without test/,
 * a test split is cut from train/), or {@code dir/<class>/...} cut into train and test by the
 * configured fraction and seed ({@link TestSplit}). Other folders next to train/ and test/ (a
 * val/, say) are not read. "train" and "test" are matched ignoring case.
 */
public final class ImageFolderDataset implements BaseDataset {
    private final DatasetSpec spec;
    private final Path dir;
    private final double testFraction;
    private final long splitSeed;
    private final ImageFolderReader reader;

    public ImageFolderDataset(DatasetSpec spec, Path dir, double testFraction, long splitSeed) {
        if (!(testFraction > 0 && testFraction < 1)) {
            throw new IllegalArgumentException("the test fraction must be between 0 and 1 (exclusive), not " + testFraction);
        }
        if (!Files.isDirectory(dir)) {
            throw new InvalidDataException(dir, "dataset.path does not exist or is not a folder");
        }
        this.spec = spec;
        this.dir = dir;
        this.testFraction = testFraction;
        this.splitSeed = splitSeed;
        this.reader = new ImageFolderReader(spec);
    }

    /** The train/ folder, or null when {@code dir} holds the class folders itself. */
    private Path trainDir() {
        return child("train");
    }

    /** The test/ folder next to train/, or null. */
    private Path testDir() {
        return trainDir() == null ? null : child("test");
    }

    private Path child(String name) {
        Path exact = dir.resolve(name);
        if (Files.isDirectory(exact)) {
            return exact;
        }
        try (var s = Files.list(dir)) {
            return s.filter(Files::isDirectory).filter(p -> p.getFileName().toString().equalsIgnoreCase(name))
                    .sorted().findFirst().orElse(null);
        } catch (IOException e) {
            return null;
        }
    }

    /** The folders read: train/ and (when present) test/, or the dataset folder itself. */
    private List<Path> splitDirs() {
        Path train = trainDir();
        if (train == null) {
            return List.of(dir);
        }
        Path test = testDir();
        return test == null ? List.of(train) : List.of(train, test);
    }

    private void requireFolder() {
        if (!Files.isDirectory(dir)) {
            throw new InvalidDataException(dir, "dataset.path does not exist or is not a folder");
        }
    }

    @Override
    public List<Path> files() {
        requireFolder();
        List<Path> out = new ArrayList<>();
        for (Path d : splitDirs()) {
            out.addAll(ImageFolderReader.imageFiles(d));
        }
        return out;
    }

    @Override
    public Path location() {
        return dir;
    }

    @Override
    public Splits read() {
        requireFolder();
        Path train = trainDir();
        Splits splits;
        if (train == null) {
            splits = TestSplit.cut(reader.read(dir, dir.toString()), spec.classCount(), testFraction, splitSeed);
        } else {
            Dataset trainData = reader.read(train, train.toString());
            Path test = testDir();
            if (test == null) {
                Splits cut = TestSplit.cut(trainData, spec.classCount(), testFraction, splitSeed);
                splits = new Splits(cut.train(), cut.test(), "cut from " + train.getFileName()
                        + "/ as there is no test/ folder: " + cut.testSplit());
            } else {
                Dataset testData = reader.read(test, test.toString());
                splits = new Splits(trainData, testData, test.getFileName() + "/ folder (" + testData.size() + " images)");
            }
        }
        return splits;
    }

    @Override
    public List<DataManifest.FileEntry> inputs() {
        requireFolder();
        List<DataManifest.FileEntry> out = new ArrayList<>();
        for (Path d : splitDirs()) {
            MessageDigest md = Sha256.newDigest();
            long bytes = 0;
            for (String rel : ImageFolderReader.relativeFiles(d, d.toString())) {
                Path f = d.resolve(rel);
                md.update((rel + " " + Sha256.of(f) + "\n").getBytes(StandardCharsets.UTF_8));
                try {
                    bytes += Files.size(f);
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot read the size of " + f, e);
                }
            }
            out.add(new DataManifest.FileEntry(d.getFileName() + "/", Sha256.hex(md.digest()), bytes));
        }
        return out;
    }
}
