package dev.camelmlops.serving;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.TensorProto;
import org.tensorflow.proto.TensorShapeProto;

/**
 * TF Serving's SavedModel warm-up file, {@code assets.extra/tf_serving_warmup_requests}: a TFRecord
 * file whose records are serialized {@code tensorflow.serving.PredictionLog} messages. Field
 * numbers from TF Serving's apis/prediction_log.proto, predict.proto and model.proto:
 * <pre>
 * PredictionLog  { log_metadata = 1; oneof log_type { classify_log = 2; regress_log = 3;
 *                  multi_inference_log = 4; session_run_log = 5; predict_log = 6; predict_streamed_log = 7 } }
 * PredictLog     { PredictRequest request = 1; PredictResponse response = 2 }
 * PredictRequest { ModelSpec model_spec = 1; map&lt;string, TensorProto&gt; inputs = 2; ... }
 * ModelSpec      { string name = 1; Int64Value version = 2; string signature_name = 3; string version_label = 4 }
 * </pre>
 * The wrapper messages are encoded and decoded here by field number; the tensors are TensorFlow's
 * own {@link TensorProto}. Limits as TF Serving's: at most {@link #MAX_RECORDS} records.
 */
public final class WarmupRequests {
    /** Where the file lives inside a SavedModel folder. */
    public static final String FILE = "assets.extra/tf_serving_warmup_requests";
    /** TF Serving's WarmupConsts::kMaxNumRecords. */
    public static final int MAX_RECORDS = 1000;
    /** Largest record read (a warm-up request is a few representative inputs, not a data set). */
    public static final int MAX_RECORD_BYTES = 64 << 20;

    private static final int PREDICTION_LOG_PREDICT = 6;
    private static final int PREDICTION_LOG_STREAMED = 7;
    private static final int PREDICTION_LOG_SESSION_RUN = 5;

    private WarmupRequests() {
    }

    /** One float input of a request: its name in the signature, its shape and values (row-major). */
    public record FloatInput(String name, long[] shape, float[] values) {
    }

    /** What one record holds. */
    public enum Kind {
        /** a predict_log: run it */
        PREDICT,
        /** classify, regress or multi-inference: TF Serving runs them; this server has only predict */
        OTHER,
        /** predict_streamed or session_run: TF Serving refuses them (Unimplemented) */
        UNSUPPORTED,
        /** no log type set: TF Serving does nothing with it */
        EMPTY
    }

    /** One decoded record; for {@link Kind#PREDICT} the request's signature name and inputs. */
    public record Entry(Kind kind, int logType, String modelName, String signatureName, Map<String, TensorProto> inputs) {
    }

    /** Writes the warm-up file of {@code savedModel}: one predict request per element of {@code requests}. */
    public static Path write(Path savedModel, String modelName, String signatureName,
            List<List<FloatInput>> requests) throws IOException {
        Path file = savedModel.resolve(FILE);
        Files.createDirectories(file.getParent());
        List<byte[]> records = new ArrayList<>();
        for (List<FloatInput> r : requests) {
            Map<String, TensorProto> inputs = new LinkedHashMap<>();
            for (FloatInput in : r) {
                inputs.put(in.name(), floatTensor(in.shape(), in.values()));
            }
            records.add(predictionLog(modelName, signatureName, inputs));
        }
        try (OutputStream out = Files.newOutputStream(file)) {
            TfRecords.write(out, records);
        }
        return file;
    }

    /** A DT_FLOAT TensorProto with its values in tensor_content (little-endian), as tf.make_tensor_proto writes them. */
    static TensorProto floatTensor(long[] shape, float[] values) {
        TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
        for (long d : shape) {
            s.addDim(TensorShapeProto.Dim.newBuilder().setSize(d));
        }
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return TensorProto.newBuilder().setDtype(DataType.DT_FLOAT).setTensorShape(s)
                .setTensorContent(ByteString.copyFrom(b.array())).build();
    }

    /** A serialized PredictionLog holding one predict_log with this request. */
    static byte[] predictionLog(String modelName, String signatureName, Map<String, TensorProto> inputs)
            throws IOException {
        byte[] spec = message(o -> {
            o.writeString(1, modelName);
            o.writeString(3, signatureName);
        });
        byte[] request = message(o -> {
            o.writeByteArray(1, spec);
            for (Map.Entry<String, TensorProto> e : inputs.entrySet()) {
                o.writeByteArray(2, message(m -> {
                    m.writeString(1, e.getKey());
                    m.writeMessage(2, e.getValue());
                }));
            }
        });
        byte[] predictLog = message(o -> o.writeByteArray(1, request));
        return message(o -> o.writeByteArray(PREDICTION_LOG_PREDICT, predictLog));
    }

