package dev.camelmlops.stage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import dev.camelmlops.testing.Cli;
import dev.camelmlops.testing.Http;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Run notifications to a real webhook server on loopback. */
class NotifierTest {
    @TempDir
    Path tmp;
    private HttpServer server;
    private final List<JsonNode> received = new CopyOnWriteArrayList<>();
    private final AtomicInteger failFirst = new AtomicInteger();
    private final AtomicInteger attempts = new AtomicInteger();
    private final List<Long> attemptNanos = new CopyOnWriteArrayList<>();
    private String url;

    @BeforeEach
    void webhook() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/hook", ex -> {
            attempts.incrementAndGet();
            attemptNanos.add(System.nanoTime());
            byte[] body = ex.getRequestBody().readAllBytes();
            int status = failFirst.getAndDecrement() > 0 ? 500 : 200;
            if (status == 200) {
                received.add(Http.JSON.readTree(new String(body, StandardCharsets.UTF_8)));
            }
            ex.sendResponseHeaders(status, -1);
            ex.close();
        });
        server.start();
        url = "http://127.0.0.1:" + server.getAddress().getPort() + "/hook";
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    @Test
    void aFailedRunPostsASlackCompatibleMessageWithTheFacts() {
        Cli cli = new Cli(tmp);
        assertEquals(1, cli.run("-Dnotify.webhook-url=" + url, "-Dquality.min-accuracy=0.999",
                "-Dtrain.epochs=1", "-Dtrain.learning-rate=0.0001", "run"), cli.output());
        assertEquals(1, received.size());
        JsonNode m = received.get(0);
        assertTrue(m.get("text").asText().contains("failed at stage test"), m.toString());
        assertEquals("test", m.get("stage").asText());
        assertEquals("failed", m.get("outcome").asText());
        assertTrue(m.get("reason").asText().contains("quality.min-accuracy"), m.toString());
        assertTrue(m.get("accuracy").isNumber(), m.toString());
        assertTrue(m.get("runId").asText().matches("\\d{8}-\\d{6}-[0-9a-f]{4}"), m.toString());
    }

    @Test
    void deliveryIsRetriedWithBackoffAndSuccessIsReportedWhenAskedFor() {
        failFirst.set(2);
        Cli cli = new Cli(tmp);
        assertEquals(0, cli.run("-Dnotify.webhook-url=" + url, "-Dnotify.on-success=true", "-Dnotify.backoff-ms=50",
                "run"), cli.output());
        assertEquals(3, attempts.get(), "two failures, then delivered");
        assertEquals(1, received.size());
        assertTrue(received.get(0).get("text").asText().contains("succeeded"), received.toString());
        assertEquals(1, received.get(0).get("version").asInt());
    }

    @Test
    void anUnreachableWebhookNeverChangesTheOutcome() throws IOException {
        int closed;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closed = s.getLocalPort();
        }
        Cli cli = new Cli(tmp);
        assertEquals(0, cli.run("-Dnotify.webhook-url=http://127.0.0.1:" + closed + "/hook", "-Dnotify.on-success=true",
                "-Dnotify.attempts=2", "-Dnotify.backoff-ms=10", "run"), cli.output());
        assertGivenUpAfter(2, cli.output());
        assertRunSucceededAndVersion1Deployed();
    }

    @Test
    void aWebhookThatKeepsFailingIsTriedNotifyAttemptsTimesWithDoublingBackoffThenGivenUp() {
        failFirst.set(1_000);
        Cli cli = new Cli(tmp);
        assertEquals(0, cli.run("-Dnotify.webhook-url=" + url, "-Dnotify.on-success=true", "-Dnotify.attempts=3",
                "-Dnotify.backoff-ms=100", "run"), cli.output());
        assertEquals(3, attempts.get(), "notify.attempts in all");
        assertEquals(List.of(), received, "nothing was taken");
        long firstWait = (attemptNanos.get(1) - attemptNanos.get(0)) / 1_000_000;
        long secondWait = (attemptNanos.get(2) - attemptNanos.get(1)) / 1_000_000;
        assertTrue(firstWait >= 100 && secondWait >= 200, "waited notify.backoff-ms, then twice as long: "
                + firstWait + " ms, " + secondWait + " ms");
        assertTrue(firstWait + secondWait < 30_000, "and gave up: " + firstWait + " ms, " + secondWait + " ms");
        assertGivenUpAfter(3, cli.output());
        assertRunSucceededAndVersion1Deployed();
    }

    /** One WARN line says the message was dropped after {@code attempts} attempts (with the last error). */
    private static void assertGivenUpAfter(int attempts, String output) {
        List<String> warnings = output.lines().filter(l -> l.contains(" WARN ")).toList();
        assertEquals(1, warnings.size(), "one WARN line, nothing else: " + warnings);
        assertTrue(warnings.get(0).matches(".* WARN Notifier - notify: not delivered after " + attempts
                + " attempt\\(s\\) \\(last: .+\\); the run's outcome is unchanged"), warnings.get(0));
    }

    private void assertRunSucceededAndVersion1Deployed() {
        List<java.util.Map<String, Object>> runs = new dev.camelmlops.registry.FileRunLedger(
                tmp.resolve("ledger.jsonl")).runs();
        assertEquals(1, runs.size(), runs.toString());
        assertEquals("succeeded", runs.get(0).get("outcome"), runs.get(0).toString());
        assertTrue(java.nio.file.Files.isDirectory(tmp.resolve("prod/1")), "version 1 deployed");
    }

    @Test
    void notifyTestSendsATestMessage() {
        Cli cli = new Cli(tmp);
        assertEquals(0, cli.run("-Dnotify.webhook-url=" + url, "notify", "--test"), cli.output());
        assertTrue(received.get(0).get("test").asBoolean());
        assertEquals(0, cli.run("-Dnotify.webhook-url=" + url, "notify", "--failed", "--stage", "deploy",
                "--message", "job 7 failed"), cli.output());
        assertTrue(received.get(1).get("text").asText().contains("deploy failed: job 7 failed"), received.toString());
        assertEquals(2, cli.run("notify", "--test"), "no webhook configured");
    }
}
