package dev.camelmlops.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.camelmlops.data.Dataset;
import dev.camelmlops.testing.Http;
import dev.camelmlops.testing.TinyFashion;
import dev.camelmlops.testing.TinyModels;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code GET /monitoring/prometheus/metrics} over real HTTP, on a model trained here. */
class ServingMetricsTest {
    @TempDir
    static Path templates;
    @TempDir
    Path base;

    static Path v1;
    static Path v2;
    static final Dataset IMAGES = TinyFashion.dataset(8, 9);

    private ModelVersionWatcher watcher;
    private ModelServer server;
    private String model;
    private String metricsUrl;

    @BeforeAll
    static void models() {
        v1 = templates.resolve("v1");
        v2 = templates.resolve("v2");
        TinyModels.export(v1, 1);
        TinyModels.export(v2, 2);
    }

    @BeforeEach
    void start() throws Exception {
        TinyModels.copyTree(v1, base.resolve("1"));
        watcher = new ModelVersionWatcher("my_model", base, Duration.ofHours(1));
        watcher.start();
        server = new ModelServer(watcher, "127.0.0.1", 0, 2, 1_000_000);
        server.start();
        model = server.baseUrl() + "/v1/models/my_model";
        metricsUrl = server.baseUrl() + ServingMetrics.PATH;
    }

    @AfterEach
    void stop() {
        server.close();
        watcher.close();
    }

    // ---- a small parser of the exposition format, strict enough to catch what Prometheus refuses

    private static final Pattern SAMPLE = Pattern.compile(
            "([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{((?:[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\\\n]|\\\\[\\\\\"n])*\")"
                    + "(?:,[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\\\n]|\\\\[\\\\\"n])*\")*)?\\})? "
                    + "(-?[0-9]+(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|\\+Inf|-Inf|NaN)");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

    record Sample(String name, Map<String, String> labels, double value) {
    }

    record Exposition(Map<String, String> types, List<Sample> samples) {
        /** The one sample of {@code name} with exactly these labels, or null. */
        Double value(String name, Map<String, String> labels) {
            Double found = null;
            for (Sample s : samples) {
                if (s.name.equals(name) && s.labels.equals(labels)) {
                    assertEquals(null, found, "two samples " + name + labels);
                    found = s.value;
                }
            }
            return found;
        }

        double valueOr0(String name, Map<String, String> labels) {
            Double v = value(name, labels);
            return v == null ? 0 : v;
        }

        Set<String> labelValues(String name, String label) {
            Set<String> values = new TreeSet<>();
            for (Sample s : samples) {
                if (s.name.equals(name) && s.labels.containsKey(label)) {
                    values.add(s.labels.get(label));
                }
            }
            return values;
        }
    }

    /** Parses and checks: every line a sample or HELP/TYPE; HELP and TYPE once per family, before its samples. */
    static Exposition parse(String text) {
        assertTrue(text.endsWith("\n"), "the exposition ends with a newline");
        Map<String, String> types = new LinkedHashMap<>();
        Set<String> helps = new HashSet<>();
        List<Sample> samples = new ArrayList<>();
        for (String line : text.split("\n", -1)) {
            if (line.isEmpty()) {
                continue;
            }
            if (line.startsWith("# HELP ")) {
                String name = line.substring(7).split(" ", 2)[0];
                assertTrue(helps.add(name), "HELP twice for " + name);
                continue;
            }
            if (line.startsWith("# TYPE ")) {
                String[] f = line.substring(7).split(" ");
                assertEquals(2, f.length, line);
                assertTrue(Set.of("counter", "gauge", "histogram", "summary", "untyped").contains(f[1]), line);
                assertEquals(null, types.put(f[0], f[1]), "TYPE twice for " + f[0]);
                continue;
            }
            assertFalse(line.startsWith("#"), "a comment that is neither HELP nor TYPE: " + line);
            Matcher m = SAMPLE.matcher(line);
            assertTrue(m.matches(), "not a sample line `name{labels} value`: " + line);
            Map<String, String> labels = new LinkedHashMap<>();
            if (m.group(2) != null) {
                Matcher l = LABEL.matcher(m.group(2));
                while (l.find()) {
                    assertEquals(null, labels.put(l.group(1), l.group(2)), "label twice: " + line);
                }
            }
            String family = familyOf(m.group(1), types);
            assertNotNull(family, "sample before (or without) its TYPE: " + line);
            assertTrue(helps.contains(family), "no HELP for " + family);
            samples.add(new Sample(m.group(1), labels, Double.parseDouble(m.group(3).replace("Inf", "Infinity"))));
        }
        assertEquals(types.keySet(), helps, "HELP and TYPE for the same families");
        Exposition e = new Exposition(types, samples);
        checkHistograms(e);
        return e;
    }

