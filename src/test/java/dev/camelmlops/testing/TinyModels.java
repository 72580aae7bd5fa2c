package dev.camelmlops.testing;

import dev.camelmlops.data.Dataset;
import dev.camelmlops.model.ModelArchitecture;
import dev.camelmlops.model.TrainedModel;
import dev.camelmlops.model.Trainer;
import dev.camelmlops.model.TrainingListener;
import dev.camelmlops.model.TrainingParams;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** Small trained SavedModels for tests. */
public final class TinyModels {
    private TinyModels() {
    }

    /** Trains the tutorial model briefly on tiny data and exports it to {@code dir}. */
    public static void export(Path dir, long seed) {
        Dataset train = TinyFashion.dataset(200, seed);
        TrainingParams p = new TrainingParams(ModelArchitecture.TUTORIAL, 1, 20, 0.003f, seed, false);
        try (TrainedModel m = TrainedModel.create(p.architecture(), p.seed(), p.learningRate())) {
            new Trainer().train(m, train, null, p, TrainingListener.NONE, false);
            m.export(dir);
        }
    }

    public static void deleteTree(Path root) {
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static void copyTree(Path from, Path to) {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
