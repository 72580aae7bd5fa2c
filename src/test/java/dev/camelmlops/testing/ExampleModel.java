package dev.camelmlops.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.SessionFunction;
import org.tensorflow.Signature;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.io.ParseExample;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt64;
import org.tensorflow.types.TString;

/**
 * A SavedModel whose signatures parse serialized {@code tf.Example}s, as TF Serving's classify and
 * regress feed them (TensorFlow's ParseExample on the DT_STRING input {@code inputs}). Features:
 * {@code x} float, one value, required; {@code k} int64, one value, default 1; {@code tag} bytes,
 * one value, default "none". Signatures:
 * <ul>
 *   <li>{@code classify} (method tensorflow/serving/classify): {@code classes} =
 *       {@code [[tag, tag + "!"]]}, {@code scores} = {@code [[x, k]]};</li>
 *   <li>{@code regress} (tensorflow/serving/regress): {@code outputs} = {@code [[x * k]]};</li>
 *   <li>{@code regress_int64} (tensorflow/serving/regress): {@code outputs} = {@code k}, an int64
 *       output that TF Serving's regressor refuses;</li>
 *   <li>{@code classify_pair} (tensorflow/serving/classify): as {@code classify} on an input of fixed
 *       shape {@code [2]} (exactly two examples);</li>
 *   <li>{@code serving_default} (tensorflow/serving/predict): {@code y = x} on float {@code [-1,1]}.</li>
 * </ul>
 */
public final class ExampleModel {
    private static final java.nio.charset.Charset UTF8 = java.nio.charset.StandardCharsets.UTF_8;

    private ExampleModel() {
    }

    private record Parsed(Operand<TFloat32> x, Operand<TInt64> k, Operand<TString> tag) {
    }

    public static void export(Path dir) {
        try (Graph g = new Graph(); Session s = new Session(g)) {
            Ops tf = Ops.create(g);
            Placeholder<TString> inputs = tf.withName("tf_example").placeholder(TString.class,
                    Placeholder.shape(Shape.of(-1)));
            Parsed p = parse(tf, inputs);
            Operand<TFloat32> kf = tf.dtypes.cast(p.k(), TFloat32.class);
            Operand<TString> classes = tf.withName("classes").concat(
                    List.of(p.tag(), tf.strings.join(List.of(p.tag(), tf.constant("!")))), tf.constant(1));
            Operand<TFloat32> scores = tf.withName("scores").concat(List.of(p.x(), kf), tf.constant(1));
            Operand<TFloat32> outputs = tf.withName("outputs").math.mul(p.x(), kf);

            Placeholder<TString> pair = tf.withName("pair").placeholder(TString.class, Placeholder.shape(Shape.of(2)));
            Parsed q = parse(tf, pair);
            Operand<TFloat32> pairScores = tf.concat(List.of(q.x(), tf.dtypes.cast(q.k(), TFloat32.class)),
                    tf.constant(1));

            Placeholder<TFloat32> x = tf.withName("x").placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, 1)));
            Operand<TFloat32> y = tf.withName("y").identity(x);

            Signature classify = Signature.builder("classify").input("inputs", inputs)
                    .output("classes", classes).output("scores", scores)
                    .methodName("tensorflow/serving/classify").build();
            Signature regress = Signature.builder("regress").input("inputs", inputs).output("outputs", outputs)
                    .methodName("tensorflow/serving/regress").build();
            Signature regressInt = Signature.builder("regress_int64").input("inputs", inputs).output("outputs", p.k())
                    .methodName("tensorflow/serving/regress").build();
            Signature classifyPair = Signature.builder("classify_pair").input("inputs", pair)
                    .output("scores", pairScores).methodName("tensorflow/serving/classify").build();
            Signature predict = Signature.builder("serving_default").input("x", x).output("y", y)
                    .methodName("tensorflow/serving/predict").build();
            SavedModelBundle.exporter(dir.toString()).withTags("serve")
                    .withFunction(SessionFunction.create(classify, s))
                    .withFunction(SessionFunction.create(regress, s))
                    .withFunction(SessionFunction.create(regressInt, s))
                    .withFunction(SessionFunction.create(classifyPair, s))
                    .withFunction(SessionFunction.create(predict, s))
                    .export();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @SuppressWarnings("unchecked")
    private static Parsed parse(Ops tf, Operand<TString> serialized) {
        ParseExample parsed = tf.io.parseExample(serialized,
                tf.constant(Shape.of(0), DataBuffers.ofObjects(String.class, 0)),                       // names
                tf.constant(Shape.of(0), DataBuffers.ofObjects(String.class, 0)),                       // sparse keys
                tf.constant(UTF8, new String[] {"x", "k", "tag"}),      // dense keys
                tf.constant(Shape.of(0), DataBuffers.ofObjects(String.class, 0)),                       // ragged keys
                List.of(tf.constant(Shape.of(0), DataBuffers.ofFloats(0)),                // x: required
                        tf.constant(new long[] {1}),              // k: default 1
                        tf.constant(UTF8, new String[] {"none"})),      // tag: default "none"
                0L, List.of(), List.of(), List.of(),
                List.of(Shape.of(1), Shape.of(1), Shape.of(1)));
        List<org.tensorflow.Output<?>> dense = parsed.denseValues();
        return new Parsed((Operand<TFloat32>) dense.get(0), (Operand<TInt64>) dense.get(1),
                (Operand<TString>) dense.get(2));
    }
}
