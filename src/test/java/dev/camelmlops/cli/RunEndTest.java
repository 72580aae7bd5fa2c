package dev.camelmlops.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.camelmlops.serving.ModelServer;
import dev.camelmlops.serving.ModelVersionWatcher;
import dev.camelmlops.testing.Cli;
import dev.camelmlops.testing.Http;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The end of a run says where to look: the report, the version and where it went, and the
 * commands to serve and call it, the call line working as printed against the server `mlops serve` starts.
 */
class RunEndTest {
    private static final Pattern CALL = Pattern.compile("(?m)^  call     (curl -s -d @(\\S+) (http://\\S+:predict))$");

    @TempDir
    Path tmp;

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static String line(String output, String start) {
        return output.lines().filter(l -> l.startsWith(start)).findFirst()
                .orElseThrow(() -> new AssertionError("no line '" + start + "' in:\n" + output));
    }

    @Test
    void runEndsWithTheReportTheVersionAndACallThatWorksAgainstMlopsServe() throws Exception {
        Cli cli = new Cli(tmp);
        int port = freePort();
        assertEquals(0, cli.run("-Dserving.port=" + port, "run"), cli.output());
        String out = cli.output();
        Path prod = tmp.resolve("prod");
        Path report = cli.work().resolve("report.html").toAbsolutePath();
        List<String> tail = out.lines().dropWhile(l -> !l.startsWith("OK: pipeline finished")).toList();
        assertEquals(List.of("  report   " + report, "  version  1 deployed to " + prod.toAbsolutePath(),
                "  verified passed, labelled stable", "  serve    ./mlops serve --port " + port), tail.subList(1, 5), out);
        Matcher call = CALL.matcher(out);
        assertTrue(call.find(), out);
        assertEquals(cli.work().resolve("example-request.json").toAbsolutePath().toString(), call.group(2));
        assertEquals("http://127.0.0.1:" + port + "/v1/models/my_model/versions/1:predict", call.group(3));
        assertTrue(Files.size(Path.of(call.group(2))) < 20_000, "one image");

        // what `mlops serve` starts: model.name from the prod folder on serving.host:serving.port
        try (ModelVersionWatcher watcher = new ModelVersionWatcher("my_model", prod, Duration.ofSeconds(1))) {
            watcher.start();
            try (ModelServer server = new ModelServer(watcher, "127.0.0.1", port, 2, 10_000_000)) {
                server.start();
                Http.Response r = Http.post(call.group(3), Files.readString(Path.of(call.group(2))));
                assertEquals(200, r.status(), r.body());
                assertProbabilities(r.json());
                if (Files.isExecutable(Path.of("/usr/bin/curl"))) { // the line itself, as a person pastes it
                    Process p = new ProcessBuilder("sh", "-c", call.group(1)).redirectErrorStream(true).start();
                    String body = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                    assertTrue(p.waitFor(30, TimeUnit.SECONDS), "curl ended");
                    assertEquals(0, p.exitValue(), body);
                    assertProbabilities(Http.parse(body));
                }
            }
        }

        // the README shows the same lines
        String readme = Files.readString(Path.of("README.md"));
        assertTrue(readme.contains("  serve    ./mlops serve\n"), "README shows the serve line");
        assertTrue(Pattern.compile("(?m)^ +call     curl -s -d @\\S+/work/example-request\\.json "
                + "http://127\\.0\\.0\\.1:8501/v1/models/my_model/versions/\\d+:predict$").matcher(readme).find(),
                "README shows the call line as printed");
    }

    private static void assertProbabilities(JsonNode answer) {
        JsonNode p = answer.at("/predictions/0");
        assertEquals(10, p.size(), answer.toString());
        double sum = 0;
        for (JsonNode v : p) {
            sum += v.asDouble();
        }
        assertEquals(1.0, sum, 1e-3, answer.toString());
    }

    @Test
    void aFailedRunSaysWhichStageAndWhereTheReportIs() {
        Cli cli = new Cli(tmp);
        assertEquals(1, cli.run("-Dquality.min-accuracy=0.999", "-Dtrain.epochs=1", "run"), cli.output());
        String failed = line(cli.output(), "FAILED at stage test");
        List<String> tail = cli.output().lines().dropWhile(l -> !l.equals(failed)).toList();
        assertEquals("  report   " + cli.work().resolve("report.html").toAbsolutePath(), tail.get(1), cli.output());
        assertFalse(cli.output().contains("  call     "), "nothing deployed, nothing to call");
    }
}
