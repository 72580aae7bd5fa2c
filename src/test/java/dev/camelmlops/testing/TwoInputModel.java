package dev.camelmlops.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import org.tensorflow.Graph;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.SessionFunction;
import org.tensorflow.Signature;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.ReduceSum;
import org.tensorflow.op.math.Add;
import org.tensorflow.op.math.Mul;
import org.tensorflow.types.TFloat32;

/**
 * A SavedModel whose predict signature has two inputs and two outputs, unlike ours: {@code a}
 * and {@code b}, float32 {@code [-1,3]}; {@code sum = a + b} ({@code [-1,3]}) and
 * {@code dot = sum(a * b, axis 1)} ({@code [-1]}).
 */
public final class TwoInputModel {
    private TwoInputModel() {
    }

    public static void export(Path dir) {
        try (Graph g = new Graph(); Session s = new Session(g)) {
            Ops tf = Ops.create(g);
            Placeholder<TFloat32> a = tf.withName("a").placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, 3)));
            Placeholder<TFloat32> b = tf.withName("b").placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, 3)));
            Add<TFloat32> sum = tf.withName("sum").math.add(a, b);
            Mul<TFloat32> product = tf.math.mul(a, b);
            ReduceSum<TFloat32> dot = tf.withName("dot").reduceSum(product, tf.constant(1));
            Signature sig = Signature.builder("serving_default")
                    .input("a", a).input("b", b)
                    .output("sum", sum).output("dot", dot)
                    .methodName("tensorflow/serving/predict")
                    .build();
            SavedModelBundle.exporter(dir.toString()).withTags("serve")
                    .withFunction(SessionFunction.create(sig, s)).export();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
