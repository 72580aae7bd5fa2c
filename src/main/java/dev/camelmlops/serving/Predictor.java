package dev.camelmlops.serving;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Result;
import org.tensorflow.Signature;
import org.tensorflow.Tensor;
import org.tensorflow.exceptions.TFInvalidArgumentException;

/**
 * TF Serving's predict API over a loaded version: the row format ({@code instances} answered by
 * {@code predictions}) and the columnar format ({@code inputs} answered by {@code outputs}), with
 * an optional {@code signature_name} (default {@code serving_default}).
 */
final class Predictor {
    static final String DEFAULT_SIGNATURE = "serving_default";
    static final String PREDICT_METHOD = "tensorflow/serving/predict";

    private Predictor() {
    }

    /** Most rows one TensorFlow call takes when concurrent requests are batched. */
    static final int MAX_BATCH_ROWS = 128;

    /**
     * The fast path: a single-input float signature and a {@link FastRequest}; false when the
     * request needs the general path. When the signature has a batch dimension on its input and
     * every output, concurrent requests share TensorFlow calls ({@link RequestBatcher}).
     */
    static boolean predictFast(LoadedVersion version, FastRequest request, JsonGenerator out) throws IOException {
        String sigName = signatureName(request.signatureName);
        Signature sig = version.signatures().get(sigName);
        Map.Entry<String, Signature.TensorDescription> input = fastInput(sig);
        if (input == null) {
            return false;
        }
        InputContract.Feed feed = InputContract.check(input.getKey(), input.getValue(), request.shape);
        List<String> names = new ArrayList<>(sig.getOutputs().keySet());
        if (feed.addedUnitDims() == 0 && batchable(sig, input.getValue(), request)) {
            try (RequestBatcher.Answer answer = batcher(version, sigName, input.getKey(), request, names)
                    .run(request.values, request.rows())) {
                writeRows(out, request.row, names, answer);
            }
            return true;
        }
        try (Tensor t = org.tensorflow.types.TFloat32.tensorOf(org.tensorflow.ndarray.Shape.of(feed.shape()),
                org.tensorflow.ndarray.buffer.DataBuffers.of(request.values, true, false));
             Result result = run(version, sigName, Map.of(input.getKey(), t))) {
            if (request.row) {
                writePredictions(out, result, names, feed.addedUnitDims());
            } else {
                writeOutputs(out, result, names, feed.addedUnitDims());
            }
        }
        return true;
    }

    /** The JSON answer of a predict started by {@link #submitFast}, or its error (exactly one is null). */
    interface Done {
        void done(byte[] json, RuntimeException error);
    }

    /**
     * The batched fast path without waiting ({@link RequestBatcher#submit}): false when the
     * request takes another path (the caller answers it with {@link #predictFast} or the general
     * path); else the call is started and {@code done} gets the JSON answer, on the thread that
     * makes the call. A request that does not fit the signature throws its 400 here, before.
     */
    static boolean submitFast(LoadedVersion version, FastRequest request, RequestBatcher.Owner owner, Done done) {
        String sigName = signatureName(request.signatureName);
        Signature sig = version.signatures().get(sigName);
        Map.Entry<String, Signature.TensorDescription> input = fastInput(sig);
        if (input == null) {
            return false;
        }
        InputContract.Feed feed = InputContract.check(input.getKey(), input.getValue(), request.shape);
        if (feed.addedUnitDims() != 0 || !batchable(sig, input.getValue(), request)) {
            return false;
        }
        List<String> names = new ArrayList<>(sig.getOutputs().keySet());
        batcher(version, sigName, input.getKey(), request, names).submit(request.values, request.rows(), owner,
                (answer, error) -> {
            if (error != null) {
                done.done(null, error);
                return;
            }
            byte[] json;
            try (answer) {
                java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(256 + 160 * answer.rows);
                try (JsonGenerator g = RestApi.JSON.createGenerator(out, com.fasterxml.jackson.core.JsonEncoding.UTF8)) {
                    writeRows(g, request.row, names, answer);
                }
                json = out.toByteArray();
            } catch (IOException | RuntimeException e) {
                done.done(null, e instanceof RuntimeException r ? r : new java.io.UncheckedIOException((IOException) e));
                return;
            }
            done.done(json, null);
        });
        return true;
    }

