package dev.camelmlops.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.camelmlops.testing.Http;
import dev.camelmlops.testing.TinyFashion;
import dev.camelmlops.testing.TinyModels;
import dev.camelmlops.testing.TwoInputModel;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every predict request is checked against the signature before TensorFlow sees it (its native
 * kernels abort the process on shapes that do not fit an op), and every malformed body gets a 400
 * that names the problem. Each case below aborted the JVM, answered with TensorFlow's internal
 * message, answered 200 with predictions from a wrongly shaped input, or closed the connection
 * without an answer before the checks existed. Three signatures: ours (images [-1,28,28,1] ->
 * probabilities [-1,10]), a two-input one, and TF Serving's half_plus_two (x [-1,1] -> y [-1,1])
 * when ../shared is present.
 */
class PredictValidationTest {
    @TempDir
    static Path tmp;
    static Server ours;
    static Server two;
    static Server half;

    record Server(ModelVersionWatcher watcher, ModelServer server, String url) implements AutoCloseable {
        static Server start(String name, Path base) throws Exception {
            ModelVersionWatcher w = new ModelVersionWatcher(name, base, Duration.ofHours(1));
            w.start();
            ModelServer s = new ModelServer(w, "127.0.0.1", 0, 4, 1_000_000);
            s.start();
            return new Server(w, s, s.baseUrl() + "/v1/models/" + name);
        }

        @Override
        public void close() {
            server.close();
            watcher.close();
        }
    }

    @BeforeAll
    static void start() throws Exception {
        TinyModels.export(tmp.resolve("ours/1"), 3);
        TwoInputModel.export(tmp.resolve("two/1"));
        ours = Server.start("my_model", tmp.resolve("ours"));
        two = Server.start("two", tmp.resolve("two"));
        Path fixture = HalfPlusTwoFixtureTest.FIXTURES.resolve("saved_model_half_plus_two_cpu");
        if (Files.isDirectory(fixture)) {
            half = Server.start("half", fixture);
        }
    }

    @AfterAll
    static void stop() {
        for (Server s : new Server[]{ours, two, half}) {
            if (s != null) {
                s.close();
            }
        }
    }

    static String nested(int depth, String leaf) {
        return "[".repeat(depth) + leaf + "]".repeat(depth);
    }

    /** An h x w image with c channels as nested lists; c = 0: no channel dimension at all. */
    static String image(int h, int w, int c) {
        StringBuilder b = new StringBuilder("[");
        for (int y = 0; y < h; y++) {
            b.append(y == 0 ? "" : ",").append('[');
            for (int x = 0; x < w; x++) {
                b.append(x == 0 ? "" : ",").append(c == 0 ? "" : "[");
                for (int k = 0; k < Math.max(c, 1); k++) {
                    b.append(k == 0 ? "" : ",").append((y * w + x) % 7 / 7.0);
                }
                b.append(c == 0 ? "" : "]");
            }
            b.append(']');
        }
        return b.append(']').toString();
    }

