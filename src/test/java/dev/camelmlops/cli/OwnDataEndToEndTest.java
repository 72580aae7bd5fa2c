package dev.camelmlops.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.camelmlops.registry.FileRunLedger;
import dev.camelmlops.report.ReportRenderTest;
import dev.camelmlops.serving.ModelServer;
import dev.camelmlops.serving.ModelVersionWatcher;
import dev.camelmlops.serving.ServingClient;
import dev.camelmlops.testing.Cli;
import dev.camelmlops.testing.Http;
import dev.camelmlops.testing.ShapesDataset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Data other than Fashion-MNIST, end to end through the command line: a generated RGB 32x32
 * image-folder dataset of four shapes (PNG and JPEG, some of other sizes) trained, gated,
 * packaged, served and verified by `mlops run`, then retrained from an inbox zip of class
 * folders by the service; a CSV dataset with named labels; and the mistakes a user makes with
 * their own data, each named.
 */
@Timeout(600)
class OwnDataEndToEndTest {
    private static final String CLASSES = String.join(",", ShapesDataset.CLASSES);

    @TempDir
    Path tmp;
    private Cli cli;

    @BeforeEach
    void setUp() {
        cli = new Cli(tmp);
    }

    private List<String> shapes(Path data, String format) {
        return List.of("-Ddataset.format=" + format, "-Ddataset.path=" + data, "-Ddataset.height=32",
                "-Ddataset.width=32", "-Ddataset.channels=3", "-Ddataset.classes=" + CLASSES,
                "-Dmodel.architecture=default", "-Dtrain.epochs=4", "-Dtrain.batch-size=8",
                "-Dtrain.learning-rate=0.002", "-Dtrain.threads=1", "-Dquality.min-accuracy=0.85");
    }

    private int run(List<String> options, String... command) {
        List<String> args = new ArrayList<>(options);
        args.addAll(List.of(command));
        return cli.run(args.toArray(String[]::new));
    }

    private static JsonNode json(Path file) throws Exception {
        return Http.JSON.readTree(file.toFile());
    }