    private static String familyOf(String sample, Map<String, String> types) {
        if (types.containsKey(sample)) {
            return types.get(sample).equals("histogram") ? null : sample;
        }
        for (String suffix : List.of("_bucket", "_sum", "_count")) {
            if (sample.endsWith(suffix)) {
                String f = sample.substring(0, sample.length() - suffix.length());
                if ("histogram".equals(types.get(f))) {
                    return f;
                }
            }
        }
        return null;
    }

    /** Buckets of each series: increasing le, cumulative counts, last +Inf equal to _count. */
    private static void checkHistograms(Exposition e) {
        for (Map.Entry<String, String> t : e.types.entrySet()) {
            if (!t.getValue().equals("histogram")) {
                continue;
            }
            String f = t.getKey();
            Map<Map<String, String>, List<Sample>> series = new LinkedHashMap<>();
            for (Sample s : e.samples) {
                if (s.name.equals(f + "_bucket")) {
                    Map<String, String> key = new HashMap<>(s.labels);
                    assertNotNull(key.remove("le"), "bucket without le: " + s);
                    series.computeIfAbsent(key, k -> new ArrayList<>()).add(s);
                }
            }
            for (Map.Entry<Map<String, String>, List<Sample>> s : series.entrySet()) {
                double le = Double.NEGATIVE_INFINITY;
                double count = 0;
                for (Sample b : s.getValue()) {
                    double bound = Double.parseDouble(b.labels.get("le").replace("Inf", "Infinity"));
                    assertTrue(bound > le, "le increasing in " + f + s.getKey());
                    assertTrue(b.value >= count, "cumulative buckets in " + f + s.getKey());
                    le = bound;
                    count = b.value;
                }
                assertEquals(Double.POSITIVE_INFINITY, le, "last bucket +Inf in " + f + s.getKey());
                assertEquals(count, e.value(f + "_count", new LinkedHashMap<>(s.getKey())), "+Inf = _count " + f);
                assertNotNull(e.value(f + "_sum", new LinkedHashMap<>(s.getKey())), "_sum of " + f + s.getKey());
            }
        }
    }

    private Exposition scrape() {
        HttpResponse<String> r = raw("GET", metricsUrl, null);
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("text/plain; version=0.0.4; charset=utf-8",
                r.headers().firstValue("Content-Type").orElse(null));
        return parse(r.body());
    }

