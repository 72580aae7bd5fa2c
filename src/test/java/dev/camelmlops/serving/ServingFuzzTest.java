package dev.camelmlops.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.camelmlops.testing.Http;
import dev.camelmlops.testing.TinyModels;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
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
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The invariant behind the request checks: nothing malformed reaches a TensorFlow call, because
 * TensorFlow's native code aborts the whole process on shapes that do not fit an op (a failed
 * CHECK cannot be caught). Thousands of generated requests (random ranks, sizes and nesting; NaN,
 * infinities, numbers beyond float32 and 5,000-digit numbers; strings, booleans, nulls, empty
 * lists, ragged lists, duplicate keys, trailing garbage, UTF-16, truncated and oversized bodies,
 * random byte mutations) go to the real server in its own process ({@code mlops serve}), for our
 * model and for TF Serving's half_plus_two when ../shared is present. Every answer must be
 * 200/400/404/413, every refusal a JSON {@code {"error": ...}}; where the right answer is known
 * (a well-formed request, a defect of a known kind) it must be that answer; and afterwards the
 * process is alive and answers a normal predict exactly as before.
 */
class ServingFuzzTest {
    static final int REQUESTS_PER_MODEL = 2_000;
    static final int MAX_BODY = 200_000;

    @TempDir
    Path tmp;

    /** A signature input: name and shape (-1 = any size). */
    record Input(String name, long[] shape) {
    }

    @Test
    void generatedRequestsNeverKillTheServerAndGetTheRightKindOfAnswer() throws Exception {
        TinyModels.export(tmp.resolve("ours/1"), 5);
        long seed = Long.getLong("fuzz.seed", System.nanoTime());
        System.out.println("ServingFuzzTest seed " + seed + " (rerun with -Dfuzz.seed=" + seed + ")");
        fuzz("my_model", tmp.resolve("ours"), new Input("images", new long[]{-1, 28, 28, 1}), seed, false);
        Path half = HalfPlusTwoFixtureTest.FIXTURES.resolve("saved_model_half_plus_two_cpu");
        if (Files.isDirectory(half)) {
            fuzz("half", half, new Input("x", new long[]{-1, 1}), seed + 1, true);
        } else {
            System.out.println("TF Serving fixtures not found at " + half + ": half_plus_two part skipped");
        }
    }

    private void fuzz(String model, Path base, Input input, long seed, boolean halfPlusTwo) throws Exception {
        try (ServeProcess server = ServeProcess.start(model, base)) {
            String url = server.url + "/v1/models/" + model;
            Generator gen = new Generator(new Random(seed), input);
            String normal = gen.valid(2);
            HttpResponse<String> before = send(url + ":predict", normal.getBytes(StandardCharsets.UTF_8));
            assertEquals(200, before.statusCode(), before.body());
            JsonNode expectedNormal = Http.parse(before.body());

            Map<String, int[]> outcomes = new TreeMap<>();
            List<String> failures = new ArrayList<>();
            for (int i = 0; i < REQUESTS_PER_MODEL; i++) {
                Generator.Case c = gen.next();
                String target = c.kind().equals("unknown-model") ? server.url + "/v1/models/nope:predict"
                        : c.kind().equals("unknown-version") ? url + "/versions/999:predict" : url + ":predict";
                HttpResponse<String> r;
                try {
                    r = send(target, c.body());
                } catch (IOException e) {
                    failures.add(c.kind() + ": no answer (" + e + ") to " + preview(c.body()));
                    assertTrue(server.process.isAlive(), "the server died on " + c.kind() + ": " + preview(c.body())
                            + "\n" + server.output());
                    continue;
                }
                int s = r.statusCode();
                outcomes.computeIfAbsent(c.kind(), k -> new int[4])[slot(s)]++;
                String problem = check(c, r, halfPlusTwo);
                if (problem != null) {
                    failures.add(c.kind() + ": " + problem + " for " + preview(c.body()));
                }
                if (!server.process.isAlive()) {
                    failures.add("the server died after " + c.kind() + ": " + preview(c.body()));
                    break;
                }
            }
            rawSocketAbuse(server);
            System.out.println(model + ": outcomes per kind [200, 400, 404, 413]:");
            int total = 0;
            for (Map.Entry<String, int[]> e : outcomes.entrySet()) {
                System.out.println("  " + e.getKey() + " " + Arrays.toString(e.getValue()));
                total += Arrays.stream(e.getValue()).sum();
            }
            System.out.println("  total " + total);
            assertTrue(server.process.isAlive(), "the server process died:\n" + server.output());
            assertEquals(List.of(), failures.subList(0, Math.min(5, failures.size())),
                    failures.size() + " wrong answers (first 5 shown)");
            assertTrue(total >= REQUESTS_PER_MODEL, "requests answered: " + total);
            HttpResponse<String> after = send(url + ":predict", normal.getBytes(StandardCharsets.UTF_8));
            assertEquals(200, after.statusCode(), after.body());
            assertEquals(expectedNormal, Http.parse(after.body()), "a normal predict answers as before");
        }
    }

