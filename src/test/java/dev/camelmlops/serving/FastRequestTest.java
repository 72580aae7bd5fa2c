package dev.camelmlops.serving;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Locale;
import java.util.Random;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class FastRequestTest {
    private static FastRequest parse(String json) {
        return FastRequest.parse(json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void readsRectangularNumbersInOnePass() {
        FastRequest r = parse("{\"signature_name\": \"serving_default\", \"instances\": [[[0.5],[1]],[[2],[3e-1]]]}");
        assertEquals("serving_default", r.signatureName);
        assertTrue(r.row);
        assertArrayEquals(new long[]{2, 2, 1}, r.shape);
        assertArrayEquals(new float[]{0.5f, 1f, 2f, 0.3f}, r.values);
        FastRequest c = parse("{\"inputs\": [1.0, 2.0, 5.0]}");
        assertTrue(!c.row);
        assertArrayEquals(new long[]{3}, c.shape);
    }

    @Test
    void everythingElseTakesTheGeneralPath() {
        assertNull(parse("{\"instances\": [[1, 2], [3]]}"), "ragged");
        assertNull(parse("{\"instances\": [[1, 2], 3]}"), "mixed rank");
        assertNull(parse("{\"instances\": [[\"a\"]]}"), "strings");
        assertNull(parse("{\"instances\": [{\"x\": 1}]}"), "objects");
        assertNull(parse("{\"instances\": [1], \"inputs\": [1]}"), "both");
        assertNull(parse("{\"instances\": []}"), "empty");
        assertNull(parse("{\"signature_name\": \"s\"}"), "neither");
        assertNull(parse("{\"instances\": [1, 2"), "malformed");
        assertNull(parse("[1, 2]"), "not an object");
        assertNull(parse("{\"instances\": [1], \"extra\": 1}"), "unknown field");
        assertNull(parse("{\"instances\": [1, 2,]}"), "trailing comma");
        assertNull(parse("{\"instances\": [1 2]}"), "missing comma");
        assertNull(parse("{\"instances\": [01]}"), "leading zero");
        assertNull(parse("{\"instances\": [1.]}"), "no fraction digits");
        assertNull(parse("{\"instances\": [.5]}"), "no integer digits");
        assertNull(parse("{\"instances\": [1e]}"), "no exponent digits");
        assertNull(parse("{\"instances\": [-]}"), "lone minus");
        assertNull(parse("{\"instances\": [NaN]}"), "not a JSON number");
        assertNull(parse("{\"instances\": [[1], [[2]]]}"), "deeper than the first row");
        assertNull(parse("{\"instances\": [1]} x"), "trailing garbage");
        assertNull(parse("{\"instances\": [1],}"), "trailing comma in the object");
        assertNull(parse("{\"sig\\u006eature_name\": \"a\", \"instances\": [1]}"), "escaped key");
        assertNull(parse("{\"instances\": [1]"), "unclosed object");
        assertNull(parse(""), "empty body");
    }

    @Test
    void whitespaceAnywhereJsonAllows() {
        FastRequest r = parse(" \n{ \"inputs\" :\t[ [ 1 , -2.5e0 ] ,\r\n[3,4] ] }\n");
        assertArrayEquals(new long[]{2, 2}, r.shape);
        assertArrayEquals(new float[]{1f, -2.5f, 3f, 4f}, r.values);
        assertEquals(2, r.rows());
    }

    /**
     * A number beyond float32's range is not narrowed to infinity here: the general path decides,
     * knowing the input's dtype (a 400 for float32, a value for float64).
     */
    @Test
    void numbersBeyondFloat32TakeTheGeneralPath() {
        assertNull(parse("{\"instances\": [1, 3.5e38]}"));
        assertNull(parse("{\"instances\": [1e39]}"));
        assertNull(parse("{\"instances\": [-1e400]}"));
        assertNull(parse("{\"instances\": [1" + "0".repeat(60) + "]}"));
        assertArrayEquals(new float[]{Float.MAX_VALUE}, parse("{\"instances\": [3.4028235e38]}").values);
    }

    @Test
    void nonAsciiStringsTakeTheGeneralPath() {
        byte[] body = "{\"signature_name\": \"s\u00e9\", \"instances\": [1]}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        assertNull(FastRequest.parse(body));
        byte[] invalid = "{\"signature_name\": \"sX\", \"instances\": [1]}".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        invalid[21] = (byte) 0xC3; // a lone lead byte: invalid UTF-8
        assertNull(FastRequest.parse(invalid));
    }

    /** Every number becomes exactly what TF Serving (and the general path) makes of it: the double, narrowed. */
    @Test
    void numbersMatchParsingAsDoubleThenNarrowing() {
        Random rnd = new Random(7);
        StringBuilder json = new StringBuilder("{\"instances\": [");
        java.util.List<String> texts = new java.util.ArrayList<>(java.util.List.of("0", "-0", "-0.0", "0.0", "1",
                "255", "0.003921569", "0.0039215684", "1e-45", "1.4e-45", "3.4028235e38", "-3.4028235e38",
                "123456789012345678901234", "0.1234567890123456789", "9007199254740993", "1E+2", "2.5E-3",
                "0.000000000000000000000001", "1.00000005960464477539062499", "1.000000059604644775390625"));
        for (int k = 0; k < 20_000; k++) {
            String t = switch (k % 4) {
                case 0 -> Float.toString(rnd.nextInt(256) / 255f);
                case 1 -> Double.toString(rnd.nextDouble());
                case 2 -> String.format(Locale.ROOT, "%.6e", (rnd.nextDouble() - 0.5) * Math.pow(10, rnd.nextInt(60) - 30));
                default -> Long.toString(rnd.nextLong() >> rnd.nextInt(63));
            };
            texts.add(t);
        }
        // Fractions of every length from 1 to 25 digits, with and without leading zeros and an
        // exponent (the scanner reads fraction digits 8 at a time).
        for (int k = 0; k < 20_000; k++) {
            StringBuilder t = new StringBuilder(rnd.nextBoolean() ? "0." : (rnd.nextInt(1000) + "."));
            int zeros = rnd.nextInt(4) == 0 ? rnd.nextInt(12) : 0;
            t.append("0".repeat(zeros));
            int n = 1 + rnd.nextInt(25);
            for (int d = 0; d < n; d++) {
                t.append((char) ('0' + rnd.nextInt(10)));
            }
            if (rnd.nextInt(5) == 0) {
                t.append(rnd.nextBoolean() ? "e" : "E-").append(rnd.nextInt(30));
            }
            texts.add(rnd.nextBoolean() ? "-" + t : t.toString());
        }
        for (int k = 0; k < texts.size(); k++) {
            json.append(k == 0 ? "" : ",").append(texts.get(k));
        }
        FastRequest r = parse(json.append("]}").toString());
        assertEquals(texts.size(), r.values.length);
        // The last number ends within 8 bytes of the body's end.
        for (String last : new String[]{"0.5", "0.12345678", "0.123456789", "7.0000001"}) {
            assertEquals((float) Double.parseDouble(last), parse("{\"instances\":[" + last + "]}").values[0], last);
            assertEquals((float) Double.parseDouble(last), parse("{\"instances\":[1," + last + "]}").values[1], last);
        }
        for (int k = 0; k < texts.size(); k++) {
            float expected = (float) Double.parseDouble(texts.get(k));
            assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(r.values[k]), texts.get(k));
        }
    }
}
