package dev.camelmlops.bench;

import dev.camelmlops.data.Dataset;
import dev.camelmlops.data.FashionMnistFiles;
import dev.camelmlops.data.IdxReader;
import dev.camelmlops.model.Evaluator;
import dev.camelmlops.model.ModelArchitecture;
import dev.camelmlops.model.TrainedModel;
import dev.camelmlops.model.Trainer;
import dev.camelmlops.model.TrainingHistory;
import dev.camelmlops.model.TrainingListener;
import dev.camelmlops.model.TrainingParams;
import dev.camelmlops.serving.ModelServer;
import dev.camelmlops.serving.ModelVersionWatcher;
import dev.camelmlops.serving.ServingClient;
import dev.camelmlops.serving.ServingOptions;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.tensorflow.Graph;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.op.random.RandomUniform;
import org.tensorflow.types.TFloat32;

/**
 * The figures of `mlops bench`, each beside a reference measured in the same run (absolute times
 * drift on shared machines; ratios measured side by side do not, or less). Medians of repeats
 * where a repeat is cheap.
 */
public final class Benchmarks {
    private final FashionMnistFiles files;
    private final boolean quick;
    private final PrintStream out;
    private final Path scratch;
    private final Map<String, Object> results = new LinkedHashMap<>();
    private Dataset train;
    private Dataset test;

    public Benchmarks(FashionMnistFiles files, boolean quick, PrintStream out, Path scratch) {
        this.files = files;
        this.quick = quick;
        this.out = out;
        this.scratch = scratch;
    }

    public Map<String, Object> results() {
        return results;
    }

    private void log(String format, Object... args) {
        out.printf(Locale.ROOT, "bench: " + format + "%n", args);
    }

    static double median(List<Double> xs) {
        double[] a = xs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return a.length == 0 ? Double.NaN : a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
    }

    static double time(Runnable r) {
        long t0 = System.nanoTime();
        r.run();
        return (System.nanoTime() - t0) / 1e9;
    }

    // -------------------------------------------------------------------- data loading

    public void dataLoading() throws Exception {
        int repeats = quick ? 3 : 5;
        List<Double> validated = new ArrayList<>();
        List<Double> raw = new ArrayList<>();
        long bytes = 0;
        for (int i = 0; i < repeats; i++) {
            validated.add(time(() -> {
                IdxReader r = IdxReader.fashionMnist();
                train = r.read(files.trainImages(), files.trainLabels());
                test = r.read(files.testImages(), files.testLabels());
            }));
            long[] n = {0};
            raw.add(time(() -> {
                for (Path p : files.all()) {
                    n[0] += gunzipCount(p);
                }
            }));
            bytes = n[0];
        }
        double v = median(validated);
        double g = median(raw);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("repeats", repeats);
        m.put("decompressedBytes", bytes);
        m.put("readAndValidateSeconds", v);
        m.put("gzipOnlySeconds", g);
        m.put("ratio", g / v);
        m.put("goal", ">= 0.5 of GZIPInputStream's speed");
        results.put("dataLoading", m);
        log("data loading: %.3f s read+validate vs %.3f s gunzip alone (%.0f%% of its speed)", v, g, 100 * g / v);
    }

