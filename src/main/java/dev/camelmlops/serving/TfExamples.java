package dev.camelmlops.serving;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.tensorflow.proto.BytesList;
import org.tensorflow.proto.Example;
import org.tensorflow.proto.Feature;
import org.tensorflow.proto.Features;
import org.tensorflow.proto.FloatList;
import org.tensorflow.proto.Int64List;

/**
 * The body of a {@code :classify} or {@code :regress} request read as TF Serving reads it
 * (json_tensor.cc, FillClassificationRequestFromJson / FillRegressionRequestFromJson), into the
 * serialized {@code tf.Example}s its classifier and regressor feed (util.cc,
 * InputToSerializedExampleTensor). No TensorFlow here: only protos and bytes.
 *
 * <pre>{"signature_name"?: string, "context"?: {feature: value|[values]}, "examples": [{feature: value|[values]}, ...]}</pre>
 *
 * A JSON value becomes a feature as in TF Serving's AddValueToFeature: a number with a fraction or
 * an exponent (and the tokens NaN, Infinity) a float, an integer (and true/false as 1/0) an int64,
 * a string or {@code {"b64": "..."}} bytes; one feature's list holds one kind. A context is merged
 * into each example as TF Serving merges it: the serialized context followed by the serialized
 * example, so a feature both name is the example's (protobuf keeps the last entry of a map key).
 * Refused with a 400, as TF Serving refuses them: null, nested lists, objects other than b64, a
 * mixed list, an integer beyond int64; and, unlike TF Serving, a float literal beyond float32's
 * range (as :predict refuses it) and more than {@link #MAX_SERIALIZED_BYTES} of serialized
 * examples (a large context repeated over many tiny examples).
 */
