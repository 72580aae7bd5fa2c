package dev.camelmlops.model;

import dev.camelmlops.data.DatasetSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Signature;
import org.tensorflow.proto.DataType;

/**
 * Checks a SavedModel folder against DESIGN.md's TF Serving contract: tag {@code serve};
 * signature {@code serving_default}, method {@code tensorflow/serving/predict}; one input
 * {@code images} float32 [-1,H,W,C]; one output {@code probabilities} float32 [-1,N], with H, W, C and
 * N those of the dataset (Fashion-MNIST: [-1,28,28,1] and [-1,10]).
 */
public final class ServingContract {
    private ServingContract() {
    }

    /** Loads {@code dir} and returns every violation (empty when it complies). */
    public static List<String> violations(Path dir) {
        return violations(dir, DatasetSpec.FASHION_MNIST);
    }

    /** Loads {@code dir} and returns every violation of the contract for {@code spec}'s images and classes. */
    public static List<String> violations(Path dir, DatasetSpec spec) {
        // Its own small thread pool: TensorFlow's process-wide pools are the server's to size.
        try (SavedModelBundle bundle = SavedModelBundle.loader(dir.toString()).withTags(GraphNames.SERVE_TAG)
                .withConfigProto(TrainedModel.sessionConfig(1)).load()) {
            return violations(bundle, spec);
        } catch (RuntimeException e) {
            return List.of("cannot be loaded with tag '" + GraphNames.SERVE_TAG + "': " + e.getMessage());
        }
    }

    static List<String> violations(SavedModelBundle bundle, DatasetSpec spec) {
        List<String> problems = new ArrayList<>();
        Signature sig = bundle.signatures().stream()
                .filter(s -> GraphNames.SIGNATURE_KEY.equals(s.key())).findFirst().orElse(null);
        if (sig == null) {
            problems.add("no '" + GraphNames.SIGNATURE_KEY + "' signature");
            return problems;
        }
        if (!GraphNames.PREDICT_METHOD.equals(sig.methodName())) {
            problems.add("signature method is '" + sig.methodName() + "', expected '" + GraphNames.PREDICT_METHOD + "'");
        }
        check(problems, "input", sig.getInputs(), GraphNames.SIGNATURE_INPUT, spec.inputShape());
        check(problems, "output", sig.getOutputs(), GraphNames.SIGNATURE_OUTPUT, spec.outputShape());
        return problems;
    }

    private static void check(List<String> problems, String what, Map<String, Signature.TensorDescription> tensors,
                              String name, long[] shape) {
        if (tensors.size() != 1 || !tensors.containsKey(name)) {
            problems.add("expected exactly one " + what + " '" + name + "', found " + tensors.keySet());
        }
        Signature.TensorDescription d = tensors.get(name);
        if (d == null) {
            return;
        }
        if (d.dataType != DataType.DT_FLOAT) {
            problems.add(what + " '" + name + "' has dtype " + d.dataType + ", expected DT_FLOAT");
        }
        if (!Arrays.equals(d.shape.asArray(), shape)) {
            problems.add(what + " '" + name + "' has shape " + d.shape + ", expected " + Arrays.toString(shape));
        }
    }
}
