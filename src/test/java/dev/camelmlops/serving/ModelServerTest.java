package dev.camelmlops.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.camelmlops.data.Dataset;
import dev.camelmlops.model.Evaluator;
import dev.camelmlops.model.TrainedModel;
import dev.camelmlops.testing.Http;
import dev.camelmlops.testing.TinyFashion;
import dev.camelmlops.testing.TinyModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The embedded TF-Serving-compatible server over real HTTP, serving a model trained here. */
class ModelServerTest {
    @TempDir
    static Path templates;
    @TempDir
    Path base;

    static Path v1;
    static Path v2;
    static Dataset images = TinyFashion.dataset(8, 9);

    private ModelVersionWatcher watcher;
    private ModelServer server;
    private String url;

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
        server = new ModelServer(watcher, "127.0.0.1", 0, 4, 1_000_000);
        server.start();
        url = server.baseUrl() + "/v1/models/my_model";
    }

    @AfterEach
    void stop() {
        server.close();
        watcher.close();
    }

    static String instances(Dataset d, int n, boolean withSignature) {
        StringBuilder b = new StringBuilder("{");
        if (withSignature) {
            b.append("\"signature_name\": \"serving_default\", ");
        }
        b.append("\"instances\": ").append(images(d, n)).append("}");
        return b.toString();
    }

    /** n images as [n][28][28][1] nested lists, pixels scaled to [0,1]. */
    static String images(Dataset d, int n) {
        float[] px = new float[784];
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < n; i++) {
            d.copyScaled(i, px, 0);
            b.append(i == 0 ? "" : ",").append('[');
            for (int y = 0; y < 28; y++) {
                b.append(y == 0 ? "" : ",").append('[');
                for (int x = 0; x < 28; x++) {
                    b.append(x == 0 ? "" : ",").append('[').append(px[y * 28 + x]).append(']');
                }
                b.append(']');
            }
            b.append(']');
        }
        return b.append(']').toString();
    }

    private static void assertError(Http.Response r, int status, String fragment) {
        assertEquals(status, r.status(), r.body());
        JsonNode json = r.json();
        assertTrue(json.has("error"), r.body());
        assertTrue(json.get("error").asText().contains(fragment), r.body());
    }

    @Test
    void statusOfTheModelAndOfAVersion() {
        Http.Response r = Http.get(url);
        assertEquals(200, r.status(), r.body());
        JsonNode s = r.json().get("model_version_status").get(0);
        assertEquals("1", s.get("version").asText());
        assertTrue(s.get("version").isTextual());
        assertEquals("AVAILABLE", s.get("state").asText());
        assertEquals("OK", s.at("/status/error_code").asText());
        assertEquals(200, Http.get(url + "/versions/1").status());
        assertError(Http.get(url + "/versions/2"), 404, "version 2");
        assertError(Http.get(url + "/versions/abc"), 400, "positive integer");
        assertError(Http.get(server.baseUrl() + "/v1/models/other"), 404, "Servable not found");
        assertError(Http.get(server.baseUrl() + "/v2/nothing"), 404, "Malformed request");
    }

    @Test
    void metadataNestsSignatureDefsAsTfServingDoes() {
        Http.Response r = Http.get(url + "/metadata");
        assertEquals(200, r.status(), r.body());
        JsonNode m = r.json();
        assertEquals("my_model", m.at("/model_spec/name").asText());
        assertEquals("1", m.at("/model_spec/version").asText());
        JsonNode sig = m.at("/metadata/signature_def/signature_def/serving_default");
        assertEquals("tensorflow/serving/predict", sig.get("method_name").asText());
        assertEquals("DT_FLOAT", sig.at("/inputs/images/dtype").asText());
        assertEquals("-1", sig.at("/inputs/images/tensor_shape/dim/0/size").asText());
        assertEquals("28", sig.at("/inputs/images/tensor_shape/dim/1/size").asText());
        assertEquals("10", sig.at("/outputs/probabilities/tensor_shape/dim/1/size").asText());
        assertEquals(200, Http.get(url + "/versions/1/metadata").status());
        assertError(Http.post(url + "/metadata", "{}"), 400, "takes GET");
        assertError(Http.get(url + "/versions/7/metadata"), 404, "Servable not found");
    }

    @Test
    void theSeedsRequestAndTheColumnarFormAnswerWithTheLocalModelsProbabilities() {
        float[][] local;
        try (TrainedModel m = TrainedModel.load(base.resolve("1"))) {
            local = new Evaluator().predict(m, images, 3);
        }
        Http.Response r = Http.post(url + ":predict", instances(images, 3, true));
        assertEquals(200, r.status(), r.body());
        JsonNode p = r.json().get("predictions");
        assertEquals(3, p.size());
        for (int i = 0; i < 3; i++) {
            assertEquals(10, p.get(i).size());
            for (int c = 0; c < 10; c++) {
                assertEquals(local[i][c], p.get(i).get(c).floatValue(), 1e-6);
            }
        }
        Http.Response col = Http.post(url + "/versions/1:predict", "{\"inputs\": " + images(images, 2) + "}");
        assertEquals(200, col.status(), col.body());
        JsonNode o = col.json().get("outputs");
        assertEquals(2, o.size());
        assertEquals(local[1][4], o.get(1).get(4).floatValue(), 1e-6);
        Http.Response named = Http.post(url + ":predict", "{\"inputs\": {\"images\": " + images(images, 1) + "}}");
        assertEquals(200, named.status(), named.body());
        Http.Response rowObjects = Http.post(url + ":predict", "{\"instances\": [{\"images\": "
                + images(images, 1).substring(1, images(images, 1).length() - 1) + "}]}");
        assertEquals(200, rowObjects.status(), rowObjects.body());
    }

    @Test
    void badRequestsGetA4xxAndTheServerKeepsServing() {
        String img = images(images, 1);
        assertError(Http.post(url + ":predict", "{\"instances\": [1, 2"), 400, "malformed JSON");
        assertError(Http.post(url + ":predict", "[1, 2]"), 400, "JSON object");
        assertError(Http.post(url + ":predict", "{\"instances\": " + img + ", \"inputs\": " + img + "}"), 400,
                "both");
        assertError(Http.post(url + ":predict", "{\"signature_name\": \"serving_default\"}"), 400, "neither");
        assertError(Http.post(url + ":predict", "{\"instances\": [[[[\"a\"]]]]}"), 400, "non-numeric");
        assertError(Http.post(url + ":predict", "{\"instances\": [[[[0.1],[0.2]],[[0.3]]]]}"), 400, "ragged");
        String rank3 = "{\"instances\": [" + "[" + "[0.5],".repeat(27) + "[0.5]],".repeat(27)
                + "[" + "[0.5],".repeat(27) + "[0.5]]" + "]}";
        Http.Response wrongRank = Http.post(url + ":predict", rank3.replace("[0.5]", "0.5"));
        assertEquals(400, wrongRank.status(), wrongRank.body());
        assertError(Http.post(url + ":predict", "{\"signature_name\": \"nope\", \"instances\": " + img + "}"), 400,
                "'nope' not found");
        assertError(Http.post(url + "/versions/x:predict", "{\"instances\": " + img + "}"), 400, "positive integer");
        assertError(Http.post(url + "/versions/9:predict", "{\"instances\": " + img + "}"), 404, "Servable not found");
        assertError(Http.get(url + ":predict"), 400, "POST");
        assertError(Http.post(url, "{}"), 400, "GET");
        assertError(Http.post(url + ":explain", "{}"), 400, "not supported");
        assertError(Http.post(url + ":classify", "{}"), 400, "key 'examples' is expected");
        assertError(Http.post(url + ":predict", "{\"instances\": [" + "0.5,".repeat(300_000) + "0.5]}"), 413, "limit");
        assertError(Http.post(url + ":predict", "{\"instances\": []}"), 400, "non-empty");

        assertEquals(200, Http.post(url + ":predict", instances(images, 2, false)).status(), "still serving");
    }

    /**
     * Four clients predict without pause while version 2 appears and is removed again; each
     * client runs on an executor, counts its answers and returns the count, so an assertion or
     * exception in a client fails the test (through its future), and every request is accounted
     * for. Each phase waits for 20 more answers (bounded) instead of sleeping.
     */
    @Test
    void aNewVersionReplacesTheOldWithoutLosingInFlightRequestsAndARollbackFallsBack() throws Exception {
        String body = instances(images, 4, true);
        java.util.concurrent.atomic.AtomicInteger ok = new java.util.concurrent.atomic.AtomicInteger();
        java.util.List<String> failures = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        java.util.concurrent.atomic.AtomicBoolean running = new java.util.concurrent.atomic.AtomicBoolean(true);
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        try {
            java.util.List<java.util.concurrent.Future<Integer>> clients = new java.util.ArrayList<>();
            for (int i = 0; i < 4; i++) {
                clients.add(pool.submit(() -> {
                    int mine = 0;
                    while (running.get()) {
                        Http.Response r = Http.post(url + ":predict", body);
                        if (r.status() == 200 && r.json().get("predictions").size() == 4) {
                            mine++;
                            ok.incrementAndGet();
                        } else {
                            failures.add(r.status() + " " + r.body());
                        }
                    }
                    return mine;
                }));
            }
            awaitMore(ok, 20, "before the new version");
            Path incoming = base.resolve(".incoming-2");
            TinyModels.copyTree(v2, incoming);
            Files.move(incoming, base.resolve("2"));
            watcher.poll();
            assertEquals(2, watcher.servedVersion());
            awaitMore(ok, 20, "on version 2");
            TinyModels.deleteTree(base.resolve("2"));
            watcher.poll();
            assertEquals(1, watcher.servedVersion(), "rollback: the previous version serves again");
            awaitMore(ok, 20, "after the rollback");
            running.set(false);
            int total = 0;
            for (java.util.concurrent.Future<Integer> c : clients) {
                total += c.get(30, java.util.concurrent.TimeUnit.SECONDS);
            }
            assertEquals(java.util.List.of(), failures);
            assertEquals(ok.get(), total, "every answer counted once");
            assertTrue(total >= 60, "requests answered in the three phases: " + total);
        } finally {
            running.set(false);
            pool.shutdownNow();
        }
        assertEquals("1", Http.get(url).json().at("/model_version_status/0/version").asText());
    }

    /** Waits (at most 30 s) until {@code count} has grown by {@code more}. */
    private static void awaitMore(java.util.concurrent.atomic.AtomicInteger count, int more, String phase)
            throws InterruptedException {
        int target = count.get() + more;
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (count.get() < target) {
            assertTrue(System.nanoTime() < deadline, more + " more answers " + phase + " within 30 s");
            Thread.sleep(5);
        }
    }

    /** Concurrent clients (their requests batched into shared calls) each get their own image's answer. */
    @Test
    void concurrentClientsEachGetTheAnswerForTheirOwnImage() throws Exception {
        Dataset many = TinyFashion.dataset(8, 21);
        float[][] local;
        try (TrainedModel m = TrainedModel.load(base.resolve("1"))) {
            local = new Evaluator().predict(m, many, 8);
        }
        java.util.List<String> failures = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(8);
        try {
            java.util.List<java.util.concurrent.Future<Integer>> clients = new java.util.ArrayList<>();
            for (int k = 0; k < 8; k++) {
                int image = k;
                float[] px = new float[784];
                many.copyScaled(image, px, 0);
                StringBuilder b = new StringBuilder("{\"instances\": [[");
                for (int y = 0; y < 28; y++) {
                    b.append(y == 0 ? "" : ",").append('[');
                    for (int x = 0; x < 28; x++) {
                        b.append(x == 0 ? "" : ",").append('[').append(px[y * 28 + x]).append(']');
                    }
                    b.append(']');
                }
                String body = b.append("]]}").toString();
                clients.add(pool.submit(() -> {
                    int right = 0;
                    for (int n = 0; n < 40; n++) {
                        Http.Response r = Http.post(url + ":predict", body);
                        JsonNode p = r.status() == 200 ? r.json().get("predictions") : null;
                        if (p == null || p.size() != 1) {
                            failures.add(r.status() + " " + r.body());
                            continue;
                        }
                        boolean same = true;
                        for (int c = 0; c < 10; c++) {
                            if (Math.abs(p.get(0).get(c).floatValue() - local[image][c]) > 1e-5) {
                                failures.add("image " + image + " class " + c + ": " + p.get(0).get(c) + " vs "
                                        + local[image][c]);
                                same = false;
                            }
                        }
                        right += same ? 1 : 0;
                    }
                    return right;
                }));
            }
            for (int k = 0; k < clients.size(); k++) {
                assertEquals(40, clients.get(k).get(60, java.util.concurrent.TimeUnit.SECONDS),
                        "client " + k + ": every one of its 40 answers is its own image's");
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(java.util.List.of(), failures);
    }

    @Test
    void aVersionThatFailsToLoadIsReportedAndThePreviousKeepsServing() throws Exception {
        Path broken = base.resolve("5");
        Files.createDirectories(broken.resolve("variables"));
        Files.writeString(broken.resolve("saved_model.pb"), "this is not a protobuf");
        watcher.poll();
        assertEquals(1, watcher.servedVersion());
        Http.Response r = Http.get(url + "/versions/5");
        assertEquals(200, r.status(), r.body());
        assertEquals("END", r.json().at("/model_version_status/0/state").asText());
        assertTrue(!r.json().at("/model_version_status/0/status/error_message").asText().isEmpty());
        assertEquals(200, Http.post(url + ":predict", instances(images, 1, false)).status());
    }
}
