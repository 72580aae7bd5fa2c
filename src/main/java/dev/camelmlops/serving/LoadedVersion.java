package dev.camelmlops.serving;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.SessionFunction;
import org.tensorflow.Signature;

/**
 * One loaded version of a SavedModel. Reference counted: the repository holds one reference while
 * the version is served, each request holds one while it runs; the bundle is closed when the
 * last reference goes, so a version switch never pulls a session from under a running request.
 */
final class LoadedVersion {
    private final long version;
    private final Path dir;
    private final SavedModelBundle bundle;
    private final Map<String, Signature> signatures = new LinkedHashMap<>();
    private final AtomicInteger references = new AtomicInteger(1);
    private final java.util.List<String> classNames;
    private final Map<String, RequestBatcher> batchers = new java.util.concurrent.ConcurrentHashMap<>();

    /** Versions loaded in this process, and those whose bundle (session and graph) was closed since. */
    private static final java.util.concurrent.atomic.AtomicLong LOADED = new java.util.concurrent.atomic.AtomicLong();
    private static final java.util.concurrent.atomic.AtomicLong CLOSED = new java.util.concurrent.atomic.AtomicLong();

    private LoadedVersion(long version, Path dir, SavedModelBundle bundle) {
        this.version = version;
        this.dir = dir;
        this.bundle = bundle;
        for (Signature s : bundle.signatures()) {
            signatures.put(s.key(), s);
        }
        this.classNames = classNames(dir);
        LOADED.incrementAndGet();
    }

    /** Versions of any model loaded in this process whose bundle is not closed yet (tests, bench). */
    static long openInProcess() {
        return LOADED.get() - CLOSED.get();
    }

    /** Versions of any model whose bundle this process has closed (tests, bench). */
    static long closedInProcess() {
        return CLOSED.get();
    }

    /**
     * The class names in label order from the version's MANIFEST.json ({@code dataset.classes}, as
     * the package stage writes it); empty when there is none (a SavedModel from elsewhere).
     */
    static java.util.List<String> classNames(Path dir) {
        Path manifest = dir.resolve("MANIFEST.json");
        if (!java.nio.file.Files.isRegularFile(manifest)) {
            return java.util.List.of();
        }
        try {
            com.fasterxml.jackson.databind.JsonNode classes = new com.fasterxml.jackson.databind.ObjectMapper()
                    .readTree(manifest.toFile()).path("dataset").path("classes");
            java.util.List<String> names = new java.util.ArrayList<>();
            for (com.fasterxml.jackson.databind.JsonNode n : classes) {
                if (!n.isTextual()) {
                    return java.util.List.of();
                }
                names.add(n.asText());
            }
            return java.util.List.copyOf(names);
        } catch (java.io.IOException | RuntimeException e) {
            return java.util.List.of();
        }
    }

    /** Class names in label order (index i names output i), or empty when the version does not say. */
    java.util.List<String> classNames() {
        return classNames;
    }

    /**
     * Loads a version with a session tuned for answering requests: graph nodes run on the
     * calling thread (no hand-off to an inter-op pool) and kernels on TensorFlow's process-wide
     * intra-op pool of {@code intraOpThreads} threads (with concurrent requests, and request
     * batching, parallelism comes from the requests). The process-wide pool, not a per-session
     * one: a per-session pool doubled the cost of a call (tutorial model, 1 image: 81 vs 42 us;
     * 32 images: 326 vs 145 us). TensorFlow sizes that pool from the first session using it;
     * training and evaluation sessions never do (model.TrainedModel), so it is the server's.
     */
    static LoadedVersion load(long version, Path dir, int intraOpThreads) {
        org.tensorflow.proto.ConfigProto config = org.tensorflow.proto.ConfigProto.newBuilder()
                .setInterOpParallelismThreads(-1)
                .setIntraOpParallelismThreads(intraOpThreads)
                .setUsePerSessionThreads(false)
                .build();
        SavedModelBundle bundle = SavedModelBundle.loader(dir.toString()).withTags("serve")
                .withConfigProto(config).load();
        try {
            return new LoadedVersion(version, dir, bundle);
        } catch (RuntimeException | Error e) {
            bundle.close();
            throw e;
        }
    }

    long version() {
        return version;
    }

    private volatile Warmup.Outcome warmup;

    /**
     * Runs the warm-up ({@link Warmup}) and remembers what it did; throws
     * {@link Warmup.WarmupFailedException} when the version must not be served.
     */
    Warmup.Outcome warmUp(Runnable afterEachRequest) {
        warmup = Warmup.run(this, dir, afterEachRequest);
        return warmup;
    }

    /** What the warm-up did, or null before it ran. */
    Warmup.Outcome warmup() {
        return warmup;
    }

    Map<String, Signature> signatures() {
        return signatures;
    }

    /**
     * A signature's input as the SavedModel declares it. TF Java's {@link Signature} reads an input
     * of unknown rank (TF Serving's half_plus_two {@code tf_example}) as a scalar, shape [];
     * this gives it {@link org.tensorflow.ndarray.Shape#unknown()}. Null when there is no such input.
     */
    Signature.TensorDescription input(String signature, String input) {
        Signature s = signatures.get(signature);
        Signature.TensorDescription d = s == null ? null : s.getInputs().get(input);
        if (d == null || d.shape.numDimensions() != 0) {
            return d;
        }
        org.tensorflow.proto.SignatureDef def = bundle.metaGraphDef().getSignatureDefMap().get(signature);
        org.tensorflow.proto.TensorInfo info = def == null ? null : def.getInputsMap().get(input);
        return info != null && info.getTensorShape().getUnknownRank()
                ? new Signature.TensorDescription(d.dataType, org.tensorflow.ndarray.Shape.unknown(), d.name) : d;
    }

    SessionFunction function(String key) {
        return bundle.function(key);
    }

    /** The batcher of signature {@code key}, created on first use. */
    RequestBatcher batcher(String key, java.util.function.Supplier<RequestBatcher> create) {
        return batchers.computeIfAbsent(key, k -> create.get());
    }

    /** Takes a reference; false when the version is already closed (the caller looks again). */
    boolean acquire() {
        while (true) {
            int r = references.get();
            if (r == 0) {
                return false;
            }
            if (references.compareAndSet(r, r + 1)) {
                return true;
            }
        }
    }

    /**
     * Gives a reference back; the last one closes the bundle (its session, then its graph: TF
     * Java's SavedModelBundle.close). Giving back more than was taken is a bug in the caller and
     * throws, without touching the count: a count below zero would let {@link #acquire()} hand
     * out a closed session.
     */
    void release() {
        while (true) {
            int r = references.get();
            if (r <= 0) {
                throw new IllegalStateException("version " + version + " of " + dir + " released more often than"
                        + " acquired");
            }
            if (references.compareAndSet(r, r - 1)) {
                if (r == 1) {
                    close();
                }
                return;
            }
        }
    }

    private void close() {
        batchers.clear();
        // No run can be active here (each holds a reference), so neither close waits; an interrupt
        // pending on this thread therefore cannot make them return early with the handles open.
        bundle.close();
        CLOSED.incrementAndGet();
    }

    /** True once the last reference went and the bundle was closed. */
    boolean closed() {
        return references.get() == 0;
    }
}
