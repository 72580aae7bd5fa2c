package dev.camelmlops.serving;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.ndarray.buffer.DoubleDataBuffer;
import org.tensorflow.ndarray.buffer.FloatDataBuffer;
import org.tensorflow.ndarray.buffer.IntDataBuffer;
import org.tensorflow.ndarray.buffer.LongDataBuffer;
import org.tensorflow.proto.DataType;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TFloat64;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

/**
 * Converts between JSON values (numbers in nested lists) and tensors of the numeric dtypes a
 * predict signature may use. The shape comes from the nesting; a ragged list, a string, a boolean
 * or a fraction where an integer is expected is a 400 naming what is wrong.
 */
final class JsonTensors {
    private JsonTensors() {
    }

    /** Shape of a nested JSON list, checking it is rectangular and made of numbers. */
    static long[] shapeOf(JsonNode value, String input) {
        List<Long> dims = new ArrayList<>();
        JsonNode n = value;
        while (n.isArray()) {
            dims.add((long) n.size());
            if (n.size() == 0) {
                break;
            }
            n = n.get(0);
        }
        long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
        check(value, shape, 0, input, "");
        return shape;
    }

    private static void check(JsonNode n, long[] shape, int depth, String input, String path) {
        if (depth == shape.length) {
            if (n.isArray()) {
                throw RestException.badRequest("input '" + input + "' is ragged: element " + path
                        + " is a list where the first element's nesting has a number");
            }
            if (!n.isNumber()) {
                throw RestException.badRequest("input '" + input + "' has a non-numeric value " + abbreviate(n)
                        + " at " + (path.isEmpty() ? "the top level" : path));
            }
            return;
        }
        if (!n.isArray() || n.size() != shape[depth]) {
            throw RestException.badRequest("input '" + input + "' is ragged: element " + (path.isEmpty() ? "[]" : path)
                    + " has " + (n.isArray() ? n.size() + " elements" : "a scalar") + ", expected "
                    + shape[depth] + " elements as its first sibling has");
        }
        for (int i = 0; i < n.size(); i++) {
            check(n.get(i), shape, depth + 1, input, path + "[" + i + "]");
        }
    }

    private static String abbreviate(JsonNode n) {
        String s = n.toString();
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }

    /**
     * Builds a tensor of {@code dtype} and shape {@code feedShape} (the value's own {@code shape},
     * from {@link #shapeOf} and checked against the signature, possibly with trailing size-1
     * dimensions added) from that JSON value. A number the dtype cannot hold is a 400: a literal beyond float32's range for a float32
     * input (TF Serving would otherwise predict from infinity), a fraction or an out-of-range
     * integer for an integer input. The tokens NaN and Infinity are floats like any other.
     */
    static Tensor toTensor(JsonNode value, DataType dtype, String input, long[] shape, long[] feedShape) {
        int size = (int) Math.min(Integer.MAX_VALUE, Shape.of(shape).size());
        List<JsonNode> leaves = new ArrayList<>(size);
        flatten(value, leaves);
        Shape feed = Shape.of(feedShape);
        if (feed.size() != leaves.size()) {
            throw new IllegalStateException("feed shape " + feed + " does not hold " + leaves.size() + " values");
        }
        switch (dtype) {
            case DT_FLOAT -> {
                float[] a = new float[leaves.size()];
                for (int i = 0; i < a.length; i++) {
                    JsonNode l = leaves.get(i);
                    double d = l.doubleValue();
                    float f = (float) d;
                    if (Float.isInfinite(f) && (Double.isFinite(d) || !l.isFloatingPointNumber())) {
                        throw outOfRange(input, "float32", l, shape, i);
                    }
                    a[i] = f;
                }
                return TFloat32.tensorOf(feed, DataBuffers.of(a, true, false));
            }
            case DT_DOUBLE -> {
                double[] a = new double[leaves.size()];
                for (int i = 0; i < a.length; i++) {
                    JsonNode l = leaves.get(i);
                    a[i] = l.doubleValue();
                    if (Double.isInfinite(a[i]) && !l.isFloatingPointNumber()) {
                        throw outOfRange(input, "float64", l, shape, i);
                    }
                }
                return TFloat64.tensorOf(feed, DataBuffers.of(a, true, false));
            }
            case DT_INT32 -> {
                int[] a = new int[leaves.size()];
                for (int i = 0; i < a.length; i++) {
                    JsonNode l = leaves.get(i);
                    if (!l.isIntegralNumber() || !l.canConvertToInt()) {
                        throw RestException.badRequest("input '" + input + "' expects DT_INT32 (integers from "
                                + Integer.MIN_VALUE + " to " + Integer.MAX_VALUE + "), got " + abbreviate(l) + " at "
                                + position(shape, i));
                    }
                    a[i] = l.intValue();
                }
                return TInt32.tensorOf(feed, DataBuffers.of(a, true, false));
            }
            case DT_INT64 -> {
                long[] a = new long[leaves.size()];
                for (int i = 0; i < a.length; i++) {
                    JsonNode l = leaves.get(i);
                    if (!l.isIntegralNumber() || !l.canConvertToLong()) {
                        throw RestException.badRequest("input '" + input + "' expects DT_INT64 (64-bit integers), got "
                                + abbreviate(l) + " at " + position(shape, i));
                    }
                    a[i] = l.longValue();
                }
                return TInt64.tensorOf(feed, DataBuffers.of(a, true, false));
            }
            default -> throw RestException.badRequest("input '" + input + "' has dtype " + dtype
                    + ", which this server does not accept over JSON");
        }
    }

