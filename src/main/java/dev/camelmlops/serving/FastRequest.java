package dev.camelmlops.serving;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The common predict request — an optional {@code signature_name} and one rectangular list of
 * numbers under {@code instances} or {@code inputs} — scanned in one pass over the body's bytes
 * straight into a float array, without a JSON tree or a tokenizer (a 1-image request holds 784
 * numbers; a general-purpose parser spent about as long on it as TensorFlow did on the model).
 * Numbers become floats as TF Serving makes them: parsed as double, then narrowed, which is also
 * what the general path does. Anything else (objects, strings with escapes, ragged lists, other
 * fields, malformed JSON) returns null and takes the general path, which produces the precise
 * error messages.
 */
final class FastRequest {
    final String signatureName;
    final boolean row;
    final long[] shape;
    final float[] values;

    private FastRequest(String signatureName, boolean row, long[] shape, float[] values) {
        this.signatureName = signatureName;
        this.row = row;
        this.shape = shape;
        this.values = values;
    }

    /** Rows (first dimension) of the request. */
    int rows() {
        return (int) shape[0];
    }

    static FastRequest parse(byte[] body) {
        return new Scanner(body).request();
    }

    /** Thrown inside the scanner when the body is not the simple form; never escapes {@link #parse}. */
    private static final class NotSimple extends Exception {
        private static final NotSimple INSTANCE = new NotSimple();

        private NotSimple() {
            super(null, null, false, false);
        }
    }

    private static final class Scanner {
        /** Powers of ten exactly representable as doubles (Clinger's fast path). */
        private static final double[] POW10 = new double[23];

        static {
            double p = 1;
            for (int i = 0; i < POW10.length; i++) {
                POW10[i] = p;
                p *= 10;
            }
        }

        private static final java.lang.invoke.VarHandle LONG_LE = java.lang.invoke.MethodHandles
                .byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);
        private static final long[] LONG_POW10 = {1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000,
            100_000_000};

        /**
         * The value of 8 ASCII digits read little-endian (the first digit in the lowest byte);
         * zero bytes below the digits count as leading zeros.
         */
        private static long eightDigits(long v) {
            v = (v & 0x0F0F0F0F0F0F0F0FL) * 2561 >>> 8;
            v = (v & 0x00FF00FF00FF00FFL) * 6553601 >>> 16;
            return (v & 0x0000FFFF0000FFFFL) * 42949672960001L >>> 32;
        }

        private final byte[] b;
        private int i;
        private final long[] dims = new long[16];
        private final long[] counts = new long[16];
        private int rank = -1;
        private float[] values = new float[1024];
        private int size;

        Scanner(byte[] body) {
            this.b = body;
        }

        FastRequest request() {
            try {
                skipWs();
                expect('{');
                String sig = null;
                Boolean row = null;
                skipWs();
                if (peek() == '}') {
                    return null;
                }
                while (true) {
                    skipWs();
                    String name = string();
                    skipWs();
                    expect(':');
                    skipWs();
                    if ("signature_name".equals(name) && sig == null && peek() == '"') {
                        sig = string();
                    } else if (("instances".equals(name) || "inputs".equals(name)) && row == null && peek() == '[') {
                        row = "instances".equals(name);
                        i++;
                        numbers();
                    } else {
                        return null;
                    }
                    skipWs();
                    int c = next();
                    if (c == '}') {
                        break;
                    }
                    if (c != ',') {
                        return null;
                    }
                }
                skipWs();
                if (i != b.length || row == null) {
                    return null;
                }
                return new FastRequest(sig, row, Arrays.copyOf(dims, rank), Arrays.copyOf(values, size));
            } catch (NotSimple | ArrayIndexOutOfBoundsException e) {
                return null;
            }
        }

        /** A rectangular nested list of numbers, read after its opening bracket. */
        private void numbers() throws NotSimple {
            int depth = 0;
            counts[0] = 0;
            boolean expectValue = true;
            while (true) {
                skipWs();
                int c = b[i];
                if (c == ']') {
                    i++;
                    if (rank < 0 || (expectValue && counts[depth] > 0)) {
                        throw NotSimple.INSTANCE; // "[]" before any number, or a trailing comma
                    }
                    if (dims[depth] == 0) {
                        dims[depth] = counts[depth];
                    } else if (dims[depth] != counts[depth]) {
                        throw NotSimple.INSTANCE;
                    }
                    if (dims[depth] == 0) {
                        throw NotSimple.INSTANCE;
                    }
                    if (depth == 0) {
                        return;
                    }
                    depth--;
                    expectValue = false;
                    continue;
                }
                if (!expectValue) {
                    if (c != ',') {
                        throw NotSimple.INSTANCE;
                    }
                    i++;
                    expectValue = true;
                    continue;
                }
                if (c == '[') {
                    i++;
                    counts[depth]++;
                    depth++;
                    if (depth >= dims.length || (rank >= 0 && depth >= rank)) {
                        throw NotSimple.INSTANCE;
                    }
                    counts[depth] = 0;
                    continue;
                }
                if (rank < 0) {
                    rank = depth + 1;
                } else if (depth + 1 != rank) {
                    throw NotSimple.INSTANCE;
                }
                counts[depth]++;
                if (size == values.length) {
                    values = Arrays.copyOf(values, values.length * 2);
                }
                double d = number();
                float f = (float) d;
                if (Float.isInfinite(f)) {
                    throw NotSimple.INSTANCE; // beyond float32: the general path knows the input's dtype
                }
                values[size++] = f;
                expectValue = false;
            }
        }

