package dev.camelmlops.serving;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.tensorflow.Result;
import org.tensorflow.Signature;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.NdArray;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.ndarray.buffer.FloatDataBuffer;
import org.tensorflow.proto.DataType;
import org.tensorflow.types.TString;

/**
 * TF Serving's {@code :classify} and {@code :regress} (classifier.cc, regressor.cc, util.cc) on a
 * loaded version: the request's serialized {@code tf.Example}s ({@link TfExamples}) are fed as one
 * DT_STRING vector to the signature's input {@code inputs}; a classify signature answers with
 * {@code classes} (DT_STRING {@code [batch, n]}) and/or {@code scores} (DT_FLOAT {@code [batch, n]}),
 * a regress signature with {@code outputs} (DT_FLOAT {@code [batch]} or {@code [batch, 1]}). The
 * answers are TF Serving's: {@code {"results": [[[label, score], ...], ...]}} and
 * {@code {"results": [value, ...]}} (a missing label is "", a missing score 0.0).
 *
 * <p>The signature is checked by its structure, as TF Serving checks it by default (its method name
 * is checked only with {@code --enable_signature_method_name_check}, off by default, so that TF2
 * exports, whose signatures all say predict, can be called): one input named {@code inputs}, the
 * outputs above. Before TensorFlow is called the input's dtype and shape are checked too (the
 * process must never meet a shape an op cannot take); TensorFlow's own refusals (a feature the
 * model's ParseExample does not accept, a required feature missing) are 400s, as in TF Serving.
 */
final class ClassifyRegress {
    static final String INPUTS = "inputs";
    static final String CLASSES = "classes";
    static final String SCORES = "scores";
    static final String OUTPUTS = "outputs";

    private ClassifyRegress() {
    }

