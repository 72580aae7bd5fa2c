package dev.camelmlops.stage;

import dev.camelmlops.settings.PipelineSettings;

import dev.camelmlops.data.Dataset;
import dev.camelmlops.data.DatasetSpec;
import dev.camelmlops.data.InvalidDataException;
import dev.camelmlops.data.PreparedData;
import dev.camelmlops.model.Evaluation;
import dev.camelmlops.model.Evaluator;
import dev.camelmlops.model.TrainedModel;
import dev.camelmlops.registry.Json;
import dev.camelmlops.registry.WorkDir;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Test: evaluates the checkpoint on the 10k test split (accuracy, loss, per-class precision and
 * recall, confusion matrix) into evaluation.json, applies the quality gates, writes them as JUnit
 * XML, and fails when a gate fails.
 */
public class TestStage {
    private static final Logger LOG = LoggerFactory.getLogger(TestStage.class);
    private final PipelineSettings settings;

    public TestStage(PipelineSettings settings) {
        this.settings = settings;
    }

    public String run() {
        WorkDir work = new WorkDir(settings.workDir());
        if (!Files.isDirectory(work.checkpoint())) {
            throw new StageFailedException("no checkpoint at " + work.checkpoint() + ": run the train stage first");
        }
        Dataset test = new PreparedData(work.data(), settings.dataset().spec()).readTest();
        long t0 = System.nanoTime();
        Evaluation ev;
        try (TrainedModel model = TrainedModel.load(work.checkpoint(), settings.training().threads())) {
            ev = new Evaluator().evaluate(model, test, 24);
        }
        Map<String, Object> baseline = null;
        List<GateResult> gates = gates(ev);
        if (Files.isDirectory(work.baseline())) {
            baseline = compareWithDeployed(work, test, ev, gates);
        }
        if (baseline != null && baseline.isEmpty()) {
            baseline = null;
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        Map<String, Object> doc = document(ev, gates, seconds, settings.dataset().spec());
        if (baseline != null) {
            doc.put("baseline", baseline);
        }
        doc.put("misclassified", ev.misclassified());
        Json.write(work.evaluation(), doc);
        JUnitReport.write(work.junitReport(), "quality-gate", gates, seconds);
        List<String> failed = gates.stream().filter(g -> !g.passed()).map(GateResult::message).toList();
        if (!failed.isEmpty()) {
            throw new QualityGateFailedException("quality gate failed: " + String.join("; ", failed));
        }
        String summary = String.format(Locale.ROOT, "test: accuracy %.4f, loss %.4f on %d test images; gates passed: %s",
                ev.accuracy(), ev.loss(), ev.count(), gates.stream().map(GateResult::name).toList());
        LOG.info(summary);
        return summary;
    }

    /**
     * Retrain gates, as the example's retrain job: the candidate must not be worse than the
     * deployed model on the same test images (minus quality.max-regression); and the deployed
     * model must agree with the new batches' labels at least quality.min-new-data-agreement of
     * the time (a batch whose labels are shuffled independently of its images scores ~0.1).
     */
    private Map<String, Object> compareWithDeployed(WorkDir work, Dataset test, Evaluation candidate,
                                                    List<GateResult> gates) {
        Map<String, Object> b = new LinkedHashMap<>();
        try (TrainedModel deployed = TrainedModel.load(work.baseline(), settings.training().threads())) {
            List<String> mismatches = deployed.mismatches(settings.dataset().spec());
            if (!mismatches.isEmpty()) {
                LOG.warn("test: the deployed model was trained for another dataset ({}): not compared",
                        String.join("; ", mismatches));
                return b;
            }
            Evaluation base = new Evaluator().evaluate(deployed, test);
            b.put("accuracy", base.accuracy());
            b.put("loss", base.loss());
            double allowed = base.accuracy() - settings.retrain().maxRegression();
            boolean ok = candidate.accuracy() >= allowed;
            gates.add(new GateResult("not-worse-than-deployed", ok, String.format(Locale.ROOT,
                    "candidate accuracy %.4f %s deployed model's %.4f%s", candidate.accuracy(),
                    ok ? "is not worse than the" : "is worse than the", base.accuracy(),
                    settings.retrain().maxRegression() > 0 ? String.format(Locale.ROOT,
                            " minus quality.max-regression %.4f", settings.retrain().maxRegression()) : "")));
            Optional<Dataset> fresh = new PreparedData(work.data(), settings.dataset().spec()).readNew();
            if (fresh.isPresent()) {
                double agreement = new Evaluator().evaluate(deployed, fresh.get()).accuracy();
                b.put("newDataAgreement", agreement);
                b.put("newDataImages", fresh.get().size());
                boolean agrees = agreement >= settings.retrain().minNewDataAgreement();
                gates.add(new GateResult("new-data-labels", agrees, String.format(Locale.ROOT,
                        "the deployed model agrees with %.4f of the %d new labels (quality.min-new-data-agreement"
                                + " %.4f)%s", agreement, fresh.get().size(), settings.retrain().minNewDataAgreement(),
                        agrees ? "" : ": the labels look unrelated to the images")));
            }
        }
        return b;
    }

    List<GateResult> gates(Evaluation ev) {
        List<GateResult> gates = new ArrayList<>();
        if (ev.count() == 0) {
            throw new InvalidDataException(PreparedData.TEST_IMAGES, "the test split is empty", null);
        }
        boolean ok = ev.accuracy() >= settings.minAccuracy();
        gates.add(new GateResult("min-accuracy", ok, String.format(Locale.ROOT,
                "accuracy %.4f %s quality.min-accuracy %.4f (%d test images)", ev.accuracy(),
                ok ? "meets" : "is below", settings.minAccuracy(), ev.count())));
        return gates;
    }

    private static Map<String, Object> document(Evaluation ev, List<GateResult> gates, double seconds,
                                                DatasetSpec spec) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("count", ev.count());
        doc.put("accuracy", ev.accuracy());
        doc.put("loss", ev.loss());
        doc.put("seconds", seconds);
        List<Map<String, Object>> perClass = new ArrayList<>();
        for (int c = 0; c < ev.precision().length; c++) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("label", c);
            row.put("name", spec.classes().get(c));
            row.put("precision", ev.precision()[c]);
            row.put("recall", ev.recall()[c]);
            perClass.add(row);
        }
        doc.put("perClass", perClass);
        doc.put("confusionMatrix", ev.confusion());
        doc.put("confusionMatrixLayout", "rows: true label, columns: predicted label");
        doc.put("gates", gates);
        doc.put("passed", gates.stream().allMatch(GateResult::passed));
        return doc;
    }
}
