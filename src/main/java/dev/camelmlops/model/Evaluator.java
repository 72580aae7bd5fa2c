package dev.camelmlops.model;

import dev.camelmlops.data.Dataset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import org.tensorflow.Result;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;

/** Runs a model's probabilities output over a labelled split and scores it. */
public final class Evaluator {
    static final int BATCH = 500;
    private static final double MIN_PROBABILITY = 1e-7;

    public Evaluation evaluate(TrainedModel model, Dataset data) {
        return evaluate(model, data, 0);
    }

    /**
     * As {@link #evaluate(TrainedModel, Dataset)}, also keeping the {@code keep} most confident
     * mistakes (highest predicted probability of the wrong class), most confident first.
     */
    public Evaluation evaluate(TrainedModel model, Dataset data, int keep) {
        int k = classes(model);
        int[][] confusion = new int[k][k];
        double[] lossSum = {0};
        PriorityQueue<Evaluation.Misclassified> wrong = new PriorityQueue<>(LEAST_CONFIDENT_FIRST);
        forEachBatch(model, data, k, (first, count, probs) -> {
            for (int i = 0; i < count; i++) {
                int label = data.label(first + i);
                int best = 0;
                for (int c = 1; c < k; c++) {
                    if (probs[i * k + c] > probs[i * k + best]) {
                        best = c;
                    }
                }
                confusion[label][best]++;
                if (best != label && keep > 0) {
                    wrong.add(new Evaluation.Misclassified(first + i, label, best, probs[i * k + best]));
                    if (wrong.size() > keep) {
                        wrong.poll();
                    }
                }
                lossSum[0] -= Math.log(Math.max(MIN_PROBABILITY, probs[i * k + label]));
            }
        });
        List<Evaluation.Misclassified> kept = new ArrayList<>(wrong);
        kept.sort(LEAST_CONFIDENT_FIRST.reversed());
        return Evaluation.of(confusion, lossSum[0], kept);
    }

    /** Lower confidence first; at equal confidence the later image first (so the earlier one is kept). */
    private static final Comparator<Evaluation.Misclassified> LEAST_CONFIDENT_FIRST =
            Comparator.comparingDouble(Evaluation.Misclassified::confidence)
                    .thenComparing(Comparator.comparingInt(Evaluation.Misclassified::index).reversed());

    /** Class probabilities of the first {@code n} images, as {@code [n][classes]}. */
    public float[][] predict(TrainedModel model, Dataset data, int n) {
        Dataset head = data.head(n);
        int k = classes(model);
        float[][] out = new float[head.size()][k];
        forEachBatch(model, head, k, (first, count, probs) -> {
            for (int i = 0; i < count; i++) {
                System.arraycopy(probs, i * k, out[first + i], 0, k);
            }
        });
        return out;
    }

    /** The model's class count (fixed in the graph of every model this project builds). */
    private static int classes(TrainedModel model) {
        int k = model.classCount();
        if (k < 1) {
            throw new IllegalArgumentException("the model's probabilities output has no fixed class count");
        }
        return k;
    }

    interface BatchConsumer {
        void accept(int first, int count, float[] probabilities);
    }

    private void forEachBatch(TrainedModel model, Dataset data, int classes, BatchConsumer consumer) {
        model.requireFits(data);
        int n = data.size();
        int batch = Math.min(BATCH, Math.max(1, n));
        float[] probs = new float[batch * classes];
        BatchFeeder full = n >= batch ? new BatchFeeder(batch, data) : null;
        int rest = n % batch;
        BatchFeeder tail = rest > 0 ? new BatchFeeder(rest, data) : null;
        try {
            for (int first = 0; first < n; first += batch) {
                BatchFeeder f = first + batch <= n ? full : tail;
                f.load(data, null, first);
                try (Result r = model.session().runner()
                        .feed(GraphNames.IMAGES, f.images())
                        .fetch(GraphNames.PROBABILITIES)
                        .run()) {
                    ((TFloat32) r.get(0)).copyTo(DataBuffers.of(probs, false, false)
                            .narrow((long) f.batchSize() * classes));
                }
                consumer.accept(first, f.batchSize(), probs);
            }
        } finally {
            if (full != null) {
                full.close();
            }
            if (tail != null) {
                tail.close();
            }
        }
    }
}
