package dev.camelmlops.serving;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;
import org.tensorflow.Result;
import org.tensorflow.Signature;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.TensorProto;
import org.tensorflow.proto.TensorShapeProto;
import org.tensorflow.types.TFloat32;

/**
 * Runs a freshly loaded version before it takes traffic, as TF Serving does: the predict requests
 * of the SavedModel's {@link WarmupRequests#FILE} when it has one, else one batch of zeros of the
 * {@code serving_default} signature's input shape (unknown dimensions taken as 1). As in TF
 * Serving, any failure (unreadable file, unknown signature, inputs that do not match it, a
 * TensorFlow error) fails the load; records TF Serving would run but this server cannot
 * (classify, regress, multi-inference logs; predict requests to a classify or regress
 * signature; inputs of a type other than DT_FLOAT that match their signature) are skipped and
 * counted. Every tensor is checked against its signature
 * ({@link InputContract}) before TensorFlow sees it.
 */
final class Warmup {
    /** Most values of one warm-up input (bounds what a tiny record with a broadcast value could make us allocate). */
    static final long MAX_ELEMENTS = WarmupRequests.MAX_RECORD_BYTES / 4;

    private Warmup() {
    }

    /**
     * What a warm-up did.
     *
     * @param source   "file" (the SavedModel's warm-up requests), "zeros" (a batch of zeros), or
     *                 "none" (no serving_default signature with float inputs of known rank)
     * @param requests TensorFlow calls made
     * @param skipped  records of the file that were not run (see the class comment)
     * @param seconds  wall time of the warm-up, reading the file included
     */
    record Outcome(String source, int requests, int skipped, double seconds) {
    }

    /** Thrown when the warm-up fails; the version must not be served. */
    static final class WarmupFailedException extends RuntimeException {
        WarmupFailedException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    static Outcome run(LoadedVersion version, Path dir, Runnable afterEachRequest) {
        long t0 = System.nanoTime();
        Path file = dir.resolve(WarmupRequests.FILE);
        if (Files.exists(file)) {
            int[] counts = new int[2];
            try {
                WarmupRequests.read(file, (n, e) -> {
                    String where = file + ": record " + n;
                    switch (e.kind()) {
                        case EMPTY -> {
                        }
                        case UNSUPPORTED -> throw fail(where, "unsupported log type for warm-up (PredictionLog field "
                                + e.logType() + "); TF Serving refuses it too");
                        case OTHER -> counts[1]++;
                        case PREDICT -> {
                            Map<String, float[]> values = new LinkedHashMap<>();
                            Map<String, long[]> shapes = new LinkedHashMap<>();
                            String sig = checkRequest(version, e, where, values, shapes);
                            if (sig == null) {
                                counts[1]++;
                            } else {
                                call(version, sig, values, shapes, where);
                                counts[0]++;
                                afterEachRequest.run();
                            }
                        }
                    }
                });
            } catch (IOException e) {
                throw new WarmupFailedException("warm-up failed: " + e.getMessage(), e);
            }
            int run = counts[0];
            int skipped = counts[1];
            return new Outcome("file", run, skipped, seconds(t0));
        }
        Signature sig = version.signatures().get(Predictor.DEFAULT_SIGNATURE);
        if (sig == null || !zerosPossible(sig)) {
            return new Outcome("none", 0, 0, seconds(t0));
        }
        Map<String, float[]> values = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        for (Map.Entry<String, Signature.TensorDescription> in : sig.getInputs().entrySet()) {
            long[] shape = in.getValue().shape.asArray();
            long n = 1;
            for (int d = 0; d < shape.length; d++) {
                shape[d] = shape[d] < 0 ? 1 : shape[d];
                n = Math.min(MAX_ELEMENTS + 1, n * Math.max(shape[d], 1));
            }
            if (n > MAX_ELEMENTS) {
                return new Outcome("none", 0, 0, seconds(t0));
            }
            shapes.put(in.getKey(), shape);
            values.put(in.getKey(), new float[(int) n]);
        }
        call(version, Predictor.DEFAULT_SIGNATURE, values, shapes, "a batch of zeros");
        afterEachRequest.run();
        return new Outcome("zeros", 1, 0, seconds(t0));
    }