    private static HttpResponse<String> raw(String method, String url, String body) {
        try {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30))
                    .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                            : HttpRequest.BodyPublishers.ofString(body));
            return HttpClient.newHttpClient().send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new AssertionError(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private static Map<String, String> labels(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }

    private static Map<String, String> count(String api, String status) {
        return labels("model_name", "my_model", "API", api, "status", status);
    }

    private static final String REQUESTS = ":tensorflow:serving:request_count";
    private static final String LATENCY = ":tensorflow:serving:request_latency";

    // ---- the tests

    @Test
    void theExpositionIsValidAndHasEveryFamily() {
        assertEquals(200, Http.post(model + ":predict", ModelServerTest.instances(IMAGES, 1, false)).status());
        Exposition e = scrape();
        assertEquals(Map.of(
                REQUESTS, "counter",
                LATENCY, "histogram",
                ":tensorflow:cc:saved_model:load_attempt_count", "counter",
                ":tensorflow:cc:saved_model:load_latency", "counter",
                "camel_mlops_served_model_version", "gauge",
                "jvm_memory_used_bytes", "gauge",
                "jvm_memory_committed_bytes", "gauge",
                "process_resident_memory_bytes", "gauge"), e.types);
        Map<String, String> predict = labels("model_name", "my_model", "API", "predict", "entrypoint", "REST");
        // TF Serving's buckets: Exponential(10, 1.8, 33) in microseconds, printed as absl prints a double.
        List<String> le = new ArrayList<>();
        for (Sample s : e.samples) {
            if (s.name.equals(LATENCY + "_bucket") && s.labels.get("API").equals("predict")) {
                le.add(s.labels.get("le"));
            }
        }
        assertEquals(34, le.size());
        assertEquals(List.of("10", "18", "32.4", "58.32", "104.976", "188.957"), le.subList(0, 6));
        assertEquals(List.of("1102", "1.27482e+06", "1.47476e+09", "+Inf"),
                List.of(le.get(8), le.get(20), le.get(32), le.get(33)));
        assertEquals(1.0, e.value(LATENCY + "_count", predict));
        assertTrue(e.value(LATENCY + "_sum", predict) > 0, "latency in microseconds");
        assertTrue(e.value("jvm_memory_used_bytes", labels("area", "heap")) > 0);
        assertTrue(e.value("jvm_memory_committed_bytes", labels("area", "nonheap")) > 0);
        double rss = e.value("process_resident_memory_bytes", labels());
        assertTrue(rss > 50e6, "RSS of a JVM with TensorFlow loaded, in bytes: " + rss);
    }

    @Test
    void requestsAreCountedExactlyByModelApiAndStatus() {
        int k = 5;
        String good = ModelServerTest.instances(IMAGES, 1, false);
        for (int i = 0; i < k; i++) {
            assertEquals(200, Http.post(model + ":predict", good).status());
        }
        assertEquals(400, Http.post(model + ":predict", "{\"instances\": [[1,2]").status());
        assertEquals(400, Http.post(model + ":predict", "{\"nothing\": 1}").status());
        assertEquals(404, Http.post(model + "/versions/9:predict", good).status());
        assertEquals(400, raw("GET", model + ":predict", null).statusCode());
        assertEquals(200, Http.get(model).status());
        assertEquals(200, Http.get(model + "/metadata").status());
        assertEquals(404, Http.get(model + "/versions/3/metadata").status());
        // The metrics endpoint: another method is refused, and neither it nor a scrape is counted.
        HttpResponse<String> post = raw("POST", metricsUrl, "x");
        assertEquals(405, post.statusCode());
        assertTrue(post.body().contains("takes GET"), post.body());
        scrape();

        Exposition e = scrape();
        assertEquals(k, e.valueOr0(REQUESTS, count("predict", "OK")));
        assertEquals(3, e.valueOr0(REQUESTS, count("predict", "INVALID_ARGUMENT")));
        assertEquals(1, e.valueOr0(REQUESTS, count("predict", "NOT_FOUND")));
        assertEquals(1, e.valueOr0(REQUESTS, count("status", "OK")));
        assertEquals(1, e.valueOr0(REQUESTS, count("metadata", "OK")));
        assertEquals(1, e.valueOr0(REQUESTS, count("metadata", "NOT_FOUND")));
        double total = e.samples.stream().filter(s -> s.name.equals(REQUESTS)).mapToDouble(Sample::value).sum();
        assertEquals(k + 3 + 1 + 1 + 1 + 1, total, "nothing else counted (scrapes and the refused POST are not)");
        // Latency as TF Serving records it: successful requests only.
        assertEquals(k, e.valueOr0(LATENCY + "_count",
                labels("model_name", "my_model", "API", "predict", "entrypoint", "REST")));
    }

    @Test
    void loadAttemptsShowTheVersionThatFailedAndTheOneThatLoaded() throws Exception {
        Path broken = base.resolve("5");
        Files.createDirectories(broken.resolve("variables"));
        Files.writeString(broken.resolve("saved_model.pb"), "this is not a protobuf");
        watcher.poll();
        assertEquals(1, watcher.servedVersion());
        Exposition e = scrape();
        String attempts = ":tensorflow:cc:saved_model:load_attempt_count";
        assertEquals(1.0, e.value(attempts, labels("model_path", base.resolve("1").toString(), "status", "success")));
        assertEquals(1.0, e.value(attempts, labels("model_path", broken.toString(), "status", "fail")));
        assertEquals(null, e.value(attempts, labels("model_path", broken.toString(), "status", "success")));
        assertEquals(null, e.value(attempts, labels("model_path", base.resolve("1").toString(), "status", "fail")));
        double micros = e.value(":tensorflow:cc:saved_model:load_latency", labels("model_path",
                base.resolve("1").toString()));
        assertTrue(micros > 1000 && micros < 600e6, "load latency in microseconds: " + micros);
        assertEquals(null, e.value(":tensorflow:cc:saved_model:load_latency", labels("model_path", broken.toString())));
    }

    @Test
    void theServedVersionGaugeFollowsAVersionChange() throws Exception {
        String gauge = "camel_mlops_served_model_version";
        assertEquals(1.0, scrape().value(gauge, labels("model_name", "my_model")));
        TinyModels.copyTree(v2, base.resolve(".incoming-2"));
        Files.move(base.resolve(".incoming-2"), base.resolve("2"));
        watcher.poll();
        assertEquals(2.0, scrape().value(gauge, labels("model_name", "my_model")));
        TinyModels.deleteTree(base.resolve("2"));
        watcher.poll();
        assertEquals(1.0, scrape().value(gauge, labels("model_name", "my_model")), "rollback");
        TinyModels.deleteTree(base.resolve("1"));
        watcher.poll();
        assertEquals(0.0, scrape().value(gauge, labels("model_name", "my_model")), "nothing served");
    }

    @Test
    void randomModelNamesInUrlsAddNoLabelValues() {
        String good = ModelServerTest.instances(IMAGES, 1, false);
        assertEquals(200, Http.post(model + ":predict", good).status());
        int n = 40;
        for (int i = 0; i < n; i++) {
            String name = "m" + UUID.randomUUID().toString().replace("-", "");
            assertEquals(404, Http.post(server.baseUrl() + "/v1/models/" + name + ":predict", good).status());
            assertEquals(404, Http.get(server.baseUrl() + "/v1/models/" + name + "/versions/1").status());
            assertEquals(400, Http.post(server.baseUrl() + "/v1/models/my_model:" + name.replaceAll("[0-9]", "x"),
                    good).status());
            // my_model as a prefix of another name is another name.
            assertEquals(404, Http.get(server.baseUrl() + "/v1/models/my_model" + i).status());
        }
        Exposition e = scrape();
        assertEquals(Set.of("", "my_model"), e.labelValues(REQUESTS, "model_name"));
        assertEquals(Set.of("", "predict"), e.labelValues(REQUESTS, "API"));
        assertEquals(3 * n, e.valueOr0(REQUESTS, labels("model_name", "", "API", "", "status", "NOT_FOUND")));
        assertEquals(n, e.valueOr0(REQUESTS, count("", "INVALID_ARGUMENT")), "unknown verbs: API \"\"");
        assertEquals(1, e.valueOr0(REQUESTS, count("predict", "OK")));
        long series = e.samples.stream().filter(s -> s.name.startsWith(":tensorflow:serving:")).count();
        assertTrue(series < 40, "series do not grow with the names asked: " + series);
    }

    @Test
    void theJdkEngineServesTheSameEndpoint() throws Exception {
        try (ModelServer jdk = new ModelServer(watcher,
                ServingOptions.of("127.0.0.1", 0, 2, 1_000_000).withEngine(ServingOptions.Engine.JDK))) {
            jdk.start();
            assertEquals(200, Http.post(jdk.baseUrl() + "/v1/models/my_model:predict",
                    ModelServerTest.instances(IMAGES, 1, false)).status());
            HttpResponse<String> r = raw("GET", jdk.baseUrl() + ServingMetrics.PATH, null);
            assertEquals(200, r.statusCode(), r.body());
            assertEquals(ServingMetrics.CONTENT_TYPE, r.headers().firstValue("Content-Type").orElse(null));
            assertEquals(1.0, parse(r.body()).value(REQUESTS, count("predict", "OK")));
            assertEquals(405, raw("DELETE", jdk.baseUrl() + ServingMetrics.PATH, null).statusCode());
        }
    }

    @Test
    void labelValuesAreEscapedAndStatusesNamedAsTfServingNamesThem() {
        assertEquals("a\\\"b\\\\c\\nd", ServingMetrics.escape("a\"b\\c\nd"));
        assertEquals("/models/my_model/1", ServingMetrics.escape("/models/my_model/1"));
        assertEquals(ServingMetrics.Code.OK, ServingMetrics.Code.ofHttp(200));
        assertEquals(ServingMetrics.Code.INVALID_ARGUMENT, ServingMetrics.Code.ofHttp(400));
        assertEquals(ServingMetrics.Code.NOT_FOUND, ServingMetrics.Code.ofHttp(404));
        assertEquals(ServingMetrics.Code.INTERNAL, ServingMetrics.Code.ofHttp(500));
        assertEquals(ServingMetrics.Code.UNAVAILABLE, ServingMetrics.Code.ofHttp(503));
        ServingMetrics m = new ServingMetrics("we\"ird", () -> 3);
        m.loadAttempt(Path.of("/tmp/a\"b/1"), true, 2_000_000);
        Exposition e = parse(new String(m.scrape(), StandardCharsets.UTF_8));
        assertEquals(3.0, e.value("camel_mlops_served_model_version", labels("model_name", "we\\\"ird")));
        assertEquals(2000.0, e.value(":tensorflow:cc:saved_model:load_latency", labels("model_path", "/tmp/a\\\"b/1")));
    }

    /**
     * Prometheus' own checker, when installed ({@code promtool} on the PATH or named by the
     * environment variable PROMTOOL; Debian package {@code prometheus}).
     */
    @Test
    void promtoolAcceptsTheExposition() throws Exception {
        Path promtool = promtool();
        Assumptions.assumeTrue(promtool != null,
                "promtool not found (PATH or $PROMTOOL; Debian package 'prometheus'): exposition not checked by it");
        assertEquals(200, Http.post(model + ":predict", ModelServerTest.instances(IMAGES, 1, false)).status());
        assertEquals(400, Http.post(model + ":predict", "{}").status());
        byte[] text = raw("GET", metricsUrl, null).body().getBytes(StandardCharsets.UTF_8);
        Process p = new ProcessBuilder(promtool.toString(), "check", "metrics").redirectErrorStream(true).start();
        try (OutputStream in = p.getOutputStream()) {
            in.write(text);
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "promtool finished");
        // promtool parses first: a parse error is exit 1, lint remarks alone exit 3. TF Serving's
        // own names draw remarks (colons, a counter named _count, no _total suffix); a remark on
        // any other name, or any other kind of remark, is a failure.
        int exit = p.exitValue();
        assertTrue(exit == 0 || exit == 3, "promtool parse failure (exit " + exit + "):\n" + out);
        List<String> remarks = new ArrayList<>();
        for (String line : out.split("\n")) {
            boolean tfName = line.startsWith(":tensorflow:serving:") || line.startsWith(":tensorflow:cc:saved_model:");
            boolean tfNaming = line.endsWith("metric names should not contain ':'")
                    || line.endsWith("non-histogram and non-summary metrics should not have \"_count\" suffix")
                    || line.endsWith("counter metrics should have \"_total\" suffix");
            if (!line.isBlank() && !(tfName && tfNaming)) {
                remarks.add(line);
            }
        }
        assertEquals(List.of(), remarks, "promtool (exit " + exit + "):\n" + out);
    }

    private static Path promtool() {
        String env = System.getenv("PROMTOOL");
        if (env != null && Files.isExecutable(Path.of(env))) {
            return Path.of(env);
        }
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path p = Path.of(dir, "promtool");
            if (!dir.isEmpty() && Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }
}
