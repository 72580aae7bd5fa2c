package dev.camelmlops.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.camelmlops.data.Dataset;
import dev.camelmlops.testing.TinyFashion;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.SessionFunction;
import org.tensorflow.Signature;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;

/** The TensorFlow side on tiny generated data: initial weights, training, divergence, export and reload. */
class ModelTest {
    @TempDir
    Path tmp;

    private static float[] weights(TrainedModel m, String name) {
        try (Result r = m.session().runner().fetch(name).run()) {
            TFloat32 t = (TFloat32) r.get(0);
            float[] w = new float[(int) t.size()];
            t.copyTo(DataBuffers.of(w, false, false));
            return w;
        }
    }

    @Test
    void initialWeightsAreCentredOnZeroWithTheGlorotSpread() {
        try (TrainedModel m = TrainedModel.create(ModelArchitecture.DEFAULT, 42, 0.001f)) {
            float[] w = weights(m, "layer3_kernel"); // 3x3x16x32 convolution
            double mean = 0;
            double sq = 0;
            int negative = 0;
            for (float v : w) {
                mean += v;
                sq += v * v;
                negative += v < 0 ? 1 : 0;
            }
            mean /= w.length;
            double std = Math.sqrt(sq / w.length - mean * mean);
            double glorot = Math.sqrt(2.0 / (3 * 3 * 16 + 3 * 3 * 32));
            assertEquals(0.0, mean, 0.1 * glorot, "mean");
            assertEquals(glorot, std, 0.15 * glorot, "std");
            assertEquals(0.5, (double) negative / w.length, 0.05, "share of negative weights");
            float[] bias = weights(m, "layer3_bias");
            for (float b : bias) {
                assertEquals(0f, b);
            }
        }
    }

    @Test
    void theSeedFixesTheInitialWeights() {
        float[] a;
        float[] b;
        float[] c;
        try (TrainedModel m = TrainedModel.create(ModelArchitecture.TUTORIAL, 7, 0.001f)) {
            a = weights(m, "layer1_kernel");
        }
        try (TrainedModel m = TrainedModel.create(ModelArchitecture.TUTORIAL, 7, 0.001f)) {
            b = weights(m, "layer1_kernel");
        }
        try (TrainedModel m = TrainedModel.create(ModelArchitecture.TUTORIAL, 8, 0.001f)) {
            c = weights(m, "layer1_kernel");
        }
        assertArrayEquals(a, b);
        assertFalse(java.util.Arrays.equals(a, c));
    }

    @Test
    void theMisclassifiedKeptAreTheMostConfidentMistakesMostConfidentFirst() {
        Dataset train = TinyFashion.dataset(200, 1);
        Dataset test = TinyFashion.dataset(100, 2);
        TrainingParams p = new TrainingParams(ModelArchitecture.TUTORIAL, 1, 50, 0.003f, 42, false);
        try (TrainedModel m = TrainedModel.create(p.architecture(), p.seed(), p.learningRate())) {
            new Trainer().train(m, train, null, p, TrainingListener.NONE, false); // some mistakes, some sure of themselves
            Evaluator evaluator = new Evaluator();
            float[][] probs = evaluator.predict(m, test, test.size());
            List<double[]> mistakes = new ArrayList<>(); // {index, confidence}
            for (int i = 0; i < test.size(); i++) {
                int best = 0;
                for (int c = 1; c < probs[i].length; c++) {
                    best = probs[i][c] > probs[i][best] ? c : best;
                }
                if (best != test.label(i)) {
                    mistakes.add(new double[] {i, probs[i][best]});
                }
            }
            assertTrue(mistakes.size() > 8, "enough mistakes to choose from: " + mistakes.size());
            mistakes.sort((a, b) -> Double.compare(b[1], a[1]));
            Evaluation ev = evaluator.evaluate(m, test, 5);
            assertEquals(5, ev.misclassified().size());
            for (int j = 0; j < 5; j++) {
                Evaluation.Misclassified w = ev.misclassified().get(j);
                assertEquals(mistakes.get(j)[1], w.confidence(), 1e-6, "mistake " + j + " by confidence: " + w);
                assertEquals(test.label(w.index()), w.label());
                assertTrue(w.predicted() != w.label());
            }
            assertTrue(ev.misclassified().get(0).confidence() > ev.misclassified().get(4).confidence(), "descending");
        }
    }

