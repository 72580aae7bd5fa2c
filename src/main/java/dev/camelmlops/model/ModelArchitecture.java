package dev.camelmlops.model;

import java.util.List;
import java.util.Locale;

/**
 * The networks the train stage can build. Each is a list of layers applied to a
 * [batch, height, width, channels] float input scaled to [0,1] (the dataset's shape); the
 * {@link ModelGraphBuilder} ends each with a dense output layer of one logit per class.
 */
public enum ModelArchitecture {
    /** CircleCI's example, unchanged: Conv2D(8, 3x3, stride 2, relu) -> Flatten -> Dense(classes). */
    TUTORIAL(List.of(
            Layer.conv(8, 3, 2, "VALID"),
            Layer.flatten()), 5, 32, 0.001f, LearningRateSchedule.CONSTANT),

    /**
     * The default: two 3x3 convolution blocks (16 and 32 filters) with 2x2 max pooling, then a
     * hidden dense layer of 128, then Dense(classes). Chosen for accuracy per second of CPU training: 32/64 filters
     * reached the same accuracy per epoch at under half the speed (see README, "Models").
     */
    DEFAULT(List.of(
            Layer.conv(16, 3, 1, "SAME"),
            Layer.maxPool(2),
            Layer.conv(32, 3, 1, "SAME"),
            Layer.maxPool(2),
            Layer.flatten(),
            Layer.dense(128, true)), 6, 128, 0.003f, LearningRateSchedule.COSINE),

    /**
     * A wide multilayer perceptron (784-2048-2048-10 on Fashion-MNIST): almost all of its work is large matrix
     * products, so `mlops bench` uses it to measure how close training gets to the machine's
     * MatMul throughput. Selectable, but not tuned for accuracy per second.
     */
    WIDE_MLP(List.of(
            Layer.flatten(),
            Layer.dense(2048, true),
            Layer.dense(2048, true)), 3, 512, 0.001f, LearningRateSchedule.CONSTANT);

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

    /** The hidden layers followed by the output layer: one logit for each of {@code classes} classes. */
    public List<Layer> layers(int classes) {
        List<Layer> all = new java.util.ArrayList<>(layers);
        if (all.get(all.size() - 1).kind() != Layer.Kind.FLATTEN && all.get(all.size() - 1).kind() != Layer.Kind.DENSE) {
            all.add(Layer.flatten());
        }
        all.add(Layer.dense(classes, false));
        return all;
    }

    /** Multiply-accumulates of one forward pass for one 28x28x1 Fashion-MNIST image. */
    public long forwardMacs() {
        return forwardMacs(dev.camelmlops.data.DatasetSpec.FASHION_MNIST);
    }

    /** Multiply-accumulates of one forward pass for one image of {@code spec} (convolutions and dense layers). */
    public long forwardMacs(dev.camelmlops.data.DatasetSpec spec) {
        long h = spec.height();
        long w = spec.width();
        long c = spec.channels();
        long macs = 0;
        for (Layer l : layers(spec.classCount())) {
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