        /** A JSON number (strict grammar) as the nearest double. */
        private double number() throws NotSimple {
            int start = i;
            boolean negative = false;
            if (b[i] == '-') {
                negative = true;
                i++;
            }
            long mantissa = 0;
            int digits = 0;
            int exponent = 0;
            int c = b[i];
            if (c == '0') {
                i++;
            } else if (c >= '1' && c <= '9') {
                while (i < b.length && (c = b[i]) >= '0' && c <= '9') {
                    if (digits < 19) {
                        mantissa = mantissa * 10 + (c - '0');
                        digits++;
                    } else {
                        exponent++;
                        digits++;
                    }
                    i++;
                }
            } else {
                throw NotSimple.INSTANCE;
            }
            if (i < b.length && b[i] == '.') {
                i++;
                int fractionStart = i;
                // Up to 8 digits at a time (most numbers of a request are 0.xxxxxxx): the leading
                // zeros of 0.00x count as digits here, which can only send a number to the exact
                // slow path below, never change its value.
                while (digits <= 11 && i + 8 <= b.length) {
                    long v = (long) LONG_LE.get(b, i);
                    long notDigits = ((v & 0xF0F0F0F0F0F0F0F0L) ^ 0x3030303030303030L)
                            | (((v + 0x0606060606060606L) & 0xF0F0F0F0F0F0F0F0L) ^ 0x3030303030303030L);
                    int n = notDigits == 0 ? 8 : Long.numberOfTrailingZeros(notDigits) >>> 3;
                    if (n == 0) {
                        break;
                    }
                    mantissa = mantissa * LONG_POW10[n] + eightDigits(n == 8 ? v : v << ((8 - n) << 3));
                    digits += n;
                    exponent -= n;
                    i += n;
                    if (n < 8) {
                        break;
                    }
                }
                while (i < b.length && (c = b[i]) >= '0' && c <= '9') {
                    if (mantissa == 0 && c == '0') {
                        exponent--; // leading zeros of 0.00x carry no digits
                    } else if (digits < 19) {
                        mantissa = mantissa * 10 + (c - '0');
                        digits++;
                        exponent--;
                    } else {
                        digits++;
                    }
                    i++;
                }
                if (i == fractionStart) {
                    throw NotSimple.INSTANCE;
                }
            }
            if (i < b.length && (b[i] == 'e' || b[i] == 'E')) {
                i++;
                boolean negExp = false;
                if (b[i] == '+' || b[i] == '-') {
                    negExp = b[i] == '-';
                    i++;
                }
                int expStart = i;
                int e = 0;
                while (i < b.length && (c = b[i]) >= '0' && c <= '9') {
                    if (e < 100_000) {
                        e = e * 10 + (c - '0');
                    }
                    i++;
                }
                if (i == expStart) {
                    throw NotSimple.INSTANCE;
                }
                exponent += negExp ? -e : e;
            }
            if (i - start > JsonBody.MAX_NUMBER_CHARS) {
                throw NotSimple.INSTANCE; // the general path refuses it with the limit in words
            }
            double v;
            if (digits <= 15 && exponent >= -22 && exponent <= 22) {
                // mantissa < 10^15 < 2^53 and 10^|exponent| are exact doubles: one correctly rounded operation
                v = exponent < 0 ? mantissa / POW10[-exponent] : mantissa * POW10[exponent];
            } else {
                v = Double.parseDouble(new String(b, start, i - start, StandardCharsets.ISO_8859_1));
                return v;
            }
            return negative ? -v : v;
        }

        /** An ASCII string without escapes or control characters (else not simple). */
        private String string() throws NotSimple {
            expect('"');
            int start = i;
            while (true) {
                int c = b[i];
                if (c == '"') {
                    break;
                }
                if (c == '\\' || c < 0x20) {
                    // escapes, control characters and any non-ASCII byte (which may be invalid
                    // UTF-8) take the general path, whose parser checks them
                    throw NotSimple.INSTANCE;
                }
                i++;
            }
            String s = new String(b, start, i - start, StandardCharsets.US_ASCII);
            i++;
            return s;
        }

        private void skipWs() {
            while (i < b.length) {
                int c = b[i];
                if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
                    return;
                }
                i++;
            }
        }

        private int peek() {
            return b[i];
        }

        private int next() {
            return b[i++];
        }

        private void expect(char c) throws NotSimple {
            if (b[i] != c) {
                throw NotSimple.INSTANCE;
            }
            i++;
        }
    }
}
