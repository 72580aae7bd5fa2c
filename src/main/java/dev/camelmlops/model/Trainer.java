package dev.camelmlops.model;

import dev.camelmlops.data.Dataset;
import java.util.List;
import java.util.SplittableRandom;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.types.TFloat32;

/**
 * Mini-batch training of a {@link TrainedModel}: shuffles the training data each epoch with a
 * seeded generator, runs the graph's train op batch by batch, stops at the first NaN or infinite
 * loss, and optionally measures the test split after each epoch. With a time budget it stops after
 * the step that uses it up, and the learning-rate schedule runs on whichever is further along,
 * the steps or the clock (time in evaluation does not count).
 */
public final class Trainer {
    private final Evaluator evaluator = new Evaluator();

    public TrainingHistory train(TrainedModel model, Dataset train, Dataset validation, TrainingParams params,
                                 TrainingListener listener, boolean warmStart) {
        if (!model.trainable()) {
            throw new IllegalArgumentException("the model has no '" + GraphNames.TRAIN + "' op: it cannot be trained");
        }
        if (train.size() == 0) {
            throw new IllegalArgumentException("no training images");
        }
        model.requireFits(train);
        Session session = model.session();
        int n = train.size();
        int batch = Math.min(params.batchSize(), n);
        int fullSteps = n / batch;
        int rest = n % batch;
        int steps = fullSteps + (rest > 0 ? 1 : 0);
        SplittableRandom random = new SplittableRandom(params.seed());
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        List<TrainingHistory.Epoch> epochs = TrainingHistory.newList();
        long start = System.nanoTime();
        long totalSteps = (long) steps * params.epochs();
        long globalStep = 0;
        long budgetNanos = params.maxSeconds() > 0 ? (long) (params.maxSeconds() * 1e9) : 0;
        long trainedNanos = 0; // in training steps, over finished epochs
        boolean outOfTime = false;
        boolean feedRate = model.graph().operation(AdamUpdate.LEARNING_RATE) != null;
        boolean oneFetch = model.graph().operation(GraphNames.METRICS) != null;
        try (BatchFeeder feeder = new BatchFeeder(batch, train);
             BatchFeeder tail = rest > 0 ? new BatchFeeder(rest, train) : null;
             TFloat32 rate = TFloat32.scalarOf(params.learningRate())) {
            for (int epoch = 1; epoch <= params.epochs() && !outOfTime; epoch++) {
                shuffle(order, random);
                listener.epochStarted(epoch, params.epochs(), steps);
                long epochStart = System.nanoTime();
                double lossSum = 0;
                double accSum = 0;
                long seen = 0;
                for (int step = 0; step < steps; step++) {
                    BatchFeeder f = step < fullSteps ? feeder : tail;
                    f.load(train, order, step * batch);
                    float loss;
                    float acc;
                    Session.Runner runner = session.runner();
                    if (feedRate) {
                        double progress = totalSteps <= 1 ? 0 : (double) globalStep / (totalSteps - 1);
                        if (budgetNanos > 0) {
                            long used = trainedNanos + System.nanoTime() - epochStart;
                            progress = Math.max(progress, (double) used / budgetNanos);
                        }
                        rate.setFloat(params.schedule().rate(params.learningRate(), progress));
                        runner.feed(AdamUpdate.LEARNING_RATE, rate);
                    }
                    globalStep++;
                    runner.feed(GraphNames.IMAGES, f.images()).feed(GraphNames.LABELS, f.labels())
                            .addTarget(GraphNames.TRAIN);
                    if (oneFetch) {
                        runner.fetch(GraphNames.METRICS);
                    } else {
                        runner.fetch(GraphNames.LOSS).fetch(GraphNames.ACCURACY);
                    }
                    try (Result r = runner.run()) {
                        TFloat32 first = (TFloat32) r.get(0);
                        loss = oneFetch ? first.getFloat(0) : first.getFloat();
                        acc = oneFetch ? first.getFloat(1) : ((TFloat32) r.get(1)).getFloat();
                    }
                    if (!Float.isFinite(loss)) {
                        throw new TrainingDivergedException("training diverged: loss is " + loss + " at epoch "
                                + epoch + ", step " + (step + 1) + " of " + steps + " (learning rate "
                                + params.learningRate() + "); try a smaller train.learning-rate");
                    }
                    lossSum += (double) loss * f.batchSize();
                    accSum += (double) acc * f.batchSize();
                    seen += f.batchSize();
                    listener.stepFinished(epoch, step + 1, steps, lossSum / seen, accSum / seen);
                    if (budgetNanos > 0 && trainedNanos + System.nanoTime() - epochStart >= budgetNanos) {
                        outOfTime = epoch < params.epochs() || step + 1 < steps;
                        break;
                    }
                }
                long epochNanos = System.nanoTime() - epochStart;
                trainedNanos += epochNanos;
                double trainSeconds = epochNanos / 1e9;
                double testLoss = Double.NaN;
                double testAcc = Double.NaN;
                if (validation != null && params.validateEachEpoch()) {
                    Evaluation ev = evaluator.evaluate(model, validation);
                    testLoss = ev.loss();
                    testAcc = ev.accuracy();
                }
                TrainingHistory.Epoch e = new TrainingHistory.Epoch(epoch, lossSum / seen, accSum / seen,
                        testLoss, testAcc, trainSeconds, seen / trainSeconds, seen);
                epochs.add(e);
                listener.epochFinished(e, params.epochs());
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        double trainingOnly = trainedNanos / 1e9;
        long images = epochs.stream().mapToLong(TrainingHistory.Epoch::images).sum();
        return new TrainingHistory(params.architecture().id(), epochs.size(), batch, params.learningRate(),
                params.schedule().id(), params.seed(), n, warmStart, seconds, images / trainingOnly,
                params.maxSeconds(), outOfTime, epochs);
    }

    private static void shuffle(int[] a, SplittableRandom random) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }
}