    @Test
    void trainingLearnsTheTinySetAndReportsEveryEpoch() {
        Dataset train = TinyFashion.dataset(400, 1);
        Dataset test = TinyFashion.dataset(100, 2);
        TrainingParams p = new TrainingParams(ModelArchitecture.TUTORIAL, 3, 16, 0.003f, 42, true);
        List<TrainingHistory.Epoch> seen = new ArrayList<>();
        int[] steps = {0};
        TrainingListener listener = new TrainingListener() {
            @Override
            public void stepFinished(int epoch, int step, int total, double loss, double acc) {
                steps[0]++;
            }

            @Override
            public void epochFinished(TrainingHistory.Epoch e, int epochs) {
                seen.add(e);
            }
        };
        try (TrainedModel m = TrainedModel.create(p.architecture(), p.seed(), p.learningRate())) {
            Evaluation untrained = new Evaluator().evaluate(m, test, 5);
            double before = untrained.accuracy();
            assertEquals(5, untrained.misclassified().size(), "an untrained model gets more than 5 of 100 wrong");
            for (Evaluation.Misclassified w : untrained.misclassified()) {
                assertEquals(test.label(w.index()), w.label());
                assertTrue(w.predicted() != w.label(), w.toString());
            }
            TrainingHistory h = new Trainer().train(m, train, test, p, listener, false);
            Evaluation after = new Evaluator().evaluate(m, test);
            assertEquals(3, h.history().size());
            assertEquals(h.history(), seen);
            assertEquals(3 * 25, steps[0]);
            assertTrue(after.accuracy() > 0.9, "accuracy after training " + after.accuracy());
            assertTrue(after.accuracy() > before + 0.3, "before " + before + ", after " + after.accuracy());
            assertTrue(h.history().get(2).loss() < h.history().get(0).loss(), "loss falls");
            assertEquals(after.accuracy(), h.history().get(2).testAccuracy(), 1e-9);
        }
    }

    @Test
    void aTimeBudgetStopsTrainingAfterTheStepThatUsesItUp() {
        Dataset train = TinyFashion.dataset(64, 1);
        TrainingParams p = new TrainingParams(ModelArchitecture.TUTORIAL, 100_000, 16, 0.001f, 1, false, 1,
                LearningRateSchedule.COSINE, 0.4);
        int[] steps = {0};
        TrainingHistory h;
        try (TrainedModel m = TrainedModel.create(p.architecture(), p.seed(), p.learningRate(), 1)) {
            h = new Trainer().train(m, train, null, p, new TrainingListener() {
                @Override
                public void stepFinished(int epoch, int step, int total, double loss, double acc) {
                    steps[0]++;
                }
            }, false);
        }
        assertTrue(h.stoppedByBudget());
        assertTrue(h.epochs() < 100_000 && h.epochs() == h.history().size(), "epochs run: " + h.epochs());
        double trained = h.history().stream().mapToDouble(TrainingHistory.Epoch::seconds).sum();
        assertTrue(trained >= 0.4, "trained " + trained + " s");
        long images = h.history().stream().mapToLong(TrainingHistory.Epoch::images).sum();
        assertEquals(16L * steps[0], images, "every step counted, the last epoch partial or not");
        assertEquals(0.4, h.maxSeconds());

        TrainingParams unbudgeted = new TrainingParams(ModelArchitecture.TUTORIAL, 2, 16, 0.001f, 1, false);
        try (TrainedModel m = TrainedModel.create(p.architecture(), p.seed(), p.learningRate())) {
            TrainingHistory full = new Trainer().train(m, train, null, unbudgeted, TrainingListener.NONE, false);
            assertFalse(full.stoppedByBudget());
            assertEquals(2, full.epochs());
        }
        assertThrows(IllegalArgumentException.class, () -> new TrainingParams(ModelArchitecture.TUTORIAL, 1, 16,
                0.001f, 1, false, 1, LearningRateSchedule.COSINE, -1));
    }

    @Test
    void theCosineScheduleRunsOnProgressFromTheBaseRateToZero() {
        assertEquals(0.004f, LearningRateSchedule.COSINE.rate(0.004f, 0.0), 1e-9);
        assertEquals(0.002f, LearningRateSchedule.COSINE.rate(0.004f, 0.5), 1e-9);
        assertEquals(0f, LearningRateSchedule.COSINE.rate(0.004f, 1.0), 1e-9);
        assertEquals(0f, LearningRateSchedule.COSINE.rate(0.004f, 1.7), 1e-9, "past the end stays at zero");
        assertEquals(LearningRateSchedule.COSINE.rate(0.004f, 0.25), LearningRateSchedule.COSINE.rate(0.004f, 25, 101));
        assertEquals(0.004f, LearningRateSchedule.CONSTANT.rate(0.004f, 0.9));
    }

    @Test
    void aPartialLastBatchIsTrainedToo() {
        Dataset train = TinyFashion.dataset(37, 1);
        TrainingParams p = new TrainingParams(ModelArchitecture.TUTORIAL, 1, 16, 0.001f, 1, false);
        int[] last = {0, 0};
        try (TrainedModel m = TrainedModel.create(p.architecture(), p.seed(), p.learningRate())) {
            new Trainer().train(m, train, null, p, new TrainingListener() {
                @Override
                public void stepFinished(int epoch, int step, int steps, double loss, double acc) {
                    last[0] = step;
                    last[1] = steps;
                }
            }, false);
        }
        assertEquals(3, last[0]);
        assertEquals(3, last[1]);
    }