final class TfExamples {
    /** Most bytes of serialized examples (context included in each) one request may make. */
    static final long MAX_SERIALIZED_BYTES = 64L << 20;
    private static final BigInteger UINT64_MAX = BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE);

    private TfExamples() {
    }

    /** A parsed request: the signature it names (null: the default) and one serialized Example per example. */
    record Request(String signatureName, List<byte[]> serialized) {
    }

    /** Reads a classify or regress request ({@code verb} names it in messages). */
    static Request parse(String verb, byte[] body) {
        JsonNode doc = JsonBody.parse(body);
        if (!doc.isObject()) {
            throw RestException.badRequest("the request body must be a JSON object, got JSON " + type(doc));
        }
        JsonNode sig = doc.get("signature_name");
        if (sig != null && !sig.isTextual()) {
            throw RestException.badRequest("'signature_name' key must be a string value, got JSON " + type(sig));
        }
        byte[] context = null;
        JsonNode contextNode = doc.get("context");
        if (contextNode != null) {
            context = example("context", contextNode).toByteArray();
        }
        JsonNode examples = doc.get("examples");
        if (examples == null) {
            throw RestException.badRequest("When method is " + verb + ", key 'examples' is expected and was not found");
        }
        if (!examples.isArray()) {
            throw RestException.badRequest("Expecting 'examples' value to be an list/array, got JSON " + type(examples));
        }
        if (examples.isEmpty()) {
            throw RestException.badRequest("'examples' value is an empty array");
        }
        List<byte[]> serialized = new ArrayList<>(examples.size());
        long total = 0;
        for (int i = 0; i < examples.size(); i++) {
            byte[] e = example("examples[" + i + "]", examples.get(i)).toByteArray();
            long size = (long) e.length + (context == null ? 0 : context.length);
            total += size;
            if (total > MAX_SERIALIZED_BYTES) {
                throw RestException.badRequest("the " + examples.size() + " examples"
                        + (context == null ? "" : " (each with the " + context.length + "-byte context)")
                        + " come to more than " + MAX_SERIALIZED_BYTES + " bytes of serialized tf.Example:"
                        + " send fewer examples per request" + (context == null ? "" : " or a smaller context"));
            }
            if (context == null) {
                serialized.add(e);
            } else {
                byte[] merged = new byte[(int) size];
                System.arraycopy(context, 0, merged, 0, context.length);
                System.arraycopy(e, 0, merged, context.length, e.length);
                serialized.add(merged);
            }
        }
        return new Request(sig == null ? null : sig.asText(), serialized);
    }

    /** TF Serving's MakeExampleFromJsonObject: each field of the object is a feature. */
    private static Example example(String what, JsonNode object) {
        if (!object.isObject()) {
            throw RestException.badRequest("Example must be JSON object but got JSON " + type(object) + " (" + what + ")");
        }
        Features.Builder features = Features.newBuilder();
        Iterator<Map.Entry<String, JsonNode>> fields = object.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> f = fields.next();
            features.putFeature(f.getKey(), feature(f.getKey(), f.getValue()));
        }
        return Example.newBuilder().setFeatures(features).build();
    }

    private enum Kind { NONE, INT64, FLOAT, BYTES }

    /** One feature from a value or a list of values (an empty list: a feature with no kind, as in TF Serving). */
    private static Feature feature(String name, JsonNode content) {
        Kind kind = Kind.NONE;
        Int64List.Builder ints = null;
        FloatList.Builder floats = null;
        BytesList.Builder bytes = null;
        Iterable<JsonNode> values = content.isArray() ? content : List.of(content);
        for (JsonNode v : values) {
            Kind k = kindOf(name, v);
            if (kind != Kind.NONE && k != kind) {
                throw RestException.badRequest("Unexpected element type in feature: " + name + " expecting type: "
                        + kind.name().toLowerCase(java.util.Locale.ROOT) + " (got " + abbreviate(v) + ")");
            }
            kind = k;
            switch (k) {
                case INT64 -> {
                    if (ints == null) {
                        ints = Int64List.newBuilder();
                    }
                    ints.addValue(v.isBoolean() ? (v.booleanValue() ? 1 : 0) : v.longValue());
                }
                case FLOAT -> {
                    if (floats == null) {
                        floats = FloatList.newBuilder();
                    }
                    floats.addValue(toFloat(name, v));
                }
                case BYTES -> {
                    if (bytes == null) {
                        bytes = BytesList.newBuilder();
                    }
                    bytes.addValue(com.google.protobuf.ByteString.copyFrom(v.isTextual()
                            ? v.textValue().getBytes(StandardCharsets.UTF_8) : base64(name, v.get("b64").textValue())));
                }
                default -> throw new IllegalStateException("no kind for " + v);
            }
        }
        Feature.Builder f = Feature.newBuilder();
        if (ints != null) {
            f.setInt64List(ints);
        } else if (floats != null) {
            f.setFloatList(floats);
        } else if (bytes != null) {
            f.setBytesList(bytes);
        }
        return f.build();
    }

    /** The kind of feature a JSON value makes, or a 400 for one that makes none (AddValueToFeature). */
    private static Kind kindOf(String name, JsonNode v) {
        if (v.isBoolean()) {
            return Kind.INT64;
        }
        if (v.isTextual()) {
            return Kind.BYTES;
        }
        if (v.isObject()) {
            if (v.size() == 1 && v.has("b64") && v.get("b64").isTextual()) {
                return Kind.BYTES;
            }
            throw unexpected(name, v);
        }
        if (v.isFloatingPointNumber()) {
            return Kind.FLOAT;
        }
        if (v.isIntegralNumber()) {
            if (v.canConvertToLong()) {
                return Kind.INT64;
            }
            BigInteger b = v.bigIntegerValue();
            if (b.signum() > 0 && b.compareTo(UINT64_MAX) <= 0) {
                throw RestException.badRequest("Feature: " + name + " has uint64_t element. Only int64_t is supported.");
            }
            // Beyond 64 bits TF Serving's JSON reader reads the literal as a double.
            return Kind.FLOAT;
        }
        throw unexpected(name, v);
    }

    private static float toFloat(String name, JsonNode v) {
        double d = v.doubleValue();
        float f = (float) d;
        // An infinite double here is the token Infinity (JsonBody refuses a literal that overflows a double).
        if (Float.isInfinite(f) && !(v.isFloatingPointNumber() && Double.isInfinite(d))) {
            throw RestException.badRequest("Feature: " + name + " has the number " + abbreviate(v)
                    + ", outside the range of float32");
        }
        return f;
    }

    private static byte[] base64(String name, String text) {
        try {
            return Base64.getDecoder().decode(text);
        } catch (IllegalArgumentException e) {
            throw RestException.badRequest("Unable to base64 decode the value of feature " + name + ": "
                    + e.getMessage());
        }
    }

    private static RestException unexpected(String name, JsonNode v) {
        return RestException.badRequest("Feature: " + name + " has element with unexpected JSON type: " + type(v));
    }

    /** rapidjson's type names, as TF Serving's messages use them. */
    static String type(JsonNode v) {
        return switch (v.getNodeType()) {
            case NULL, MISSING -> "Null";
            case BOOLEAN -> v.booleanValue() ? "True" : "False";
            case OBJECT, POJO -> "Object";
            case ARRAY -> "Array";
            case STRING, BINARY -> "String";
            case NUMBER -> "Number";
        };
    }

    private static String abbreviate(JsonNode n) {
        String s = n.toString();
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }
}
