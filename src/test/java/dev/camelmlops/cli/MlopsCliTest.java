package dev.camelmlops.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.camelmlops.data.Sha256;
import dev.camelmlops.serving.WarmupRequests;
import dev.camelmlops.testing.Cli;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The one-shot command line end to end, in process: real Camel context, the project's YAML routes,
 * TensorFlow training on tiny generated data, files on disk. Checks exit codes and what each
 * stage leaves behind.
 */
class MlopsCliTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;
    private Cli cli;
    private Path data;
    private Path work;
    private Path staging;
    private String output;

    @BeforeEach
    void data() {
        cli = new Cli(tmp);
        data = cli.data();
        work = cli.work();
        staging = tmp.resolve("staging");
    }

    private int mlops(String... args) {
        int code = cli.run(args);
        output = cli.output();
        return code;
    }

    @Test
    void helpAndUsageErrors() {
        assertEquals(0, mlops("--help"));
        assertTrue(output.contains("Exit codes"), output);
        assertEquals(0, mlops("stage", "--help"));
        assertTrue(output.contains("package"), output);
        assertEquals(2, mlops("stage", "deploy-everything"));
        assertTrue(output.contains("unknown stage 'deploy-everything'"), output);
        assertEquals(2, mlops("frobnicate"));
        assertEquals(2, mlops("-Dquality.min-accuracy=1.5", "run"));
        assertTrue(output.contains("quality.min-accuracy must be between 0 and 1"), output);
        assertEquals(2, mlops("-Dtrain.batch-size=0", "stage", "train"));
        assertEquals(2, mlops("--progress=loud", "run"));
        assertEquals(2, mlops("-Dtrain.max-seconds=-1", "stage", "train"));
        assertTrue(output.contains("train.max-seconds"), output);
        assertFalse(Files.exists(work), "nothing ran");
    }

    @Test
    void runGoesFromDataToAStagedVersionAndNumbersVersionsUpwards() throws IOException {
        assertEquals(0, mlops("-Dquality.min-accuracy=0.5", "run"), output);
        assertTrue(output.contains("OK: pipeline finished"), output);
        assertTrue(output.contains("Epoch 2/2"), output);

        JsonNode dataManifest = JSON.readTree(work.resolve("data/data-manifest.json").toFile());
        assertEquals(300, dataManifest.at("/train/count").asInt());
        assertEquals(30, dataManifest.at("/train/classHistogram/0").asInt());
        assertEquals(Sha256.of(data.resolve("train-images-idx3-ubyte.gz")), dataManifest.at("/inputs/0/sha256").asText());

        JsonNode history = JSON.readTree(work.resolve("model/history.json").toFile());
        assertEquals(2, history.get("history").size());
        JsonNode evaluation = JSON.readTree(work.resolve("evaluation/evaluation.json").toFile());
        assertTrue(evaluation.get("accuracy").asDouble() >= 0.5);
        assertEquals(10, evaluation.get("confusionMatrix").size());
        assertEquals(10, evaluation.get("perClass").size());
        String junit = Files.readString(work.resolve("test-results/quality-gate/junit.xml"));
        assertTrue(junit.contains("tests=\"1\" failures=\"0\""), junit);

        Path v1 = staging.resolve("1");
        JsonNode manifest = JSON.readTree(v1.resolve("MANIFEST.json").toFile());
        assertEquals(1, manifest.get("version").asInt());
        assertEquals("my_model", manifest.get("modelName").asText());
        assertEquals(Sha256.of(work.resolve("data/data-manifest.json")), manifest.get("dataManifestSha256").asText());
        assertEquals(evaluation.get("accuracy").asDouble(), manifest.at("/metrics/accuracy").asDouble());
        assertTrue(manifest.get("files").size() >= 3);
        for (JsonNode f : manifest.get("files")) {
            Path p = v1.resolve(f.get("path").asText());
            assertEquals(f.get("bytes").asLong(), Files.size(p), p.toString());
            assertEquals(f.get("sha256").asText(), Sha256.of(p), p.toString());
        }
        assertTrue(Files.isRegularFile(v1.resolve("saved_model.pb")));
        // TF Serving's warm-up file: listed in the manifest, a 1-image and a 32-image request (verify.canary-size)
        assertTrue(manifest.get("files").findValuesAsText("path").contains(WarmupRequests.FILE), manifest.toString());
        List<WarmupRequests.Entry> warmup = WarmupRequests.read(v1.resolve(WarmupRequests.FILE));
        assertEquals(List.of(List.of(1L, 28L, 28L, 1L), List.of(32L, 28L, 28L, 1L)), warmup.stream()
                .map(e -> e.inputs().get("images").getTensorShape().getDimList().stream().map(d -> d.getSize()).toList())
                .toList());
        assertEquals("my_model", warmup.get(0).modelName());
        assertEquals("serving_default", warmup.get(1).signatureName());
        assertEquals(32 * 784 * 4, warmup.get(1).inputs().get("images").getTensorContent().size());
        assertTrue(Files.isRegularFile(tmp.resolve("prod/1/MANIFEST.json")), "deployed to prod");
        assertTrue(JSON.readTree(work.resolve("verify.json").toFile()).get("passed").asBoolean(), "verified");
        try (var s = Files.list(staging)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith(".incoming-")), "no upload folder left");
        }

        assertEquals(0, mlops("-Dquality.min-accuracy=0.5", "run"), output);
        assertTrue(Files.isRegularFile(staging.resolve("2/MANIFEST.json")), "a second run is version 2");
        assertTrue(Files.isRegularFile(tmp.resolve("prod/2/MANIFEST.json")));
        assertEquals(Files.readString(v1.resolve("MANIFEST.json")),
                Files.readString(staging.resolve("1/MANIFEST.json")), "version 1 untouched");
    }

    @Test
    void aFailedQualityGateExitsOneAndPackagesNothing() throws IOException {
        assertEquals(1, mlops("-Dquality.min-accuracy=0.999", "-Dtrain.epochs=1", "-Dtrain.learning-rate=0.0001", "run"));
        assertTrue(output.contains("FAILED at stage test"), output);
        assertTrue(output.contains("is below quality.min-accuracy 0.9990"), output);
        String junit = Files.readString(work.resolve("test-results/quality-gate/junit.xml"));
        assertTrue(junit.contains("failures=\"1\""), junit);
        assertTrue(junit.contains("<failure message=\"accuracy "), junit);
        assertFalse(Files.exists(staging.resolve("1")), "nothing staged");
        assertFalse(Files.exists(work.resolve("package")), "nothing packaged");

        assertEquals(1, mlops("stage", "package"), "package refuses a checkpoint that failed its gate");
        assertTrue(output.contains("did not pass the quality gate"), output);
    }

    @Test
    void stagesRunOneByOneReadWhatThePreviousStageWrote() {
        assertEquals(1, mlops("stage", "train"), "train before build has nothing to read");
        assertTrue(output.contains("run the build stage first"), output);
        assertEquals(0, mlops("stage", "build"), output);
        assertEquals(0, mlops("stage", "train"), output);
        assertEquals(0, mlops("-Dquality.min-accuracy=0.3", "stage", "test"), output);
        assertEquals(0, mlops("-Dquality.min-accuracy=0.3", "stage", "package"), output);
        assertTrue(Files.isRegularFile(staging.resolve("1/MANIFEST.json")));
        assertEquals(0, mlops("stage", "deploy"), output);
        assertTrue(output.contains("  version  1 deployed to " + tmp.resolve("prod").toAbsolutePath()
                + "\n  verify   not yet: ./mlops stage verify"), output);
        assertEquals(1, mlops("stage", "deploy"), "the same version is not deployed twice");
        assertTrue(output.contains("already in"), output);
        assertEquals(0, mlops("stage", "verify"), output);
        assertTrue(output.contains("  verified passed, labelled stable\n  serve    ./mlops serve --port 8501\n"
                + "  call     curl -s -d @" + work.toAbsolutePath().resolve("example-request.json")
                + " http://127.0.0.1:8501/v1/models/my_model/versions/1:predict"), output);
        assertTrue(Files.isRegularFile(work.resolve("package/1/MANIFEST.json")));
    }

    @Test
    void corruptDataFailsTheBuildNamingTheFileAndTheDefect() throws IOException {
        Path labels = data.resolve("train-labels-idx1-ubyte.gz");
        byte[] b = Files.readAllBytes(labels);
        Files.write(labels, java.util.Arrays.copyOf(b, b.length - 8));
        assertEquals(1, mlops("run"));
        assertTrue(output.contains("FAILED at stage build"), output);
        assertTrue(output.contains(labels + ": truncated"), output);
        assertFalse(Files.exists(staging));
    }
}
