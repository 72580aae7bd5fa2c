package dev.camelmlops.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.camelmlops.testing.Cli;
import dev.camelmlops.testing.ConfigServer;
import dev.camelmlops.testing.Http;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Labels from deploy to rollback as a user types the commands, against a serving host that reads
 * prod/models.config and refuses a label on a version it has not loaded (TF Serving's default):
 * deploy labels the new version canary beside stable, verify moves stable to it, promote and
 * rollback move it by name, versions and history show who did what.
 */
class LabelsEndToEndTest {
    @TempDir
    Path tmp;

    /** The line of `mlops versions` for {@code version}. */
    private static String row(Cli cli, int version) {
        return cli.output().lines().filter(l -> l.matches(" +" + version + "  .*")).findFirst()
                .orElseThrow(() -> new AssertionError("no row for version " + version + " in:\n" + cli.output()));
    }

    @Test
    void deployVerifyPromoteAndRollbackMoveTheLabelsTheServerAnswers() throws Exception {
        Cli cli = new Cli(tmp);
        Path prod = tmp.resolve("prod");
        try (ConfigServer server = new ConfigServer(prod)) {
            cli.env("SERVING_URL", server.url());
            assertEquals(0, cli.run("run"), cli.output());
            // with serving.url: no `mlops serve`, the call line names that server
            assertTrue(cli.output().contains("  call     curl -s -d @" + cli.work().toAbsolutePath().resolve(
                    "example-request.json") + " " + server.url() + "/v1/models/my_model/versions/1:predict"), cli.output());
            assertTrue(!cli.output().contains("  serve    "), cli.output());
            assertEquals("1", server.labelled("stable"));
            assertTrue(server.labelled("canary").contains("Unrecognized servable version label: canary"),
                    "a passed verify ends the trial: " + server.labelled("canary"));

            // a second version: deploy loads it beside stable and labels it canary once AVAILABLE
            assertEquals(0, cli.run("stage", "package"), cli.output());
            assertEquals(0, cli.run("stage", "deploy"), cli.output());
            JsonNode deploy = Http.JSON.readTree(cli.work().resolve("deploy.json").toFile());
            assertEquals(2, deploy.get("canary").asInt(), deploy.toString());
            assertEquals(1, deploy.get("stable").asInt(), deploy.toString());
            assertEquals("2", server.labelled("canary"));
            assertEquals("1", server.labelled("stable"));
            assertEquals(200, Http.get(server.url() + "/v1/models/my_model/versions/1").status(), "stable still loaded");
            assertEquals(0, cli.run("versions"), cli.output());
            assertTrue(row(cli, 2).matches(" +2  canary +yes .* canary 20[0-9-]+T[0-9:]+Z by deploy \\(run .*"),
                    row(cli, 2));
            assertTrue(row(cli, 1).matches(" +1  stable +yes .* stable .* by verify \\(run .*"), row(cli, 1));

            // verify checks through /labels/canary, then moves stable; the old version is unloaded
            assertEquals(0, cli.run("stage", "verify"), cli.output());
            assertEquals("2", server.labelled("stable"));
            assertTrue(server.labelled("canary").startsWith("400"), server.labelled("canary"));
            assertEquals(404, Http.get(server.url() + "/v1/models/my_model/versions/1").status(), "1 unloaded");
            JsonNode verify = Http.JSON.readTree(cli.work().resolve("verify.json").toFile());
            assertEquals(2, verify.get("stable").asInt());
            assertTrue(verify.has("secondsUntilCanary"), verify.toString());

            // a person moves stable back and forth by name
            assertEquals(0, cli.run("promote", "1"), cli.output());
            assertTrue(cli.output().contains("OK: version 1 is stable (was 2); " + server.url()
                    + "/v1/models/my_model/labels/stable answers version 1"), cli.output());
            assertEquals("1", server.labelled("stable"));
            assertEquals(0, cli.run("rollback"), cli.output());
            assertTrue(cli.output().contains("OK: version 2 is stable (was 1)"), cli.output());
            assertEquals("2", server.labelled("stable"));
            assertEquals(0, cli.run("rollback", "--to", "1"), cli.output());
            assertEquals("1", server.labelled("stable"));
            assertTrue(row(cli, 1).matches(" +1  stable +yes .* by rollback \\(mlops rollback --to 1\\)"), row(cli, 1));
            assertTrue(row(cli, 2).matches(" +2  - +no .*"), row(cli, 2));
            Http.Response p = Http.post(server.url() + "/v1/models/my_model/labels/stable:predict",
                    "{\"instances\": [" + "[".repeat(1) + "0.5,".repeat(783) + "0.5]]}");
            assertEquals(400, p.status(), "a flat list is refused, through the label too: " + p.body());

            // mistakes: exit 1 with the reason, exit 2 for bad usage; nothing moves
            assertEquals(1, cli.run("promote", "9"), cli.output());
            assertTrue(cli.output().contains("version 9 is not in " + prod), cli.output());
            assertEquals(2, cli.run("promote", "x"), cli.output());
            assertEquals("1", server.labelled("stable"));
            // a run in progress (its process alive) writes the file too: one writer at a time
            dev.camelmlops.registry.FileRunLedger ledger = new dev.camelmlops.registry.FileRunLedger(
                    tmp.resolve("ledger.jsonl"));
            ledger.append(new java.util.LinkedHashMap<>(java.util.Map.of("event", "started", "id", "busy",
                    "route", "pipeline", "trigger", "inbox", "started", java.time.Instant.now().toString(),
                    "pid", ProcessHandle.current().pid())));
            assertEquals(1, cli.run("promote", "2"), cli.output());
            assertTrue(cli.output().contains("FAILED: run busy (pipeline, started ") && cli.output().contains(
                    "is in progress and may move labels itself: promote when it has ended"), cli.output());
            ledger.append(new java.util.LinkedHashMap<>(java.util.Map.of("event", "finished", "id", "busy",
                    "outcome", "succeeded")));
            assertEquals("1", server.labelled("stable"));

            // a retrain warm-starts from the stable version, not the newest, and its candidate takes the usual way
            assertEquals(0, cli.run("retrain"), cli.output());
            assertEquals(1, Http.JSON.readTree(cli.work().resolve("retrain.json").toFile()).get("deployedVersion").asInt());
            assertEquals("3", server.labelled("stable"));
            assertEquals(0, cli.run("rollback"), cli.output());
            assertEquals("1", server.labelled("stable"), "back to the stable version before the retrain");

            // the ledger: each move is a run, with its label events
            assertEquals(0, cli.run("history"), cli.output());
            List<String> moves = cli.output().lines().filter(l -> l.matches("\\S+ +cli +(promote|rollback) .*"))
                    .toList();
            assertEquals(5, moves.size(), cli.output());
            assertTrue(moves.get(3).contains(" failed "), moves.get(3));
            assertTrue(moves.get(4).contains(" rollback ") && moves.get(4).contains(" succeeded "), moves.get(4));
        }
    }

    @Test
    void aPromoteToAVersionThatCannotLoadPutsTheConfigBack() throws Exception {
        Cli cli = new Cli(tmp);
        Path prod = tmp.resolve("prod");
        try (ConfigServer server = new ConfigServer(prod)) {
            cli.env("SERVING_URL", server.url());
            assertEquals(0, cli.run("run"), cli.output());
            assertEquals(0, cli.run("stage", "package"), cli.output());
            Path data;
            try (Stream<Path> s = Files.list(cli.work().resolve("package/2/variables"))) {
                data = s.filter(f -> f.getFileName().toString().startsWith("variables.data")).findFirst().orElseThrow();
            }
            try (RandomAccessFile f = new RandomAccessFile(data.toFile(), "rw")) {
                for (long i = 0; i < f.length(); i += 97) {
                    f.seek(i);
                    f.write(0x55);
                }
            }
            assertEquals(0, cli.run("stage", "deploy"), cli.output());
            JsonNode deploy = Http.JSON.readTree(cli.work().resolve("deploy.json").toFile());
            assertTrue(deploy.get("canary").isNull(), deploy.toString());
            assertTrue(deploy.get("canaryLeftToVerify").asText().contains("serving could not load version 2"),
                    deploy.toString());
            byte[] before = Files.readAllBytes(prod.resolve("models.config"));
            assertEquals(1, cli.run("promote", "2"), cli.output());
            assertTrue(cli.output().contains("could not load version 2")
                    && cli.output().contains("models.config is back as it was (stable 1)"), cli.output());
            assertArrayEquals(before, Files.readAllBytes(prod.resolve("models.config")));
            assertEquals("1", server.labelled("stable"));
        }
    }
}