    @Test
    void anRgbImageFolderIsTrainedServedVerifiedAndRetrainedFromAZipOfClassFolders() throws Exception {
        Path data = tmp.resolve("shapes");
        ShapesDataset.writeImageFolder(data, 250, 40, 7);
        List<String> options = shapes(data, "image-folder");
        long t0 = System.nanoTime();
        assertEquals(0, run(options, "run"), cli.output());
        double seconds = (System.nanoTime() - t0) / 1e9;

        JsonNode manifest = json(cli.work().resolve("data/data-manifest.json"));
        assertEquals("image-folder", manifest.path("format").asText());
        assertEquals("[\"circle\",\"square\",\"triangle\",\"cross\"]", manifest.at("/dataset/classes").toString());
        assertEquals(1000, manifest.at("/train/count").asInt());
        assertEquals(160, manifest.at("/test/count").asInt());
        assertEquals(3, manifest.at("/train/channels").asInt());
        assertEquals(List.of("train/", "test/"), List.of(manifest.at("/inputs/0/name").asText(),
                manifest.at("/inputs/1/name").asText()));

        JsonNode evaluation = json(cli.work().resolve("evaluation/evaluation.json"));
        double accuracy = evaluation.path("accuracy").asDouble();
        assertTrue(accuracy >= 0.85, "gate passed at " + accuracy);
        assertEquals("triangle", evaluation.at("/perClass/2/name").asText());
        System.out.printf("own data: shapes image folder, 1000 train / 160 test images 32x32x3, 4 epochs:"
                + " accuracy %.4f, mlops run %.1f s%n", accuracy, seconds);

        Path prod = tmp.resolve("prod");
        JsonNode model = json(prod.resolve("1/MANIFEST.json"));
        assertEquals("[\"circle\",\"square\",\"triangle\",\"cross\"]", model.at("/dataset/classes").toString());
        assertEquals("[-1,32,32,3]", model.at("/signature/inputs/images/shape").toString());
        assertEquals("[-1,4]", model.at("/signature/outputs/probabilities/shape").toString());
        assertTrue(json(cli.work().resolve("verify.json")).path("passed").asBoolean());
        String report = Files.readString(cli.work().resolve("report.html"));
        assertTrue(report.contains("triangle") && report.contains("cross"), "report names the classes");
        Path chromium = ReportRenderTest.chromium();
        if (chromium != null) { // .ci/run installs it; the report test says so when it skips
            ReportRenderTest.assertRendersInChromium(chromium, cli.work().resolve("report.html"), tmp);
        }

        try (ModelVersionWatcher watcher = new ModelVersionWatcher("my_model", prod, Duration.ofHours(1))) {
            watcher.start();
            ModelServer server = new ModelServer(watcher, "127.0.0.1", 0, 2, 10_000_000);
            server.start();
            try {
                String url = server.baseUrl() + "/v1/models/my_model";
                JsonNode meta = Http.get(url + "/metadata").json();
                assertEquals("[\"circle\",\"square\",\"triangle\",\"cross\"]",
                        meta.at("/metadata/class_names").toString());
                assertEquals("32", meta.at("/metadata/signature_def/signature_def/serving_default/inputs/images"
                        + "/tensor_shape/dim/2/size").asText());
                float[][] image = new float[1][32 * 32 * 3];
                Http.Response r = Http.post(url + ":predict", ServingClient.requestBody(image, 32, 32, 3, null));
                assertEquals(200, r.status(), r.body());
                assertEquals(4, r.json().at("/predictions/0").size());
                Http.Response wrong = Http.post(url + ":predict", ServingClient.requestBody(new float[1][784], null));
                assertEquals(400, wrong.status(), "a Fashion-MNIST-shaped request is refused: " + wrong.body());
            } finally {
                server.close();
            }
        }

        // A retrain from the inbox: a zip of class folders, read by the service.
        Path zip = tmp.resolve("new-shapes.zip");
        ShapesDataset.zipClassFolders(zip, 25, 99);
        try (Service s = new Service(options)) {
            Path inbox = tmp.resolve("inbox");
            Files.createDirectories(inbox);
            Files.copy(zip, tmp.resolve(".incoming.zip"));
            Files.move(tmp.resolve(".incoming.zip"), inbox.resolve("new-shapes.zip"));
            s.awaitRetrains(1);
        }
        List<Map<String, Object>> retrains = new FileRunLedger(tmp.resolve("ledger.jsonl")).runs().stream()
                .filter(r -> "retrain".equals(r.get("route"))).toList();
        assertEquals(1, retrains.size(), retrains.toString());
        assertEquals("succeeded", retrains.get(0).get("outcome"), retrains.toString());
        assertEquals(2, ((Number) retrains.get(0).get("version")).intValue());
        JsonNode retrained = json(cli.work().resolve("data/data-manifest.json"));
        assertEquals(100, retrained.at("/batches/0/images").asInt(), "4 classes x 25 images from the zip");
        assertTrue(json(cli.work().resolve("verify.json")).path("passed").asBoolean());
        System.out.printf("own data: retrain from a zip of class folders (100 images): accuracy %s%n",
                json(cli.work().resolve("evaluation/evaluation.json")).path("accuracy").asText());

        // The same deployment, asked to warm-start for another set of classes: refused by name.
        List<String> other = new ArrayList<>(options);
        other.set(5, "-Ddataset.classes=circle,square,triangle");
        Path three = tmp.resolve("three");
        ShapesDataset.writeClassFolders(three, 10, 3);
        Files.walk(three.resolve("cross")).sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        other.set(1, "-Ddataset.path=" + three);
        assertEquals(1, run(other, "retrain"), cli.output());
        assertTrue(cli.output().contains("was trained for another dataset (the model has 4 classes, the dataset 3)"),
                cli.output());
    }

