package dev.camelmlops.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.camelmlops.registry.FileRunLedger;
import dev.camelmlops.testing.Cli;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The health port of `mlops watch` over real HTTP, after real runs of the pipeline: the summary of
 * /health, its detail, the list at /, and the JSON errors.
 */
class HealthEndpointTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @TempDir
    Path tmp;

    private static HttpResponse<String> call(InProcessWatch w, String method, String pathAndQuery) throws Exception {
        int port = w.app().healthPort();
        assertTrue(port > 0, "the health endpoint is bound");
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + pathAndQuery))
                .timeout(Duration.ofSeconds(15)).method(method, HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode json(HttpResponse<String> r) throws Exception {
        assertEquals("application/json", r.headers().firstValue("Content-Type").orElse(""), r.body());
        return JSON.readTree(r.body());
    }

    private static List<String> fields(JsonNode n) {
        List<String> names = new ArrayList<>();
        n.fieldNames().forEachRemaining(names::add);
        return names;
    }

    /**
     * GET /health until it is UP (bounded): Camel reports the inbox's consumer DOWN until its first
     * poll, a moment after the start.
     */
    private static HttpResponse<String> awaitUp(InProcessWatch w) throws Exception {
        return awaitPolled(w, 200);
    }

    /** GET /health until the inbox's consumer has polled and the status is {@code code} (bounded). */
    private static HttpResponse<String> awaitPolled(InProcessWatch w, int code) throws Exception {
        long deadline = System.nanoTime() + 30_000_000_000L;
        HttpResponse<String> r = call(w, "GET", "/health");
        while ((r.statusCode() != code || r.body().contains("has not yet polled")) && System.nanoTime() < deadline) {
            Thread.sleep(100);
            r = call(w, "GET", "/health");
        }
        return r;
    }

    private Map<String, Object> lastLedgerRun() {
        List<Map<String, Object>> runs = new FileRunLedger(tmp.resolve("ledger.jsonl")).runs();
        return runs.get(runs.size() - 1);
    }

    @Test
    void afterAGoodRunTheSummaryIsUpWithTheRunAndTheServedVersionAndTheDetailListAndErrorsAreJson() throws Exception {
        Cli cli = new Cli(tmp);
        assertEquals(0, cli.run("run"), cli.output());
        Map<String, Object> run = lastLedgerRun();
        try (InProcessWatch w = new InProcessWatch(cli.defaults())) {
            HttpResponse<String> r = awaitUp(w);
            assertEquals(200, r.statusCode(), r.body());
            JsonNode s = json(r);
            assertEquals(List.of("status", "reason", "instance", "lastRun", "served", "pendingBatches",
                    "retrainRunningOn", "detail"), fields(s), r.body());
            assertEquals("UP", s.get("status").asText());
            assertTrue(s.get("reason").asText().matches("all \\d+ health checks are UP"), r.body());
            JsonNode last = s.get("lastRun");
            assertEquals(run.get("id"), last.get("id").asText(), r.body());
            assertEquals("succeeded", last.get("outcome").asText(), r.body());
            assertEquals(1, last.get("version").asInt(), r.body());
            assertEquals(run.get("ended"), last.get("ended").asText(), r.body());
            JsonNode served = s.get("served");
            assertEquals("my_model", served.get("model").asText(), r.body());
            assertEquals(1, served.get("version").asInt(), r.body());
            assertEquals(1, served.get("labels").get("stable").asInt(), "prod/models.config labels 1 stable: " + r.body());
            assertFalse(served.has("error"), r.body());
            assertEquals(0, s.get("pendingBatches").asInt(), r.body());
            assertFalse(s.has("checks"), "the per-route detail is not in the summary: " + r.body());

            HttpResponse<String> d = call(w, "GET", "/health?detail=true");
            assertEquals(200, d.statusCode(), d.body());
            JsonNode detail = json(d);
            assertEquals("UP", detail.get("status").asText());
            List<String> ids = new ArrayList<>();
            detail.get("checks").forEach(c -> ids.add(c.get("id").asText()));
            assertTrue(ids.contains("mlops/last-run"), ids.toString());
            assertTrue(ids.stream().filter(i -> i.contains("route:")).count() >= 5, "a check per route: " + ids);
            assertEquals(s.get("reason").asText(), "all " + ids.size() + " health checks are UP");

            HttpResponse<String> head = call(w, "HEAD", "/health");
            assertEquals(200, head.statusCode());
            assertEquals("", head.body());

            HttpResponse<String> index = call(w, "GET", "/");
            assertEquals(200, index.statusCode(), index.body());
            List<String> paths = new ArrayList<>();
            for (JsonNode e : json(index).get("endpoints")) {
                assertEquals("GET", e.get("method").asText(), index.body());
                assertFalse(e.get("answers").asText().isBlank(), index.body());
                paths.add(e.get("path").asText());
            }
            assertEquals(List.of("/", "/health", "/health?detail=true", "/metrics"), paths);

            HttpResponse<String> missing = call(w, "GET", "/healthz");
            assertEquals(404, missing.statusCode(), missing.body());
            assertEquals("no endpoint /healthz on this port: GET / lists them", json(missing).get("error").asText());

            HttpResponse<String> post = call(w, "POST", "/health");
            assertEquals(405, post.statusCode(), post.body());
            assertEquals("GET, HEAD", post.headers().firstValue("Allow").orElse(""));
            assertEquals("POST is not allowed on /health: use GET (or HEAD)", json(post).get("error").asText());
            assertEquals(405, call(w, "DELETE", "/metrics").statusCode());

            HttpResponse<String> bad = call(w, "GET", "/health?detail=yes");
            assertEquals(400, bad.statusCode(), bad.body());
            assertTrue(json(bad).get("error").asText().contains("detail must be true or false"), bad.body());

            HttpResponse<String> metrics = call(w, "GET", "/metrics");
            assertEquals(200, metrics.statusCode());
            assertTrue(metrics.body().contains("mlops_deployed_version"), metrics.body());
        }
    }

    @Test
    void afterAFailedRunTheSummaryIsDownWithTheReasonAndStillNamesTheServedVersion() throws Exception {
        Cli cli = new Cli(tmp);
        assertEquals(0, cli.run("run"), cli.output());
        assertNotEquals(0, cli.run("-Dtrain.learning-rate=0.000001", "run"), cli.output());
        Map<String, Object> failed = lastLedgerRun();
        assertEquals("failed", failed.get("outcome"), failed.toString());
        try (InProcessWatch w = new InProcessWatch(cli.defaults())) {
            HttpResponse<String> r = awaitPolled(w, 503);
            assertEquals(503, r.statusCode(), r.body());
            JsonNode s = json(r);
            assertEquals("DOWN", s.get("status").asText(), r.body());
            String reason = s.get("reason").asText();
            assertTrue(reason.startsWith("mlops/last-run: last run " + failed.get("id") + " failed: "), reason);
            assertTrue(reason.contains(String.valueOf(failed.get("reason"))), reason);
            JsonNode last = s.get("lastRun");
            assertEquals(failed.get("id"), last.get("id").asText(), r.body());
            assertEquals("failed", last.get("outcome").asText(), r.body());
            assertEquals(failed.get("reason"), last.get("reason").asText(), r.body());
            assertEquals(1, s.get("served").get("version").asInt(), "version 1 is still served: " + r.body());

            HttpResponse<String> d = call(w, "GET", "/health?detail=true");
            assertEquals(503, d.statusCode(), d.body());
            JsonNode down = null;
            for (JsonNode c : json(d).get("checks")) {
                if ("mlops/last-run".equals(c.get("id").asText())) {
                    down = c;
                }
            }
            assertTrue(down != null && "DOWN".equals(down.get("state").asText()), d.body());
            assertEquals(String.valueOf(failed.get("id")), down.get("details").get("last.id").asText(), d.body());
        }
    }
}
