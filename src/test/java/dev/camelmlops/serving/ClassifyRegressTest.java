package dev.camelmlops.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.camelmlops.testing.ExampleModel;
import dev.camelmlops.testing.Http;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code :classify} and {@code :regress} over HTTP on a model of ours whose signatures parse
 * serialized tf.Examples ({@link ExampleModel}): real answers in TF Serving's formats, context
 * merged as TF Serving merges it, each hostile request refused with a 400 naming its defect, and
 * mutated and random bodies against the server in its own process, which must never answer 500
 * nor die.
 */
class ClassifyRegressTest {
    @TempDir
    static Path base;
    static ModelVersionWatcher watcher;
    static ModelServer server;
    static String url;

    @BeforeAll
    static void start() throws Exception {
        ExampleModel.export(base.resolve("1"));
        watcher = new ModelVersionWatcher("m", base, Duration.ofHours(1));
        server = new ModelServer(watcher, "127.0.0.1", 0, 2, 1 << 20);
        watcher.start();
        server.start();
        url = server.baseUrl() + "/v1/models/m";
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
        if (watcher != null) {
            watcher.close();
        }
    }

    private static void assertJson(String expected, Http.Response r) throws Exception {
        assertEquals(200, r.status(), r.body());
        assertEquals(Http.JSON.readTree(expected), r.json(), r.body());
    }

    private static void assertError(Http.Response r, int status, String fragment) {
        assertEquals(status, r.status(), r.body());
        String error = r.json().path("error").asText();
        assertTrue(error.contains(fragment), "expected '" + fragment + "' in: " + error);
    }

    @Test
    void classifiesAndRegressesSerializedExamples() throws Exception {
        String hi = Base64.getEncoder().encodeToString("hi".getBytes(StandardCharsets.UTF_8));
        assertJson("{\"results\": [[[\"a\", 2.0], [\"a!\", 3.0]], [[\"hi\", 0.5], [\"hi!\", 1.0]]]}",
                Http.post(url + ":classify", "{\"signature_name\": \"classify\", \"examples\": ["
                        + "{\"x\": 2.0, \"k\": 3, \"tag\": \"a\"}, {\"x\": [0.5], \"tag\": {\"b64\": \"" + hi + "\"}}]}"));
        // The context goes into every example; a feature both name is the example's (TF Serving's
        // concatenation of the serialized context and example: protobuf keeps a map key's last entry).
        assertJson("{\"results\": [6.0, 10.0]}", Http.post(url + "/versions/1:regress",
                "{\"signature_name\": \"regress\", \"context\": {\"k\": 4}, \"examples\": [{\"x\": 1.5}, {\"x\": 2.0, \"k\": 5}]}"));
        // true is int64 1, as in TF Serving; the tag from the context.
        assertJson("{\"results\": [[[\"ctx\", -1.25], [\"ctx!\", 1.0]]]}", Http.post(url + ":classify",
                "{\"signature_name\": \"classify\", \"context\": {\"tag\": [\"ctx\"]}, \"examples\": [{\"x\": -1.25, \"k\": true}]}"));
        // Non-finite floats written as TF Serving writes them: bare NaN / Infinity tokens.
        Http.Response inf = Http.post(url + ":regress", "{\"signature_name\": \"regress\", \"examples\": [{\"x\": Infinity}, {\"x\": NaN}]}");
        assertEquals(200, inf.status(), inf.body());
        assertEquals("{\"results\":[Infinity,NaN]}", inf.body().replace(" ", ""));
        // The model's defaults for absent features (k = 1, tag = "none").
        assertJson("{\"results\": [[[\"none\", 1.0], [\"none!\", 1.0]], [[\"none\", 2.0], [\"none!\", 1.0]]]}",
                Http.post(url + ":classify", "{\"signature_name\": \"classify\", \"examples\": [{\"x\": 1.0}, {\"x\": 2.0}]}"));
        // Scores alone: every label is "" (TF Serving's answer for half_plus_two's classify_x_to_y).
        assertJson("{\"results\": [[[\"\", 1.0], [\"\", 1.0]], [[\"\", 2.0], [\"\", 1.0]]]}",
                Http.post(url + ":classify", "{\"signature_name\": \"classify_pair\", \"examples\": [{\"x\": 1.0}, {\"x\": 2.0}]}"));

        String metrics = Http.get(server.baseUrl() + ServingMetrics.PATH).body();
        assertTrue(metrics.contains(":tensorflow:serving:request_count{model_name=\"m\",API=\"classify\",status=\"OK\"}"),
                metrics);
        assertTrue(metrics.contains(":tensorflow:serving:request_count{model_name=\"m\",API=\"regress\",status=\"OK\"}"),
                metrics);
    }

