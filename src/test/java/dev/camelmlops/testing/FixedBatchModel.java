package dev.camelmlops.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.proto.TensorInfo;
import org.tensorflow.proto.TensorShapeProto;

/**
 * The classic export mistake of a Keras model built with {@code Input(batch_size=32)}: turns a
 * SavedModel in place into one whose {@code serving_default} inputs have a fixed batch dimension.
 * Same graph, same weights: a request of exactly that many rows is answered as before, any other
 * batch size is refused by the server's shape check (ours and TF Serving's) before TensorFlow runs.
 * The SavedModel's warm-up file goes too: its 1-image request would fail the load itself.
 */
public final class FixedBatchModel {
    private FixedBatchModel() {
    }

    /** Fixes dimension 0 of every serving_default input (signature and Placeholder) at {@code batch}. */
    public static void fixBatch(Path savedModel, int batch) {
        Path pb = savedModel.resolve("saved_model.pb");
        try {
            SavedModel model = SavedModel.parseFrom(Files.readAllBytes(pb));
            SavedModel.Builder out = model.toBuilder();
            int changed = 0;
            for (int m = 0; m < model.getMetaGraphsCount(); m++) {
                MetaGraphDef meta = model.getMetaGraphs(m);
                SignatureDef sig = meta.getSignatureDefMap().get("serving_default");
                if (sig == null) {
                    continue;
                }
                MetaGraphDef.Builder mb = meta.toBuilder();
                SignatureDef.Builder sb = sig.toBuilder();
                for (Map.Entry<String, TensorInfo> in : sig.getInputsMap().entrySet()) {
                    TensorInfo info = in.getValue();
                    sb.putInputs(in.getKey(), info.toBuilder().setTensorShape(fixed(info.getTensorShape(), batch))
                            .build());
                    String node = info.getName().replaceFirst(":[0-9]+$", "");
                    for (int n = 0; n < mb.getGraphDef().getNodeCount(); n++) {
                        NodeDef def = mb.getGraphDef().getNode(n);
                        if (def.getName().equals(node)) {
                            if (!def.getOp().equals("Placeholder") || !def.containsAttr("shape")) {
                                throw new IllegalStateException("input " + info.getName() + " of " + pb
                                        + " is a " + def.getOp() + " node, not a Placeholder with a shape");
                            }
                            AttrValue shape = def.getAttrOrThrow("shape");
                            mb.getGraphDefBuilder().setNode(n, def.toBuilder().putAttr("shape",
                                    shape.toBuilder().setShape(fixed(shape.getShape(), batch)).build()));
                            changed++;
                        }
                    }
                }
                mb.putSignatureDef("serving_default", sb.build());
                out.setMetaGraphs(m, mb);
            }
            if (changed == 0) {
                throw new IllegalStateException(pb + " has no serving_default input fed by a Placeholder");
            }
            Files.write(pb, out.build().toByteArray());
            Files.deleteIfExists(savedModel.resolve("assets.extra/tf_serving_warmup_requests"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static TensorShapeProto fixed(TensorShapeProto shape, int batch) {
        if (shape.getUnknownRank() || shape.getDimCount() == 0 || shape.getDim(0).getSize() != -1) {
            throw new IllegalStateException("not a shape with an unknown batch dimension: " + shape);
        }
        return shape.toBuilder().setDim(0, shape.getDim(0).toBuilder().setSize(batch)).build();
    }

    /** The shape of the serving_default input {@code input} as the SavedModel's signature states it. */
    public static long[] signatureShape(Path savedModel, String input) {
        try {
            SavedModel model = SavedModel.parseFrom(Files.readAllBytes(savedModel.resolve("saved_model.pb")));
            TensorShapeProto s = model.getMetaGraphs(0).getSignatureDefMap().get("serving_default")
                    .getInputsMap().get(input).getTensorShape();
            return s.getDimList().stream().mapToLong(TensorShapeProto.Dim::getSize).toArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
