package dev.camelmlops.model;

import java.util.List;
import java.util.Locale;

/**
 * The networks the train stage can build. Each is a list of layers applied to a
 * [batch, 28, 28, 1] float input scaled to [0,1], ending in 10 logits.
 */
public enum ModelArchitecture {
    /** CircleCI's example, unchanged: Conv2D(8, 3x3, stride 2, relu) -> Flatten -> Dense(10). */
    TUTORIAL(List.of(
            Layer.conv(8, 3, 2, "VALID"),
            Layer.flatten(),
            Layer.dense(10, false)), 5, 32, 0.001f, LearningRateSchedule.CONSTANT),

    /**
     * The default: two 3x3 convolution blocks (16 and 32 filters) with 2x2 max pooling, then a
     * hidden dense layer of 128. Chosen for accuracy per second of CPU training: 32/64 filters
     * reached the same accuracy per epoch at under half the speed (see README, "Models").
     */
    DEFAULT(List.of(
            Layer.conv(16, 3, 1, "SAME"),
            Layer.maxPool(2),
            Layer.conv(32, 3, 1, "SAME"),
            Layer.maxPool(2),
            Layer.flatten(),
            Layer.dense(128, true),
            Layer.dense(10, false)), 6, 128, 0.003f, LearningRateSchedule.COSINE),

    /**
     * A wide multilayer perceptron (784-2048-2048-10): almost all of its work is large matrix
     * products, so `mlops bench` uses it to measure how close training gets to the machine's
     * MatMul throughput. Selectable, but not tuned for accuracy per second.
     */
    WIDE_MLP(List.of(
            Layer.flatten(),
            Layer.dense(2048, true),
            Layer.dense(2048, true),
            Layer.dense(10, false)), 3, 512, 0.001f, LearningRateSchedule.CONSTANT);

    private final List<Layer> layers;
    private final int defaultEpochs;
    private final int defaultBatchSize;
    private final float defaultLearningRate;
    private final LearningRateSchedule defaultSchedule;

    ModelArchitecture(List<Layer> layers, int defaultEpochs, int defaultBatchSize, float defaultLearningRate,
                      LearningRateSchedule defaultSchedule) {
        this.defaultSchedule = defaultSchedule;
        this.layers = layers;
        this.defaultEpochs = defaultEpochs;
        this.defaultBatchSize = defaultBatchSize;
        this.defaultLearningRate = defaultLearningRate;
    }

    /** Epochs when train.epochs is not set. */
    public int defaultEpochs() {
        return defaultEpochs;
    }

    /** Batch size when train.batch-size is not set. */
    public int defaultBatchSize() {
        return defaultBatchSize;
    }

    /**
     * TensorFlow threads when train.threads is not set: the tutorial network is so small that
     * per-op thread hand-offs cost more than they save (measured: ~20% faster on one thread on
     * 2 cores); the default network uses all cores (0).
     */
    public int defaultThreads() {
        return this == TUTORIAL ? 1 : 0;
    }

    /** Learning-rate schedule when train.lr-schedule is not set. */
    public LearningRateSchedule defaultSchedule() {
        return defaultSchedule;
    }

    /** Adam learning rate when train.learning-rate is not set. */
    public float defaultLearningRate() {
        return defaultLearningRate;
    }

    public List<Layer> layers() {
        return layers;
    }

    /** Multiply-accumulates of one forward pass for one 28x28x1 image (convolutions and dense layers). */
    public long forwardMacs() {
        long h = 28;
        long w = 28;
        long c = 1;
        long macs = 0;
        for (Layer l : layers) {
            switch (l.kind()) {
                case CONV -> {
                    long oh = "SAME".equals(l.padding()) ? (h + l.stride() - 1) / l.stride() : (h - l.kernel()) / l.stride() + 1;
                    long ow = "SAME".equals(l.padding()) ? (w + l.stride() - 1) / l.stride() : (w - l.kernel()) / l.stride() + 1;
                    macs += oh * ow * l.kernel() * l.kernel() * c * l.units();
                    h = oh;
                    w = ow;
                    c = l.units();
                }
                case MAX_POOL -> {
                    h /= l.kernel();
                    w /= l.kernel();
                }
                case FLATTEN -> {
                    c = h * w * c;
                    h = 1;
                    w = 1;
                }
                case DENSE -> {
                    macs += c * l.units();
                    c = l.units();
                }
                default -> throw new IllegalStateException(l.kind().toString());
            }
        }
        return macs;
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static ModelArchitecture parse(String s) {
        for (ModelArchitecture a : values()) {
            if (a.id().equalsIgnoreCase(s.trim())) {
                return a;
            }
        }
        throw new IllegalArgumentException("unknown model.architecture '" + s
                + "' (expected one of: tutorial, default, wide_mlp)");
    }

    /** One layer of a network. */
    public record Layer(Kind kind, int units, int kernel, int stride, String padding, boolean relu) {
        public enum Kind { CONV, MAX_POOL, FLATTEN, DENSE }

        static Layer conv(int filters, int kernel, int stride, String padding) {
            return new Layer(Kind.CONV, filters, kernel, stride, padding, true);
        }

        static Layer maxPool(int size) {
            return new Layer(Kind.MAX_POOL, 0, size, size, "VALID", false);
        }

        static Layer flatten() {
            return new Layer(Kind.FLATTEN, 0, 0, 0, "", false);
        }

        static Layer dense(int units, boolean relu) {
            return new Layer(Kind.DENSE, units, 0, 0, "", relu);
        }
    }
}