    /** {@code :classify}: the JSON answer for {@code request} on {@code version}. */
    static byte[] classify(LoadedVersion version, TfExamples.Request request) {
        String sigName = Predictor.signatureName(request.signatureName());
        Signature sig = signature(version, sigName);
        if (sig.getInputs().size() != 1) {
            throw badSignature("Expected one input Tensor.", sigName, sig);
        }
        int outs = sig.getOutputs().size();
        if (outs != 1 && outs != 2) {
            throw badSignature("Expected one or two output Tensors, found " + outs + ".", sigName, sig);
        }
        if (!sig.getInputs().containsKey(INPUTS)) {
            throw badSignature("No classification inputs found in SignatureDef: :classify feeds the input '"
                    + INPUTS + "'.", sigName, sig);
        }
        boolean hasClasses = sig.getOutputs().containsKey(CLASSES);
        boolean hasScores = sig.getOutputs().containsKey(SCORES);
        if (!hasClasses && !hasScores) {
            throw badSignature("Expected classification signature outputs to contain at least one of \"classes\""
                    + " or \"scores\".", sigName, sig);
        }
        int n = request.serialized().size();
        try (Result result = run(version, sigName, request)) {
            Tensor classes = hasClasses ? output(result, CLASSES) : null;
            Tensor scores = hasScores ? output(result, SCORES) : null;
            long numClasses = 0;
            if (classes != null) {
                checkMatrix(classes, "classes", DataType.DT_STRING, n);
                numClasses = classes.shape().size(1);
            }
            if (scores != null) {
                checkMatrix(scores, "scores", DataType.DT_FLOAT, n);
                if (classes != null && scores.shape().size(1) != numClasses) {
                    throw RestException.badRequest("Tensors class and score should match in dim_size(1). Got "
                            + numClasses + " vs. " + scores.shape().size(1));
                }
                numClasses = scores.shape().size(1);
            }
            NdArray<byte[]> labels = classes == null ? null : ((TString) classes).asBytes();
            FloatDataBuffer values = scores == null ? null : scores.asRawTensor().data().asFloats();
            ByteArrayOutputStream out = new ByteArrayOutputStream(64 + (int) Math.min(1 << 20, n * numClasses * 16));
            try (JsonGenerator g = RestApi.JSON.createGenerator(out, JsonEncoding.UTF8)) {
                g.writeStartObject();
                g.writeArrayFieldStart("results");
                for (int i = 0; i < n; i++) {
                    g.writeStartArray();
                    for (long c = 0; c < numClasses; c++) {
                        g.writeStartArray();
                        g.writeString(labels == null ? "" : new String(labels.getObject(i, c), StandardCharsets.UTF_8));
                        writeFloat(g, values == null ? 0f : values.getFloat(i * numClasses + c));
                        g.writeEndArray();
                    }
                    g.writeEndArray();
                }
                g.writeEndArray();
                g.writeEndObject();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            return out.toByteArray();
        }
    }

    /** {@code :regress}: the JSON answer for {@code request} on {@code version}. */
    static byte[] regress(LoadedVersion version, TfExamples.Request request) {
        String sigName = Predictor.signatureName(request.signatureName());
        Signature sig = signature(version, sigName);
        if (sig.getInputs().size() != 1) {
            throw badSignature("Expected one input Tensor.", sigName, sig);
        }
        if (sig.getOutputs().size() != 1) {
            throw badSignature("Expected one output Tensor.", sigName, sig);
        }
        if (!sig.getInputs().containsKey(INPUTS)) {
            throw badSignature("No regression inputs found in SignatureDef: :regress feeds the input '"
                    + INPUTS + "'.", sigName, sig);
        }
        if (!sig.getOutputs().containsKey(OUTPUTS)) {
            throw badSignature("No regression outputs found in SignatureDef: :regress reads the output '"
                    + OUTPUTS + "'.", sigName, sig);
        }
        int n = request.serialized().size();
        try (Result result = run(version, sigName, request)) {
            Tensor t = output(result, OUTPUTS);
            long[] dims = t.shape().asArray();
            if (!(dims.length == 1 || (dims.length == 2 && dims[1] == 1))) {
                throw RestException.badRequest("Expected output Tensor shape to be either [batch_size] or"
                        + " [batch_size, 1] but got " + InputContract.text(dims));
            }
            if (dims[0] != n) {
                throw RestException.badRequest("Input batch size did not match output batch size: " + n + " vs. "
                        + dims[0]);
            }
            if (t.dataType() != DataType.DT_FLOAT) {
                throw RestException.badRequest("Expected output Tensor of DT_FLOAT.  Got: " + t.dataType());
            }
            FloatDataBuffer values = t.asRawTensor().data().asFloats();
            ByteArrayOutputStream out = new ByteArrayOutputStream(64 + n * 16);
            try (JsonGenerator g = RestApi.JSON.createGenerator(out, JsonEncoding.UTF8)) {
                g.writeStartObject();
                g.writeArrayFieldStart("results");
                for (int i = 0; i < n; i++) {
                    writeFloat(g, values.getFloat(i));
                }
                g.writeEndArray();
                g.writeEndObject();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            return out.toByteArray();
        }
    }

    private static Signature signature(LoadedVersion version, String sigName) {
        Signature sig = version.signatures().get(sigName);
        if (sig == null) {
            throw RestException.badRequest("No signature was found with the name: " + sigName + " (the model has "
                    + version.signatures().keySet() + ")");
        }
        return sig;
    }

    private static RestException badSignature(String problem, String sigName, Signature sig) {
        return RestException.badRequest(problem + " Signature '" + sigName + "' has method " + sig.methodName()
                + ", inputs " + sig.getInputs().keySet() + " and outputs " + sig.getOutputs().keySet());
    }

    /**
     * Feeds the serialized examples as a DT_STRING vector to {@code inputs}, after checking that the
     * signature takes one (a float input fed strings, or a fixed shape fed another, must not reach
     * TensorFlow).
     */
    private static Result run(LoadedVersion version, String sigName, TfExamples.Request request) {
        Signature.TensorDescription input = version.input(sigName, INPUTS);
        if (input.dataType != DataType.DT_STRING) {
            throw RestException.badRequest("signature '" + sigName + "' has input '" + INPUTS + "' of dtype "
                    + input.dataType + "; :classify and :regress feed serialized tf.Example strings (DT_STRING)");
        }
        List<byte[]> serialized = request.serialized();
        long[] shape = {serialized.size()};
        InputContract.Feed feed = InputContract.check(INPUTS, input, shape);
        try (TString examples = TString.tensorOfBytes(Shape.of(feed.shape()),
                DataBuffers.ofObjects(serialized.toArray(new byte[0][])))) {
            return Predictor.call(version.function(sigName), Map.of(INPUTS, examples));
        }
    }

    private static Tensor output(Result result, String key) {
        return result.get(key).orElseThrow(() -> new IllegalStateException("the call's result lacks output '"
                + key + "'"));
    }

    private static void checkMatrix(Tensor t, String name, DataType dtype, int n) {
        long[] dims = t.shape().asArray();
        if (dims.length != 2) {
            throw RestException.badRequest("Expected Tensor shape: [batch_size num_classes] but got "
                    + InputContract.text(dims) + " (output '" + name + "')");
        }
        if (t.dataType() != dtype) {
            throw RestException.badRequest("Expected " + name + " Tensor of " + dtype + ". Got: " + t.dataType());
        }
        if (dims[0] != n) {
            throw RestException.badRequest("Expected " + name + " output batch size of " + n + ". Got: " + dims[0]);
        }
    }

    /** A float as TF Serving writes it: a number, or the bare tokens NaN, Infinity, -Infinity. */
    private static void writeFloat(JsonGenerator g, float f) throws IOException {
        if (Float.isNaN(f)) {
            g.writeRawValue("NaN");
        } else if (Float.isInfinite(f)) {
            g.writeRawValue(f > 0 ? "Infinity" : "-Infinity");
        } else {
            g.writeNumber(f);
        }
    }
}