    private static long gunzipCount(Path p) {
        byte[] buf = new byte[1 << 16];
        long n = 0;
        try (InputStream in = p.toString().endsWith(".gz") ? new GZIPInputStream(Files.newInputStream(p), 1 << 16)
                : Files.newInputStream(p)) {
            int r;
            while ((r = in.read(buf)) > 0) {
                n += r;
            }
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        return n;
    }

    // -------------------------------------------------------------------- compute roof

    /** GFLOP/s of TF MatMul on two variables (so nothing is constant-folded). */
    public double matmulRoof() {
        int n = 1024;
        int runs = quick ? 10 : 30;
        double gflops;
        try (Graph g = new Graph()) {
            Ops tf = Ops.create(g);
            Ops init = tf.withInitScope();
            Variable<TFloat32> a = tf.withName("a").variable(init.random.randomUniform(init.constant(new long[]{n, n}),
                    TFloat32.class, RandomUniform.seed(1L)));
            Variable<TFloat32> b = tf.withName("b").variable(init.random.randomUniform(init.constant(new long[]{n, n}),
                    TFloat32.class, RandomUniform.seed(2L)));
            tf.withName("s").sum(tf.linalg.matMul(a, b), tf.constant(new int[]{0, 1}));
            // All cores, in the session's own pools (the process-wide ones are the server's).
            try (Session s = new Session(g, org.tensorflow.proto.ConfigProto.newBuilder()
                    .setUsePerSessionThreads(true).build())) {
                s.initialize();
                for (int i = 0; i < 3; i++) {
                    s.runner().fetch("s").run().close();
                }
                List<Double> times = new ArrayList<>();
                for (int i = 0; i < runs; i++) {
                    times.add(time(() -> {
                        try (Result r = s.runner().fetch("s").run()) {
                            r.get(0);
                        }
                    }));
                }
                gflops = 2.0 * n * n * n / median(times) / 1e9;
            }
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("n", n);
        m.put("runs", runs);
        m.put("gflops", gflops);
        results.put("matmulRoof", m);
        log("compute roof: TF MatMul %dx%d on variables: %.1f GFLOP/s (median of %d)", n, n, gflops, runs);
        return gflops;
    }

    // -------------------------------------------------------------------- training

    public void trainingThroughput(double roof) {
        results.put("trainingThroughput", throughput(ModelArchitecture.DEFAULT, roof, quick ? 8000 : 30000));
        results.put("trainingThroughputFlopHeavy", throughput(ModelArchitecture.WIDE_MLP, roof, quick ? 8192 : 30720));
    }

    private Map<String, Object> throughput(ModelArchitecture arch, double roof, int images) {
        Dataset subset = train.head(images);
        TrainingParams p = new TrainingParams(arch, 1, arch.defaultBatchSize(), arch.defaultLearningRate(), 42, false);
        TrainingHistory h;
        try (TrainedModel m = TrainedModel.create(arch, 42, p.learningRate())) {
            h = new Trainer().train(m, subset, null, p, TrainingListener.NONE, false);
        }
        double ips = h.imagesPerSecond();
        double flopsPerImage = 3.0 * 2.0 * arch.forwardMacs();
        double gflops = ips * flopsPerImage / 1e9;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("architecture", arch.id());
        m.put("images", subset.size());
        m.put("imagesPerSecond", ips);
        m.put("forwardMacsPerImage", arch.forwardMacs());
        m.put("trainingGflopsPerImage", flopsPerImage / 1e9);
        m.put("achievedGflops", gflops);
        m.put("roofGflops", roof);
        m.put("ratio", gflops / roof);
        m.put("goal", ">= 0.7 of the roof for a FLOP-heavy model");
        log("training throughput (%s): %.0f images/s, %.2f GFLOP/s = %.0f%% of the MatMul roof", arch.id(), ips, gflops,
                100 * gflops / roof);
        return m;
    }

    public Path tutorialRun() {
        ModelArchitecture arch = ModelArchitecture.TUTORIAL;
        TrainingParams p = new TrainingParams(arch, 5, 32, 0.001f, 42, false, arch.defaultThreads(),
                arch.defaultSchedule());
        Path exported = scratch.resolve("tutorial/1");
        double seconds;
        double accuracy;
        try (TrainedModel m = TrainedModel.create(arch, 42, p.learningRate(), p.threads())) {
            seconds = new Trainer().train(m, train, null, p, TrainingListener.NONE, false).seconds();
            accuracy = new Evaluator().evaluate(m, test).accuracy();
            m.export(exported);
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("epochs", 5);
        r.put("threads", p.threads());
        r.put("seconds", seconds);
        r.put("testAccuracy", accuracy);
        r.put("goal", ">= 0.87 in <= 8 s");
        results.put("tutorial", r);
        log("tutorial model: 5 epochs in %.1f s, test accuracy %.4f", seconds, accuracy);
        return exported;
    }

    public void defaultWithin60s() {
        if (quick) {
            results.put("defaultModel", Map.of("skipped", "--quick"));
            return;
        }
        ModelArchitecture arch = ModelArchitecture.DEFAULT;
        // The default recipe with train.max-seconds=60: on a machine too slow for its epochs in
        // 60 s, training stops at 60 s with its learning-rate schedule completed.
        TrainingParams p = new TrainingParams(arch, arch.defaultEpochs(), arch.defaultBatchSize(),
                arch.defaultLearningRate(), 42, true, 0, arch.defaultSchedule(), 60);
        TrainingHistory h;
        try (TrainedModel m = TrainedModel.create(arch, 42, p.learningRate())) {
            h = new Trainer().train(m, train, test, p, TrainingListener.NONE, false);
        }
        double elapsed = 0;
        double best = Double.NaN;
        List<Map<String, Object>> curve = new ArrayList<>();
        for (int i = 0; i < h.history().size(); i++) {
            TrainingHistory.Epoch e = h.history().get(i);
            elapsed += e.seconds();
            curve.add(Map.of("epoch", e.epoch(), "trainingSeconds", elapsed, "testAccuracy", e.testAccuracy()));
            // The budget stops training after the step that reaches 60 s, a few ms past it.
            boolean stoppedHere = h.stoppedByBudget() && i == h.history().size() - 1;
            if (elapsed <= 60 || stoppedHere) {
                best = e.testAccuracy();
            }
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("accuracyWithin60s", best);
        r.put("maxSeconds", p.maxSeconds());
        r.put("stoppedByBudget", h.stoppedByBudget());
        r.put("curve", curve);
        r.put("goal", ">= 0.91 within 60 s of training");
        results.put("defaultModel", r);
        log("default model: test accuracy %.4f within 60 s of training (%d epochs in %.1f s)", best, h.epochs(), elapsed);
    }

    // -------------------------------------------------------------------- serving

    /**
     * The embedded server on each engine, side by side in one run: status (the fixed cost of an
     * exchange), the no-op (a POST of the very 1-image body, read whole and answered with a fixed
     * 10-float prediction: HTTP and body I/O alone, the roof for predict), predict with 1 and 32
     * images; then predict while 200 clients hold stalled connections open.
     */
    public void serving(Path modelVersionDir) throws Exception {
        Path base = modelVersionDir.getParent();
        String body1 = ServingClient.requestBody(images(1), null);
        String body32 = ServingClient.requestBody(images(32), null);
        Duration warm = Duration.ofMillis(quick ? 300 : 1000);
        Duration dur = Duration.ofSeconds(quick ? 2 : 5);
        List<Map<String, Object>> rows = new ArrayList<>();
        Map<String, Object> slow;
        ServingOptions.Engine[] engines = {ServingOptions.Engine.NETTY, ServingOptions.Engine.JDK};
        try (ModelVersionWatcher w = new ModelVersionWatcher("my_model", base, Duration.ofHours(1))) {
            w.start();
            Map<ServingOptions.Engine, ModelServer> servers = new LinkedHashMap<>();
            try {
                for (ServingOptions.Engine e : engines) {
                    // Each engine with its default: Netty one event loop per core, the JDK server 8 workers.
                    int threads = e == ServingOptions.Engine.NETTY ? Runtime.getRuntime().availableProcessors() : 8;
                    ModelServer server = new ModelServer(w, ServingOptions.of("127.0.0.1", 0, threads, 1 << 26)
                            .withEngine(e).withNoop(true));
                    servers.put(e, server);
                    server.start();
                }
                // The JIT takes several seconds of load to settle (C2 compiled for about 8 s under
                // predicts at 8 connections, and halved the rate meanwhile): warm every engine on
                // every request kind first, so that no measurement pays for it.
                Duration jit = Duration.ofSeconds(quick ? 3 : 8);
                for (ServingOptions.Engine e : engines) {
                    String url = servers.get(e).baseUrl() + "/v1/models/my_model";
                    HttpLoad.run(url + ":predict", body1, 8, Duration.ZERO, jit);
                    HttpLoad.run(url + ":predict", body32, 8, Duration.ZERO, jit.dividedBy(3));
                    HttpLoad.run(url + ":noop", body1, 8, Duration.ZERO, jit.dividedBy(3));
                    HttpLoad.run(url, null, 8, Duration.ZERO, jit.dividedBy(3));
                }
                for (int c : quick ? new int[]{1, 8} : new int[]{1, 8, 32}) {
                    for (ServingOptions.Engine e : engines) {
                        String url = servers.get(e).baseUrl() + "/v1/models/my_model";
                        HttpLoad.Result status = HttpLoad.run(url, null, c, warm, dur);
                        HttpLoad.Result noop = HttpLoad.run(url + ":noop", body1, c, warm, dur);
                        HttpLoad.Result p1 = HttpLoad.run(url + ":predict", body1, c, warm, dur);
                        HttpLoad.Result p32 = HttpLoad.run(url + ":predict", body32, c, warm, dur);
                        Map<String, Object> row = new LinkedHashMap<>();
                        row.put("engine", e.id());
                        row.put("threads", servers.get(e).options().threads());
                        row.put("connections", c);
                        row.put("status", status);
                        row.put("noop", noop);
                        row.put("predict1", p1);
                        row.put("predict32", p32);
                        row.put("predict1VsNoop", p1.requestsPerSecond() / noop.requestsPerSecond());
                        row.put("predict1VsStatus", p1.requestsPerSecond() / status.requestsPerSecond());
                        rows.add(row);
                        log("serving (%s), %d connections: status %.0f req/s; no-op %.0f req/s; predict 1 image %.0f"
                                        + " req/s (p50 %.2f ms, p99 %.2f ms) = %.0f%% of the no-op; predict 32 images"
                                        + " %.0f req/s (p50 %.1f ms, p99 %.1f ms)", e.id(), c,
                                status.requestsPerSecond(), noop.requestsPerSecond(), p1.requestsPerSecond(),
                                p1.p50Millis(), p1.p99Millis(), 100 * p1.requestsPerSecond() / noop.requestsPerSecond(),
                                p32.requestsPerSecond(), p32.p50Millis(), p32.p99Millis());
                    }
                }
                slow = slowClients(servers.get(ServingOptions.Engine.NETTY), body1, warm, dur);
            } finally {
                for (ModelServer server : servers.values()) {
                    server.close();
                }
            }
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("secondsPerMeasurement", dur.toSeconds());
        r.put("loadGenerator", HttpLoad.WRK.equals(HttpLoad.generator())
                ? "wrk, a separate process (min(connections, 2) threads), keep-alive connections"
                : "in-process sockets, one keep-alive connection per thread (shares the CPU with the server)");
        r.put("rows", rows);
        r.put("speedupAt8", speedup(rows, 8));
        r.put("slowClients", slow);
        r.put("goal", "predict >= 0.7 of the no-op (1 image) at 1, 8, 32 connections; >= 2x the JDK engine at 8");
        results.put("serving", r);
    }

    /** Predict req/s of the default engine over the JDK engine's at {@code c} connections. */
    private static double speedup(List<Map<String, Object>> rows, int c) {
        double netty = Double.NaN;
        double jdk = Double.NaN;
        for (Map<String, Object> row : rows) {
            if (((Integer) row.get("connections")) == c) {
                double rps = ((HttpLoad.Result) row.get("predict1")).requestsPerSecond();
                if (ServingOptions.Engine.NETTY.id().equals(row.get("engine"))) {
                    netty = rps;
                } else {
                    jdk = rps;
                }
            }
        }
        return netty / jdk;
    }

    /** Predict at 8 connections while 200 clients hold connections with one byte sent. */
    private Map<String, Object> slowClients(ModelServer server, String body1, Duration warm, Duration dur)
            throws Exception {
        int n = 200;
        List<java.net.Socket> stalled = new ArrayList<>();
        HttpLoad.Result p1;
        int openDuring;
        try {
            for (int i = 0; i < n; i++) {
                java.net.Socket k = new java.net.Socket("127.0.0.1", server.port());
                k.getOutputStream().write('P');
                stalled.add(k);
            }
            p1 = HttpLoad.run(server.baseUrl() + "/v1/models/my_model:predict", body1, 8, warm, dur);
            openDuring = server.openConnections();
        } finally {
            for (java.net.Socket k : stalled) {
                k.close();
            }
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("engine", server.options().engine().id());
        m.put("stalledConnections", n);
        m.put("openConnectionsDuring", openDuring);
        m.put("predict1At8", p1);
        log("serving (%s) with %d stalled connections: predict 1 image at 8 connections %.0f req/s (p50 %.2f ms,"
                        + " p99 %.2f ms, %d errors)", server.options().engine().id(), n, p1.requestsPerSecond(),
                p1.p50Millis(), p1.p99Millis(), p1.errors());
        return m;
    }

    /**
     * 30 reloads of the tutorial model (60 without --quick) under 1-image predicts from 2
     * clients: VmRSS after each, and after a GC at the end ({@link ReloadBench}).
     */
    public void reloads(Path modelVersionDir) throws Exception {
        int n = quick ? 30 : 60;
        Map<String, Object> r = ReloadBench.run(modelVersionDir, Files.createDirectories(scratch.resolve("reloads")),
                ServingClient.requestBody(images(1), null), n, 2);
        results.put("reloads", r);
        log("%d reloads under load (%d answers, %d failed; open versions after: %d): RSS before %.0f MB, max %.0f MB,"
                        + " after %.0f MB (%.0f MB after a GC); growth from the 10th reload %.0f MB", n, r.get("answers"),
                r.get("failedRequests"), r.get("openVersionsAfter"), r.get("rssStartMB"), r.get("rssMaxMB"),
                r.get("rssEndMB"), r.get("rssAfterGcMB"), r.get("rssGrowthFrom10thReloadMB"));
    }

    private float[][] images(int n) {
        float[][] x = new float[n][784];
        for (int i = 0; i < n; i++) {
            test.copyScaled(i, x[i], 0);
        }
        return x;
    }

    /** Runs a supplier, recording an error instead of stopping the whole bench. */
    public void guard(String name, ThrowingRunnable r) {
        try {
            r.run();
        } catch (Exception | Error e) {
            results.put(name, Map.of("error", String.valueOf(e)));
            log("%s: FAILED: %s", name, e);
        }
    }

    /** A step that may throw. */
    public interface ThrowingRunnable {
        void run() throws Exception;
    }
}
