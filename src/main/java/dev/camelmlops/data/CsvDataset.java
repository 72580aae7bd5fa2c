package dev.camelmlops.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * A CSV dataset ({@link CsvImages}' format): {@code train.csv} and {@code test.csv} in a folder,
 * or one CSV file (a folder holding exactly one, or the file itself) whose test split is cut by
 * dataset.test-fraction.
 */
public final class CsvDataset implements BaseDataset {
    private final DatasetSpec spec;
    private final Path train;
    private final Optional<Path> test;
    private final double testFraction;
    private final long splitSeed;

    private CsvDataset(DatasetSpec spec, Path train, Optional<Path> test, double testFraction, long splitSeed) {
        this.spec = spec;
        this.train = train;
        this.test = test;
        this.testFraction = testFraction;
        this.splitSeed = splitSeed;
    }

    public static CsvDataset at(DatasetSpec spec, Path path, double testFraction, long splitSeed) {
        if (Files.isRegularFile(path)) {
            return new CsvDataset(spec, path, Optional.empty(), testFraction, splitSeed);
        }
        if (!Files.isDirectory(path)) {
            throw new InvalidDataException(path, "dataset.path does not exist");
        }
        Path train = path.resolve("train.csv");
        Path test = path.resolve("test.csv");
        if (Files.isRegularFile(train)) {
            return new CsvDataset(spec, train, Files.isRegularFile(test) ? Optional.of(test) : Optional.empty(),
                    testFraction, splitSeed);
        }
        List<Path> csvs = new ArrayList<>();
        try (var list = Files.list(path)) {
            list.filter(Files::isRegularFile)
                    .filter(p -> p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".csv"))
                    .sorted().forEach(csvs::add);
        } catch (IOException e) {
            throw new InvalidDataException(path, "cannot be listed: " + e.getMessage());
        }
        if (csvs.size() != 1) {
            throw new InvalidDataException(path, (csvs.isEmpty() ? "holds no .csv file" : "holds " + csvs.size()
                    + " .csv files and no train.csv") + ": name the files train.csv and test.csv, or keep one .csv"
                    + " (its test split is then cut by dataset.test-fraction)");
        }
        return new CsvDataset(spec, csvs.get(0), Optional.empty(), testFraction, splitSeed);
    }

    @Override
    public List<Path> files() {
        List<Path> all = new ArrayList<>(List.of(train));
        test.ifPresent(all::add);
        return all;
    }

    @Override
    public Path location() {
        return train.toAbsolutePath().getParent();
    }

    @Override
    public Splits read() {
        CsvImages csv = new CsvImages(spec);
        Dataset trainData = csv.read(train, train.toString());
        if (test.isEmpty()) {
            return TestSplit.cut(trainData, spec.classCount(), testFraction, splitSeed);
        }
        return new Splits(trainData, csv.read(test.get(), test.get().toString()), "its own file ("
                + test.get().getFileName() + ")");
    }

    @Override
    public List<DataManifest.FileEntry> inputs() {
        return IdxDataset.fileEntries(files());
    }
}