    private static int slot(int status) {
        return switch (status) {
            case 200 -> 0;
            case 400 -> 1;
            case 404 -> 2;
            case 413 -> 3;
            default -> throw new AssertionError("status " + status + " is not one of 200/400/404/413");
        };
    }

    /** What is wrong with the answer, or null. */
    private static String check(Generator.Case c, HttpResponse<String> r, boolean halfPlusTwo) {
        int s = r.statusCode();
        if (s != 200 && s != 400 && s != 404 && s != 413) {
            return "status " + s + ": " + r.body();
        }
        JsonNode json;
        try {
            json = Http.JSON.readTree(r.body());
        } catch (IOException e) {
            return "answer is not JSON: " + r.body();
        }
        if (s != 200 && (json == null || !json.isObject() || !json.path("error").isTextual())) {
            return "refusal without {\"error\": ...}: " + r.body();
        }
        if (s != 200) {
            String error = json.get("error").asText();
            for (String internal : List.of("StreamReadFeature", "StreamReadConstraints", "[Source", "fasterxml",
                    "Exception", "internal error")) {
                if (error.contains(internal)) {
                    return "error text shows internals: " + error;
                }
            }
        }
        if (c.expected() != 0 && c.expected() != s) {
            return "expected " + c.expected() + ", got " + s + ": " + abbreviate(r.body());
        }
        if (s == 200 && c.values() != null) {
            JsonNode p = json.has("predictions") ? json.get("predictions") : json.get("outputs");
            if (p == null || !p.isArray() || p.size() != c.rows()) {
                return "answer has not " + c.rows() + " rows: " + abbreviate(r.body());
            }
            if (halfPlusTwo) {
                for (int i = 0; i < c.rows(); i++) {
                    JsonNode v = p.get(i).isArray() ? p.get(i).get(0) : p.get(i);
                    double want = 0.5 * (float) c.values()[i] + 2;
                    if (v == null || Math.abs(v.asDouble() - want) > 1e-4 * Math.max(1, Math.abs(want))) {
                        return "row " + i + ": expected " + want + ", got " + v;
                    }
                }
            } else {
                for (JsonNode row : p) {
                    double sum = 0;
                    for (JsonNode v : row) {
                        sum += v.asDouble();
                    }
                    if (row.size() != 10 || Math.abs(sum - 1) > 1e-3) {
                        return "a row is not 10 probabilities summing to 1: " + row;
                    }
                }
            }
        }
        return null;
    }

