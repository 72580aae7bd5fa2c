package dev.camelmlops.stage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.camelmlops.serving.ModelServer;
import dev.camelmlops.serving.ModelVersionWatcher;
import dev.camelmlops.testing.Cli;
import dev.camelmlops.testing.FixedBatchModel;
import dev.camelmlops.testing.Http;
import dev.camelmlops.testing.OtherWeights;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Deploy and verify on local folders with the embedded server; a broken version is rolled back. */
class VerifyRollbackTest {
    @TempDir
    Path tmp;

    private List<String> prodVersions() throws Exception {
        try (Stream<Path> s = Files.list(tmp.resolve("prod"))) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.matches("[0-9]+")).sorted().toList();
        }
    }

    /** What a failed verify of version 2 prints and leaves: version 2 removed, version 1 serving again. */
    private void assertVersion2RolledBack(Cli cli) throws Exception {
        assertTrue(cli.output().contains("FAILED at stage verify"), cli.output());
        assertTrue(cli.output().contains("version 2 rolled back"), cli.output());
        assertTrue(cli.output().contains("version 1 serves again"), cli.output());
        assertEquals(List.of("1"), prodVersions());
    }

    /** prod/models.config after that: stable stays on version 1 (the failed canary has no label), only it loads. */
    private void assertStableStaysOnVersion1() throws Exception {
        dev.camelmlops.serving.ModelServerConfig.Model config = dev.camelmlops.serving.ModelServerConfig.parse(
                Files.readString(tmp.resolve("prod/models.config")), "models.config").model("my_model").orElseThrow();
        assertEquals(java.util.Map.of("stable", 1L), config.labels(), "stable stays on version 1, no canary label");
        assertEquals(new dev.camelmlops.serving.ModelServerConfig.VersionPolicy.Specific(
                new java.util.TreeSet<>(java.util.Set.of(1L))), config.policy(), "only the stable version loads");
    }

    @Test
    void aVersionWithCorruptVariablesIsRolledBackAndThePreviousKeepsAnswering() throws Exception {
        Cli cli = new Cli(tmp);
        assertEquals(0, cli.run("run"), cli.output());
        assertEquals(List.of("1"), prodVersions());
        JsonNode first = Http.JSON.readTree(cli.work().resolve("verify.json").toFile());
        assertTrue(first.get("passed").asBoolean());
        assertEquals(32, first.get("canaryImages").asInt());
        assertTrue(first.get("maxAbsDiff").asDouble() <= 1e-4);

        assertEquals(0, cli.run("stage", "package"), cli.output());
        Path data;
        try (Stream<Path> s = Files.list(cli.work().resolve("package/2/variables"))) {
            data = s.filter(p -> p.getFileName().toString().startsWith("variables.data")).findFirst().orElseThrow();
        }
        try (RandomAccessFile f = new RandomAccessFile(data.toFile(), "rw")) {
            for (long i = 0; i < f.length(); i += 97) {
                f.seek(i);
                f.write(0x55);
            }
        }
        assertEquals(0, cli.run("stage", "deploy"), "same sizes: the upload itself is complete\n" + cli.output());
        assertEquals(List.of("1", "2"), prodVersions());

        assertEquals(1, cli.run("stage", "verify"));
        assertVersion2RolledBack(cli);
        JsonNode record = Http.JSON.readTree(cli.work().resolve("verify.json").toFile());
        assertEquals(false, record.get("passed").asBoolean());
        assertTrue(record.get("reason").asText().contains("could not load version 2"), record.toString());
        assertStableStaysOnVersion1();

        try (ModelVersionWatcher w = new ModelVersionWatcher("my_model", tmp.resolve("prod"), Duration.ofHours(1));
             ModelServer server = new ModelServer(w, "127.0.0.1", 0, 2, 1 << 24)) {
            w.start();
            server.start();
            Http.Response r = Http.get(server.baseUrl() + "/v1/models/my_model");
            assertEquals("1", r.json().at("/model_version_status/0/version").asText());
        }
    }

    @Test
    void aVersionThatLoadsButAnswersUnlikeThePackagedModelIsRolledBack() throws Exception {
        Cli cli = new Cli(tmp);
        assertEquals(0, cli.run("run"), cli.output());
        // a second model, trained otherwise (another seed and rate): same graph, other weights
        assertEquals(0, cli.run("-Dtrain.seed=7", "-Dtrain.learning-rate=0.01", "stage", "train"), cli.output());
        assertEquals(0, cli.run("stage", "test"), cli.output());
        assertEquals(0, cli.run("stage", "package"), cli.output());
        assertEquals(0, cli.run("stage", "deploy"), cli.output());
        assertEquals(List.of("1", "2"), prodVersions());
        // prod's copy of version 2 now holds version 1's weights: it loads and answers, but not like package/2
        OtherWeights.copyVariables(tmp.resolve("prod/1"), tmp.resolve("prod/2"));

        assertEquals(1, cli.run("stage", "verify"), cli.output());
        assertVersion2RolledBack(cli);
        JsonNode record = Http.JSON.readTree(cli.work().resolve("verify.json").toFile());
        assertEquals(false, record.get("passed").asBoolean(), record.toString());
        assertEquals(2, record.get("version").asInt(), record.toString());
        String reason = record.get("reason").asText();
        assertTrue(reason.matches("image [0-9]+ is classified .* by the served model but .* by the packaged model")
                || reason.startsWith("served probabilities differ from the packaged model's by up to"), reason);
        assertTrue(record.has("secondsUntilAvailable"), "it loaded: the mismatch is in its answers " + record);
        assertStableStaysOnVersion1();
    }

    @Test
    void aVersionWhoseBatchSizeIsFixedAnswersTheCanaryButFailsTheExampleRequestAndIsRolledBack() throws Exception {
        Cli cli = new Cli(tmp);
        assertEquals(0, cli.run("run"), cli.output());
        assertEquals(0, cli.run("stage", "package"), cli.output());
        assertEquals(0, cli.run("stage", "deploy"), cli.output());
        assertEquals(List.of("1", "2"), prodVersions());
        // prod's copy of version 2 as exported with Input(batch_size=32): same weights, batch fixed at the canary's 32
        FixedBatchModel.fixBatch(tmp.resolve("prod/2"), 32);
        assertEquals(List.of(32L, 28L, 28L, 1L), java.util.Arrays.stream(
                FixedBatchModel.signatureShape(tmp.resolve("prod/2"), "images")).boxed().toList());

        assertEquals(1, cli.run("stage", "verify"), cli.output());
        assertVersion2RolledBack(cli);
        JsonNode record = Http.JSON.readTree(cli.work().resolve("verify.json").toFile());
        assertEquals(false, record.get("passed").asBoolean(), record.toString());
        assertEquals(2, record.get("version").asInt(), record.toString());
        assertTrue(record.has("secondsUntilAvailable"), "the batch-32 version loaded " + record);
        assertEquals(32, record.get("canaryImages").asInt(), "the canary batch was compared " + record);
        assertTrue(record.get("maxAbsDiff").asDouble() <= 1e-4, "and answered like the packaged model " + record);
        String reason = record.get("reason").asText();
        assertTrue(reason.startsWith("the example's request to ") && reason.contains("/v1/models/my_model:predict failed")
                && reason.contains("expects shape [32,28,28,1], got [3,28,28,1]"), reason);
        assertStableStaysOnVersion1();

        try (ModelVersionWatcher w = new ModelVersionWatcher("my_model", tmp.resolve("prod"), Duration.ofHours(1));
             ModelServer server = new ModelServer(w, "127.0.0.1", 0, 2, 1 << 24)) {
            w.start();
            server.start();
            assertEquals("1", Http.get(server.baseUrl() + "/v1/models/my_model").json()
                    .at("/model_version_status/0/version").asText());
            // the example's request (1 image, no version), which a batch-32 version would refuse
            Http.Response r = Http.post(server.baseUrl() + "/v1/models/my_model:predict",
                    Files.readString(cli.work().resolve(VerifyStage.EXAMPLE_REQUEST)));
            assertEquals(200, r.status(), r.body());
            assertEquals(10, r.json().at("/predictions/0").size(), r.body());
        }
    }

    @Test
    void verifyFailsWhenTheVersionNeverBecomesAvailable() throws Exception {
        Cli cli = new Cli(tmp);
        try (ModelVersionWatcher w = new ModelVersionWatcher("my_model", tmp.resolve("elsewhere"), Duration.ofHours(1));
             ModelServer server = new ModelServer(w, "127.0.0.1", 0, 2, 1 << 24)) {
            w.start();
            server.start();
            assertEquals(1, cli.run("-Dserving.url=" + server.baseUrl(), "-Dverify.timeout-seconds=2", "run"));
            assertTrue(cli.output().contains("was not AVAILABLE within 2 s"), cli.output());
            assertEquals(List.of(), prodVersions(), "rolled back");
            dev.camelmlops.serving.ModelServerConfig.Model config = dev.camelmlops.serving.ModelServerConfig.parse(
                    Files.readString(tmp.resolve("prod/models.config")), "m").model("my_model").orElseThrow();
            assertEquals(java.util.Map.of(), config.labels(), "a first version that failed: no label at all");
            assertEquals(new dev.camelmlops.serving.ModelServerConfig.VersionPolicy.Latest(1), config.policy(),
                    "nothing stable to pin: TF Serving's default policy, as before any label");
        }
    }
}
