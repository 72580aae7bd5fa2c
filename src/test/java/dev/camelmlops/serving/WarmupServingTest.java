package dev.camelmlops.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.camelmlops.testing.TinyModels;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.TensorProto;
import org.tensorflow.proto.TensorShapeProto;

/** The server warms a version before it serves it, and a bad warm-up file keeps the version out. */
class WarmupServingTest {
    @TempDir
    static Path shared;
    static Path model;

    @BeforeAll
    static void exportOnce() {
        model = shared.resolve("model");
        TinyModels.export(model, 7);
    }

    @TempDir
    Path base;

    private Path version(long v) {
        Path dir = base.resolve(Long.toString(v));
        TinyModels.copyTree(model, dir);
        return dir;
    }

    private static List<WarmupRequests.FloatInput> images(int n) {
        return List.of(new WarmupRequests.FloatInput("images", new long[] {n, 28, 28, 1}, new float[n * 784]));
    }

    private static void writeRecords(Path dir, List<byte[]> records) throws IOException {
        Path f = dir.resolve(WarmupRequests.FILE);
        Files.createDirectories(f.getParent());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        TfRecords.write(out, records);
        Files.write(f, out.toByteArray());
    }

    @Test
    void theWarmupRunsBeforeTheVersionIsServed() throws IOException {
        Path v1 = version(1);
        WarmupRequests.write(v1, "m", "serving_default", List.of(images(1), images(32)));
        try (ModelVersionWatcher w = new ModelVersionWatcher("m", base, Duration.ofHours(1))) {
            List<Long> servedDuringWarmup = new ArrayList<>();
            w.afterWarmupRequest(() -> servedDuringWarmup.add(w.servedVersion()));
            w.poll();
            assertEquals(1, w.servedVersion());
            assertEquals(List.of(-1L, -1L), servedDuringWarmup, "nothing was served while version 1 warmed up");
            Warmup.Outcome o = w.servedWarmup();
            assertEquals("file", o.source());
            assertEquals(2, o.requests());
            assertEquals(0, o.skipped());
            assertTrue(o.seconds() > 0);

            version(2); // no warm-up file: a batch of zeros
            servedDuringWarmup.clear();
            w.poll();
            assertEquals(2, w.servedVersion());
            assertEquals(List.of(1L), servedDuringWarmup, "version 1 kept serving while version 2 warmed up");
            assertEquals("zeros", w.servedWarmup().source());
            assertEquals(1, w.servedWarmup().requests());
        }
    }

    private String loadFailure(Path dir) {
        try (ModelVersionWatcher w = new ModelVersionWatcher("m", base, Duration.ofHours(1))) {
            w.poll();
            long v = Long.parseLong(dir.getFileName().toString());
            assertEquals(v == 1 ? -1 : 1, w.servedVersion(), "the version that failed its warm-up is not served");
            ModelVersionWatcher.Failure f = w.failures().get(v);
            assertNotNull(f, "version " + v + " failed to load");
            return f.message();
        }
    }

    @Test
    void aCorruptFileKeepsTheVersionOutAndThePreviousOneServing() throws IOException {
        version(1);
        Path v2 = version(2);
        WarmupRequests.write(v2, "m", "serving_default", List.of(images(1)));
        Path f = v2.resolve(WarmupRequests.FILE);
        byte[] b = Files.readAllBytes(f);
        b[b.length - 100] ^= 4;
        Files.write(f, b);
        String m = loadFailure(v2);
        assertTrue(m.contains("warm-up failed: " + f + ": not a valid TFRecord file: record 1: corrupted data"), m);
    }

