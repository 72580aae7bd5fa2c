package dev.camelmlops.bench;

import dev.camelmlops.serving.ModelServer;
import dev.camelmlops.serving.ModelVersionWatcher;
import dev.camelmlops.serving.ServingMetrics;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * Memory across reloads: the server replaces its model version {@code reloads} times (a copy of
 * one SavedModel renamed in as the next version; folders older than the previous one removed, as
 * retention does) while clients send 1-image predicts; the resident set size (VmRSS) is recorded
 * after each reload and after a GC at the end. Every replaced version must be closed (the
 * process-wide open-version count back to 1) and no request may fail.
 */
final class ReloadBench {
    /** Growth of RSS from the 10th reload to the end that still counts as bounded. */
    static final double BOUND_MB = 64;

    private ReloadBench() {
    }

    static Map<String, Object> run(Path modelVersionDir, Path scratch, String body, int reloads, int clients)
            throws Exception {
        Path base = Files.createDirectories(scratch.resolve("base"));
        publish(modelVersionDir, base, 1);
        long openBefore = ModelVersionWatcher.openVersionsInProcess();
        AtomicLong ok = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        AtomicBoolean stop = new AtomicBoolean();
        List<Double> rss = new ArrayList<>();
        List<Double> heap = new ArrayList<>();
        List<Double> loadMillis = new ArrayList<>();
        Map<String, Object> r = new LinkedHashMap<>();
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        try (ModelVersionWatcher w = new ModelVersionWatcher("my_model", base, Duration.ofMillis(20));
             ModelServer server = new ModelServer(w, "127.0.0.1", 0, 8, 1 << 26)) {
            w.start();
            server.start();
            HttpRequest predict = HttpRequest.newBuilder(URI.create(server.baseUrl() + "/v1/models/my_model:predict"))
                    .header("Content-Type", "application/json").timeout(Duration.ofSeconds(30))
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build();
            List<Future<?>> futures = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                futures.add(pool.submit(() -> {
                    while (!stop.get()) {
                        try {
                            HttpResponse<String> a = http.send(predict, HttpResponse.BodyHandlers.ofString());
                            (a.statusCode() == 200 ? ok : failed).incrementAndGet();
                        } catch (IOException e) {
                            failed.incrementAndGet();
                        }
                    }
                    return null;
                }));
            }
            await("the first answers", Duration.ofSeconds(60), () -> ok.get() + failed.get() >= 100L * clients);
            double start = rssMB();
            for (int k = 2; k <= reloads + 1; k++) {
                long version = k;
                long t0 = System.nanoTime();
                publish(modelVersionDir, base, version);
                await("version " + version + " served", Duration.ofSeconds(60), () -> w.servedVersion() == version);
                loadMillis.add((System.nanoTime() - t0) / 1e6);
                if (version >= 3) {
                    deleteTree(base.resolve(Long.toString(version - 2)));
                }
                await("replaced versions closed", Duration.ofSeconds(30),
                        () -> ModelVersionWatcher.openVersionsInProcess() == openBefore + 1);
                rss.add(rssMB());
                heap.add(heapCommittedMB());
            }
            stop.set(true);
            for (Future<?> f : futures) {
                f.get(60, TimeUnit.SECONDS);
            }
            System.gc();
            double afterGc = rssMB();
            double max = rss.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
            double at10 = rss.get(Math.min(9, rss.size() - 1));
            double end = rss.get(rss.size() - 1);
            r.put("reloads", reloads);
            r.put("clients", clients);
            r.put("answers", ok.get());
            r.put("failedRequests", failed.get());
            r.put("openVersionsAfter", ModelVersionWatcher.openVersionsInProcess() - openBefore);
            r.put("rssStartMB", start);
            r.put("rssMaxMB", max);
            r.put("rssEndMB", end);
            r.put("rssAfterGcMB", afterGc);
            r.put("rssGrowthFrom10thReloadMB", end - at10);
            r.put("rssBounded", end - at10 <= BOUND_MB);
            r.put("rssAfterEachReloadMB", rss);
            r.put("heapCommittedAfterEachReloadMB", heap);
            r.put("publishToServedMillis", loadMillis);
            r.put("goal", "no failed request, old versions closed, RSS growth from the 10th reload to the end <= "
                    + (int) BOUND_MB + " MB");
        } finally {
            stop.set(true);
            pool.shutdownNow();
            pool.awaitTermination(60, TimeUnit.SECONDS);
        }
        return r;
    }

    /** Copies the version next to the base path and renames it in, as a deploy publishes one. */
    private static void publish(Path from, Path base, long version) throws IOException {
        Path staging = base.resolve(".staging-" + version);
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path t = staging.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t);
                }
            }
        }
        Files.move(staging, base.resolve(Long.toString(version)), StandardCopyOption.ATOMIC_MOVE);
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private interface Condition {
        boolean holds();
    }

    private static void await(String what, Duration limit, Condition c) throws InterruptedException, TimeoutException {
        long end = System.nanoTime() + limit.toNanos();
        while (!c.holds()) {
            if (System.nanoTime() > end) {
                throw new TimeoutException("not within " + limit + ": " + what);
            }
            Thread.sleep(5);
        }
    }

    /** The Java heap's committed size in MB (part of the RSS, grown by the collector, not by a leak). */
    static double heapCommittedMB() {
        return java.lang.management.ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getCommitted() / 1048576.0;
    }

    /** This process's resident set size (the metrics' VmRSS), in MB. */
    static double rssMB() throws IOException {
        long bytes = ServingMetrics.residentBytes();
        if (bytes < 0) {
            throw new IOException("/proc/self/status has no readable VmRSS line");
        }
        return bytes / 1048576.0;
    }
}
