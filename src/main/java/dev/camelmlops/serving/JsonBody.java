package dev.camelmlops.serving;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;

/**
 * Reads a request body as TF Serving reads it, into a JSON tree, or refuses it with a 400 whose
 * message names the problem in the user's terms (never the parser's class names or settings):
 * <ul>
 *   <li>UTF-8 only: a UTF-16 or UTF-32 body (a byte-order mark, NUL bytes) is refused, as is
 *       invalid UTF-8;</li>
 *   <li>exactly one JSON value: trailing garbage or a second document is refused;</li>
 *   <li>the bare tokens {@code NaN}, {@code Infinity} and {@code -Infinity} are numbers (TF Serving
 *       accepts them); a number literal too large for a double ({@code 1e400}) is refused here,
 *       one too large for float32 where the input is float32 ({@link JsonTensors});</li>
 *   <li>duplicate keys in an object are refused (which of two values counts would be a guess);</li>
 *   <li>nesting deeper than {@link #MAX_DEPTH} and numbers longer than 1,000 characters are refused.</li>
 * </ul>
 */
final class JsonBody {
    /** Deepest nesting read (TensorFlow's shapes stop at rank 254; no input here is near this). */
    static final int MAX_DEPTH = 64;
    static final int MAX_NUMBER_CHARS = 1000;

