package dev.camelmlops.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;

class AdamUpdateTest {
    /**
     * With a constant gradient, bias-corrected Adam moves every weight by the learning rate per
     * step (m-hat / sqrt(v-hat) = sign(g)). Using a beta power from the wrong step would not.
     */
    @Test
    void eachStepMovesByTheLearningRateWithAConstantGradient() {
        try (Graph g = new Graph()) {
            Ops tf = Ops.create(g);
            Variable<TFloat32> w = tf.withName("w").variable(tf.withInitScope().constant(new float[]{1f, -2f, 0.5f}));
            Operand<TFloat32> loss = tf.math.mul(tf.sum(tf.math.mul(w, tf.constant(new float[]{3f, -0.5f, 0.01f})),
                    tf.constant(0)), tf.constant(1f));
            AdamUpdate.minimize(tf, loss, List.of(w), 0.01f, "train");
            try (Session s = new Session(g)) {
                s.initialize();
                for (int step = 0; step < 5; step++) {
                    s.runner().addTarget("train").run();
                }
                try (Result r = s.runner().fetch("w").run()) {
                    TFloat32 t = (TFloat32) r.get(0);
                    assertEquals(1f - 0.05f, t.getFloat(0), 1e-5);
                    assertEquals(-2f + 0.05f, t.getFloat(1), 1e-5);
                    assertEquals(0.5f - 0.05f, t.getFloat(2), 1e-4);
                }
                try (Result r = s.runner().fetch("adam_beta1_power").run()) {
                    assertEquals(Math.pow(0.9, 6), ((TFloat32) r.get(0)).getFloat(), 1e-6, "advanced once per step");
                }
            }
        }
    }

    @Test
    void theLearningRateCanBeFedPerStep() {
        try (Graph g = new Graph()) {
            Ops tf = Ops.create(g);
            Variable<TFloat32> w = tf.withName("w").variable(tf.withInitScope().constant(0f));
            AdamUpdate.minimize(tf, tf.math.mul(w, tf.constant(2f)), List.of(w), 0.01f, "train");
            try (Session s = new Session(g); TFloat32 lr = TFloat32.scalarOf(0.1f)) {
                s.initialize();
                s.runner().feed(AdamUpdate.LEARNING_RATE, lr).addTarget("train").run();
                try (Result r = s.runner().fetch("w").run()) {
                    assertEquals(-0.1f, ((TFloat32) r.get(0)).getFloat(), 1e-5);
                }
            }
        }
    }
}
