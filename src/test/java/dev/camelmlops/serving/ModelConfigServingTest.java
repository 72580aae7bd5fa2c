package dev.camelmlops.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.camelmlops.data.Dataset;
import dev.camelmlops.testing.Cli;
import dev.camelmlops.testing.Http;
import dev.camelmlops.testing.TinyFashion;
import dev.camelmlops.testing.TinyModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Several models, version policies and version labels from a TF Serving model config file, over
 * real HTTP: labels are refused on versions not available (and the refused file changes
 * nothing), broken files keep the config in force, the file is picked up and dropped while the
 * server runs, and no mutated file stops it.
 */
class ModelConfigServingTest {
    @TempDir
    static Path templates;
    @TempDir
    Path tmp;

    static Path seed1;
    static Path seed2;
    static final Dataset IMAGES = TinyFashion.dataset(2, 5);
    static final String ONE = ModelServerTest.instances(IMAGES, 1, false);

    Path alpha;
    Path beta;
    Path configFile;
    ModelRepository repo;
    ModelServer server;
    String url;

    @BeforeAll
    static void export() {
        seed1 = templates.resolve("s1");
        seed2 = templates.resolve("s2");
        TinyModels.export(seed1, 1);
        TinyModels.export(seed2, 2);
    }

    @BeforeEach
    void folders() throws IOException {
        alpha = tmp.resolve("models/alpha");
        beta = tmp.resolve("models/beta");
        publish(alpha, 1, seed1);
        publish(alpha, 2, seed2);
        publish(beta, 1, seed2);
        configFile = tmp.resolve("models.config");
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
        if (repo != null) {
            repo.close();
        }
    }

    private static void publish(Path base, long version, Path template) throws IOException {
        Files.createDirectories(base);
        Path staging = base.resolve(".staging-" + version);
        TinyModels.copyTree(template, staging);
        Files.move(staging, base.resolve(Long.toString(version)), StandardCopyOption.ATOMIC_MOVE);
    }