    /** The one float input of a predict signature, which the fast paths can feed; else null. */
    private static Map.Entry<String, Signature.TensorDescription> fastInput(Signature sig) {
        if (sig == null || !PREDICT_METHOD.equals(sig.methodName()) || sig.getInputs().size() != 1) {
            return null;
        }
        Map.Entry<String, Signature.TensorDescription> input = sig.getInputs().entrySet().iterator().next();
        return input.getValue().dataType == org.tensorflow.proto.DataType.DT_FLOAT ? input : null;
    }

    private static RequestBatcher batcher(LoadedVersion version, String sigName, String input, FastRequest request,
                                          List<String> names) {
        long[] rowShape = java.util.Arrays.copyOfRange(request.shape, 1, request.shape.length);
        return version.batcher(sigName, () -> new RequestBatcher(version.function(sigName), input, rowShape, names,
                MAX_BATCH_ROWS));
    }

    /**
     * Batching needs the input's first dimension to be the (unknown) batch size and the rest
     * fixed and matched by the request, and a batch dimension on every output, so that the rows
     * of one request are rows of the outputs.
     */
    private static boolean batchable(Signature sig, Signature.TensorDescription input, FastRequest request) {
        org.tensorflow.ndarray.Shape in = input.shape;
        if (in == null || in.isUnknown() || in.numDimensions() != request.shape.length || in.numDimensions() < 1
                || in.size(0) != org.tensorflow.ndarray.Shape.UNKNOWN_SIZE) {
            return false;
        }
        for (int d = 1; d < in.numDimensions(); d++) {
            if (in.size(d) != request.shape[d]) {
                return false;
            }
        }
        for (Signature.TensorDescription out : sig.getOutputs().values()) {
            org.tensorflow.ndarray.Shape s = out.shape;
            if (s == null || s.isUnknown() || s.numDimensions() < 1 || s.size(0) != org.tensorflow.ndarray.Shape.UNKNOWN_SIZE
                    || !writable(out.dataType)) {
                return false;
            }
        }
        return true;
    }

    private static boolean writable(org.tensorflow.proto.DataType t) {
        return t == org.tensorflow.proto.DataType.DT_FLOAT || t == org.tensorflow.proto.DataType.DT_DOUBLE
                || t == org.tensorflow.proto.DataType.DT_INT32 || t == org.tensorflow.proto.DataType.DT_INT64;
    }

    /** A request's rows of batched outputs, in the row ({@code predictions}) or columnar ({@code outputs}) form. */
    private static void writeRows(JsonGenerator g, boolean row, List<String> names, RequestBatcher.Answer answer)
            throws IOException {
        List<Tensor> tensors = new ArrayList<>();
        List<JsonTensors.Leaf> leaves = new ArrayList<>();
        for (String n : names) {
            Tensor t = answer.output(n);
            tensors.add(t);
            leaves.add(JsonTensors.leaf(t));
        }
        g.writeStartObject();
        g.writeFieldName(row ? "predictions" : "outputs");
        if (names.size() == 1) {
            writeRange(g, tensors.get(0), leaves.get(0), answer);
        } else if (row) {
            writeRowObjects(g, names, tensors, leaves, answer.from, answer.rows, 0);
        } else {
            g.writeStartObject();
            for (int k = 0; k < names.size(); k++) {
                g.writeFieldName(names.get(k));
                writeRange(g, tensors.get(k), leaves.get(k), answer);
            }
            g.writeEndObject();
        }
        g.writeEndObject();
    }

    private static void writeRange(JsonGenerator g, Tensor t, JsonTensors.Leaf leaf, RequestBatcher.Answer answer)
            throws IOException {
        g.writeStartArray();
        for (int i = answer.from; i < answer.from + answer.rows; i++) {
            JsonTensors.writeElement(g, t, leaf, i);
        }
        g.writeEndArray();
    }

