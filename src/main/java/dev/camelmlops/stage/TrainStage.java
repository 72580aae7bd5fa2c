package dev.camelmlops.stage;

import dev.camelmlops.settings.PipelineSettings;

import dev.camelmlops.data.Dataset;
import dev.camelmlops.data.DatasetSpec;
import java.util.List;
import dev.camelmlops.data.PreparedData;
import dev.camelmlops.model.Trainer;
import dev.camelmlops.model.TrainedModel;
import dev.camelmlops.model.TrainingHistory;
import dev.camelmlops.model.TrainingListener;
import dev.camelmlops.model.TrainingParams;
import dev.camelmlops.registry.Json;
import dev.camelmlops.registry.WorkDir;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Train: reads the prepared splits, trains a new model with the configured architecture and
 * hyper-parameters, and writes the checkpoint (a SavedModel that keeps the training op and the
 * optimizer state) and history.json. The checkpoint replaces the previous one only when complete.
 */
public class TrainStage {
    private static final Logger LOG = LoggerFactory.getLogger(TrainStage.class);
    private final PipelineSettings settings;
    private final TrainingListener listener;

    public TrainStage(PipelineSettings settings, TrainingListener listener) {
        this.settings = settings;
        this.listener = listener;
    }

    public String run() {
        WorkDir work = new WorkDir(settings.workDir());
        PreparedData prepared = new PreparedData(work.data(), settings.dataset().spec());
        Dataset train = prepared.readTrain();
        Dataset test = prepared.readTest();
        TrainingParams p = settings.training();
        DatasetSpec spec = settings.dataset().spec();
        LOG.info("train: {} model, {} epochs, batch {}, learning rate {}, seed {}, {} images of {}, {} classes",
                p.architecture().id(), p.epochs(), p.batchSize(), p.learningRate(), p.seed(), train.size(),
                spec.shapeText(), spec.classCount());
        TrainingHistory history;
        TrainedModel created;
        try {
            created = TrainedModel.create(p.architecture(), spec, p.seed(), p.learningRate(), p.threads());
        } catch (IllegalArgumentException e) {
            throw new StageFailedException("model.architecture=" + p.architecture().id() + " cannot be built: "
                    + e.getMessage());
        }
        try (TrainedModel model = created) {
            history = new Trainer().train(model, train, test, p, listener, false);
            writeCheckpoint(model, work.checkpoint());
        }
        Json.write(work.history(), history);
        TrainingHistory.Epoch last = history.history().get(history.history().size() - 1);
        String summary = String.format("train: %d epochs in %.1f s (%.0f images/s), train accuracy %.4f, loss %.4f%s%s",
                history.epochs(), history.seconds(), history.imagesPerSecond(), last.accuracy(), last.loss(),
                Double.isNaN(last.testAccuracy()) ? "" : String.format(", test accuracy %.4f", last.testAccuracy()),
                history.stoppedByBudget() ? String.format("; stopped by train.max-seconds=%s in epoch %d of %d"
                        + " (after %d of its %d images)", p.maxSeconds(), history.epochs(), p.epochs(),
                        last.images(), train.size()) : "");
        LOG.info(summary);
        return summary;
    }

    /**
     * Retrain: continues training the deployed model (work/baseline, a SavedModel with its train
     * op and Adam state) on the prepared data, with retrain.epochs and retrain.learning-rate.
     */
    public String warmStart() {
        WorkDir work = new WorkDir(settings.workDir());
        PreparedData prepared = new PreparedData(work.data(), settings.dataset().spec());
        Dataset train = prepared.readTrain();
        Dataset test = prepared.readTest();
        TrainingParams base = settings.training();
        TrainingParams p = new TrainingParams(base.architecture(), settings.retrain().epochs(), base.batchSize(),
                settings.retrain().learningRate(), base.seed(), base.validateEachEpoch(), base.threads(),
                dev.camelmlops.model.LearningRateSchedule.CONSTANT, base.maxSeconds());
        TrainingHistory history;
        try (TrainedModel model = TrainedModel.load(work.baseline(), p.threads())) {
            if (!model.trainable()) {
                throw new StageFailedException("the deployed model in " + work.baseline()
                        + " has no training op: it cannot be warm-started (retrain it with ./mlops run)");
            }
            List<String> mismatches = model.mismatches(settings.dataset().spec());
            if (!mismatches.isEmpty()) {
                throw new StageFailedException("the deployed model in " + work.baseline() + " was trained for"
                        + " another dataset (" + String.join("; ", mismatches) + "): it cannot be warm-started;"
                        + " train a new model for this dataset with ./mlops run");
            }
            LOG.info("train: warm start from {}, {} epochs, learning rate {}, {} images", work.baseline(), p.epochs(),
                    p.learningRate(), train.size());
            history = new Trainer().train(model, train, test, p, listener, true);
            writeCheckpoint(model, work.checkpoint());
        }
        Json.write(work.history(), history);
        TrainingHistory.Epoch last = history.history().get(history.history().size() - 1);
        String summary = String.format("train (warm start): %d epochs in %.1f s, train accuracy %.4f%s",
                history.epochs(), history.seconds(), last.accuracy(),
                Double.isNaN(last.testAccuracy()) ? "" : String.format(", test accuracy %.4f", last.testAccuracy()));
        LOG.info(summary);
        return summary;
    }

    private static void writeCheckpoint(TrainedModel model, Path checkpoint) {
        Path tmp = checkpoint.resolveSibling(".checkpoint-incoming");
        try {
            FileTrees.deleteRecursively(tmp);
            Files.createDirectories(checkpoint.getParent());
            model.export(tmp);
            FileTrees.deleteRecursively(checkpoint);
            Files.move(tmp, checkpoint);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write checkpoint " + checkpoint, e);
        }
    }
}