    @Test
    void aCsvWithNamedLabelsRunsEndToEnd() throws Exception {
        Path csv = tmp.resolve("shapes.csv");
        ShapesDataset.writeCsv(csv, 250, 11, true);
        assertTrue(Files.readString(csv).lines().skip(1).findFirst().orElseThrow().matches("(circle|square|triangle|cross),.*"));
        long t0 = System.nanoTime();
        assertEquals(0, run(shapes(csv, "csv"), "run"), cli.output());
        double seconds = (System.nanoTime() - t0) / 1e9;
        JsonNode manifest = json(cli.work().resolve("data/data-manifest.json"));
        assertEquals("csv", manifest.path("format").asText());
        assertEquals(800, manifest.at("/train/count").asInt());
        assertEquals(200, manifest.at("/test/count").asInt());
        assertEquals("[50,50,50,50]", manifest.at("/test/classHistogram").toString());
        assertTrue(manifest.path("testSplit").asText().contains("20% of each class"), manifest.toString());
        double accuracy = json(cli.work().resolve("evaluation/evaluation.json")).path("accuracy").asDouble();
        System.out.printf("own data: shapes CSV with named labels, 800 train / 200 test images: accuracy %.4f,"
                + " mlops run %.1f s%n", accuracy, seconds);
    }

    @Test
    void mistakesWithOwnDataAreNamed() throws Exception {
        Path data = tmp.resolve("shapes");
        ShapesDataset.writeClassFolders(data, 5, 1);
        Files.writeString(data.resolve("circle/notes.txt"), "not an image");
        assertEquals(1, run(shapes(data, "image-folder"), "stage", "build"), cli.output());
        assertTrue(cli.output().contains("circle/notes.txt"), cli.output());

        Files.delete(data.resolve("circle/notes.txt"));
        Files.createDirectories(data.resolve("hexagon"));
        assertEquals(1, run(shapes(data, "image-folder"), "stage", "build"), cli.output());
        assertTrue(cli.output().contains("hexagon"), cli.output());

        assertEquals(2, run(List.of("-Ddataset.format=image-folder", "-Ddataset.path=" + data), "run"), cli.output());
        assertTrue(cli.output().contains("dataset.classes must be set for dataset.format=image-folder"), cli.output());
        assertTrue(cli.output().contains("are: circle,cross,hexagon,square,triangle"), cli.output());

        Files.delete(data.resolve("hexagon"));
        List<String> grey = new ArrayList<>(shapes(data, "image-folder"));
        grey.set(4, "-Ddataset.channels=1");
        grey.set(2, "-Ddataset.height=2");
        grey.set(3, "-Ddataset.width=2");
        assertEquals(1, run(grey, "run"), cli.output());
        assertTrue(cli.output().contains("images of 2x2x1 are too small for default"), cli.output());
    }

    /** The service with the shapes options, and a wait for finished retrains in its ledger. */
    private final class Service implements AutoCloseable {
        private final InProcessWatch watch;
        private final FileRunLedger ledger = new FileRunLedger(tmp.resolve("ledger.jsonl"));

        Service(List<String> options) throws Exception {
            List<String> args = new ArrayList<>(cli.defaults());
            args.addAll(options);
            args.addAll(List.of("-Dinbox.poll-ms=200", "-Dinbox.read-lock-min-age-ms=300",
                    "-Dinbox.read-lock-check-ms=150", "-Dquality.max-regression=0.05", "-Dretrain.epochs=1"));
            watch = new InProcessWatch(args);
        }

        void awaitRetrains(int n) throws Exception {
            long deadline = System.currentTimeMillis() + 180_000;
            while (System.currentTimeMillis() < deadline) {
                long finished = ledger.runs().stream().filter(r -> "retrain".equals(r.get("route"))
                        && r.get("outcome") != null && !"running".equals(r.get("outcome"))).count();
                if (finished >= n) {
                    return;
                }
                Thread.sleep(100);
            }
            throw new AssertionError("no " + n + " finished retrain(s) within 180 s: " + ledger.runs());
        }

        @Override
        public void close() throws Exception {
            watch.close();
        }
    }
}
