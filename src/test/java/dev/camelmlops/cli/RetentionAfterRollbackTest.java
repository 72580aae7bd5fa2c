package dev.camelmlops.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.camelmlops.serving.ModelRepository;
import dev.camelmlops.serving.ModelServer;
import dev.camelmlops.serving.ModelServerConfig;
import dev.camelmlops.serving.ServingOptions;
import dev.camelmlops.testing.Cli;
import dev.camelmlops.testing.Http;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * README: retention never removes the version being served, also when a rollback made it older
 * than the newest deploy.keep-versions; with the embedded server (no serving.url), as a user types
 * the commands.
 */
class RetentionAfterRollbackTest {
    @TempDir
    Path tmp;

    private List<String> prodVersions() throws Exception {
        try (Stream<Path> s = Files.list(tmp.resolve("prod"))) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.matches("[0-9]+")).sorted().toList();
        }
    }

    private Map<String, Long> labels() throws Exception {
        return ModelServerConfig.parse(Files.readString(tmp.resolve("prod/models.config")), "models.config")
                .model("my_model").orElseThrow().labels();
    }

    @Test
    void theRolledBackStableVersionSurvivesRetentionOfNewerDeploys() throws Exception {
        Cli cli = new Cli(tmp);
        assertEquals(0, cli.run("run"), cli.output());
        assertEquals(0, cli.run("run"), cli.output());
        assertEquals(List.of("1", "2"), prodVersions());
        assertEquals(Map.of("stable", 2L), labels());

        assertEquals(0, cli.run("rollback", "--to", "1"), cli.output());
        assertEquals(Map.of("stable", 1L), labels());

        // version 3 with keep-versions=1: the newest is 3, the served one is 1; 2 may go, 1 may not
        assertEquals(0, cli.run("stage", "package"), cli.output());
        assertEquals(0, cli.run("-Ddeploy.keep-versions=1", "stage", "deploy"), cli.output());
        assertEquals(List.of("1", "3"), prodVersions(), cli.output());
        JsonNode deploy = Http.JSON.readTree(cli.work().resolve("deploy.json").toFile());
        assertEquals("[2]", deploy.get("removedByRetention").toString(), deploy.toString());
        assertEquals(1, deploy.get("stable").asInt(), deploy.toString());
        // a server on prod/models.config as `mlops serve` reads it answers stable with version 1
        ModelRepository models = ModelRepository.configFile(tmp.resolve("prod/models.config"), null,
                Duration.ofMillis(200), Duration.ofMillis(200), 1, true);
        models.start();
        try (models; ModelServer server = new ModelServer(models, ServingOptions.of("127.0.0.1", 0, 2, 1 << 24))) {
            server.start();
            String stable = server.baseUrl() + "/v1/models/my_model/labels/stable";
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (Http.get(stable).status() != 200 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            Http.Response r = Http.post(stable + ":predict", Files.readString(cli.work().resolve("example-request.json")));
            assertEquals(200, r.status(), r.body());
            assertEquals(10, r.json().at("/predictions/0").size(), r.body());
            assertEquals("1", Http.get(stable + "/metadata").json().at("/model_spec/version").asText());
        }

        // a whole run with keep-versions=1: verify moves stable to 4; the old stable may go now
        assertEquals(0, cli.run("-Ddeploy.keep-versions=1", "run"), cli.output());
        assertEquals(Map.of("stable", 4L), labels());
        assertTrue(prodVersions().contains("4") && !prodVersions().contains("2"), prodVersions().toString());
    }
}
