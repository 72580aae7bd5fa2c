package dev.camelmlops.model;

import dev.camelmlops.data.Dataset;
import dev.camelmlops.data.DatasetSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import org.tensorflow.Graph;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.SessionFunction;
import org.tensorflow.Signature;
import org.tensorflow.proto.ConfigProto;

/**
 * A model graph with its session: freshly built, or loaded from a SavedModel (which keeps the
 * training op and optimizer state, so it can be trained further).
 */
public final class TrainedModel implements AutoCloseable {
    private final Graph graph;
    private final Session session;
    private final SavedModelBundle bundle;

    private TrainedModel(Graph graph, Session session, SavedModelBundle bundle) {
        this.graph = graph;
        this.session = session;
        this.bundle = bundle;
    }

    /** A new model with initial weights fixed by {@code seed}, using all cores. */
    public static TrainedModel create(ModelArchitecture architecture, long seed, float learningRate) {
        return create(architecture, seed, learningRate, 0);
    }

    /**
     * A new model with initial weights fixed by {@code seed}; {@code threads} caps TensorFlow's
     * thread pools (0 = TensorFlow's default, all cores; 1 = bit-identical reruns).
     */
    public static TrainedModel create(ModelArchitecture architecture, long seed, float learningRate, int threads) {
        return create(architecture, DatasetSpec.FASHION_MNIST, seed, learningRate, threads);
    }

    /** A new model for images and classes of {@code spec}, as {@link #create(ModelArchitecture, long, float, int)}. */
    public static TrainedModel create(ModelArchitecture architecture, DatasetSpec spec, long seed, float learningRate,
                                      int threads) {
        Graph g = new Graph();
        try {
            ModelGraphBuilder.build(g, architecture, spec, seed, learningRate);
            Session s = new Session(g, sessionConfig(threads));
            s.initialize();
            return new TrainedModel(g, s, null);
        } catch (RuntimeException e) {
            g.close();
            throw e;
        }
    }

    /** Loads a SavedModel folder (tag {@code serve}). */
    public static TrainedModel load(Path dir) {
        return load(dir, 0);
    }

    /** Loads a SavedModel folder (tag {@code serve}) with thread pools capped as in {@link #create}. */
    public static TrainedModel load(Path dir, int threads) {
        SavedModelBundle b = SavedModelBundle.loader(dir.toString()).withTags(GraphNames.SERVE_TAG)
                .withConfigProto(sessionConfig(threads)).load();
        return new TrainedModel(b.graph(), b.session(), b);
    }

    static ConfigProto sessionConfig(int threads) {
        if (threads < 0) {
            throw new IllegalArgumentException("threads must be 0 (all cores) or more, got " + threads);
        }
        // TensorFlow sizes its process-wide thread pools from the first session that uses them.
        // Training and evaluation sessions always bring their own pools (0: as many threads as
        // cores), so `threads` holds whatever ran before, and the process-wide pools are left to
        // the serving sessions (see serving.LoadedVersion), sized by serving.tf-threads.
        return ConfigProto.newBuilder()
                .setIntraOpParallelismThreads(threads)
                .setInterOpParallelismThreads(threads)
                .setUsePerSessionThreads(true)
                .build();
    }

    public Session session() {
        return session;
    }

    public Graph graph() {
        return graph;
    }

    /** The input image shape {@code [H, W, C]} of the graph's images placeholder. */
    public long[] imageShape() {
        long[] s = graph.outputOrThrow(GraphNames.IMAGES).shape().asArray();
        return s == null || s.length != 4 ? new long[0] : java.util.Arrays.copyOfRange(s, 1, 4);
    }

    /** "28x28x1": the image shape as {@link DatasetSpec#shapeText()} writes one. */
    public String imageShapeText() {
        long[] s = imageShape();
        return s.length == 3 ? s[0] + "x" + s[1] + "x" + s[2] : "an unknown shape";
    }

    /** The number of classes: the last dimension of the probabilities output (-1 when unknown). */
    public int classCount() {
        long[] s = graph.outputOrThrow(GraphNames.PROBABILITIES).shape().asArray();
        return s == null || s.length != 2 ? -1 : (int) s[1];
    }

    /** Problems that keep this model from training or scoring images of {@code spec}; empty when it fits. */
    public java.util.List<String> mismatches(DatasetSpec spec) {
        java.util.List<String> problems = new java.util.ArrayList<>();
        if (!imageShapeText().equals(spec.shapeText())) {
            problems.add("the model takes images of " + imageShapeText() + ", the dataset has " + spec.shapeText());
        }
        if (classCount() != spec.classCount()) {
            problems.add("the model has " + classCount() + " classes, the dataset " + spec.classCount());
        }
        return problems;
    }

    /**
     * Throws when {@code data}'s images do not have the model's input shape: TensorFlow aborts the
     * process on a feed of the wrong shape, so this is checked before every run over a dataset.
     */
    public void requireFits(Dataset data) {
        if (!imageShapeText().equals(data.shapeText())) {
            throw new IllegalArgumentException("the model takes images of " + imageShapeText() + ", these are "
                    + data.shapeText());
        }
    }

    /** True when the graph has the training op, i.e. it can be trained (not only served). */
    public boolean trainable() {
        return graph.operation(GraphNames.TRAIN) != null && graph.operation(GraphNames.LABELS) != null;
    }

    /** The serving signature of DESIGN.md's TF Serving contract. */
    public Signature servingSignature() {
        return Signature.builder(GraphNames.SIGNATURE_KEY)
                .input(GraphNames.SIGNATURE_INPUT, graph.outputOrThrow(GraphNames.IMAGES))
                .output(GraphNames.SIGNATURE_OUTPUT, graph.outputOrThrow(GraphNames.PROBABILITIES))
                .methodName(GraphNames.PREDICT_METHOD)
                .build();
    }

    /** Writes a SavedModel (graph with training ops, variables, serving signature) into {@code dir}. */
    public void export(Path dir) {
        try {
            SavedModelBundle.exporter(dir.toString())
                    .withTags(GraphNames.SERVE_TAG)
                    .withFunction(SessionFunction.create(servingSignature(), session))
                    .export();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot export SavedModel to " + dir, e);
        }
    }

    @Override
    public void close() {
        if (bundle != null) {
            bundle.close();
        } else {
            session.close();
            graph.close();
        }
    }
}
