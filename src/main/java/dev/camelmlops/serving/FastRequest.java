package dev.camelmlops.serving;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.util.Arrays;

/**
 * The common predict request — an optional {@code signature_name} and one rectangular list of
 * numbers under {@code instances} or {@code inputs} — read in one streaming pass straight into a
 * float array, without building a JSON tree (a 1-image request holds 784 numbers). Anything else
 * (objects, strings, ragged lists, other fields) returns null and takes the general path, which
 * also produces the precise error messages.
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

    static FastRequest parse(JsonFactory factory, byte[] body) {
        try (JsonParser p = factory.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            String sig = null;
            Boolean row = null;
            long[] shape = null;
            float[] values = null;
            JsonToken t;
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken v = p.nextToken();
                if ("signature_name".equals(name) && v == JsonToken.VALUE_STRING && sig == null) {
                    sig = p.getText();
                } else if (("instances".equals(name) || "inputs".equals(name)) && v == JsonToken.START_ARRAY
                        && row == null) {
                    row = "instances".equals(name);
                    Numbers n = new Numbers();
                    if (!n.read(p)) {
                        return null;
                    }
                    shape = n.shape();
                    values = Arrays.copyOf(n.values, n.size);
                } else {
                    return null;
                }
            }
            if (t != JsonToken.END_OBJECT || p.nextToken() != null || row == null) {
                return null;
            }
            return new FastRequest(sig, row, shape, values);
        } catch (IOException e) {
            return null;
        }
    }

    /** A rectangular nested list of numbers, read after its opening bracket. */
    private static final class Numbers {
        private final long[] dims = new long[16];
        private int rank = -1;
        private final long[] counts = new long[16];
        float[] values = new float[1024];
        int size;

        boolean read(JsonParser p) throws IOException {
            int depth = 0;
            counts[0] = 0;
            while (true) {
                JsonToken t = p.nextToken();
                if (t == JsonToken.VALUE_NUMBER_INT || t == JsonToken.VALUE_NUMBER_FLOAT) {
                    if (rank < 0) {
                        rank = depth + 1;
                    } else if (depth + 1 != rank) {
                        return false;
                    }
                    counts[depth]++;
                    if (size == values.length) {
                        values = Arrays.copyOf(values, values.length * 2);
                    }
                    values[size++] = p.getFloatValue();
                } else if (t == JsonToken.START_ARRAY) {
                    counts[depth]++;
                    depth++;
                    if (depth >= dims.length || (rank >= 0 && depth >= rank)) {
                        return false;
                    }
                    counts[depth] = 0;
                } else if (t == JsonToken.END_ARRAY) {
                    if (rank < 0) {
                        return false;
                    }
                    if (dims[depth] == 0) {
                        dims[depth] = counts[depth];
                    } else if (dims[depth] != counts[depth]) {
                        return false;
                    }
                    if (dims[depth] == 0) {
                        return false;
                    }
                    if (depth == 0) {
                        return true;
                    }
                    depth--;
                } else {
                    return false;
                }
            }
        }

        long[] shape() {
            return Arrays.copyOf(dims, rank);
        }
    }
}
