package dev.camelmlops.stage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.camelmlops.deploy.LocalModelStore;
import dev.camelmlops.deploy.ModelStore;
import dev.camelmlops.registry.FileRunLedger;
import dev.camelmlops.serving.ModelServerConfig;
import dev.camelmlops.settings.PipelineSettings;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The labels in prod/models.config: what each step writes, the golden file, promote's undo, rollback's target. */
class VersionLabelsTest {
    @TempDir
    Path tmp;
    private Path prodDir;
    private FileRunLedger ledger;
    private VersionLabels labels;

    @BeforeEach
    void setUp() throws Exception {
        prodDir = tmp.resolve("prod");
        Files.createDirectories(prodDir);
        ledger = new FileRunLedger(tmp.resolve("runs.jsonl"));
        labels = new VersionLabels(settings("serving.model-base-path", "/models/my_model"), ledger);
    }

    static PipelineSettings settings(String... kv) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return PipelineSettings.from(m::get);
    }

    private void version(int v, double accuracy) throws Exception {
        Path d = Files.createDirectories(prodDir.resolve(Integer.toString(v)));
        Files.writeString(d.resolve("MANIFEST.json"), "{\"version\": " + v + ", \"runId\": \"run-" + v
                + "\", \"created\": \"2026-11-29T04:0" + v + ":00.123Z\", \"metrics\": {\"accuracy\": " + accuracy + "}}");
    }

    private String config() throws Exception {
        return Files.readString(prodDir.resolve(VersionLabels.CONFIG_FILE));
    }

    private static VersionLabels.Mover by(String stage, String run) {
        return new VersionLabels.Mover(stage, run, null);
    }

    /**
     * The file after a first version was verified and a second deployed and labelled canary, byte for
     * byte: TF Serving's text format as protobuf prints it (src/test/resources/golden/models.config).
     * The embedded server parses exactly that file; a hand-written entry of another model is kept.
     */
    @Test
    void theWrittenFileIsTheGoldenOne() throws Exception {
        version(1, 0.81);
        version(2, 0.84);
        Files.writeString(prodDir.resolve(VersionLabels.CONFIG_FILE), """
                # another team's model on the same TF Serving
                model_config_list { config { name: "other" base_path: "/models/other" } }
                """);
        try (ModelStore prod = new LocalModelStore(prodDir)) {
            labels.addCandidate(prod, 1, by("deploy", "r1"));
            labels.label(prod, VersionLabels.CANARY, 1, by("deploy", "r1"));
            labels.promoted(prod, 1, by("verify", "r1"));
            labels.addCandidate(prod, 2, by("deploy", "r2"));
            labels.label(prod, VersionLabels.CANARY, 2, by("deploy", "r2"));
        }
        java.io.InputStream in = getClass().getResourceAsStream("/golden/models.config");
        if (in == null) {
            Files.writeString(Path.of("target/models.config.actual"), config());
            throw new AssertionError("src/test/resources/golden/models.config is missing; the file written now is in"
                    + " target/models.config.actual");
        }
        assertEquals(new String(in.readAllBytes(), StandardCharsets.UTF_8), config(),
                "the written file differs from src/test/resources/golden/models.config");
        ModelServerConfig parsed = ModelServerConfig.parse(config(), "written");
        assertEquals(Map.of(VersionLabels.STABLE, 1L, VersionLabels.CANARY, 2L),
                parsed.model("my_model").orElseThrow().labels());
        assertEquals("/models/other", parsed.model("other").orElseThrow().basePath());
    }

    @Test
    void eachStepLoadsWhatItsLabelsNeed() throws Exception {
        version(1, 0.81);
        version(2, 0.84);
        try (ModelStore prod = new LocalModelStore(prodDir)) {
            VersionLabels.State s = labels.addCandidate(prod, 1, by("deploy", "r1"));
            assertEquals(Set.of(1L), s.policyVersions());
            assertEquals(Map.of(), s.labels(), "a first version has no label until it is AVAILABLE");
            labels.label(prod, VersionLabels.CANARY, 1, by("deploy", "r1"));
            s = labels.promoted(prod, 1, by("verify", "r1"));
            assertEquals(Map.of(VersionLabels.STABLE, 1L), s.labels(), "the trial is over: no canary");
            s = labels.addCandidate(prod, 2, by("deploy", "r2"));
            assertEquals(new TreeSet<>(List.of(1L, 2L)), s.policyVersions(), "stable and the candidate both load");
            assertEquals(Map.of(VersionLabels.STABLE, 1L), s.labels(), "not labelled before it is AVAILABLE");
            labels.label(prod, VersionLabels.CANARY, 2, by("deploy", "r2"));
            s = labels.dropped(prod, 2, by("verify", "r2"));
            assertEquals(Set.of(1L), s.policyVersions(), "a failed candidate is unloaded");
            assertEquals(Map.of(VersionLabels.STABLE, 1L), s.labels());
            assertEquals(s, labels.read(prod), "what is returned is what the file says");
        }
        // what the ledger recorded, per run
        List<Map<String, Object>> events = labels.labelEvents();
        assertEquals(List.of("canary:1:null", "canary:null:1", "stable:1:null", "canary:2:null", "canary:null:2"),
                events.stream().map(e -> e.get("label") + ":" + e.get("version") + ":" + e.get("previous")).toList());
        assertEquals(List.of("deploy", "verify", "verify", "deploy", "verify"),
                events.stream().map(e -> e.get("by")).toList());
    }

    @Test
    void aFailedDropWithoutStableFallsBackToTheNewestVersionPolicy() throws Exception {
        version(1, 0.81);
        try (ModelStore prod = new LocalModelStore(prodDir)) {
            labels.addCandidate(prod, 1, by("deploy", "r1"));
            VersionLabels.State s = labels.dropped(prod, 1, by("verify", "r1"));
            assertEquals(new ModelServerConfig.VersionPolicy.Latest(1), s.model().orElseThrow().policy());
            assertEquals(Map.of(), s.labels());
        }
    }

    @Test
    void promoteWaitsForTheVersionAndPutsTheFileBackWhenItNeverLoads() throws Exception {
        version(1, 0.81);
        version(2, 0.84);
        try (ModelStore prod = new LocalModelStore(prodDir)) {
            labels.addCandidate(prod, 1, by("deploy", "r1"));
            labels.promoted(prod, 1, by("verify", "r1"));
            byte[] before = Files.readAllBytes(prodDir.resolve(VersionLabels.CONFIG_FILE));
            List<String> seenWhileWaiting = new java.util.ArrayList<>();
            StageFailedException e = assertThrows(StageFailedException.class, () -> labels.promote(prod, 2, v -> {
                seenWhileWaiting.add(labels.read(prod).policyVersions() + " " + labels.read(prod).labels());
                throw new StageFailedException("serving could not load version 2: broken");
            }, by("promote", "p1")));
            assertEquals(List.of("[1, 2] {stable=1}"), seenWhileWaiting,
                    "while waiting, the file loads both and the label has not moved");
            assertTrue(e.getMessage().contains("could not load version 2"), e.getMessage());
            assertArrayEquals(before, Files.readAllBytes(prodDir.resolve(VersionLabels.CONFIG_FILE)));

            List<Long> awaited = new java.util.ArrayList<>();
            VersionLabels.State s = labels.promote(prod, 2, awaited::add, by("promote", "p2"));
            assertEquals(List.of(2L), awaited);
            assertEquals(Map.of(VersionLabels.STABLE, 2L), s.labels());
            assertEquals(Set.of(2L), s.policyVersions());

            assertThrows(StageFailedException.class, () -> labels.promote(prod, 9, awaited::add, by("promote", "p3")),
                    "a version that is not in prod");
        }
    }

    /** Rollback goes back through the stable history, skipping versions rolled back from and versions gone. */
    @Test
    void rollbackGoesToThePreviousStableThatIsStillThere() throws Exception {
        for (int v = 1; v <= 4; v++) {
            version(v, 0.8 + v / 100.0);
        }
        try (ModelStore prod = new LocalModelStore(prodDir)) {
            assertThrows(StageFailedException.class, () -> labels.rollbackTarget(prod), "no stable: nothing to roll back");
            labels.promote(prod, 1, null, by("verify", "a"));
            labels.promote(prod, 3, null, by("verify", "b"));
            labels.promote(prod, 4, null, by("verify", "c"));
            assertEquals(3, labels.rollbackTarget(prod));
            labels.promote(prod, 3, null, new VersionLabels.Mover("rollback", "d", "mlops rollback"));
            assertEquals(1, labels.rollbackTarget(prod), "4 was rolled back from, so the one before 3 is 1");
            Files.delete(prodDir.resolve("1/MANIFEST.json"));
            Files.delete(prodDir.resolve("1"));
            assertEquals(2, labels.rollbackTarget(prod), "1 is gone: the highest version below 3");
        }
        // a fresh ledger knows no history: the version below the stable one
        VersionLabels fresh = new VersionLabels(settings("serving.model-base-path", "/models/my_model"),
                new FileRunLedger(tmp.resolve("other.jsonl")));
        try (ModelStore prod = new LocalModelStore(prodDir)) {
            assertEquals(2, fresh.rollbackTarget(prod));
            labels.promote(prod, 2, null, new VersionLabels.Mover("rollback", "e", "mlops rollback"));
            assertThrows(StageFailedException.class, () -> labels.rollbackTarget(prod),
                    "3 and 4 were rolled back from, 1 is gone: a third rollback has nowhere to go");
        }
    }

    @Test
    void versionsShowLabelsLoadingAccuracyAndWhoLabelled() throws Exception {
        version(1, 0.81);
        version(2, 0.84);
        version(3, 0.79);
        try (ModelStore prod = new LocalModelStore(prodDir)) {
            labels.promote(prod, 1, null, by("verify", "a"));
            labels.addCandidate(prod, 2, by("deploy", "b"));
            labels.label(prod, VersionLabels.CANARY, 2, by("deploy", "b"));
            List<VersionLabels.VersionRow> rows = labels.versions(prod);
            assertEquals(List.of(3L, 2L, 1L), rows.stream().map(VersionLabels.VersionRow::version).toList());
            assertEquals(List.of(List.of(), List.of("canary"), List.of("stable")),
                    rows.stream().map(VersionLabels.VersionRow::labels).toList());
            assertEquals(List.of(false, true, true), rows.stream().map(VersionLabels.VersionRow::loaded).toList());
            assertEquals("run-2", rows.get(1).manifest().get("runId"));
            assertEquals("deploy", rows.get(1).labelledBy().get("canary").get("by"));
            assertEquals("verify", rows.get(2).labelledBy().get("stable").get("by"));
        }
    }

    /** TF Serving would refuse the whole file for a label on a version it cannot load: such a label goes. */
    @Test
    void aLabelOnAVersionRemovedByHandIsDropped() throws Exception {
        version(1, 0.81);
        version(2, 0.84);
        try (ModelStore prod = new LocalModelStore(prodDir)) {
            labels.promote(prod, 1, null, by("verify", "a"));
            Files.delete(prodDir.resolve("1/MANIFEST.json"));
            Files.delete(prodDir.resolve("1"));
            VersionLabels.State s = labels.addCandidate(prod, 2, by("deploy", "b"));
            assertEquals(Map.of(), s.labels());
            assertEquals(Set.of(2L), s.policyVersions());
        }
    }

    @Test
    void aConfigThatDoesNotParseIsLeftAsItIs() throws Exception {
        version(1, 0.81);
        String broken = "model_config_list { config { name: 'my_model' base_path: '/m' colour: 'red' } }\n";
        Files.writeString(prodDir.resolve(VersionLabels.CONFIG_FILE), broken);
        try (ModelStore prod = new LocalModelStore(prodDir)) {
            StageFailedException e = assertThrows(StageFailedException.class,
                    () -> labels.addCandidate(prod, 1, by("deploy", "r")));
            assertTrue(e.getMessage().contains("models.config") && e.getMessage().contains("colour")
                    && e.getMessage().contains("1:"), e.getMessage());
        }
        assertEquals(broken, config());
    }

    @Test
    void aBasePathKeepsWhatTheFileSaysUnlessTheSettingNamesOne() throws Exception {
        version(1, 0.81);
        Files.writeString(prodDir.resolve(VersionLabels.CONFIG_FILE),
                "model_config_list { config { name: 'my_model' base_path: '/srv/tfs/my_model' } }");
        VersionLabels unset = new VersionLabels(settings(), ledger);
        try (ModelStore prod = new LocalModelStore(prodDir)) {
            assertEquals("/srv/tfs/my_model", unset.addCandidate(prod, 1, by("deploy", "r")).model().orElseThrow().basePath());
            Files.delete(prodDir.resolve(VersionLabels.CONFIG_FILE));
            assertEquals(prodDir.toAbsolutePath().toString(),
                    unset.addCandidate(prod, 1, by("deploy", "r")).model().orElseThrow().basePath());
        }
    }
}