    @Test
    void requestsThatDoNotFitTheSignatureFailTheLoadBeforeTensorFlowSeesThem() throws IOException {
        Path v1 = version(1);
        WarmupRequests.write(v1, "m", "serving_default", List.of(images(1),
                List.of(new WarmupRequests.FloatInput("images", new long[] {1, 27, 28, 1}, new float[27 * 28]))));
        String m = loadFailure(v1);
        assertTrue(m.contains("record 2: input 'images' expects shape [-1,28,28,1], got [1,27,28,1]"), m);

        WarmupRequests.write(v1, "m", "nope", List.of(images(1)));
        assertTrue(loadFailure(v1).contains("record 1: serving signature \"nope\" not found"), loadFailure(v1));

        WarmupRequests.write(v1, "m", "", List.of(List.of(new WarmupRequests.FloatInput("pixels",
                new long[] {1, 28, 28, 1}, new float[784]))));
        assertTrue(loadFailure(v1).contains("inputs [pixels] do not match signature \"serving_default\"'s inputs [images]"),
                loadFailure(v1));

        TensorProto ints = TensorProto.newBuilder().setDtype(DataType.DT_INT32)
                .setTensorShape(TensorShapeProto.newBuilder().addDim(TensorShapeProto.Dim.newBuilder().setSize(1)))
                .addIntVal(3).build();
        writeRecords(v1, List.of(WarmupRequests.predictionLog("m", "", Map.of("images", ints))));
        assertTrue(loadFailure(v1).contains("input 'images' is DT_INT32, signature \"serving_default\" expects DT_FLOAT"),
                loadFailure(v1));

        writeRecords(v1, List.of(new byte[] {5 << 3 | 2, 0}));
        assertTrue(loadFailure(v1).contains("record 1: unsupported log type for warm-up (PredictionLog field 5)"),
                loadFailure(v1));

        TensorProto wrongContent = WarmupRequests.floatTensor(new long[] {2, 28, 28, 1}, new float[784]);
        writeRecords(v1, List.of(WarmupRequests.predictionLog("m", "", Map.of("images", wrongContent))));
        assertTrue(loadFailure(v1).contains("has 3136 bytes of tensor_content; its shape needs 6272"), loadFailure(v1));
    }

    @Test
    void floatValsFollowTensorFlowsRulesAndOtherLogTypesAreSkipped() throws IOException {
        Path v1 = version(1);
        TensorProto broadcast = TensorProto.newBuilder().setDtype(DataType.DT_FLOAT)
                .setTensorShape(WarmupRequests.floatTensor(new long[] {4, 28, 28, 1}, new float[0]).getTensorShape())
                .addFloatVal(0.5f).build();
        writeRecords(v1, List.of(WarmupRequests.predictionLog("m", "", Map.of("images", broadcast)),
                new byte[] {2 << 3 | 2, 0}, new byte[0]));
        try (ModelVersionWatcher w = new ModelVersionWatcher("m", base, Duration.ofHours(1))) {
            w.poll();
            assertEquals(1, w.servedVersion());
            assertEquals(1, w.servedWarmup().requests());
            assertEquals(1, w.servedWarmup().skipped(), "the classify log: TF Serving runs it, this server cannot");
        }
    }

    /** Mutated warm-up files through the whole warm-up, TensorFlow calls included: a load error or a load, never a crash. */
    @Test
    void fuzzedWarmupFilesNeverReachTensorFlowWithABadShape() throws IOException {
        Path v1 = version(1);
        WarmupRequests.write(v1, "m", "serving_default", List.of(images(1), images(3)));
        Path f = v1.resolve(WarmupRequests.FILE);
        byte[] good = Files.readAllBytes(f);
        Random r = new Random(42);
        int loaded = 0;
        int refused = 0;
        LoadedVersion version = LoadedVersion.load(1, v1, 1);
        try {
            for (int i = 0; i < 300; i++) {
                Files.write(f, WarmupFileTest.mutate(good, r));
                try {
                    Warmup.run(version, v1, () -> { });
                    loaded++;
                } catch (Warmup.WarmupFailedException e) {
                    assertTrue(e.getMessage().startsWith("warm-up failed: " + f), e.getMessage());
                    refused++;
                }
            }
        } finally {
            version.release();
        }
        assertEquals(300, loaded + refused);
        assertTrue(refused > 50 && loaded > 0, "refused " + refused + ", loaded " + loaded);
    }
}