    @Test
    void theSameSeedGivesBitIdenticalWeights() {
        Dataset train = TinyFashion.dataset(1280, 1);
        TrainingParams p = new TrainingParams(ModelArchitecture.DEFAULT, 2, 64, 0.002f, 5, false);
        float[] a = trainedWeights(train, p);
        float[] b = trainedWeights(train, p);
        assertArrayEquals(a, b);
        float[] c = trainedWeights(train, new TrainingParams(ModelArchitecture.DEFAULT, 2, 64, 0.002f, 6, false));
        assertFalse(java.util.Arrays.equals(a, c), "another seed, another model");
    }

    private static float[] trainedWeights(Dataset train, TrainingParams p) {
        try (TrainedModel m = TrainedModel.create(p.architecture(), p.seed(), p.learningRate())) {
            new Trainer().train(m, train, null, p, TrainingListener.NONE, false);
            return weights(m, "layer6_kernel");
        }
    }

    @Test
    void aDivergingLossStopsTrainingWithAClearError() {
        Dataset train = TinyFashion.dataset(400, 1);
        TrainingParams p = new TrainingParams(ModelArchitecture.TUTORIAL, 3, 16, 1e30f, 42, false);
        try (TrainedModel m = TrainedModel.create(p.architecture(), p.seed(), p.learningRate())) {
            TrainingDivergedException e = assertThrows(TrainingDivergedException.class,
                    () -> new Trainer().train(m, train, null, p, TrainingListener.NONE, false));
            assertTrue(e.getMessage().startsWith("training diverged: loss is "), e.getMessage());
            assertTrue(e.getMessage().contains("train.learning-rate"), e.getMessage());
        }
    }

    @Test
    void exportedModelReloadsWithTheSamePredictionsTheContractAndItsTrainingOps() {
        Dataset train = TinyFashion.dataset(200, 1);
        Dataset test = TinyFashion.dataset(50, 2);
        TrainingParams p = new TrainingParams(ModelArchitecture.DEFAULT, 1, 20, 0.002f, 3, false);
        Path dir = tmp.resolve("model");
        float[][] before;
        try (TrainedModel m = TrainedModel.create(p.architecture(), p.seed(), p.learningRate())) {
            new Trainer().train(m, train, null, p, TrainingListener.NONE, false);
            before = new Evaluator().predict(m, test, 50);
            m.export(dir);
        }
        assertEquals(List.of(), ServingContract.violations(dir));
        try (TrainedModel r = TrainedModel.load(dir)) {
            float[][] after = new Evaluator().predict(r, test, 50);
            for (int i = 0; i < before.length; i++) {
                assertArrayEquals(before[i], after[i], "image " + i);
                double sum = 0;
                for (float v : after[i]) {
                    sum += v;
                }
                assertEquals(1.0, sum, 1e-5, "probabilities sum to 1");
            }
            assertTrue(r.trainable());
            double lossBefore = new Evaluator().evaluate(r, train).loss();
            TrainingParams more = new TrainingParams(ModelArchitecture.DEFAULT, 2, 20, 0.002f, 3, false);
            new Trainer().train(r, train, null, more, TrainingListener.NONE, true);
            assertTrue(new Evaluator().evaluate(r, train).loss() < lossBefore, "warm start keeps learning");
        }
    }

    @Test
    void theContractCheckNamesWhatIsWrong() throws Exception {
        Path dir = tmp.resolve("bad");
        try (TrainedModel m = TrainedModel.create(ModelArchitecture.TUTORIAL, 1, 0.001f)) {
            Signature wrong = Signature.builder(GraphNames.SIGNATURE_KEY)
                    .input("x", m.graph().outputOrThrow(GraphNames.IMAGES))
                    .output("logits", m.graph().outputOrThrow(GraphNames.LOGITS))
                    .build();
            SavedModelBundle.exporter(dir.toString()).withTags("serve")
                    .withFunction(SessionFunction.create(wrong, m.session())).export();
        }
        List<String> v = ServingContract.violations(dir);
        assertTrue(v.stream().anyMatch(s -> s.contains("method")), v.toString());
        assertTrue(v.stream().anyMatch(s -> s.contains("input 'images'")), v.toString());
        assertTrue(v.stream().anyMatch(s -> s.contains("output 'probabilities'")), v.toString());
        assertEquals(List.of("cannot be loaded with tag 'serve'"),
                ServingContract.violations(tmp.resolve("missing")).stream().map(s -> s.substring(0, s.indexOf(':'))).toList());
    }
}