    static Http.Response post(String url, byte[] body) {
        return Http.send(HttpRequest.newBuilder(URI.create(url)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)));
    }

    /** A 4xx with a JSON error naming {@code fragment}, in words a user can act on. */
    static String assertError(Http.Response r, int status, String fragment) {
        assertEquals(status, r.status(), r.body());
        JsonNode json = r.json();
        assertTrue(json.has("error") && json.get("error").isTextual(), r.body());
        String error = json.get("error").asText();
        assertTrue(error.contains(fragment), "expected '" + fragment + "' in: " + error);
        for (String internal : List.of("StreamReadFeature", "StreamReadConstraints", "JsonReadFeature", "[Source",
                "fasterxml", "Exception", "reshape")) {
            assertFalse(error.contains(internal), "internal detail in: " + error);
        }
        return error;
    }

    @Test
    void shapesThatDoNotFitTheSignatureAreRefusedBeforeTensorFlow() {
        String p = ours.url + ":predict";
        assertEquals("input 'images' expects shape [-1,28,28,1], got [1,3]",
                assertError(Http.post(p, "{\"instances\":[[1,2,3]]}"), 400, "expects shape"));
        assertError(Http.post(p, "{\"instances\":[" + "0.5,".repeat(783) + "0.5]}"), 400, "got [784]");
        assertError(Http.post(p, "{\"instances\":[[" + "0.5,".repeat(783) + "0.5]]}"), 400, "got [1,784]");
        assertError(Http.post(p, "{\"instances\":[[[1,2],[3,4]]]}"), 400, "got [1,2,2]");
        assertError(Http.post(p, "{\"instances\":[[[[0.5]]]]}"), 400, "got [1,1,1,1]");
        assertError(Http.post(p, "{\"instances\":[" + image(28, 27, 1) + "]}"), 400, "got [1,28,27,1]");
        assertError(Http.post(p, "{\"instances\":[" + image(28, 28, 2) + "]}"), 400, "got [1,28,28,2]");
        assertError(Http.post(p, "{\"instances\":[[" + image(28, 28, 1) + "]]}"), 400, "got [1,1,28,28,1]");
        assertError(Http.post(p, "{\"inputs\":" + image(28, 28, 1) + "}"), 400, "got [28,28,1]");
        assertError(Http.post(p, "{\"inputs\":{\"images\":[[1,2,3]]}}"), 400, "got [1,3]");
        assertError(Http.post(p, "{\"instances\":[{\"images\":[[1,2,3]]}]}"), 400, "got [1,1,3]");
        assertError(Http.post(p, "{\"inputs\": 5}"), 400, "got []");
        assertError(Http.post(p, "{\"instances\":[[]]}"), 400, "empty");
        // the general path (a field the fast scanner does not take) checks the same way
        assertError(Http.post(p, "{\"signature_name\":\"serving_\\u0064efault\",\"instances\":[[1,2,3]]}"), 400,
                "expects shape [-1,28,28,1], got [1,3]");
        // nesting as deep as TensorFlow's rank limit and beyond, fast and general path alike
        for (int depth : new int[]{17, 64, 255, 300, 5000}) {
            assertEquals(400, Http.post(p, "{\"instances\":" + nested(depth, "1") + "}").status(), "depth " + depth);
            assertEquals(400, Http.post(p, "{\"inputs\":{\"images\":" + nested(depth, "1") + "}}").status());
        }
        // the image without its channel dimension (fixed at 1) is the image
        JsonNode full = Http.post(p, "{\"instances\":[" + image(28, 28, 1) + "]}").json();
        Http.Response noChannel = Http.post(p, "{\"instances\":[" + image(28, 28, 0) + "]}");
        assertEquals(200, noChannel.status(), noChannel.body());
        assertEquals(full, noChannel.json());
        assertEquals(10, full.at("/predictions/0").size());
    }

    @Test
    void numbersAsTfServingReadsThem() {
        String p = ours.url + ":predict";
        String img = image(28, 28, 1);
        Http.Response nan = Http.post(p, "{\"instances\":[" + img.replaceFirst("0\\.0", "NaN")
                .replaceFirst("0\\.0", "Infinity").replaceFirst("0\\.0", "-Infinity") + "]}");
        assertEquals(200, nan.status(), nan.body());
        assertError(Http.post(p, "{\"instances\":[" + img.replaceFirst("0\\.0", "1e39") + "]}"), 400,
                "outside the range of float32");
        assertError(Http.post(p, "{\"instances\":[" + img.replaceFirst("0\\.0", "-1e400") + "]}"), 400,
                "too large");
        assertError(Http.post(p, "{\"instances\":[" + img.replaceFirst("0\\.0", "9".repeat(5000)) + "]}"), 400,
                "longer than 1000 characters");
        assertError(Http.post(p, "{\"instances\":[" + img.replaceFirst("0\\.0", "1" + "0".repeat(900)) + "]}"), 400,
                "outside the range of float32");
        assertError(Http.post(p, "{\"signature_name\":\"nope\",\"instances\":[" + "1".repeat(1500) + "]}"), 400,
                "longer than 1000 characters");
    }

    @Test
    void malformedBodiesAreAnsweredNotDropped() {
        String p = ours.url + ":predict";
        String img = "{\"instances\":[" + image(28, 28, 1) + "]}";
        assertError(Http.post(p, img + " x"), 400, "more after its JSON value");
        assertError(Http.post(p, img + img), 400, "more after its JSON value");
        assertError(post(p, img.getBytes(StandardCharsets.UTF_16)), 400, "not UTF-8");
        assertError(post(p, img.getBytes(StandardCharsets.UTF_16LE)), 400, "not UTF-8");
        byte[] badUtf8 = "{\"signature_name\":\"s\u00e9\",\"instances\":[1]}".getBytes(StandardCharsets.UTF_8);
        badUtf8[20] = (byte) 0xFF;
        assertError(post(p, badUtf8), 400, "malformed JSON at line 1");
        assertError(Http.post(p, "{\"instances\":[1],\"instances\":[2]}"), 400, "Duplicate field 'instances'");
        assertError(Http.post(p, "{\"instances\": [1, 2"), 400, "malformed JSON at line 1");
        assertError(Http.post(p, ""), 400, "empty");
        assertError(Http.post(p, "{\"instances\": [tru]}"), 400, "malformed JSON");
        Http.Response defaultSignature = Http.post(p, "{\"signature_name\":\"\",\"instances\":[" + image(28, 28, 1) + "]}");
        assertEquals(200, defaultSignature.status(), defaultSignature.body());
    }

    @Test
    void pathsTfServingCallsMalformedAre400() {
        String base = ours.server.baseUrl();
        assertError(Http.get(base + "/v1/models"), 400, "Malformed request");
        assertError(Http.get(base + "/v1/models/"), 400, "Malformed request");
        // A well-formed label path on a model without that label: ServerCore's InvalidArgument.
        assertError(Http.get(ours.url + "/labels/stable"), 400, "Unrecognized servable version label: stable");
        assertError(Http.post(ours.url + "/labels/stable:predict", "{}"), 400,
                "Unrecognized servable version label: stable");
        assertError(Http.get(ours.url + "/labels/"), 400, "Malformed request");
        assertError(Http.get(ours.url + "/versions/1/labels/stable"), 400, "Malformed request");
        assertError(Http.get(base + "/v2/nothing"), 404, "Malformed request");
        assertEquals(200, Http.get(ours.url).status());
    }

    @Test
    void aSignatureWithTwoInputsChecksEachAndTheirBatchSizes() {
        String p = two.url + ":predict";
        Http.Response rows = Http.post(p, "{\"instances\":[{\"a\":[1,2,3],\"b\":[4,5,6]},{\"a\":[1,1,1],\"b\":[2,2,2]}]}");
        assertEquals(200, rows.status(), rows.body());
        assertEquals(Http.parse("{\"predictions\":[{\"sum\":[5.0,7.0,9.0],\"dot\":32.0},"
                + "{\"sum\":[3.0,3.0,3.0],\"dot\":6.0}]}"), rows.json());
        Http.Response cols = Http.post(p, "{\"inputs\":{\"a\":[[1,2,3]],\"b\":[[1,1,1]]}}");
        assertEquals(Http.parse("{\"outputs\":{\"sum\":[[2.0,3.0,4.0]],\"dot\":[6.0]}}"), cols.json());
        assertError(Http.post(p, "{\"inputs\":{\"a\":[[1,2,3]],\"b\":[[1,1,1],[2,2,2]]}}"), 400,
                "different batch sizes: 'a' has 1, 'b' has 2");
        assertError(Http.post(p, "{\"inputs\":{\"a\":[[1,2,3]],\"b\":[[1,1]]}}"), 400,
                "input 'b' expects shape [-1,3], got [1,2]");
        assertError(Http.post(p, "{\"instances\":[{\"a\":[1,2,3],\"b\":[4,5,6],\"c\":1}]}"), 400,
                "'c', which is not an input");
        assertError(Http.post(p, "{\"instances\":[{\"a\":[1,2,3]}]}"), 400, "lacks input 'b'");
        assertError(Http.post(p, "{\"inputs\":[[1,2,3]]}"), 400, "object keyed by input name");
        assertError(Http.post(p, "{\"inputs\":{\"a\":" + nested(255, "1") + ",\"b\":[[1,1,1]]}}"), 400, "nested");
    }

    @Test
    void halfPlusTwoKeepsTfServingsAnswersAndRefusesTheRest() {
        assumeTrue(half != null, "TF Serving fixtures not found: skipping");
        String p = half.url + ":predict";
        assertEquals(Http.parse("{\"predictions\":[2.5,3.0,4.5]}"),
                Http.post(p, "{\"instances\":[1.0,2.0,5.0]}").json());
        assertEquals(Http.parse("{\"predictions\":[[2.5],[3.0]]}"), Http.post(p, "{\"instances\":[[1.0],[2.0]]}").json());
        assertEquals(Http.parse("{\"outputs\":[2.5]}"), Http.post(p, "{\"inputs\":{\"x\":[1.0]}}").json());
        assertEquals(Http.parse("{\"predictions\":[2.5]}"),
                Http.post(p, "{\"signature_name\":\"\",\"instances\":[1.0]}").json());
        assertError(Http.post(p, "{\"instances\":[[1.0,2.0]]}"), 400, "input 'x' expects shape [-1,1], got [1,2]");
        assertError(Http.post(p, "{\"instances\":[[[1.0]]]}"), 400, "got [1,1,1]");
        assertError(Http.post(p, "{\"inputs\":1.0}"), 400, "got []");
        for (int depth : new int[]{254, 255, 300}) {
            assertEquals(400, Http.post(p, "{\"instances\":" + nested(depth, "1.0") + "}").status());
        }
        Http.Response ok = Http.post(p, "{\"instances\":[1.0]}");
        assertEquals(200, ok.status(), "still serving");
    }
}
