package dev.camelmlops.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.camelmlops.testing.Cli;
import dev.camelmlops.testing.Http;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * README: a retrained candidate worse than the deployed model (minus quality.max-regression) is
 * not packaged, the run is recorded as failed with both accuracies, and `mlops retrain` exits 1.
 */
class RegressionGateTest {
    @TempDir
    Path tmp;

    private static List<String> versions(Path dir) throws Exception {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.matches("[0-9]+")).sorted().toList();
        }
    }

    @Test
    void aCandidateWorseThanTheDeployedModelFailsTheRetrainWithExitCode1() throws Exception {
        Cli cli = new Cli(tmp);
        assertEquals(0, cli.run("run"), cli.output());
        double deployedAccuracy = Http.JSON.readTree(cli.work().resolve("evaluation/evaluation.json").toFile()).at("/accuracy").asDouble();

        // a warm start wrecked by a huge learning rate; the absolute floor is off, so only the comparison can fail
        assertEquals(1, cli.run("-Dretrain.learning-rate=1", "-Dquality.min-accuracy=0", "-Dquality.max-regression=0",
                "retrain"), cli.output());
        assertTrue(cli.output().contains("FAILED at stage test"), cli.output());
        assertTrue(cli.output().matches("(?s).*candidate accuracy [0-9.]+ is worse than the deployed model's [0-9.]+.*"),
                cli.output());
        assertFalse(versions(cli.work().resolve("package")).contains("2"), "the candidate is not packaged");
        assertEquals(List.of("1"), versions(tmp.resolve("prod")), "nor deployed");
        JsonNode test = Http.JSON.readTree(cli.work().resolve("evaluation/evaluation.json").toFile());
        assertFalse(test.get("passed").asBoolean(), test.toString());
        assertTrue(test.at("/accuracy").asDouble() < test.at("/baseline/accuracy").asDouble(), test.toString());
        assertEquals(deployedAccuracy, test.at("/baseline/accuracy").asDouble(), 1e-6, "compared with version 1");

        // the ledger: a failed retrain at stage test, with the reason
        List<String> finished = Files.readAllLines(tmp.resolve("ledger.jsonl")).stream()
                .filter(l -> l.contains("\"event\":\"finished\"") || l.contains("\"event\" : \"finished\"")).toList();
        JsonNode last = Http.JSON.readTree(finished.get(finished.size() - 1));
        assertEquals("retrain", last.get("route").asText(), last.toString());
        assertEquals("failed", last.get("outcome").asText(), last.toString());
        assertTrue(last.toString().contains("is worse than the deployed model"), last.toString());
    }
}
