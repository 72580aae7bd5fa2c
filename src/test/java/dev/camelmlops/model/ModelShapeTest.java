package dev.camelmlops.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.camelmlops.data.Dataset;
import dev.camelmlops.data.DatasetSpec;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Models follow the dataset: input [-1,H,W,C], output [-1,N]; shapes that do not fit are refused before TensorFlow sees them. */
class ModelShapeTest {
    private static final DatasetSpec RGB4 = new DatasetSpec("rgb", 12, 10, 3, List.of("a", "b", "c", "d"));

    @TempDir
    Path tmp;

    private static Dataset data(int n, int rows, int cols, int channels, int classes) {
        byte[] px = new byte[n * rows * cols * channels];
        byte[] labels = new byte[n];
        java.util.SplittableRandom r = new java.util.SplittableRandom(3);
        for (int i = 0; i < n; i++) {
            labels[i] = (byte) (i % classes);
            for (int p = 0; p < rows * cols * channels; p++) {
                // class k: channel (k % channels) brighter, so the task is learnable
                int ch = p % channels;
                px[i * rows * cols * channels + p] = (byte) (r.nextInt(60) + (ch == (i % classes) % channels
                        && (i % classes) < channels ? 160 : 0) + ((i % classes) == 3 && p < rows * cols * channels / 2 ? 90 : 0));
            }
        }
        return new Dataset(px, labels, rows, cols, channels);
    }

    @Test
    void everyArchitectureBuildsForRgbImagesAndItsOwnClassCount() throws Exception {
        for (ModelArchitecture a : ModelArchitecture.values()) {
            try (TrainedModel m = TrainedModel.create(a, RGB4, 1, 0.003f, 1)) {
                assertArrayEquals(new long[]{12, 10, 3}, m.imageShape(), a.id());
                assertEquals(4, m.classCount(), a.id());
                assertEquals(List.of(), m.mismatches(RGB4));
            }
        }
        // conv 16 on 12x10x3, pool, conv 32 on 6x5x16, pool, dense 128 on 3x2x32, dense 4 on 128
        assertEquals(12 * 10 * 9 * 3 * 16 + 6 * 5 * 9 * 16 * 32 + 192 * 128 + 128 * 4,
                ModelArchitecture.DEFAULT.forwardMacs(RGB4));
        assertEquals(ModelArchitecture.DEFAULT.forwardMacs(), ModelArchitecture.DEFAULT.forwardMacs(DatasetSpec.FASHION_MNIST));
    }

    @Test
    void aTrainedRgbModelExportsTheContractForItsDataset() {
        Dataset train = data(160, 12, 10, 3, 4);
        TrainingParams p = new TrainingParams(ModelArchitecture.TUTORIAL, 3, 16, 0.01f, 1, false, 1,
                LearningRateSchedule.CONSTANT, 0);
        Path dir = tmp.resolve("saved");
        float[][] before;
        try (TrainedModel m = TrainedModel.create(p.architecture(), RGB4, 1, p.learningRate(), 1)) {
            new Trainer().train(m, train, train, p, TrainingListener.NONE, false);
            Evaluation ev = new Evaluator().evaluate(m, train);
            assertEquals(4, ev.confusion().length);
            assertTrue(ev.accuracy() > 0.6, "learns a learnable RGB task: " + ev.accuracy());
            before = new Evaluator().predict(m, train, 5);
            m.export(dir);
        }
        assertEquals(List.of(), ServingContract.violations(dir, RGB4));
        List<String> v = ServingContract.violations(dir);
        assertTrue(v.contains("input 'images' has shape [-1, 12, 10, 3], expected [-1, 28, 28, 1]"), v.toString());
        assertTrue(v.contains("output 'probabilities' has shape [-1, 4], expected [-1, 10]"), v.toString());
        try (TrainedModel back = TrainedModel.load(dir)) {
            assertArrayEquals(before[4], new Evaluator().predict(back, train, 5)[4], 1e-6f);
            assertEquals(List.of("the model takes images of 12x10x3, the dataset has 28x28x1",
                    "the model has 4 classes, the dataset 10"), back.mismatches(DatasetSpec.FASHION_MNIST));
            Dataset grey = data(3, 12, 10, 1, 4);
            String m = assertThrows(IllegalArgumentException.class, () -> new Evaluator().evaluate(back, grey)).getMessage();
            assertEquals("the model takes images of 12x10x3, these are 12x10x1", m);
        }
    }

    @Test
    void imagesTooSmallForAnArchitectureAreRefusedByName() {
        DatasetSpec tiny = new DatasetSpec("tiny", 2, 2, 1, List.of("a", "b"));
        String m = assertThrows(IllegalArgumentException.class,
                () -> TrainedModel.create(ModelArchitecture.DEFAULT, tiny, 1, 0.001f, 1)).getMessage();
        assertEquals("images of 2x2x1 are too small for default: layer 4 pools 2x2 over 1x1", m);
        m = assertThrows(IllegalArgumentException.class,
                () -> TrainedModel.create(ModelArchitecture.TUTORIAL, tiny, 1, 0.001f, 1)).getMessage();
        assertEquals("images of 2x2x1 are too small for tutorial: layer 1 is a 3x3 convolution over 2x2", m);
    }
}