    /** HTTP-level abuse on plain sockets: the server must stay up. */
    private static void rawSocketAbuse(ServeProcess server) throws Exception {
        String[] requests = {
            // declares more body than it sends, then closes
            "POST /v1/models/x:predict HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n{\"instances\":",
            // a request line only
            "GET /v1/models/my_model HTTP/1.1\r\n",
            // garbage
            "\u0000\u0001\u0002 NOT HTTP\r\n\r\n",
            // a header without a colon
            "GET / HTTP/1.1\r\nbroken header\r\n\r\n",
        };
        for (String req : requests) {
            try (Socket s = new Socket("127.0.0.1", server.port)) {
                s.setSoTimeout(5000);
                OutputStream out = s.getOutputStream();
                out.write(req.getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                s.shutdownOutput();
                try {
                    s.getInputStream().readAllBytes();
                } catch (IOException e) {
                    // a reset or a timeout is an acceptable end of such a connection
                }
            }
            assertTrue(server.process.isAlive(), "the server died on: " + req);
        }
    }

    private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private static HttpResponse<String> send(String url, byte[] body) throws IOException, InterruptedException {
        return CLIENT.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String preview(byte[] body) {
        return abbreviate(new String(body, StandardCharsets.UTF_8));
    }

    private static String abbreviate(String s) {
        return s.length() > 160 ? s.substring(0, 160) + "... (" + s.length() + " chars)" : s;
    }

    /** Request bodies of many kinds, each with the answer it must get when that is known (0: any). */
    static final class Generator {
        record Case(String kind, byte[] body, int expected, int rows, double[] values) {
        }

        private final Random rnd;
        private final Input input;
        private final String[] kinds = {"valid", "valid-columnar", "valid-named", "random-shape", "deep", "special-numbers",
                "float32-overflow", "double-overflow", "long-number", "non-numeric", "empty-list", "ragged",
                "duplicate-key", "trailing-garbage", "two-documents", "utf16", "truncated", "oversized", "mutated",
                "wrong-top-level", "unknown-signature", "bad-signature-type", "empty-signature", "unknown-model",
                "unknown-version", "both-forms", "neither-form", "extra-field"};

        Generator(Random rnd, Input input) {
            this.rnd = rnd;
            this.input = input;
        }

        Case next() {
            String kind = kinds[rnd.nextInt(kinds.length)];
            int rows = 1 + rnd.nextInt(3);
            double[] values = new double[rows];
            String v = value(rows, values);
            String body;
            return switch (kind) {
                case "valid" -> new Case(kind, utf8(obj("instances", v)), 200, rows, values);
                case "valid-columnar" -> new Case(kind, utf8(obj("inputs", v)), 200, rows, values);
                case "valid-named" -> new Case(kind, utf8("{\"inputs\":{\"" + input.name() + "\":" + v + "}}"), 200,
                        rows, values);
                case "random-shape" -> {
                    long[] shape = randomShape();
                    yield new Case(kind, utf8(obj(rnd.nextBoolean() ? "instances" : "inputs", nested(shape))),
                            compatible(shape) ? 200 : 400, 0, null);
                }
                case "deep" -> {
                    int depth = 10 + rnd.nextInt(400);
                    yield new Case(kind, utf8(obj("instances", "[".repeat(depth) + "0.5" + "]".repeat(depth))), 400,
                            0, null);
                }
                case "special-numbers" -> new Case(kind, utf8(obj("instances",
                        replaceSomeNumber(v, pick("NaN", "Infinity", "-Infinity")))), 200, rows, null);
                case "float32-overflow" -> new Case(kind, utf8(obj("instances",
                        replaceSomeNumber(v, pick("1e39", "-3.5e38", "1" + "0".repeat(40 + rnd.nextInt(500)))))), 400,
                        0, null);
                case "double-overflow" -> new Case(kind, utf8(obj("instances", replaceSomeNumber(v, pick("1e400",
                        "-1e309", "2e308")))), 400, 0, null);
                case "long-number" -> new Case(kind, utf8(obj("instances", replaceSomeNumber(v,
                        "0." + "1".repeat(1000 + rnd.nextInt(4000))))), 400, 0, null);
                case "non-numeric" -> new Case(kind, utf8(obj("instances", replaceSomeNumber(v,
                        pick("\"a\"", "true", "null", "{}", "\"0.5\"", "false")))), 400, 0, null);
                case "empty-list" -> new Case(kind, utf8(obj("instances", replaceSomeNumber(v, "[]"))), 400, 0, null);
                case "ragged" -> {
                    String ragged = v.replaceFirst("\\],\\[", "],[0.5,");
                    yield new Case(kind, utf8(obj("instances", ragged)), ragged.equals(v) ? 200 : 400, 0, null);
                }
                case "duplicate-key" -> new Case(kind, utf8("{\"instances\":" + v + ",\"instances\":" + v + "}"), 400, 0,
                        null);
                case "trailing-garbage" -> new Case(kind, utf8(obj("instances", v) + pick(" x", "]", "}", ",", "0")), 400,
                        0, null);
                case "two-documents" -> new Case(kind, utf8(obj("instances", v) + obj("inputs", v)), 400, 0, null);
                case "utf16" -> new Case(kind, obj("instances", v).getBytes(rnd.nextBoolean() ? StandardCharsets.UTF_16
                        : StandardCharsets.UTF_16LE), 400, 0, null);
                case "truncated" -> {
                    body = obj("instances", v);
                    yield new Case(kind, utf8(body.substring(0, rnd.nextInt(body.length() - 1))), 400, 0, null);
                }
                case "oversized" -> new Case(kind, utf8("{\"instances\":[" + "0.5,".repeat(MAX_BODY / 4 + 10) + "0.5]}"),
                        413, 0, null);
                case "mutated" -> {
                    byte[] b = utf8(obj("instances", v));
                    int[] bytes = {'[', ']', ',', '"', '{', '}', '-', 'e', '9', ' ', 0xFF, 0x00, '\\', 'N'};
                    for (int k = 1 + rnd.nextInt(4); k > 0; k--) {
                        b[rnd.nextInt(b.length)] = (byte) bytes[rnd.nextInt(bytes.length)];
                    }
                    yield new Case(kind, b, 0, 0, null);
                }
                case "wrong-top-level" -> new Case(kind, utf8(pick("[" + v + "]", "5", "\"instances\"", "null", "[]",
                        "true")), 400, 0, null);
                case "unknown-signature" -> new Case(kind, utf8("{\"signature_name\":\"nope" + rnd.nextInt(99)
                        + "\",\"instances\":" + v + "}"), 400, 0, null);
                case "bad-signature-type" -> new Case(kind, utf8("{\"signature_name\":" + pick("1", "[]", "{}", "null", "true")
                        + ",\"instances\":" + v + "}"), 400, 0, null);
                case "empty-signature" -> new Case(kind, utf8("{\"signature_name\":\"\",\"instances\":" + v + "}"), 200,
                        rows, values);
                case "unknown-model", "unknown-version" -> new Case(kind, utf8(obj("instances", v)), 404, 0, null);
                case "both-forms" -> new Case(kind, utf8("{\"instances\":" + v + ",\"inputs\":" + v + "}"), 400, 0, null);
                case "neither-form" -> new Case(kind, utf8(pick("{}", "{\"signature_name\":\"serving_default\"}",
                        "{\"instance\":" + v + "}")), 400, 0, null);
                case "extra-field" -> new Case(kind, utf8("{\"instances\":[{\"" + input.name() + "\":"
                        + row(values, 0, false) + ",\"extra\":1}]}"), 400, 0, null);
                default -> throw new IllegalStateException(kind);
            };
        }

        /** A well-formed request of {@code rows} rows (with or without trailing unit dims); row values noted. */
        String valid(int rows) {
            return obj("instances", value(rows, new double[rows]));
        }

        private String value(int rows, double[] firsts) {
            boolean bare = rnd.nextBoolean();
            StringBuilder b = new StringBuilder("[");
            for (int r = 0; r < rows; r++) {
                firsts[r] = Math.round(rnd.nextDouble() * 1000) / 1000.0;
                b.append(r == 0 ? "" : ",").append(row(firsts, r, bare));
            }
            return b.append(']').toString();
        }

        /** One row: for half_plus_two a bare number or [number]; for images a 28x28(x1) image. */
        private String row(double[] firsts, int r, boolean bare) {
            long[] s = input.shape();
            if (s.length == 2) {
                return bare ? Double.toString(firsts[r]) : "[" + firsts[r] + "]";
            }
            StringBuilder b = new StringBuilder("[");
            for (int y = 0; y < s[1]; y++) {
                b.append(y == 0 ? "" : ",").append('[');
                for (int x = 0; x < s[2]; x++) {
                    double px = (y == 0 && x == 0) ? firsts[r] : ((y * 31 + x * 7 + r) % 11) / 10.0;
                    b.append(x == 0 ? "" : ",").append('[').append(px).append(']');
                }
                b.append(']');
            }
            return b.append(']').toString();
        }

        /**
         * The fitting shapes (the oracle): the signature's rank with fixed sizes matched, or fewer
         * dimensions when the ones left out are all fixed at 1; no empty dimension.
         */
        boolean compatible(long[] shape) {
            long[] want = input.shape();
            for (long d : shape) {
                if (d == 0) {
                    return false;
                }
            }
            if (shape.length > want.length || shape.length == 0) {
                return false;
            }
            for (int i = 0; i < want.length; i++) {
                if (i < shape.length ? want[i] >= 0 && want[i] != shape[i] : want[i] != 1) {
                    return false;
                }
            }
            return true;
        }

        private long[] randomShape() {
            long[] want = input.shape();
            int rank = rnd.nextInt(4) == 0 ? rnd.nextInt(7) : Math.max(1, want.length + rnd.nextInt(3) - 1);
            long[] s = new long[rank];
            for (int i = 0; i < rank; i++) {
                boolean keep = i < want.length && want[i] > 0 && rnd.nextInt(4) != 0;
                s[i] = keep ? want[i] : rnd.nextInt(5) == 0 ? 0 : 1 + rnd.nextInt(i == 0 ? 3 : 30);
            }
            while (Arrays.stream(s).reduce(1, (a, b) -> a * Math.max(b, 1)) > 20_000) {
                s[rnd.nextInt(rank)] = 1;
            }
            return s;
        }

        private String nested(long[] shape) {
            StringBuilder b = new StringBuilder();
            nested(b, shape, 0);
            return b.toString();
        }

        private void nested(StringBuilder b, long[] shape, int d) {
            if (d == shape.length) {
                b.append(Math.round(rnd.nextDouble() * 100) / 100.0);
                return;
            }
            b.append('[');
            for (int i = 0; i < shape[d]; i++) {
                if (i > 0) {
                    b.append(',');
                }
                nested(b, shape, d + 1);
            }
            b.append(']');
        }

        private String replaceSomeNumber(String v, String with) {
            Matcher m = Pattern.compile("-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?").matcher(v);
            List<int[]> spans = new ArrayList<>();
            while (m.find()) {
                spans.add(new int[]{m.start(), m.end()});
            }
            int[] span = spans.get(rnd.nextInt(spans.size()));
            return v.substring(0, span[0]) + with + v.substring(span[1]);
        }

        @SafeVarargs
        private <T> T pick(T... options) {
            return options[rnd.nextInt(options.length)];
        }

        private static String obj(String field, String value) {
            return "{\"" + field + "\":" + value + "}";
        }

        private static byte[] utf8(String s) {
            return s.getBytes(StandardCharsets.UTF_8);
        }
    }

    /** {@code mlops serve} in its own JVM, so that an abort shows as a dead process, not a dead test run. */
    static final class ServeProcess implements AutoCloseable {
        final Process process;
        final int port;
        final String url;
        private final BlockingQueue<String> lines = new ArrayBlockingQueue<>(100_000);
        private final StringBuffer output = new StringBuffer();

        private ServeProcess(Process process, int port) {
            this.process = process;
            this.port = port;
            this.url = "http://127.0.0.1:" + port;
        }

        static ServeProcess start(String model, Path base) throws Exception {
            return start(List.of("--model-name", model, "--model-base-path", base.toString()));
        }

        /** {@code mlops serve} with these options (and --port 0). */
        static ServeProcess start(List<String> serveOptions) throws Exception {
            Path java = Path.of(System.getProperty("java.home"), "bin", "java");
            List<String> cmd = new java.util.ArrayList<>(List.of(java.toString(), "-Xmx512m", "-cp",
                    System.getProperty("java.class.path"),
                    "-Dmlops.home=" + Path.of("").toAbsolutePath(), "dev.camelmlops.cli.MlopsCli",
                    "-Dserving.max-request-bytes=" + MAX_BODY, "-Dserving.threads=4", "serve"));
            cmd.addAll(serveOptions);
            cmd.addAll(List.of("--port", "0"));
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            pb.environment().put("TF_CPP_MIN_LOG_LEVEL", "2");
            Process p = pb.start();
            BlockingQueue<String> lines = new ArrayBlockingQueue<>(100_000);
            StringBuffer all = new StringBuffer();
            Thread reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        all.append(line).append('\n');
                        lines.offer(line);
                    }
                } catch (IOException e) {
                    // the process ended
                }
            }, "serve-output");
            reader.setDaemon(true);
            reader.start();
            Pattern serving = Pattern.compile("Serving at http://127\\.0\\.0\\.1:(\\d+)");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (System.nanoTime() < deadline) {
                String line = lines.poll(1, TimeUnit.SECONDS);
                if (line != null) {
                    Matcher m = serving.matcher(line);
                    if (m.find()) {
                        ServeProcess s = new ServeProcess(p, Integer.parseInt(m.group(1)));
                        s.output.append(all);
                        return s;
                    }
                } else if (!p.isAlive()) {
                    break;
                }
            }
            p.destroyForcibly();
            throw new AssertionError("mlops serve did not start:\n" + all);
        }

        String output() {
            return output.toString();
        }

        @Override
        public void close() throws InterruptedException {
            process.destroy();
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }
}
