package dev.camelmlops.model;

import dev.camelmlops.data.DatasetSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;

import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.random.TruncatedNormal;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * Builds a trainable graph for an architecture: placeholders, layers, softmax output, loss,
 * accuracy and an Adam training op ({@link AdamUpdate}), all under the stable names of
 * {@link GraphNames}.
 *
 * <p>Weights start from a Glorot (Xavier) normal distribution truncated at two standard
 * deviations, centred on zero; biases start at zero. The random ops carry fixed seeds derived
 * from the configured seed and the layer index, so a given seed always gives the same initial
 * weights. (tensorflow-framework 1.1.0's own Glorot uniform initializer samples only [0, limit),
 * which is why it is not used here.)
 */
public final class ModelGraphBuilder {
    private static final float TRUNCATED_NORMAL_STDDEV = 0.87962566103423978f;

    private ModelGraphBuilder() {
    }

    public static void build(Graph graph, ModelArchitecture architecture, DatasetSpec spec, long seed,
                             float learningRate) {
        // Ops.create(graph) is the graph's base scope; weights and Adam slots are initialised in its init scope.
        Ops tf = Ops.create(graph);
        Ops init = tf.withInitScope();

        Placeholder<TFloat32> images = tf.withName(GraphNames.IMAGES).placeholder(TFloat32.class,
                Placeholder.shape(Shape.of(spec.inputShape())));
        Placeholder<TInt32> labels = tf.withName(GraphNames.LABELS).placeholder(TInt32.class,
                Placeholder.shape(Shape.of(-1)));

        List<org.tensorflow.op.core.Variable<TFloat32>> variables = new ArrayList<>();
        Operand<TFloat32> x = images;
        long[] shape = {spec.height(), spec.width(), spec.channels()};
        int index = 0;
        for (ModelArchitecture.Layer layer : architecture.layers(spec.classCount())) {
            index++;
            String name = "layer" + index;
            switch (layer.kind()) {
                case CONV -> {
                    long inChannels = shape[2];
                    if ("VALID".equals(layer.padding()) && (shape[0] < layer.kernel() || shape[1] < layer.kernel())) {
                        throw new IllegalArgumentException("images of " + spec.shapeText() + " are too small for "
                                + architecture.id() + ": layer " + index + " is a " + layer.kernel() + "x"
                                + layer.kernel() + " convolution over " + shape[0] + "x" + shape[1]);
                    }
                    var kernel = variable(tf, init, name + "_kernel",
                            new long[]{layer.kernel(), layer.kernel(), inChannels, layer.units()},
                            layer.kernel() * layer.kernel() * inChannels,
                            (long) layer.kernel() * layer.kernel() * layer.units(), seed, index);
                    var bias = zeros(tf, init, name + "_bias", layer.units());
                    variables.add(kernel);
                    variables.add(bias);
                    x = tf.nn.conv2d(x, kernel, Arrays.asList(1L, (long) layer.stride(), (long) layer.stride(), 1L),
                            layer.padding());
                    x = tf.nn.biasAdd(x, bias);
                    x = tf.nn.relu(x);
                    shape = new long[]{outSize(shape[0], layer), outSize(shape[1], layer), layer.units()};
                }
                case MAX_POOL -> {
                    int k = layer.kernel();
                    if (shape[0] < k || shape[1] < k) {
                        throw new IllegalArgumentException("images of " + spec.shapeText() + " are too small for "
                                + architecture.id() + ": layer " + index + " pools " + k + "x" + k + " over "
                                + shape[0] + "x" + shape[1]);
                    }
                    x = tf.nn.maxPool(x, tf.constant(new int[]{1, k, k, 1}), tf.constant(new int[]{1, k, k, 1}),
                            "VALID");
                    shape = new long[]{shape[0] / k, shape[1] / k, shape[2]};
                }
                case FLATTEN -> {
                    long n = shape[0] * shape[1] * shape[2];
                    x = tf.reshape(x, tf.constant(new long[]{-1, n}));
                    shape = new long[]{1, 1, n};
                }
                case DENSE -> {
                    long in = shape[2];
                    var w = variable(tf, init, name + "_kernel", new long[]{in, layer.units()}, in,
                            layer.units(), seed, index);
                    var b = zeros(tf, init, name + "_bias", layer.units());
                    variables.add(w);
                    variables.add(b);
                    x = tf.math.add(tf.linalg.matMul(x, w), b);
                    if (layer.relu()) {
                        x = tf.nn.relu(x);
                    }
                    shape = new long[]{1, 1, layer.units()};
                }
                default -> throw new IllegalStateException(layer.kind().toString());
            }
        }
        Operand<TFloat32> logits = tf.withName(GraphNames.LOGITS).identity(x);
        tf.withName(GraphNames.PROBABILITIES).nn.softmax(logits);

        Operand<TFloat32> oneHot = tf.oneHot(labels, tf.constant(spec.classCount()), tf.constant(1f), tf.constant(0f));
        var xent = tf.nn.softmaxCrossEntropyWithLogits(logits, oneHot);
        Operand<TFloat32> loss = tf.withName(GraphNames.LOSS).math.mean(xent.loss(), tf.constant(0));
        var predicted = tf.math.argMax(logits, tf.constant(1), TInt32.class);
        var correct = tf.dtypes.cast(tf.math.equal(predicted, labels), TFloat32.class);
        Operand<TFloat32> accuracy = tf.withName(GraphNames.ACCURACY).math.mean(correct, tf.constant(0));
        tf.withName(GraphNames.METRICS).stack(java.util.List.of(loss, accuracy));

        AdamUpdate.minimize(tf, loss, variables, learningRate, GraphNames.TRAIN);
    }

    private static long outSize(long in, ModelArchitecture.Layer layer) {
        if ("SAME".equals(layer.padding())) {
            return (in + layer.stride() - 1) / layer.stride();
        }
        return (in - layer.kernel()) / layer.stride() + 1;
    }

    private static org.tensorflow.op.core.Variable<TFloat32> variable(Ops tf, Ops init, String name, long[] dims,
                                                                      long fanIn, long fanOut, long seed, int index) {
        float stddev = (float) Math.sqrt(2.0 / (fanIn + fanOut)) / TRUNCATED_NORMAL_STDDEV;
        Operand<TFloat32> normal = init.random.truncatedNormal(init.constant(dims), TFloat32.class,
                TruncatedNormal.seed(seed), TruncatedNormal.seed2((long) index));
        Operand<TFloat32> value = init.math.mul(normal, init.constant(stddev));
        return tf.withName(name).variable(value);
    }

    private static org.tensorflow.op.core.Variable<TFloat32> zeros(Ops tf, Ops init, String name, int units) {
        return tf.withName(name).variable(init.zeros(init.constant(new long[]{units}), TFloat32.class));
    }
}
