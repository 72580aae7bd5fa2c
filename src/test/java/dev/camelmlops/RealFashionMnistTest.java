package dev.camelmlops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.camelmlops.cli.MlopsCli;
import dev.camelmlops.data.Dataset;
import dev.camelmlops.data.FashionMnistFiles;
import dev.camelmlops.data.IdxReader;
import dev.camelmlops.model.Evaluator;
import dev.camelmlops.model.GraphNames;
import dev.camelmlops.model.ModelArchitecture;
import dev.camelmlops.model.ServingContract;
import dev.camelmlops.model.TrainedModel;
import dev.camelmlops.model.Trainer;
import dev.camelmlops.model.TrainingListener;
import dev.camelmlops.model.TrainingParams;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Signature;

/**
 * End to end on the real Fashion-MNIST (Debian package dataset-fashion-mnist); skipped when the
 * data is not installed. Tagged slow: {@code -DexcludedGroups=slow} leaves it out.
 */
@Tag("slow")
class RealFashionMnistTest {
    static final Path DATA = Path.of("/usr/share/datasets/fashion-mnist");
    static Dataset train;
    static Dataset test;

    @TempDir
    Path tmp;

    @BeforeAll
    static void load() {
        FashionMnistFiles files = FashionMnistFiles.in(DATA);
        assumeTrue(files.complete(), "Fashion-MNIST not installed in " + DATA
                + " (apt-get install dataset-fashion-mnist): skipping the real-data tests");
        IdxReader reader = IdxReader.fashionMnist();
        train = reader.read(files.trainImages(), files.trainLabels());
        test = reader.read(files.testImages(), files.testLabels());
    }

    @Test
    void theRealDataHasTheShapeFashionMnistPublishes() {
        assertEquals(60000, train.size());
        assertEquals(10000, test.size());
        for (int c : train.classHistogram(10)) {
            assertEquals(6000, c);
        }
        for (int c : test.classHistogram(10)) {
            assertEquals(1000, c);
        }
    }

    @Test
    void tutorialModelTrainsExportsAndReloadsWithIdenticalPredictions() {
        Path dir = tmp.resolve("saved");
        TrainingParams p = new TrainingParams(ModelArchitecture.TUTORIAL, 1, 32, 0.001f, 42, false);
        float[][] inMemory;
        double accuracy;
        try (TrainedModel m = TrainedModel.create(p.architecture(), p.seed(), p.learningRate())) {
            new Trainer().train(m, train.head(6400), null, p, TrainingListener.NONE, false); // 200 steps
            accuracy = new Evaluator().evaluate(m, test).accuracy();
            inMemory = new Evaluator().predict(m, test, 64);
            m.export(dir);
        }
        assertTrue(accuracy > 0.6, "200 steps of the tutorial model reach " + accuracy);
        assertEquals(List.of(), ServingContract.violations(dir));
        try (SavedModelBundle b = SavedModelBundle.load(dir.toString(), "serve")) {
            Signature sig = b.function(GraphNames.SIGNATURE_KEY).signature();
            assertEquals("tensorflow/serving/predict", sig.methodName());
            assertEquals(List.of("images"), List.copyOf(sig.inputNames()));
            assertEquals(List.of("probabilities"), List.copyOf(sig.outputNames()));
        }
        try (TrainedModel reloaded = TrainedModel.load(dir)) {
            float[][] again = new Evaluator().predict(reloaded, test, 64);
            for (int i = 0; i < inMemory.length; i++) {
                assertArrayEquals(inMemory[i], again[i], "image " + i);
            }
        }
    }

    @Test
    void theSameSeedRetrainsBitIdentically() {
        TrainingParams p = new TrainingParams(ModelArchitecture.TUTORIAL, 1, 32, 0.001f, 42, false);
        float[][] a = trainAndPredict(p);
        float[][] b = trainAndPredict(p);
        for (int i = 0; i < a.length; i++) {
            assertArrayEquals(a[i], b[i], "image " + i);
        }
    }

    private static float[][] trainAndPredict(TrainingParams p) {
        try (TrainedModel m = TrainedModel.create(p.architecture(), p.seed(), p.learningRate())) {
            new Trainer().train(m, train, null, p, TrainingListener.NONE, false);
            return new Evaluator().predict(m, test, 100);
        }
    }

    @Test
    void oneShotRunOnRealDataPassesTheSeedsGate() throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(buf, true, StandardCharsets.UTF_8);
        Path work = tmp.resolve("work");
        int code = MlopsCli.execute(Path.of("").toAbsolutePath(), Map.of(), out,
                "-Ddata.dir=" + DATA, "-Dwork.dir=" + work, "-Dmodel.architecture=tutorial", "-Dtrain.epochs=1",
                "-Ddeploy.staging-dir=" + tmp.resolve("staging"), "-Dledger.file=" + tmp.resolve("ledger.jsonl"), "-Ddeploy.prod-dir=" + tmp.resolve("prod"), "-Dserving.port=0", "--progress=plain", "run");
        String output = buf.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, output);
        JsonNode ev = new ObjectMapper().readTree(work.resolve("evaluation/evaluation.json").toFile());
        assertEquals(10000, ev.get("count").asInt());
        assertTrue(ev.get("accuracy").asDouble() >= 0.8, "one epoch of the tutorial model: " + ev.get("accuracy"));
        assertTrue(tmp.resolve("staging/1/MANIFEST.json").toFile().isFile());
    }
}
