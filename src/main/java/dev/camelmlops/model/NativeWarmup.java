package dev.camelmlops.model;

import org.tensorflow.Graph;
import org.tensorflow.TensorFlow;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * Loads TensorFlow's native library (about 0.6 s on 2 cores) and the Java classes a model graph
 * needs on a background thread, so that it overlaps Camel's start and the build stage instead of
 * delaying the train stage. It creates no session: TensorFlow sizes its process-wide thread pools
 * from the first session, and that must stay the training session's choice.
 */
public final class NativeWarmup {
    private static volatile Thread thread;

    private NativeWarmup() {
    }

    /** Starts the warm-up once per process; later calls do nothing. */
    public static synchronized void startInBackground() {
        if (thread != null) {
            return;
        }
        thread = new Thread(NativeWarmup::warmUp, "tensorflow-warmup");
        thread.setDaemon(true);
        thread.setPriority(Thread.MIN_PRIORITY);
        thread.start();
    }

    private static void warmUp() {
        try {
            TensorFlow.version();
            try (Graph g = new Graph()) {
                Ops tf = Ops.create(g);
                tf.math.add(tf.placeholder(TFloat32.class), tf.constant(1f));
            }
        } catch (Throwable t) {
            // Only a head start: whoever needs TensorFlow next loads it and reports any failure.
        }
    }
}
