package dev.camelmlops.model;

/**
 * Stable names of the operations a trainable model graph has. They survive a SavedModel export
 * and reload, so a loaded model can be trained further (warm start) and evaluated by name.
 */
public final class GraphNames {
    /** float32 [-1,28,28,1], pixels scaled to [0,1]; the serving input. */
    public static final String IMAGES = "images";
    /** int32 [-1], class ids 0-9. */
    public static final String LABELS = "labels";
    public static final String LOGITS = "logits";
    /** float32 [-1,10]; the serving output. */
    public static final String PROBABILITIES = "probabilities";
    /** Mean softmax cross-entropy of the batch. */
    public static final String LOSS = "loss";
    /** Fraction of the batch classified correctly. */
    public static final String ACCURACY = "accuracy";
    /** [loss, accuracy] in one tensor: one fetch per training step instead of two. */
    public static final String METRICS = "metrics";
    /** One optimizer step. */
    public static final String TRAIN = "train";

    /** SavedModel signature contract (DESIGN.md, "TensorFlow Serving contract"). */
    public static final String SERVE_TAG = "serve";
    public static final String SIGNATURE_KEY = "serving_default";
    public static final String PREDICT_METHOD = "tensorflow/serving/predict";
    public static final String SIGNATURE_INPUT = "images";
    public static final String SIGNATURE_OUTPUT = "probabilities";

    private GraphNames() {
    }
}