    /** Writes the config file as a deploy does: a temporary file renamed over it. */
    private void write(String text) throws IOException {
        Path t = configFile.resolveSibling(".models.config.tmp");
        Files.writeString(t, text);
        Files.move(t, configFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private String model(String name, Path base, String policy, Map<String, Long> labels) {
        StringBuilder b = new StringBuilder("  config {\n    name: \"" + name + "\"\n    base_path: \"" + base
                + "\"\n    model_platform: \"tensorflow\"\n    model_version_policy { " + policy + " }\n");
        labels.forEach((l, v) -> b.append("    version_labels { key: \"").append(l).append("\" value: ").append(v)
                .append(" }\n"));
        return b.append("  }\n").toString();
    }

    private String config(String... models) {
        return "model_config_list {\n" + String.join("", models) + "}\n";
    }

    private String alphaConfig(String versions, Map<String, Long> labels) {
        return config(model("alpha", alpha, "specific { " + versions + " }", labels),
                model("beta", beta, "latest { num_versions: 1 }", Map.of()));
    }

    private static Map<String, Long> labels(Object... kv) {
        Map<String, Long> m = new java.util.TreeMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], ((Number) kv[i + 1]).longValue());
        }
        return m;
    }

    private void serve(ModelRepository r) throws IOException {
        repo = r;
        repo.start();
        server = new ModelServer(repo, ServingOptions.of("127.0.0.1", 0, 2, 1_000_000));
        server.start();
        url = server.baseUrl() + "/v1/models/";
    }

    private ModelRepository fromFile(boolean allowUnavailable) {
        return ModelRepository.configFile(configFile, null, Duration.ofHours(1), Duration.ofHours(1), 1,
                allowUnavailable);
    }

    /** The version metadata answers for a path ("alpha", "alpha/labels/stable"), or -1 with its status. */
    private long metadataVersion(String path) {
        Http.Response r = Http.get(url + path + "/metadata");
        return r.status() == 200 ? r.json().get("model_spec").get("version").asLong() : -r.status();
    }

    private List<Long> statusVersions(String path) {
        Http.Response r = Http.get(url + path);
        assertEquals(200, r.status(), r.body());
        List<Long> v = new ArrayList<>();
        for (JsonNode s : r.json().get("model_version_status")) {
            assertEquals("AVAILABLE", s.get("state").asText(), r.body());
            v.add(s.get("version").asLong());
        }
        return v;
    }

    private JsonNode predict(String path) {
        Http.Response r = Http.post(url + path + ":predict", ONE);
        assertEquals(200, r.status(), r.body());
        return r.json();
    }

    private static void assertError(Http.Response r, int status, String fragment) {
        assertEquals(status, r.status(), r.body());
        assertTrue(r.json().get("error").asText().contains(fragment), r.body());
    }

    private String scrape() {
        return Http.get(server.baseUrl() + ServingMetrics.PATH).body();
    }

    @Test
    void twoModelsAPolicyOfTwoVersionsAndLabelsMovedTheWayTfServingAllowsIt() throws Exception {
        write(alphaConfig("versions: 1 versions: 2", Map.of()));
        serve(fromFile(false));
        // specific {1, 2}: both served; without a version the highest answers (TF Serving's "latest").
        assertEquals(List.of(2L, 1L), statusVersions("alpha"));
        assertEquals(2, metadataVersion("alpha"));
        assertEquals(1, metadataVersion("alpha/versions/1"));
        assertEquals(predict("alpha/versions/2"), predict("alpha"));
        assertNotEquals(predict("alpha/versions/1"), predict("alpha/versions/2"), "two different models");
        assertEquals(1, metadataVersion("beta"));
        assertError(Http.get(url + "gamma"), 404, "gamma");
        assertError(Http.post(url + "gamma:predict", ONE), 404, "Servable not found for request: Latest(gamma)");

        write(alphaConfig("versions: 1 versions: 2", labels("stable", 1, "canary", 2)));
        repo.pollConfig();
        assertTrue(repo.configProblem().isEmpty(), repo.configProblem().toString());
        assertEquals(1, metadataVersion("alpha/labels/stable"));
        assertEquals(2, metadataVersion("alpha/labels/canary"));
        assertEquals(predict("alpha/versions/1"), predict("alpha/labels/stable"));
        // Our documented difference: status through a label answers the labelled version only.
        assertEquals(List.of(1L), statusVersions("alpha/labels/stable"));
        assertError(Http.get(url + "alpha/labels/nope"), 400, "Unrecognized servable version label: nope");
        assertError(Http.post(url + "alpha/labels/nope:predict", ONE), 400, "Unrecognized servable version label: nope");
        assertError(Http.get(url + "beta/labels/stable/metadata"), 400, "Unrecognized servable version label: stable");
        assertError(Http.get(url + "alpha/versions/1/labels/stable"), 400, "Malformed request");

        // Version 3 added and labelled in one write: refused as TF Serving refuses it; nothing changes.
        publish(alpha, 3, seed1);
        String oneStep = alphaConfig("versions: 1 versions: 2 versions: 3", labels("stable", 1, "canary", 3));
        write(oneStep);
        repo.pollConfig();
        repo.pollConfig();
        assertTrue(repo.configProblem().orElse("").contains(configFile + ": Request to assign label to version 3 of"
                + " model alpha, which is not currently available for inference"), repo.configProblem().toString());
        assertEquals(List.of(2L, 1L), statusVersions("alpha"), "version 3 not loaded");
        assertError(Http.get(url + "alpha/versions/3"), 404, "Could not find version 3 of model alpha");
        assertEquals(2, metadataVersion("alpha/labels/canary"), "the labels in force stay");
        String metrics = scrape();
        assertTrue(metrics.contains("camel_mlops_model_config_reload_total{status=\"refused\"} 1\n"), metrics);
        assertTrue(metrics.contains("camel_mlops_model_config_pending 1\n"), metrics);

        // The two-step write: the version first, the label once it is AVAILABLE.
        write(alphaConfig("versions: 1 versions: 2 versions: 3", labels("stable", 1, "canary", 2)));
        repo.pollConfig();
        assertEquals(List.of(3L, 2L, 1L), statusVersions("alpha"));
        write(oneStep);
        repo.pollConfig();
        assertTrue(repo.configProblem().isEmpty(), repo.configProblem().toString());
        assertEquals(3, metadataVersion("alpha/labels/canary"));
        assertEquals(3, metadataVersion("alpha"));

        // Version 1 leaves the policy: unloaded, its session closed; a label may not stay on it.
        LoadedVersion one = repo.model("alpha").acquire(1);
        one.release();
        write(alphaConfig("versions: 2 versions: 3", labels("stable", 2, "canary", 3)));
        repo.pollConfig();
        assertEquals(List.of(3L, 2L), statusVersions("alpha"));
        assertTrue(one.closed(), "version 1's session and graph closed");
        assertEquals(2, metadataVersion("alpha/labels/stable"));
        assertError(Http.post(url + "alpha/versions/1:predict", ONE), 404, "Servable not found for request: Specific(alpha, 1)");

        metrics = scrape();
        assertTrue(metrics.contains("camel_mlops_model_config_pending 0\n"), metrics);
        assertTrue(metrics.contains("camel_mlops_served_model_version{model_name=\"alpha\"} 3\n"), metrics);
        assertTrue(metrics.contains("camel_mlops_served_model_version{model_name=\"beta\"} 1\n"), metrics);
        assertTrue(metrics.contains(":tensorflow:serving:request_count{model_name=\"alpha\",API=\"predict\",status=\"OK\"}"),
                metrics);
        assertFalse(metrics.contains("model_name=\"gamma\""), "a name not configured adds no label value");
    }

    @Test
    void labelsAtTheStartNeedTfServingsFlagForUnavailableVersions() throws Exception {
        write(alphaConfig("versions: 1 versions: 2", labels("stable", 1)));
        ModelRepository refused = fromFile(false);
        ModelServerConfig.InvalidModelConfigException e = assertThrows(
                ModelServerConfig.InvalidModelConfigException.class, refused::start);
        assertTrue(e.getMessage().contains("Request to assign label to version 1 of model alpha"), e.getMessage());
        serve(fromFile(true));
        assertEquals(1, metadataVersion("alpha/labels/stable"));
        // Moving a label to a version not available stays refused with the flag.
        publish(alpha, 3, seed1);
        write(alphaConfig("versions: 1 versions: 2 versions: 3", labels("stable", 3)));
        repo.pollConfig();
        assertTrue(repo.configProblem().orElse("").contains("version 3 of model alpha"), repo.configProblem().toString());
        assertEquals(1, metadataVersion("alpha/labels/stable"));
        assertEquals(List.of(2L, 1L), statusVersions("alpha"));
    }

    @Test
    void aBrokenConfigKeepsThePreviousOneServing() throws Exception {
        String good = alphaConfig("versions: 1 versions: 2", Map.of());
        write(good);
        serve(fromFile(false));
        write(alphaConfig("versions: 1 versions: 2", labels("stable", 2)));
        repo.pollConfig();
        List<Map.Entry<String, String>> broken = List.of(
                Map.entry("model_config_list {\n  config {\n    name: \"alpha\"\n    base_path: \n", "models.config: not a TF"
                        + " Serving ModelServerConfig in text format: 5:1"),
                Map.entry(config(model("alpha", alpha, "all {}", Map.of()), model("alpha", beta, "all {}", Map.of())),
                        "Illegal to list model alpha multiple times in config list"),
                Map.entry(config(model("alpha", Path.of("relative/alpha"), "all {}", Map.of())),
                        "Expected model alpha to have an absolute path or URI; got base_path()=relative/alpha"),
                Map.entry(config(model("alpha", alpha, "all {}", labels("stable", 7))),
                        "Request to assign label to version 7 of model alpha"));
        for (Map.Entry<String, String> b : broken) {
            write(b.getKey());
            repo.pollConfig();
            assertTrue(repo.configProblem().orElse("").contains(b.getValue()),
                    b.getValue() + " in " + repo.configProblem());
            assertTrue(repo.configProblem().orElse("").contains(configFile.toString()), "names the file");
            assertEquals(2, metadataVersion("alpha/labels/stable"), "the config in force stays");
            assertEquals(List.of(2L, 1L), statusVersions("alpha"));
            assertEquals(1, metadataVersion("beta"));
        }
        String metrics = scrape();
        assertTrue(metrics.contains("camel_mlops_model_config_reload_total{status=\"invalid\"} 3\n"), metrics);
        assertTrue(metrics.contains("camel_mlops_model_config_reload_total{status=\"applied\"} 2\n"), metrics);
        Files.delete(configFile);
        repo.pollConfig();
        assertTrue(repo.configProblem().orElse("").contains("not found"), repo.configProblem().toString());
        assertEquals(2, metadataVersion("alpha/labels/stable"), "a file gone keeps the config in force (no fallback)");
    }

    @Test
    void withoutAFileTheFallbackModelIsServedUntilTheFileAppearsAndAgainWhenItGoes() throws Exception {
        serve(ModelRepository.configFile(configFile, ModelRepository.singleConfig("alpha", alpha),
                Duration.ofMillis(50), Duration.ofMillis(50), 1, true));
        assertEquals(List.of(2L), statusVersions("alpha"), "latest 1 while there is no file");
        assertEquals(404, Http.get(url + "beta").status());
        write(alphaConfig("versions: 1", labels("stable", 1)));
        await("the file in force", () -> metadataVersion("beta") == 1 && metadataVersion("alpha/labels/stable") == 1);
        assertEquals(List.of(1L), statusVersions("alpha"));
        Files.delete(configFile);
        await("the fallback again", () -> Http.get(url + "beta").status() == 404 && metadataVersion("alpha") == 2);
        assertError(Http.get(url + "alpha/labels/stable"), 400, "Unrecognized servable version label: stable");
        // A broken file at the start of a server with a fallback: the fallback serves, the problem is told.
        write("model_config_list { config { name: ");
        await("the problem reported", () -> repo.configProblem().isPresent());
        assertEquals(2, metadataVersion("alpha"));
    }

    @Test
    void mutatedConfigFilesNeverStopTheServer() throws Exception {
        String good = alphaConfig("versions: 1 versions: 2", labels("stable", 1, "canary", 2));
        write(good);
        serve(fromFile(true));
        long threadsBefore = watcherThreads();
        Random random = new Random(14);
        String[] tokens = {"{", "}", ":", "\"", " ", "\n", "1", "2", "3", "0", "-", "#", "<", ">", "[", "]", ",",
            "name", "alpha", "beta", "gamma", "config", "specific", "versions", "latest", "all", "num_versions",
            "version_labels", "key", "value", "stable", "model_platform", "base_path", "\\", "'", "\u00e9", "\0"};
        int n = 300;
        int skipped = 0;
        int refused = 0;
        for (int i = 0; i < n; i++) {
            StringBuilder b = new StringBuilder(good);
            for (int k = 1 + random.nextInt(4); k > 0; k--) {
                int at = random.nextInt(b.length());
                switch (random.nextInt(3)) {
                    case 0 -> b.deleteCharAt(at);
                    case 1 -> b.insert(at, tokens[random.nextInt(tokens.length)]);
                    default -> b.replace(at, Math.min(b.length(), at + 1 + random.nextInt(8)),
                            tokens[random.nextInt(tokens.length)]);
                }
            }
            String text = b.toString();
            if (!underTmp(text)) {
                skipped++; // a base path shortened to /tmp or / could list folders that are not ours
                continue;
            }
            write(text);
            repo.pollConfig();
            if (repo.configProblem().isPresent()) {
                refused++;
            }
            Http.Response r = Http.get(url + "alpha");
            assertTrue(r.status() == 200 || r.status() == 404, "mutation " + i + ": " + r.status() + " " + r.body());
            assertTrue(Http.get(server.baseUrl() + ServingMetrics.PATH).status() == 200);
        }
        write(good);
        repo.pollConfig();
        assertTrue(repo.configProblem().isEmpty(), repo.configProblem().toString());
        assertEquals(1, metadataVersion("alpha/labels/stable"));
        assertEquals(2, metadataVersion("alpha/labels/canary"));
        assertEquals(predict("alpha/versions/1"), predict("alpha/labels/stable"));
        assertEquals(1, metadataVersion("beta"));
        await("the watchers of models gone closed", () -> watcherThreads() == threadsBefore);
        System.out.printf("config fuzz: %d mutated files, %d refused or invalid, %d skipped (base path outside the"
                + " test folder)%n", n - skipped, refused, skipped);
        assertTrue(refused > n / 3, "mutations mostly break the file: " + refused);
    }

    @Test
    void mlopsServeTakesTfServingsModelConfigFileFlags() throws Exception {
        write(alphaConfig("versions: 1 versions: 2", labels("stable", 1)));
        Cli cli = new Cli(tmp.resolve("cli"));
        assertEquals(2, cli.run("serve", "--model_config_file", configFile.toString(), "--port", "0"),
                cli.output());
        assertTrue(cli.output().contains("Request to assign label to version 1 of model alpha")
                && cli.output().contains("--allow_version_labels_for_unavailable_models"), cli.output());
        try (ServingFuzzTest.ServeProcess p = ServingFuzzTest.ServeProcess.start(List.of(
                "--model_config_file", configFile.toString(), "--model_config_file_poll_wait_seconds", "0.1",
                "--allow_version_labels_for_unavailable_models"))) {
            url = p.url + "/v1/models/";
            assertEquals(1, metadataVersion("alpha/labels/stable"));
            assertEquals(1, metadataVersion("beta"));
            assertEquals(List.of(2L, 1L), statusVersions("alpha"));
            write(alphaConfig("versions: 1 versions: 2", labels("stable", 2)));
            await("the label moved by the file", () -> metadataVersion("alpha/labels/stable") == 2);
        }
    }

    /**
     * Plain `mlops serve` serves the prod folder the pipeline deploys into as `run` and `watch` do:
     * its models.config, labels included, and the newest version before there is one.
     */
    @Test
    void plainMlopsServeServesTheLabelsOfTheProdFolder() throws Exception {
        Path prod = tmp.resolve("prod");
        publish(prod, 1, seed1);
        publish(prod, 2, seed2);
        try (ServingFuzzTest.ServeProcess p = ServingFuzzTest.ServeProcess.start(List.of(
                "-Ddeploy.prod-dir=" + prod, "-Dserving.poll-seconds=0.1"))) {
            url = p.url + "/v1/models/";
            assertEquals(List.of(2L), statusVersions("my_model"), "no models.config yet: the newest version");
            Files.writeString(prod.resolve("models.config"), "model_config_list { config { name: 'my_model' base_path: '"
                    + prod + "' model_version_policy { specific { versions: 1 versions: 2 } } } }");
            await("both versions loaded", () -> statusVersions("my_model").equals(List.of(2L, 1L)));
            Path t = prod.resolve(".models.config.tmp");
            Files.writeString(t, "model_config_list { config { name: 'my_model' base_path: '" + prod
                    + "' model_version_policy { specific { versions: 1 versions: 2 } }"
                    + " version_labels { key: 'stable' value: 1 } } }");
            Files.move(t, prod.resolve("models.config"), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            await("the label", () -> metadataVersion("my_model/labels/stable") == 1);
        }
    }

    private boolean underTmp(String text) {
        try {
            for (ModelServerConfig.Model m : ModelServerConfig.parse(text, "x").models()) {
                if (!m.basePath().startsWith(tmp.toString() + "/")) {
                    return false;
                }
            }
        } catch (RuntimeException e) {
            return true;
        }
        return true;
    }

    private static long watcherThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("model-watcher-")).count();
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("not within 30 s: " + what);
            }
            Thread.sleep(20);
        }
    }
}