    @Test
    void hostileRequestsGetA400NamingTheDefectAndTheServerGoesOn() throws Exception {
        String c = url + ":classify";
        String r = url + ":regress";
        String reg = "{\"signature_name\": \"regress\", \"examples\": ";
        // The body (json_tensor.cc's refusals).
        assertError(Http.post(c, "{"), 400, "malformed JSON");
        assertError(Http.post(c, "[1]"), 400, "must be a JSON object");
        assertError(Http.post(c, "{\"signature_name\": 5, \"examples\": [{}]}"), 400, "'signature_name' key must be a string");
        assertError(Http.post(r, "{\"signature_name\": \"regress\"}"), 400, "When method is regress, key 'examples' is expected");
        assertError(Http.post(r, reg + "{\"x\": 1.0}}"), 400, "Expecting 'examples' value to be an list/array");
        assertError(Http.post(r, reg + "[]}"), 400, "'examples' value is an empty array");
        assertError(Http.post(r, reg + "[[{\"x\": 1.0}]]}"), 400, "Example must be JSON object but got JSON Array");
        assertError(Http.post(r, "{\"context\": [{\"k\": 1}], \"examples\": [{\"x\": 1.0}]}"), 400,
                "Example must be JSON object but got JSON Array (context)");
        assertError(Http.post(r, reg + "[{\"x\": [1.0, null]}]}"), 400, "Feature: x has element with unexpected JSON type: Null");
        assertError(Http.post(r, reg + "[{\"k\": [10, 10.0]}]}"), 400, "Unexpected element type in feature: k expecting type: int64");
        assertError(Http.post(r, reg + "[{\"x\": [[1.0], 2.0]}]}"), 400, "Feature: x has element with unexpected JSON type: Array");
        assertError(Http.post(r, reg + "[{\"tag\": {\"text\": \"a\"}}]}"), 400, "Feature: tag has element with unexpected JSON type: Object");
        assertError(Http.post(r, reg + "[{\"k\": [20, 18446744073709551603]}]}"), 400, "Only int64_t is supported");
        assertError(Http.post(r, reg + "[{\"tag\": {\"b64\": \"!!\"}}]}"), 400, "Unable to base64 decode");
        assertError(Http.post(r, reg + "[{\"x\": 1e39}]}"), 400, "outside the range of float32");
        // Bounded: a 200 kB context repeated over 400 tiny examples would be 80 MB of examples.
        assertError(Http.post(r, "{\"context\": {\"tag\": \"" + "z".repeat(200_000) + "\"}, \"examples\": ["
                + "{},".repeat(399) + "{}]}"), 400, "bytes of serialized tf.Example");
        // The signature (classifier.cc / regressor.cc's refusals).
        assertError(Http.post(c, "{\"signature_name\": \"nope\", \"examples\": [{\"x\": 1.0}]}"), 400,
                "No signature was found with the name: nope");
        assertError(Http.post(c, "{\"examples\": [{\"x\": 1.0}]}"), 400, "No classification inputs found in SignatureDef");
        assertError(Http.post(r, "{\"examples\": [{\"x\": 1.0}]}"), 400, "No regression inputs found in SignatureDef");
        assertError(Http.post(r, "{\"signature_name\": \"classify\", \"examples\": [{\"x\": 1.0}]}"), 400,
                "Expected one output Tensor.");
        assertError(Http.post(c, "{\"signature_name\": \"regress\", \"examples\": [{\"x\": 1.0}]}"), 400,
                "Expected classification signature outputs to contain at least one of \"classes\" or \"scores\"");
        assertError(Http.post(r, "{\"signature_name\": \"regress_int64\", \"examples\": [{\"x\": 1.0}]}"), 400,
                "Expected output Tensor of DT_FLOAT");
        assertError(Http.post(c, "{\"signature_name\": \"classify_pair\", \"examples\": [{\"x\": 1.0}]}"), 400,
                "input 'inputs' expects shape [2], got [1]");
        // Features the model's ParseExample does not take: TensorFlow's refusal, as a 400.
        assertError(Http.post(r, reg + "[{\"x\": \"text\"}]}"), 400,
                "Key: x, Index: 0.  Data types don't match. Data type: string but expected type: float");
        assertError(Http.post(r, reg + "[{\"x\": 1}]}"), 400, "Data type: int64 but expected type: float");
        assertError(Http.post(r, reg + "[{\"k\": 2}]}"), 400, "Feature: x (data type: float) is required but could not be found");
        assertError(Http.post(r, reg + "[{\"x\": [1.0, 2.0]}]}"), 400,
                "Key: x, Index: 0.  Number of float values != expected.  Values size: 2 but output shape: [1]");
        assertError(Http.post(r, reg + "[{\"x\": []}]}"), 400, "Feature: x (data type: float) is required");
        assertError(Http.post(r, reg + "[{\"x\": [" + "1.5,".repeat(100_000) + "1.5]}]}"), 400,
                "Values size: 100001 but output shape: [1]");
        // The request line.
        assertError(Http.get(c), 400, ":classify takes POST, not GET");
        assertError(Http.post(url + "/versions/7:regress", reg + "[{\"x\": 1.0}]}"), 404, "Servable not found");
        assertError(Http.post(url + ":explain", "{}"), 400, "not supported");

        assertJson("{\"results\": [2.0]}", Http.post(r, reg + "[{\"x\": 2.0}]}"));
    }

