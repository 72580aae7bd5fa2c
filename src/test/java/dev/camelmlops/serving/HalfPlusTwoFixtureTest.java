package dev.camelmlops.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.camelmlops.testing.Http;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The server against SavedModels it did not write: TensorFlow Serving's own half_plus_two test
 * models (exported by Python TensorFlow), from ../shared/fixtures. Skipped when that folder is
 * absent (it is not part of this repository).
 */
class HalfPlusTwoFixtureTest {
    static final Path FIXTURES = Path.of("..", "shared", "fixtures", "tfserving").toAbsolutePath().normalize();

    private static Path fixture(String name) {
        Path p = FIXTURES.resolve(name);
        assumeTrue(Files.isDirectory(p), "TF Serving fixtures not found at " + p + ": skipping");
        return p;
    }

    @Test
    void answersLikeTensorFlowServing() throws Exception {
        try (ModelVersionWatcher w = new ModelVersionWatcher("half", fixture("saved_model_half_plus_two_cpu"),
                Duration.ofHours(1));
             ModelServer server = new ModelServer(w, "127.0.0.1", 0, 2, 1 << 20)) {
            w.start();
            server.start();
            String url = server.baseUrl() + "/v1/models/half";

            Http.Response r = Http.post(url + ":predict", "{\"instances\": [1.0, 2.0, 5.0]}");
            assertEquals(200, r.status(), r.body());
            assertEquals(Http.JSON.readTree("{\"predictions\": [2.5, 3.0, 4.5]}"), r.json());

            Http.Response c = Http.post(url + ":predict", "{\"inputs\": [1.0, 2.0, 5.0]}");
            assertEquals(Http.JSON.readTree("{\"outputs\": [2.5, 3.0, 4.5]}"), c.json());

            assertEquals("123", Http.get(url).json().at("/model_version_status/0/version").asText());
            JsonNode sigs = Http.get(url + "/metadata").json().at("/metadata/signature_def/signature_def");
            assertEquals("tensorflow/serving/predict", sigs.at("/serving_default/method_name").asText());
            assertEquals("x:0", sigs.at("/serving_default/inputs/x/name").asText());
            assertEquals("tensorflow/serving/regress", sigs.at("/regress_x_to_y/method_name").asText());

            Http.Response regress = Http.post(url + ":predict",
                    "{\"signature_name\": \"regress_x_to_y\", \"instances\": [1.0]}");
            assertEquals(400, regress.status(), regress.body());
        }
    }

    /**
     * TF Serving's own REST tests of classify and regress (tensorflow_model_server_test.py,
     * testClassifyREST and testRegressREST: the same requests, the same expected answers), then
     * the signatures that are not of that kind.
     */
    @Test
    void classifiesAndRegressesLikeTensorFlowServing() throws Exception {
        try (ModelVersionWatcher w = new ModelVersionWatcher("default", fixture("saved_model_half_plus_two_cpu"),
                Duration.ofHours(1));
             ModelServer server = new ModelServer(w, "127.0.0.1", 0, 2, 1 << 20)) {
            w.start();
            server.start();
            String url = server.baseUrl() + "/v1/models/default";

            Http.Response c = Http.post(url + ":classify",
                    "{\"signature_name\": \"classify_x_to_y\", \"examples\": [{\"x\": 2.0}]}");
            assertEquals(200, c.status(), c.body());
            assertEquals(Http.JSON.readTree("{\"results\": [[[\"\", 3.0]]]}"), c.json());

            Http.Response r = Http.post(url + ":regress",
                    "{\"signature_name\": \"regress_x_to_y\", \"examples\": [{\"x\": 2.0}]}");
            assertEquals(200, r.status(), r.body());
            assertEquals(Http.JSON.readTree("{\"results\": [3.0]}"), r.json());

            // Several examples, one through the context (y = x / 2 + 2).
            Http.Response several = Http.post(url + "/versions/123:regress",
                    "{\"signature_name\": \"regress_x_to_y\", \"examples\": [{\"x\": 1.0}, {\"x\": 5.0}]}");
            assertEquals(Http.JSON.readTree("{\"results\": [2.5, 4.5]}"), several.json(), several.body());
            Http.Response context = Http.post(url + ":classify",
                    "{\"signature_name\": \"classify_x_to_y\", \"context\": {\"x\": 4.0}, \"examples\": [{}]}");
            assertEquals(Http.JSON.readTree("{\"results\": [[[\"\", 4.0]]]}"), context.json(), context.body());
            // README's example: the second example's own x wins over the context's.
            Http.Response readme = Http.post(url + "/versions/123:regress", "{\"signature_name\":\"regress_x_to_y\","
                    + "\"context\":{\"x\":1.0},\"examples\":[{},{\"x\":2.0}]}");
            assertEquals(Http.JSON.readTree("{\"results\": [2.5, 3.0]}"), readme.json(), readme.body());

            Http.Response onPredict = Http.post(url + ":classify", "{\"examples\": [{\"x\": 2.0}]}");
            assertEquals(400, onPredict.status(), onPredict.body());
            assertTrue(onPredict.json().path("error").asText().contains("No classification inputs found"),
                    onPredict.body());
            Http.Response crossed = Http.post(url + ":regress",
                    "{\"signature_name\": \"classify_x_to_y\", \"examples\": [{\"x\": 2.0}]}");
            assertEquals(400, crossed.status(), crossed.body());
            assertTrue(crossed.json().path("error").asText().contains("No regression outputs found"), crossed.body());
            Http.Response wrongType = Http.post(url + ":regress",
                    "{\"signature_name\": \"regress_x_to_y\", \"examples\": [{\"x\": \"two\"}]}");
            assertEquals(400, wrongType.status(), wrongType.body());
        }
    }

    @Test
    void servesTheLatestOfTwoVersions() throws Exception {
        try (ModelVersionWatcher w = new ModelVersionWatcher("half", fixture("saved_model_half_plus_two_2_versions"),
                Duration.ofHours(1));
             ModelServer server = new ModelServer(w, "127.0.0.1", 0, 2, 1 << 20)) {
            w.start();
            server.start();
            String url = server.baseUrl() + "/v1/models/half";
            assertEquals("124", Http.get(url).json().at("/model_version_status/0/version").asText());
            assertEquals(200, Http.post(url + "/versions/124:predict", "{\"instances\": [4.0]}").status());
            assertEquals(Http.JSON.readTree("{\"predictions\": [4.0]}"),
                    Http.post(url + "/versions/124:predict", "{\"instances\": [4.0]}").json());
            assertEquals(404, Http.post(url + "/versions/123:predict", "{\"instances\": [4.0]}").status());
        }
    }
}