    private interface Fields {
        void write(CodedOutputStream out) throws IOException;
    }

    private static byte[] message(Fields fields) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        CodedOutputStream out = CodedOutputStream.newInstance(bytes);
        fields.write(out);
        out.flush();
        return bytes.toByteArray();
    }

    /** Reads and decodes every record of {@code file}; a defect is an IOException naming the file and record. */
    public static List<Entry> read(Path file) throws IOException {
        List<Entry> entries = new ArrayList<>();
        read(file, (n, e) -> entries.add(e));
        return entries;
    }

    /** What is done with each decoded record (n counts from 1). */
    public interface EntryHandler {
        void entry(int n, Entry e) throws IOException;
    }

    /** Reads {@code file} record by record, decoding each and handing it on before the next is read. */
    public static void read(Path file, EntryHandler handler) throws IOException {
        TfRecords.read(file, MAX_RECORDS, MAX_RECORD_BYTES, (n, data) -> {
            Entry e;
            try {
                e = decode(data);
            } catch (InvalidProtocolBufferException | IllegalArgumentException bad) {
                throw new TfRecords.BadRecordFile(file + ": record " + n + " is not a PredictionLog: "
                        + bad.getMessage());
            }
            handler.entry(n, e);
        });
    }

    /** Decodes one PredictionLog; unknown fields are skipped, as protobuf does. */
    static Entry decode(byte[] record) throws IOException {
        CodedInputStream in = CodedInputStream.newInstance(record);
        int logType = 0;
        ByteString predictLog = null;
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            int field = tag >>> 3;
            if ((tag & 7) == 2 && field >= 2 && field <= 7) {
                logType = field; // a oneof: the last one read wins
                ByteString value = in.readBytes();
                predictLog = field == PREDICTION_LOG_PREDICT ? value : null;
            } else {
                in.skipField(tag);
            }
        }
        if (logType == 0) {
            return new Entry(Kind.EMPTY, 0, "", "", Map.of());
        }
        if (logType == PREDICTION_LOG_STREAMED || logType == PREDICTION_LOG_SESSION_RUN) {
            return new Entry(Kind.UNSUPPORTED, logType, "", "", Map.of());
        }
        if (logType != PREDICTION_LOG_PREDICT) {
            return new Entry(Kind.OTHER, logType, "", "", Map.of());
        }
        ByteString request = null;
        CodedInputStream log = predictLog.newCodedInput();
        for (int tag = log.readTag(); tag != 0; tag = log.readTag()) {
            if (tag == (1 << 3 | 2)) {
                request = mergeMessage(request, log.readBytes());
            } else {
                log.skipField(tag);
            }
        }
        String name = "";
        String signature = "";
        Map<String, TensorProto> inputs = new LinkedHashMap<>();
        if (request != null) {
            CodedInputStream r = request.newCodedInput();
            ByteString spec = null;
            for (int tag = r.readTag(); tag != 0; tag = r.readTag()) {
                if (tag == (1 << 3 | 2)) {
                    spec = mergeMessage(spec, r.readBytes());
                } else if (tag == (2 << 3 | 2)) {
                    mapEntry(r.readBytes(), inputs);
                } else {
                    r.skipField(tag);
                }
            }
            if (spec != null) {
                CodedInputStream s = spec.newCodedInput();
                for (int tag = s.readTag(); tag != 0; tag = s.readTag()) {
                    if (tag == (1 << 3 | 2)) {
                        name = s.readStringRequireUtf8();
                    } else if (tag == (3 << 3 | 2)) {
                        signature = s.readStringRequireUtf8();
                    } else {
                        s.skipField(tag);
                    }
                }
            }
        }
        return new Entry(Kind.PREDICT, logType, name, signature, inputs);
    }

    /** A sub-message seen twice is merged, as protobuf does: its fields concatenated. */
    private static ByteString mergeMessage(ByteString before, ByteString next) {
        return before == null ? next : before.concat(next);
    }

    private static void mapEntry(ByteString entry, Map<String, TensorProto> inputs) throws IOException {
        CodedInputStream e = entry.newCodedInput();
        String key = "";
        TensorProto value = TensorProto.getDefaultInstance();
        for (int tag = e.readTag(); tag != 0; tag = e.readTag()) {
            if (tag == (1 << 3 | 2)) {
                key = e.readStringRequireUtf8();
            } else if (tag == (2 << 3 | 2)) {
                value = TensorProto.parseFrom(e.readBytes());
            } else {
                e.skipField(tag);
            }
        }
        inputs.put(key, value);
    }
}
