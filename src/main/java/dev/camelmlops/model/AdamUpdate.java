package dev.camelmlops.model;

import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Gradients;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;

/**
 * One Adam training step as graph ops, ordered so that every step computes the same thing:
 * <ol>
 *   <li>all gradients are computed (the forward and backward pass read the weights);</li>
 *   <li>then every weight is updated ({@code ApplyAdam} with the current β₁ᵗ, β₂ᵗ);</li>
 *   <li>then β₁ᵗ and β₂ᵗ advance.</li>
 * </ol>
 * The variables are reference variables updated in place, so without these barriers an update
 * may land while another op still reads the weight (a layer's input gradient needs its weights),
 * and tensorflow-framework 1.1.0's own Adam advances β₁ᵗ/β₂ᵗ concurrently with the updates that
 * read them. Either race makes reruns with the same seed differ. The learning rate is a
 * {@code learning_rate} placeholder with the configured default, so a run can feed another.
 */
final class AdamUpdate {
    static final String LEARNING_RATE = "learning_rate";
    private static final float BETA1 = 0.9f;
    private static final float BETA2 = 0.999f;
    private static final float EPSILON = 1e-7f;

    private AdamUpdate() {
    }

    static Op minimize(Ops tf, Operand<TFloat32> loss, List<Variable<TFloat32>> variables, float learningRate,
                       String name) {
        Ops init = tf.withInitScope();
        Operand<TFloat32> lr = tf.withName(LEARNING_RATE).placeholderWithDefault(tf.constant(learningRate),
                Shape.scalar());
        Operand<TFloat32> beta1 = tf.constant(BETA1);
        Operand<TFloat32> beta2 = tf.constant(BETA2);
        Operand<TFloat32> epsilon = tf.constant(EPSILON);
        Variable<TFloat32> beta1Power = tf.withName("adam_beta1_power").variable(init.constant(BETA1));
        Variable<TFloat32> beta2Power = tf.withName("adam_beta2_power").variable(init.constant(BETA2));

        Gradients grads = tf.gradients(loss, variables);
        List<Op> computed = new ArrayList<>();
        for (int i = 0; i < variables.size(); i++) {
            computed.add(tf.identity(grads.<TFloat32>dy(i)));
        }
        Ops afterGradients = tf.withControlDependencies(computed);
        List<Op> updates = new ArrayList<>();
        for (int i = 0; i < variables.size(); i++) {
            Variable<TFloat32> v = variables.get(i);
            String slot = v.op().name();
            Operand<org.tensorflow.types.TInt64> dims = init.constant(v.shape().asArray());
            Variable<TFloat32> m = tf.withName(slot + "_adam_m").variable(init.zeros(dims, TFloat32.class));
            Variable<TFloat32> s = tf.withName(slot + "_adam_v").variable(init.zeros(dims, TFloat32.class));
            updates.add(afterGradients.train.applyAdam(v, m, s, beta1Power, beta2Power, lr, beta1, beta2, epsilon,
                    grads.<TFloat32>dy(i)));
        }
        Ops afterUpdates = tf.withControlDependencies(updates);
        Op b1 = afterUpdates.assign(beta1Power, afterUpdates.math.mul(beta1Power, beta1));
        Op b2 = afterUpdates.assign(beta2Power, afterUpdates.math.mul(beta2Power, beta2));
        return tf.withControlDependencies(List.of(b1, b2)).withName(name).noOp();
    }
}