    private static boolean zerosPossible(Signature sig) {
        if (!Predictor.PREDICT_METHOD.equals(sig.methodName()) || sig.getInputs().isEmpty()) {
            return false;
        }
        for (Signature.TensorDescription d : sig.getInputs().values()) {
            if (d.dataType != DataType.DT_FLOAT || d.shape == null || d.shape.isUnknown()) {
                return false;
            }
            for (long s : d.shape.asArray()) {
                if (s == 0) {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * Checks a predict record against the version's signatures and decodes its inputs into
     * {@code values} and {@code shapes} (the shapes as fed); returns the signature to call, or null
     * to skip the record (inputs of a type this server's warm-up does not feed).
     */
    private static String checkRequest(LoadedVersion version, WarmupRequests.Entry e, String where,
            Map<String, float[]> values, Map<String, long[]> shapes) {
        String sigName = e.signatureName().isEmpty() ? Predictor.DEFAULT_SIGNATURE : e.signatureName();
        Signature sig = version.signatures().get(sigName);
        if (sig == null) {
            throw fail(where, "serving signature \"" + sigName + "\" not found; the version has "
                    + version.signatures().keySet());
        }
        if (!new TreeSet<>(e.inputs().keySet()).equals(new TreeSet<>(sig.getInputs().keySet()))) {
            throw fail(where, "inputs " + new TreeSet<>(e.inputs().keySet()) + " do not match signature \"" + sigName
                    + "\"'s inputs " + new TreeSet<>(sig.getInputs().keySet()));
        }
        boolean allFloat = true;
        Map<String, InputContract.Feed> feeds = new LinkedHashMap<>();
        for (Map.Entry<String, TensorProto> in : e.inputs().entrySet()) {
            Signature.TensorDescription d = sig.getInputs().get(in.getKey());
            TensorProto t = in.getValue();
            if (t.getDtype() != d.dataType) {
                throw fail(where, "input '" + in.getKey() + "' is " + t.getDtype() + ", signature \"" + sigName
                        + "\" expects " + d.dataType);
            }
            allFloat &= d.dataType == DataType.DT_FLOAT;
            long[] shape = shapeOf(t.getTensorShape(), in.getKey(), where);
            try {
                feeds.put(in.getKey(), InputContract.check(in.getKey(), d, shape));
            } catch (RestException bad) {
                throw fail(where, bad.getMessage());
            }
        }
        try {
            InputContract.checkBatch(sig, feeds);
        } catch (RestException bad) {
            throw fail(where, bad.getMessage());
        }
        if (!allFloat || !Predictor.PREDICT_METHOD.equals(sig.methodName())) {
            return null;
        }
        for (Map.Entry<String, TensorProto> in : e.inputs().entrySet()) {
            long[] fed = feeds.get(in.getKey()).shape();
            values.put(in.getKey(), floats(in.getValue(), fed, in.getKey(), where));
            shapes.put(in.getKey(), fed);
        }
        return sigName;
    }

    private static long[] shapeOf(TensorShapeProto s, String input, String where) {
        if (s.getUnknownRank()) {
            throw fail(where, "input '" + input + "' has an unknown rank");
        }
        if (s.getDimCount() > InputContract.MAX_RANK) {
            throw fail(where, "input '" + input + "' has " + s.getDimCount() + " dimensions");
        }
        long[] shape = new long[s.getDimCount()];
        long n = 1;
        for (int i = 0; i < shape.length; i++) {
            shape[i] = s.getDim(i).getSize();
            if (shape[i] <= 0) {
                throw fail(where, "input '" + input + "' has dimension " + i + " of size " + shape[i]);
            }
            n = Math.min(MAX_ELEMENTS + 1, n * Math.min(shape[i], MAX_ELEMENTS + 1));
        }
        if (n > MAX_ELEMENTS) {
            throw fail(where, "input '" + input + "' has more than " + MAX_ELEMENTS + " values");
        }
        return shape;
    }

    /**
     * The values of a DT_FLOAT TensorProto, as TensorFlow's Tensor::FromProto reads them:
     * tensor_content must hold exactly every value; else float_val, where no value means zeros and
     * fewer values than the shape needs are completed with the last one.
     */
    private static float[] floats(TensorProto t, long[] shape, String input, String where) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        float[] v = new float[(int) n];
        if (!t.getTensorContent().isEmpty()) {
            if (t.getTensorContent().size() != n * 4) {
                throw fail(where, "input '" + input + "' has " + t.getTensorContent().size()
                        + " bytes of tensor_content; its shape needs " + n * 4);
            }
            ByteBuffer.wrap(t.getTensorContent().toByteArray()).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
            return v;
        }
        int given = t.getFloatValCount();
        for (int i = 0; i < n && given > 0; i++) {
            v[i] = t.getFloatVal(Math.min(i, given - 1));
        }
        return v;
    }

    private static void call(LoadedVersion version, String sigName, Map<String, float[]> values,
            Map<String, long[]> shapes, String where) {
        Map<String, Tensor> feeds = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, float[]> e : values.entrySet()) {
                feeds.put(e.getKey(), TFloat32.tensorOf(Shape.of(shapes.get(e.getKey())), DataBuffers.of(e.getValue(),
                        true, false)));
            }
            try (Result result = version.function(sigName).call(feeds)) {
                // the answer is not needed: the call is what warms the version
            }
        } catch (RuntimeException e) {
            throw fail(where, "TensorFlow refused the request: " + firstLine(e.getMessage()));
        } finally {
            for (Tensor t : feeds.values()) {
                t.close();
            }
        }
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "(no message)";
        }
        int nl = s.indexOf('\n');
        return nl > 0 ? s.substring(0, nl).trim() : s.trim();
    }

    private static WarmupFailedException fail(String where, String defect) {
        return new WarmupFailedException("warm-up failed: " + where + ": " + defect, null);
    }

    private static double seconds(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }
}
