package dev.camelmlops.serving;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.TensorProto;

/** The warm-up file's format: TFRecord framing, CRCs, PredictionLog field numbers, and refusals by name. */
class WarmupFileTest {
    @TempDir
    Path tmp;

    @Test
    void maskedCrcIsTensorFlowsCrc32cMasked() {
        byte[] check = "123456789".getBytes(StandardCharsets.US_ASCII);
        int crc = 0xE3069283; // the CRC-32C check value of "123456789"
        assertEquals(((crc >>> 15) | (crc << 17)) + 0xa282ead8, TfRecords.maskedCrc(check, 0, check.length));
    }

    @Test
    void recordsRoundTripWithTheirFraming() throws IOException {
        List<byte[]> records = List.of(new byte[0], "a".getBytes(StandardCharsets.UTF_8), new byte[70_000]);
        Path f = tmp.resolve("r.tfrecord");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        TfRecords.write(out, records);
        Files.write(f, out.toByteArray());
        assertEquals(3 * 16 + 1 + 70_000, Files.size(f));
        ByteBuffer b = ByteBuffer.wrap(out.toByteArray()).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0L, b.getLong(0));
        assertEquals(1L, b.getLong(16));
        assertEquals('a', b.get(28));
        List<byte[]> back = TfRecords.read(f, 10, 1 << 20);
        assertEquals(3, back.size());
        for (int i = 0; i < 3; i++) {
            assertArrayEquals(records.get(i), back.get(i));
        }
    }

    /** Our PredictionLog, taken apart by protobuf's own generic parser: the field numbers of TF Serving's protos. */
    @Test
    void predictionLogHasTfServingsFieldNumbers() throws IOException {
        TensorProto t = WarmupRequests.floatTensor(new long[] {1, 2}, new float[] {0.5f, 1.5f});
        byte[] log = WarmupRequests.predictionLog("my_model", "serving_default", Map.of("images", t));
        UnknownFieldSet predictionLog = UnknownFieldSet.parseFrom(log);
        assertEquals(List.of(6), List.copyOf(predictionLog.asMap().keySet()), "predict_log = 6");
        UnknownFieldSet predictLog = UnknownFieldSet.parseFrom(predictionLog.getField(6).getLengthDelimitedList().get(0));
        UnknownFieldSet request = UnknownFieldSet.parseFrom(predictLog.getField(1).getLengthDelimitedList().get(0));
        UnknownFieldSet spec = UnknownFieldSet.parseFrom(request.getField(1).getLengthDelimitedList().get(0));
        assertEquals(ByteString.copyFromUtf8("my_model"), spec.getField(1).getLengthDelimitedList().get(0));
        assertEquals(ByteString.copyFromUtf8("serving_default"), spec.getField(3).getLengthDelimitedList().get(0));
        UnknownFieldSet entry = UnknownFieldSet.parseFrom(request.getField(2).getLengthDelimitedList().get(0));
        assertEquals(ByteString.copyFromUtf8("images"), entry.getField(1).getLengthDelimitedList().get(0));
        TensorProto back = TensorProto.parseFrom(entry.getField(2).getLengthDelimitedList().get(0));
        assertEquals(DataType.DT_FLOAT, back.getDtype());
        assertEquals(2, back.getTensorShape().getDim(1).getSize());
        assertEquals(8, back.getTensorContent().size());
    }

    @Test
    void writtenFileReadsBackAsPredictRequests() throws IOException {
        float[] one = {0.25f, 0.5f, 0.75f, 1f};
        WarmupRequests.write(tmp, "m", "serving_default", List.of(
                List.of(new WarmupRequests.FloatInput("x", new long[] {1, 2, 2, 1}, one)),
                List.of(new WarmupRequests.FloatInput("x", new long[] {3, 2, 2, 1}, new float[12]))));
        List<WarmupRequests.Entry> entries = WarmupRequests.read(tmp.resolve(WarmupRequests.FILE));
        assertEquals(2, entries.size());
        WarmupRequests.Entry e = entries.get(0);
        assertEquals(WarmupRequests.Kind.PREDICT, e.kind());
        assertEquals("m", e.modelName());
        assertEquals("serving_default", e.signatureName());
        TensorProto x = e.inputs().get("x");
        assertEquals(List.of(1L, 2L, 2L, 1L), x.getTensorShape().getDimList().stream().map(d -> d.getSize()).toList());
        float[] values = new float[4];
        ByteBuffer.wrap(x.getTensorContent().toByteArray()).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
        assertArrayEquals(one, values);
        assertEquals(3, entries.get(1).inputs().get("x").getTensorShape().getDim(0).getSize());
    }

    @Test
    void otherLogTypesAreRecognised() throws IOException {
        assertEquals(WarmupRequests.Kind.EMPTY, WarmupRequests.decode(new byte[0]).kind());
        assertEquals(WarmupRequests.Kind.OTHER, WarmupRequests.decode(new byte[] {2 << 3 | 2, 0}).kind());
        assertEquals(WarmupRequests.Kind.UNSUPPORTED, WarmupRequests.decode(new byte[] {5 << 3 | 2, 0}).kind());
        assertEquals(WarmupRequests.Kind.UNSUPPORTED, WarmupRequests.decode(new byte[] {7 << 3 | 2, 0}).kind());
        assertEquals(WarmupRequests.Kind.PREDICT, WarmupRequests.decode(new byte[] {2 << 3 | 2, 0, 6 << 3 | 2, 0}).kind(),
                "a oneof: the last log type wins");
    }

    private byte[] validFile() throws IOException {
        WarmupRequests.write(tmp, "m", "serving_default", List.of(
                List.of(new WarmupRequests.FloatInput("x", new long[] {1, 3}, new float[] {1, 2, 3})),
                List.of(new WarmupRequests.FloatInput("x", new long[] {2, 3}, new float[6]))));
        return Files.readAllBytes(tmp.resolve(WarmupRequests.FILE));
    }

    private String refusal(byte[] file) throws IOException {
        Path f = tmp.resolve("bad");
        Files.write(f, file);
        IOException e = assertThrows(IOException.class, () -> WarmupRequests.read(f));
        assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
        return e.getMessage();
    }

    @Test
    void corruptTruncatedAndOversizedFilesAreRefusedByName() throws IOException {
        byte[] good = validFile();
        byte[] data = good.clone();
        data[14] ^= 1;
        assertTrue(refusal(data).contains("record 1: corrupted data"), refusal(data));
        byte[] length = good.clone();
        length[0] ^= 1;
        assertTrue(refusal(length).contains("record 1: corrupted length"), refusal(length));
        byte[] truncated = java.util.Arrays.copyOf(good, good.length - 3);
        assertTrue(refusal(truncated).contains("record 2: truncated"), refusal(truncated));
        byte[] half = java.util.Arrays.copyOf(good, good.length / 2 + 5);
        assertTrue(refusal(half).contains("truncated"), refusal(half));

        byte[] huge = good.clone();
        ByteBuffer h = ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN);
        h.putLong(0, 1L << 40);
        h.putInt(8, TfRecords.maskedCrc(huge, 0, 8));
        assertTrue(refusal(huge).contains("record 1: length 1099511627776 is above the limit"), refusal(huge));
        h.putLong(0, -1L);
        h.putInt(8, TfRecords.maskedCrc(huge, 0, 8));
        assertTrue(refusal(huge).contains("length 18446744073709551615 is above the limit"), refusal(huge));
        h.putLong(0, 1000);
        h.putInt(8, TfRecords.maskedCrc(huge, 0, 8));
        assertTrue(refusal(huge).contains("record 1: truncated: its length says 1000 bytes"), refusal(huge));

        ByteArrayOutputStream notProto = new ByteArrayOutputStream();
        TfRecords.write(notProto, List.of(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff}));
        assertTrue(refusal(notProto.toByteArray()).contains("record 1 is not a PredictionLog"),
                refusal(notProto.toByteArray()));

        ByteArrayOutputStream many = new ByteArrayOutputStream();
        List<byte[]> empty = new ArrayList<>();
        for (int i = 0; i <= WarmupRequests.MAX_RECORDS; i++) {
            empty.add(new byte[0]);
        }
        TfRecords.write(many, empty);
        assertTrue(refusal(many.toByteArray()).contains("record 1001: more than 1000 records"),
                refusal(many.toByteArray()));
    }

    /** Random mutations of a valid file: every outcome is a parsed file or an IOException, nothing else. */
    @Test
    void fuzzedFilesGiveOnlyCleanErrors() throws IOException {
        byte[] good = validFile();
        Random r = new Random(13);
        Path f = tmp.resolve("fuzz");
        int refused = 0;
        for (int i = 0; i < 3000; i++) {
            byte[] b = mutate(good, r);
            Files.write(f, b);
            try {
                WarmupRequests.read(f);
            } catch (IOException e) {
                assertTrue(e.getMessage() != null && e.getMessage().contains(f.toString()), e.toString());
                refused++;
            }
        }
        assertTrue(refused > 1000, "most mutations break a CRC: " + refused);
    }

    /**
     * Mutations that keep the CRCs right half of the time (recomputed), so the PredictionLog parser
     * sees damaged messages, not only the framing.
     */
    static byte[] mutate(byte[] good, Random r) {
        byte[] b = good.clone();
        int kind = r.nextInt(4);
        if (kind == 0) {
            b = java.util.Arrays.copyOf(b, r.nextInt(b.length + 1));
        } else {
            int flips = 1 + r.nextInt(4);
            for (int k = 0; k < flips; k++) {
                b[r.nextInt(b.length)] = (byte) (kind == 1 ? r.nextInt(256) : b[r.nextInt(b.length)] ^ (1 << r.nextInt(8)));
            }
        }
        if (r.nextBoolean()) {
            fixCrcs(b);
        }
        return b;
    }

    /** Recomputes the CRCs of each record whose framing is still whole. */
    static void fixCrcs(byte[] b) {
        ByteBuffer h = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        int at = 0;
        while (at + 12 <= b.length) {
            long len = h.getLong(at);
            if (len < 0 || at + 16 + len > b.length) {
                return;
            }
            h.putInt(at + 8, TfRecords.maskedCrc(b, at, 8));
            h.putInt(at + 12 + (int) len, TfRecords.maskedCrc(b, at + 12, (int) len));
            at += 16 + (int) len;
        }
    }
}