    /** Reads TF Serving's answers, which may hold the bare tokens NaN and Infinity. */
    private static final com.fasterxml.jackson.databind.ObjectMapper LENIENT = com.fasterxml.jackson.databind.json.JsonMapper
            .builder().enable(com.fasterxml.jackson.core.json.JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();
    private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /**
     * 400 bodies, generated and mutated from good ones, to the server in its own process (a
     * TensorFlow abort would end it): each answer a 200 with results or a 400/413 with an error,
     * never a 500; afterwards the process is alive and answers exactly as before.
     */
    @Test
    void fuzzedBodiesNeverGetA500NorKillTheServer() throws Exception {
        long seed = Long.getLong("fuzz.seed", System.nanoTime());
        System.out.println("ClassifyRegressTest fuzz seed " + seed + " (rerun with -Dfuzz.seed=" + seed + ")");
        Random rnd = new Random(seed);
        try (ServingFuzzTest.ServeProcess p = ServingFuzzTest.ServeProcess.start("m", base)) {
            String u = p.url + "/v1/models/m";
            String good = "{\"signature_name\": \"classify\", \"context\": {\"k\": 2}, \"examples\": [{\"x\": 1.0, \"tag\": \"t\"}]}";
            HttpResponse<String> before = send(u + ":classify", good.getBytes(StandardCharsets.UTF_8));
            assertEquals(200, before.statusCode(), before.body());
            int ok = 0;
            int tf = 0;
            List<String> seeds = List.of(good,
                    "{\"signature_name\": \"regress\", \"examples\": [{\"x\": 2.0, \"k\": 3}, {\"x\": [0.5]}]}",
                    "{\"signature_name\": \"classify_pair\", \"examples\": [{\"x\": 1.0}, {\"x\": 2.0, \"tag\": {\"b64\": \"aGk=\"}}]}");
            for (int i = 0; i < 400; i++) {
                byte[] body = i % 2 == 0 ? mutate(rnd, seeds.get(rnd.nextInt(seeds.size())).getBytes(StandardCharsets.UTF_8))
                        : random(rnd).getBytes(StandardCharsets.UTF_8);
                // Mostly the verb of the signature named, sometimes the other.
                boolean classify = new String(body, StandardCharsets.UTF_8).contains("\"classify") != (rnd.nextInt(10) == 0);
                String verb = classify ? ":classify" : ":regress";
                HttpResponse<String> resp = send(u + verb, body);
                int s = resp.statusCode();
                String shown = new String(body, StandardCharsets.UTF_8);
                shown = shown.length() > 200 ? shown.substring(0, 200) + "..." : shown;
                assertTrue(s == 200 || s == 400 || s == 413, s + " " + resp.body() + " for " + verb + " " + shown);
                String key = s == 200 ? "results" : "error";
                assertTrue(LENIENT.readTree(resp.body()).has(key), resp.body() + " for " + shown);
                ok += s == 200 ? 1 : 0;
                tf += s == 400 && resp.body().contains("Name: <unknown>") ? 1 : 0;
            }
            assertTrue(p.process.isAlive(), p.output());
            HttpResponse<String> after = send(u + ":classify", good.getBytes(StandardCharsets.UTF_8));
            assertEquals(before.body(), after.body());
            System.out.println("ClassifyRegressTest fuzz: 400 bodies, " + ok + " answered 200, " + tf
                    + " refused by TensorFlow's ParseExample");
        }
    }

    private static HttpResponse<String> send(String u, byte[] body) throws Exception {
        return CLIENT.send(HttpRequest.newBuilder(URI.create(u)).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static final String SPECIAL = " {}[]\",:0123456789.-etruflanNIb\\";

    private static byte[] mutate(Random rnd, byte[] b) {
        byte[] m = b.clone();
        int edits = 1 + rnd.nextInt(4);
        for (int e = 0; e < edits; e++) {
            int at = rnd.nextInt(m.length);
            switch (rnd.nextInt(4)) {
                case 0 -> m[at] = (byte) SPECIAL.charAt(rnd.nextInt(SPECIAL.length()));
                case 1 -> m = java.util.Arrays.copyOf(m, Math.max(1, at));
                case 2 -> {
                    byte[] n = new byte[m.length + 1];
                    System.arraycopy(m, 0, n, 0, at);
                    n[at] = (byte) rnd.nextInt(128);
                    System.arraycopy(m, at, n, at + 1, m.length - at);
                    m = n;
                }
                default -> m[at] = (byte) rnd.nextInt(256);
            }
        }
        return m;
    }

    private static final String[] NAMES = {"x", "k", "tag", "other", ""};
    private static final String[] SIGS = {"classify", "regress", "classify", "regress", "regress_int64", "classify_pair",
        "serving_default", "", "nope"};

    /**
     * A structurally plausible request: signature, context, examples and values drawn at random,
     * each part wrong with probability {@code dirt} (drawn per request), so that some requests are
     * right, many reach TensorFlow's ParseExample with a defect, and others are refused before.
     */
    private static String random(Random rnd) {
        double dirt = rnd.nextDouble() * 0.6;
        StringBuilder b = new StringBuilder("{");
        if (rnd.nextDouble() < dirt) {
            b.append("\"signature_name\": ").append(rnd.nextInt(5) == 0 ? "7" : "\"" + SIGS[rnd.nextInt(SIGS.length)] + "\"")
                    .append(", ");
        } else {
            b.append("\"signature_name\": \"").append(rnd.nextBoolean() ? "classify" : "regress").append("\", ");
        }
        if (rnd.nextInt(3) == 0) {
            b.append("\"context\": ").append(example(rnd, dirt, false)).append(", ");
        }
        b.append("\"examples\": ");
        if (rnd.nextDouble() < dirt / 10) {
            b.append(example(rnd, dirt, true));
        } else {
            int n = rnd.nextDouble() < dirt / 10 ? 0 : 1 + rnd.nextInt(rnd.nextInt(10) == 0 ? 300 : 4);
            List<String> ex = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                ex.add(rnd.nextDouble() < dirt / 10 ? value(rnd) : example(rnd, dirt, true));
            }
            b.append('[').append(String.join(", ", ex)).append(']');
        }
        return b.append('}').toString();
    }

    private static String example(Random rnd, double dirt, boolean withX) {
        List<String> fields = new ArrayList<>();
        for (String name : NAMES) {
            boolean present = name.equals("x") ? withX != rnd.nextDouble() < dirt : rnd.nextInt(3) == 0;
            if (present) {
                String v = rnd.nextDouble() >= dirt ? plain(rnd, name) : rnd.nextBoolean() ? list(rnd) : value(rnd);
                fields.add("\"" + name + "\": " + v);
            }
        }
        return "{" + String.join(", ", fields) + "}";
    }

    /** A value the model takes for {@code name}. */
    private static String plain(Random rnd, String name) {
        return switch (name) {
            case "x" -> Float.toString((rnd.nextFloat() - 0.5f) * 100);
            case "k" -> Integer.toString(rnd.nextInt(100) - 50);
            default -> "\"t" + rnd.nextInt(10) + "\"";
        };
    }

    private static String list(Random rnd) {
        int n = rnd.nextInt(8) == 0 ? rnd.nextInt(2000) : rnd.nextInt(3);
        List<String> vs = new ArrayList<>();
        String kind = null;
        for (int i = 0; i < n; i++) {
            String v = value(rnd);
            if (kind == null || rnd.nextInt(8) == 0) {
                kind = v;
            }
            vs.add(rnd.nextInt(8) == 0 ? v : kind);
        }
        return "[" + String.join(", ", vs) + "]";
    }

    private static String value(Random rnd) {
        return switch (rnd.nextInt(16)) {
            case 0 -> "null";
            case 1 -> "true";
            case 2 -> "[1.0]";
            case 3 -> "{\"b64\": \"aGk=\"}";
            case 4 -> "{\"b64\": \"*\"}";
            case 5 -> "{\"a\": 1}";
            case 6 -> "\"s" + rnd.nextInt(100) + "\"";
            case 7 -> Long.toString(rnd.nextLong());
            case 8 -> "18446744073709551600";
            case 9 -> "1e39";
            case 10 -> rnd.nextBoolean() ? "NaN" : "-Infinity";
            case 11 -> "123456789012345678901234567890";
            default -> Float.toString((rnd.nextFloat() - 0.5f) * 100);
        };
    }
}
