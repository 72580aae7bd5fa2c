package dev.camelmlops.testing;

import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * `mlops watch` in its own JVM (main classes and dependencies, not the test classes), its
 * output in a file (Process.destroy() would close a pipe, losing what the process logs while
 * it stops). The constructor returns once the service says where its health endpoint is.
 */
public class WatchProcess {
    private static final Pattern HEALTH = Pattern.compile("health at (http://\\S+/health)");
    public final Process process;
    public final Path log;

    public WatchProcess(Path home, Path log, List<String> args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "-Dmlops.home=" + home, "-cp", mainClassPath(), "dev.camelmlops.cli.MlopsCli", "watch"));
        cmd.addAll(args);
        this.log = log;
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("TF_CPP_MIN_LOG_LEVEL", "2");
        process = pb.start();
        awaitTrue("the service started", 90, () -> {
            if (!process.isAlive()) {
                throw new AssertionError("the service exited with " + process.exitValue() + ":\n" + output());
            }
            return find(HEALTH) != null;
        });
    }

    /** Sends SIGTERM, as systemd or kill(1) does (without touching the process's streams). */
    public void sigterm() {
        process.toHandle().destroy();
    }

    /** kill -9: the process gets no chance to clean up. */
    public void kill() throws InterruptedException {
        process.toHandle().destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** Waits (bounded) until the process has exited and all its output is read. */
    public boolean awaitExit(int seconds) throws InterruptedException {
        return process.waitFor(seconds, TimeUnit.SECONDS);
    }

    public List<String> lines() {
        try {
            return Files.readAllLines(log, StandardCharsets.ISO_8859_1);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    public Matcher find(Pattern p) {
        for (String l : lines()) {
            Matcher m = p.matcher(l);
            if (m.find()) {
                return m;
            }
        }
        return null;
    }

    public String output() {
        return String.join("\n", lines());
    }

    /** GET /health (the summary): status code and body. */
    public HttpResponse<String> health() throws Exception {
        return get("");
    }

    /** GET /health?detail=true (every health check): status code and body. */
    public HttpResponse<String> healthDetail() throws Exception {
        return get("?detail=true");
    }

    private HttpResponse<String> get(String query) throws Exception {
        String url = find(HEALTH).group(1) + query;
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The test JVM's class path without the test classes (their logging configuration is for tests). */
    static String mainClassPath() {
        return Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(e -> !e.endsWith("test-classes") && !e.endsWith("test-classes/"))
                .collect(Collectors.joining(File.pathSeparator));
    }

    public static void awaitTrue(String what, int seconds, BooleanSupplier condition) throws InterruptedException {
        awaitTrue(what, seconds, 100, condition);
    }

    /** The same, looking every {@code pollMillis} (when the moment it turns true matters). */
    public static void awaitTrue(String what, int seconds, int pollMillis, BooleanSupplier condition)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + seconds + " s: " + what);
            }
            Thread.sleep(pollMillis);
        }
    }
}
