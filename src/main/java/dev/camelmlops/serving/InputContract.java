package dev.camelmlops.serving;

import java.util.Arrays;
import java.util.Map;
import org.tensorflow.Signature;
import org.tensorflow.ndarray.Shape;

/**
 * What a signature's inputs accept, checked before TensorFlow sees a request: TensorFlow's native
 * kernels abort the whole process (a failed CHECK, not an error) on some shapes that do not fit an
 * op, and on ranks above 254, so nothing whose shape disagrees with the signature may reach a
 * call. A request value is accepted when
 * <ul>
 *   <li>its rank is the input's rank and every fixed dimension matches (the unknown ones, -1, take
 *       any size), or</li>
 *   <li>it leaves out trailing dimensions that the signature fixes at 1 (TF Serving's own
 *       {@code half_plus_two} example sends {@code [1.0, 2.0, 5.0]} to an input of shape
 *       {@code [-1,1]}); it is then fed with those dimensions added, and outputs ending in as many
 *       size-1 dimensions are answered without them, which is the answer TF Serving gives;</li>
 * </ul>
 * and in every case no dimension is empty, the rank is at most {@link #MAX_RANK} (inputs of
 * unknown rank) and the element count at most {@link #MAX_ELEMENTS}.
 */
final class InputContract {
    /** Highest rank accepted for an input whose signature does not fix its rank. */
    static final int MAX_RANK = 32;
    /** Most elements of one input (the body size limit normally stops a request long before). */
    static final long MAX_ELEMENTS = 1L << 28;

    private InputContract() {
    }

    /** A request value's shape as it will be fed, and how many size-1 dimensions were added. */
    record Feed(long[] shape, int addedUnitDims) {
    }

    /** Checks {@code got} (the shape of the request's value for {@code input}) against the signature. */
    static Feed check(String input, Signature.TensorDescription d, long[] got) {
        Shape expected = d.shape;
        long elements = 1;
        for (long n : got) {
            if (n <= 0) {
                throw RestException.badRequest("input '" + input + "' has an empty list: got shape " + text(got)
                        + (expected == null || expected.isUnknown() ? "" : ", expected " + text(expected.asArray())));
            }
            elements = n > MAX_ELEMENTS ? MAX_ELEMENTS + 1 : Math.min(MAX_ELEMENTS + 1, elements * n);
        }
        if (elements > MAX_ELEMENTS) {
            throw RestException.badRequest("input '" + input + "' has shape " + text(got) + ", more than "
                    + MAX_ELEMENTS + " values");
        }
        if (expected == null || expected.isUnknown()) {
            if (got.length > MAX_RANK) {
                throw RestException.badRequest("input '" + input + "' has " + got.length
                        + " dimensions; at most " + MAX_RANK + " are accepted");
            }
            return new Feed(got, 0);
        }
        long[] want = expected.asArray();
        if (got.length == want.length && matches(want, got, got.length)) {
            return new Feed(got, 0);
        }
        if (got.length < want.length && got.length >= 1 && matches(want, got, got.length)) {
            boolean unitTail = true;
            for (int i = got.length; i < want.length; i++) {
                unitTail &= want[i] == 1;
            }
            if (unitTail) {
                long[] feed = Arrays.copyOf(got, want.length);
                Arrays.fill(feed, got.length, want.length, 1L);
                return new Feed(feed, want.length - got.length);
            }
        }
        throw RestException.badRequest("input '" + input + "' expects shape " + text(want) + ", got " + text(got));
    }

    private static boolean matches(long[] want, long[] got, int n) {
        for (int i = 0; i < n; i++) {
            if (want[i] >= 0 && want[i] != got[i]) {
                return false;
            }
        }
        return true;
    }

    /**
     * Inputs whose signature has a batch dimension (first dimension unknown) must agree on it:
     * their rows belong together.
     */
    static void checkBatch(Signature sig, Map<String, Feed> feeds) {
        String first = null;
        long rows = -1;
        for (Map.Entry<String, Feed> e : new java.util.TreeMap<>(feeds).entrySet()) {
            Shape s = sig.getInputs().get(e.getKey()).shape;
            if (s == null || s.isUnknown() || s.numDimensions() < 1 || s.size(0) != Shape.UNKNOWN_SIZE) {
                continue;
            }
            long n = e.getValue().shape()[0];
            if (first == null) {
                first = e.getKey();
                rows = n;
            } else if (n != rows) {
                throw RestException.badRequest("inputs have different batch sizes: '" + first + "' has " + rows
                        + ", '" + e.getKey() + "' has " + n);
            }
        }
    }

    /** The dimensions to write an output tensor with: {@code addedUnitDims} trailing 1s removed when it has them. */
    static long[] answerDims(long[] dims, int addedUnitDims) {
        if (addedUnitDims == 0 || dims.length <= addedUnitDims) {
            return dims;
        }
        for (int i = dims.length - addedUnitDims; i < dims.length; i++) {
            if (dims[i] != 1) {
                return dims;
            }
        }
        return Arrays.copyOf(dims, dims.length - addedUnitDims);
    }

    static String text(long[] shape) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < shape.length; i++) {
            b.append(i == 0 ? "" : ",").append(shape[i]);
        }
        return b.append(']').toString();
    }
}