    private static final JsonFactory FACTORY = JsonFactory.builder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(com.fasterxml.jackson.core.StreamReadFeature.USE_FAST_DOUBLE_PARSER)
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(MAX_DEPTH)
                    .maxNumberLength(MAX_NUMBER_CHARS)
                    .build())
            .build();
    private static final JsonNodeFactory NODES = JsonNodeFactory.withExactBigDecimals(false);

    private JsonBody() {
    }

    /** The body's one JSON value; a {@link RestException} (400) saying what is wrong otherwise. */
    static JsonNode parse(byte[] body) {
        checkEncoding(body);
        try (JsonParser p = FACTORY.createParser(body)) {
            JsonToken first = p.nextToken();
            if (first == null) {
                throw RestException.badRequest("the request body is empty: expected a JSON object");
            }
            JsonNode root = value(p, first);
            JsonToken extra;
            try {
                extra = p.nextToken();
            } catch (JsonProcessingException e) {
                extra = JsonToken.NOT_AVAILABLE;
            }
            if (extra != null) {
                throw RestException.badRequest("the request body has more after its JSON value (at "
                        + where(p.currentTokenLocation()) + "): send exactly one JSON object");
            }
            return root;
        } catch (StreamConstraintsException e) {
            throw RestException.badRequest(constraint(e));
        } catch (JsonProcessingException e) {
            throw RestException.badRequest("malformed JSON at " + where(e.getLocation()) + ": " + clean(e));
        } catch (IOException e) {
            // Reading from a byte array does no I/O; whatever this is, it is the body's fault.
            throw RestException.badRequest("malformed JSON: " + e.getMessage());
        }
    }

    private static JsonNode value(JsonParser p, JsonToken t) throws IOException {
        switch (t) {
            case START_OBJECT -> {
                ObjectNode o = NODES.objectNode();
                for (JsonToken k = p.nextToken(); k != JsonToken.END_OBJECT; k = p.nextToken()) {
                    String name = p.currentName();
                    o.set(name, value(p, p.nextToken()));
                }
                return o;
            }
            case START_ARRAY -> {
                ArrayNode a = NODES.arrayNode();
                for (JsonToken v = p.nextToken(); v != JsonToken.END_ARRAY; v = p.nextToken()) {
                    a.add(value(p, v));
                }
                return a;
            }
            case VALUE_STRING -> {
                return NODES.textNode(p.getText());
            }
            case VALUE_NUMBER_INT -> {
                return switch (p.getNumberType()) {
                    case INT -> NODES.numberNode(p.getIntValue());
                    case LONG -> NODES.numberNode(p.getLongValue());
                    default -> NODES.numberNode(p.getBigIntegerValue());
                };
            }
            case VALUE_NUMBER_FLOAT -> {
                double d = p.getDoubleValue();
                if (Double.isFinite(d) || isSpecialToken(p.getText())) {
                    return NODES.numberNode(d);
                }
                throw RestException.badRequest("the number " + abbreviate(p.getText()) + " at "
                        + where(p.currentTokenLocation()) + " is too large for any numeric type");
            }
            case VALUE_TRUE, VALUE_FALSE -> {
                return NODES.booleanNode(t == JsonToken.VALUE_TRUE);
            }
            case VALUE_NULL -> {
                return NODES.nullNode();
            }
            default -> throw RestException.badRequest("malformed JSON at " + where(p.currentTokenLocation())
                    + ": unexpected " + t);
        }
    }

    /** NaN and the infinities written as tokens (not a literal that overflowed). */
    private static boolean isSpecialToken(String text) {
        return switch (text) {
            case "NaN", "Infinity", "+Infinity", "-Infinity", "INF", "+INF", "-INF" -> true;
            default -> false;
        };
    }

    /**
     * UTF-16 and UTF-32 bodies (which a JSON parser would otherwise detect and decode): a
     * byte-order mark, or a NUL among the first bytes (JSON text starts with ASCII).
     */
    private static void checkEncoding(byte[] b) {
        boolean bom = b.length >= 2 && ((b[0] == (byte) 0xFE && b[1] == (byte) 0xFF)
                || (b[0] == (byte) 0xFF && b[1] == (byte) 0xFE));
        boolean nul = false;
        for (int i = 0; i < Math.min(4, b.length); i++) {
            nul |= b[i] == 0;
        }
        if (bom || nul) {
            throw RestException.badRequest("the request body is not UTF-8 (it looks like UTF-16 or UTF-32): "
                    + "send JSON encoded as UTF-8");
        }
    }

    private static String where(JsonLocation l) {
        if (l == null || l.getLineNr() < 0) {
            return "an unknown position";
        }
        return "line " + l.getLineNr() + ", column " + l.getColumnNr();
    }

    private static String constraint(StreamConstraintsException e) {
        String m = String.valueOf(e.getOriginalMessage());
        if (m.startsWith("Number value length") || m.startsWith("Number length")) {
            return "a number in the request is longer than " + MAX_NUMBER_CHARS + " characters";
        }
        if (m.contains("nesting depth")) {
            return "the request's JSON is nested deeper than " + MAX_DEPTH + " levels";
        }
        if (m.startsWith("String value length") || m.startsWith("String length")) {
            return "a string in the request is too long";
        }
        if (m.contains("Name length")) {
            return "a field name in the request is too long";
        }
        return "the request exceeds a limit of the JSON reader: " + clean(e);
    }

    /**
     * The parser's message without its source excerpts and its hints about parser features (a
     * user cannot switch those on): "Unexpected character ('x' (code 120)): was expecting comma".
     */
    static String clean(JsonProcessingException e) {
        String m = e.getOriginalMessage();
        if (m == null || m.isBlank()) {
            return "unreadable JSON";
        }
        m = m.replaceAll("\\s*\\(start marker at \\[Source:[^\\]]*?line: (\\d+), column: (\\d+)\\]\\)",
                " (opened at line $1, column $2)");
        m = m.replaceAll("\\s*\\[Source:[^\\]]*\\]", "");
        m = m.replaceAll("\\s*\\((?:[^()]|\\([^()]*\\))*`[^`]*(?:Feature|Constraints)[^`]*`(?:[^()]|\\([^()]*\\))*\\)", "");
        m = m.replaceAll("`?com\\.fasterxml\\.[A-Za-z0-9_.$]+`?", "");
        int nl = m.indexOf('\n');
        if (nl >= 0) {
            m = m.substring(0, nl);
        }
        return m.strip();
    }

    private static String abbreviate(String s) {
        return s.length() > 40 ? s.substring(0, 20) + "..." + s.substring(s.length() - 10) + " (" + s.length()
                + " characters)" : s;
    }
}