    /** Answers {@code request} with {@code version}, writing the JSON answer to {@code out}. */
    static void predict(LoadedVersion version, JsonNode request, JsonGenerator out) throws IOException {
        if (request == null || !request.isObject()) {
            throw RestException.badRequest("the request body must be a JSON object");
        }
        JsonNode sigNode = request.get("signature_name");
        if (sigNode != null && !sigNode.isTextual()) {
            throw RestException.badRequest("'signature_name' must be a string");
        }
        String sigName = signatureName(sigNode == null ? null : sigNode.asText());
        boolean row = request.has("instances");
        boolean columnar = request.has("inputs");
        if (row && columnar) {
            throw RestException.badRequest("the request has both 'instances' and 'inputs': use one of them");
        }
        if (!row && !columnar) {
            throw RestException.badRequest("the request has neither 'instances' (row format) nor 'inputs' (columnar format)");
        }
        Signature sig = version.signatures().get(sigName);
        if (sig == null) {
            throw RestException.badRequest("serving signature name '" + sigName + "' not found in the signature defs "
                    + version.signatures().keySet());
        }
        if (!PREDICT_METHOD.equals(sig.methodName())) {
            throw RestException.badRequest("signature '" + sigName + "' has method '" + sig.methodName()
                    + "'; only " + PREDICT_METHOD + " signatures can be called with :predict");
        }
        Map<String, JsonNode> values = row ? fromInstances(sig, request.get("instances"))
                : fromInputs(sig, request.get("inputs"));
        Map<String, long[]> valueShapes = new LinkedHashMap<>();
        Map<String, InputContract.Feed> shapes = new LinkedHashMap<>();
        int added = Integer.MAX_VALUE;
        for (Map.Entry<String, JsonNode> e : values.entrySet()) {
            long[] shape = JsonTensors.shapeOf(e.getValue(), e.getKey());
            InputContract.Feed f = InputContract.check(e.getKey(), sig.getInputs().get(e.getKey()), shape);
            valueShapes.put(e.getKey(), shape);
            shapes.put(e.getKey(), f);
            added = Math.min(added, f.addedUnitDims());
        }
        InputContract.checkBatch(sig, shapes);
        Map<String, Tensor> feeds = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, JsonNode> e : values.entrySet()) {
                Signature.TensorDescription d = sig.getInputs().get(e.getKey());
                feeds.put(e.getKey(), JsonTensors.toTensor(e.getValue(), d.dataType, e.getKey(),
                        valueShapes.get(e.getKey()), shapes.get(e.getKey()).shape()));
            }
            try (Result result = run(version, sigName, feeds)) {
                List<String> names = new ArrayList<>(sig.getOutputs().keySet());
                if (row) {
                    writePredictions(out, result, names, added);
                } else {
                    writeOutputs(out, result, names, added);
                }
            }
        } finally {
            for (Tensor t : feeds.values()) {
                t.close();
            }
        }
    }

    /** The signature a request names; absent or "" means the default, as in TF Serving. */
    static String signatureName(String requested) {
        return requested == null || requested.isEmpty() ? DEFAULT_SIGNATURE : requested;
    }

    private static Result run(LoadedVersion version, String sigName, Map<String, Tensor> feeds) {
        return call(version.function(sigName), feeds);
    }

    /** Calls a signature; TensorFlow's complaints about the inputs become 400s. */
    static Result call(org.tensorflow.SessionFunction function, Map<String, Tensor> feeds) {
        try {
            return function.call(feeds);
        } catch (TFInvalidArgumentException e) {
            throw RestException.badRequest(firstLine(e.getMessage()));
        } catch (IllegalArgumentException e) {
            throw RestException.badRequest(firstLine(e.getMessage()));
        }
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "invalid argument";
        }
        int nl = s.indexOf('\n');
        return nl > 0 ? s.substring(0, nl) : s;
    }

    private static Map<String, JsonNode> fromInstances(Signature sig, JsonNode instances) {
        if (!instances.isArray() || instances.isEmpty()) {
            throw RestException.badRequest("'instances' must be a non-empty list");
        }
        Map<String, JsonNode> values = new LinkedHashMap<>();
        if (sig.getInputs().size() == 1) {
            String name = sig.getInputs().keySet().iterator().next();
            JsonNode first = instances.get(0);
            if (first.isObject()) {
                values.put(name, stack(sig, instances, name));
            } else {
                values.put(name, instances);
            }
            return values;
        }
        for (String name : sig.getInputs().keySet()) {
            values.put(name, stack(sig, instances, name));
        }
        return values;
    }

    private static JsonNode stack(Signature sig, JsonNode instances, String name) {
        ArrayNode a = JsonNodeFactory.instance.arrayNode(instances.size());
        for (int i = 0; i < instances.size(); i++) {
            JsonNode inst = instances.get(i);
            if (!inst.isObject() || !inst.has(name)) {
                throw RestException.badRequest("instance " + i + " lacks input '" + name + "'");
            }
            if (inst.size() != sig.getInputs().size()) {
                for (String field : names(inst)) {
                    if (!sig.getInputs().containsKey(field)) {
                        throw RestException.badRequest("instance " + i + " has '" + field
                                + "', which is not an input of the signature " + sig.getInputs().keySet());
                    }
                }
            }
            a.add(inst.get(name));
        }
        return a;
    }

    private static Map<String, JsonNode> fromInputs(Signature sig, JsonNode inputs) {
        Map<String, JsonNode> values = new LinkedHashMap<>();
        if (sig.getInputs().size() == 1) {
            String name = sig.getInputs().keySet().iterator().next();
            if (inputs.isObject() && inputs.has(name) && inputs.size() == 1) {
                values.put(name, inputs.get(name));
            } else if (inputs.isObject()) {
                throw RestException.badRequest("'inputs' names " + names(inputs) + "; the signature's input is '"
                        + name + "'");
            } else {
                values.put(name, inputs);
            }
            return values;
        }
        if (!inputs.isObject()) {
            throw RestException.badRequest("'inputs' must be an object keyed by input name " + sig.getInputs().keySet());
        }
        for (String name : sig.getInputs().keySet()) {
            if (!inputs.has(name)) {
                throw RestException.badRequest("'inputs' lacks input '" + name + "'");
            }
            values.put(name, inputs.get(name));
        }
        if (inputs.size() != sig.getInputs().size()) {
            throw RestException.badRequest("'inputs' names " + names(inputs) + "; the signature's inputs are "
                    + sig.getInputs().keySet());
        }
        return values;
    }

    private static List<String> names(JsonNode object) {
        List<String> names = new ArrayList<>();
        Iterator<String> it = object.fieldNames();
        it.forEachRemaining(names::add);
        return names;
    }

    private static void writePredictions(JsonGenerator g, Result result, List<String> names, int added)
            throws IOException {
        g.writeStartObject();
        g.writeFieldName("predictions");
        if (names.size() == 1) {
            Tensor t = result.get(names.get(0)).orElseThrow();
            JsonTensors.write(g, JsonTensors.leaf(t), InputContract.answerDims(t.shape().asArray(), added));
        } else {
            List<Tensor> tensors = new ArrayList<>();
            List<JsonTensors.Leaf> leaves = new ArrayList<>();
            long batch = -1;
            for (String n : names) {
                Tensor t = result.get(n).orElseThrow();
                tensors.add(t);
                leaves.add(JsonTensors.leaf(t));
                long b = t.shape().numDimensions() == 0 ? 1 : t.shape().size(0);
                if (batch >= 0 && b != batch) {
                    throw RestException.badRequest("outputs have different batch sizes: use the columnar format");
                }
                batch = b;
            }
            writeRowObjects(g, names, tensors, leaves, 0, batch, added);
        }
        g.writeEndObject();
    }

    /** Rows {@code from} to {@code from + count} of several outputs as one object per row, keyed by output name. */
    private static void writeRowObjects(JsonGenerator g, List<String> names, List<Tensor> tensors,
                                        List<JsonTensors.Leaf> leaves, long from, long count, int added)
            throws IOException {
        List<long[]> dims = new ArrayList<>();
        for (Tensor t : tensors) {
            dims.add(InputContract.answerDims(t.shape().asArray(), added));
        }
        g.writeStartArray();
        for (long i = from; i < from + count; i++) {
            g.writeStartObject();
            for (int k = 0; k < names.size(); k++) {
                g.writeFieldName(names.get(k));
                JsonTensors.writeElement(g, leaves.get(k), dims.get(k), i);
            }
            g.writeEndObject();
        }
        g.writeEndArray();
    }

    private static void writeOutputs(JsonGenerator g, Result result, List<String> names, int added)
            throws IOException {
        g.writeStartObject();
        g.writeFieldName("outputs");
        if (names.size() == 1) {
            Tensor t = result.get(names.get(0)).orElseThrow();
            JsonTensors.write(g, JsonTensors.leaf(t), InputContract.answerDims(t.shape().asArray(), added));
        } else {
            g.writeStartObject();
            for (String n : names) {
                Tensor t = result.get(n).orElseThrow();
                g.writeFieldName(n);
                JsonTensors.write(g, JsonTensors.leaf(t), InputContract.answerDims(t.shape().asArray(), added));
            }
            g.writeEndObject();
        }
        g.writeEndObject();
    }
}