    private static RestException outOfRange(String input, String type, JsonNode l, long[] shape, int flat) {
        return RestException.badRequest("input '" + input + "' has the number " + abbreviate(l) + " at "
                + position(shape, flat) + ", outside the range of " + type);
    }

    /** The index path ({@code [0][3][1]}) of flat element {@code flat} of a value of {@code shape}. */
    static String position(long[] shape, long flat) {
        if (shape.length == 0) {
            return "the top level";
        }
        long[] idx = new long[shape.length];
        long r = flat;
        for (int d = shape.length - 1; d >= 0; d--) {
            idx[d] = r % shape[d];
            r /= shape[d];
        }
        StringBuilder b = new StringBuilder();
        for (long i : idx) {
            b.append('[').append(i).append(']');
        }
        return b.toString();
    }

    private static void flatten(JsonNode n, List<JsonNode> out) {
        if (n.isArray()) {
            for (JsonNode c : n) {
                flatten(c, out);
            }
        } else {
            out.add(n);
        }
    }

    /** Writes one element of a tensor's flat data. */
    interface Leaf {
        void write(JsonGenerator g, long flatIndex) throws IOException;
    }

    /** A writer for the elements of {@code t}, resolving its data buffer once. */
    static Leaf leaf(Tensor t) {
        if (t instanceof TFloat32) {
            FloatDataBuffer b = t.asRawTensor().data().asFloats();
            return (g, i) -> g.writeNumber(b.getFloat(i));
        }
        if (t instanceof TFloat64) {
            DoubleDataBuffer b = t.asRawTensor().data().asDoubles();
            return (g, i) -> g.writeNumber(b.getDouble(i));
        }
        if (t instanceof TInt32) {
            IntDataBuffer b = t.asRawTensor().data().asInts();
            return (g, i) -> g.writeNumber(b.getInt(i));
        }
        if (t instanceof TInt64) {
            LongDataBuffer b = t.asRawTensor().data().asLongs();
            return (g, i) -> g.writeNumber(b.getLong(i));
        }
        throw new IllegalStateException("output dtype " + t.dataType() + " cannot be written as JSON");
    }

    /** Writes a tensor's flat data as nested lists of {@code dims} (its shape, or that shape less size-1 dimensions). */
    static void write(JsonGenerator g, Leaf leaf, long[] dims) throws IOException {
        if (dims.length == 0) {
            leaf.write(g, 0);
            return;
        }
        writeNested(g, leaf, dims, 0, 0);
    }

    /** Writes element {@code index} along the first dimension (one instance of a row-format answer). */
    static void writeElement(JsonGenerator g, Tensor t, Leaf leaf, long index) throws IOException {
        writeElement(g, leaf, t.shape().asArray(), index);
    }

    /** Writes element {@code index} along the first dimension of a tensor written with {@code dims}. */
    static void writeElement(JsonGenerator g, Leaf leaf, long[] dims, long index) throws IOException {
        if (dims.length == 0) {
            leaf.write(g, 0);
            return;
        }
        long inner = 1;
        for (int i = 1; i < dims.length; i++) {
            inner *= dims[i];
        }
        writeNested(g, leaf, dims, 1, index * inner);
    }

    private static long writeNested(JsonGenerator g, Leaf leaf, long[] dims, int depth, long offset)
            throws IOException {
        if (depth == dims.length) {
            leaf.write(g, offset);
            return offset + 1;
        }
        g.writeStartArray();
        long o = offset;
        for (long i = 0; i < dims[depth]; i++) {
            o = writeNested(g, leaf, dims, depth + 1, o);
        }
        g.writeEndArray();
        return o;
    }
}
