package dev.camelmlops.stage;

import dev.camelmlops.settings.PipelineSettings;

import dev.camelmlops.data.Dataset;
import dev.camelmlops.data.DatasetSpec;
import dev.camelmlops.data.PreparedData;
import dev.camelmlops.data.Sha256;
import dev.camelmlops.deploy.AtomicPublisher;
import dev.camelmlops.deploy.DeployTarget;
import dev.camelmlops.deploy.ModelStore;
import dev.camelmlops.model.GraphNames;
import dev.camelmlops.model.ServingContract;
import dev.camelmlops.model.TrainedModel;
import dev.camelmlops.registry.Json;
import dev.camelmlops.registry.ModelManifest;
import dev.camelmlops.registry.ModelVersions;
import dev.camelmlops.registry.RunInfo;
import dev.camelmlops.registry.WorkDir;
import dev.camelmlops.serving.WarmupRequests;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Package: exports the tested checkpoint as a SavedModel that meets the TF Serving contract, with
 * MANIFEST.json, as the next version number (1 + the highest in staging), into the work folder;
 * the route then ships the files into a non-numeric folder in staging through the staging
 * endpoint, and {@link #publish} checks them and renames the folder to the version.
 */
public class PackageStage {
    private static final Logger LOG = LoggerFactory.getLogger(PackageStage.class);
    private final PipelineSettings settings;

    public PackageStage(PipelineSettings settings) {
        this.settings = settings;
    }

    /** Exports the next version into the work folder and returns its shipment to staging. */
    public Shipment export() {
        WorkDir work = new WorkDir(settings.workDir());
        if (!Files.isRegularFile(work.evaluation())) {
            throw new StageFailedException("no evaluation at " + work.evaluation() + ": run the test stage first");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> evaluation = Json.read(work.evaluation(), Map.class);
        if (!Boolean.TRUE.equals(evaluation.get("passed"))) {
            throw new StageFailedException("the checkpoint did not pass the quality gate: refusing to package it");
        }
        RunInfo run = RunInfo.readOr(work.runInfo(), new RunInfo(settings.runId(), null, settings.gitCommit()));
        int version;
        try (ModelStore staging = settings.target().open(DeployTarget.STAGING)) {
            AtomicPublisher.removeLeftovers(staging);
            version = Math.max(ModelVersions.highest(staging.list("")),
                    ModelVersions.highest(ModelVersions.list(work.packages()))) + 1;
        }
        Path dir = work.packageDir(version);
        try {
            FileTrees.deleteRecursively(dir);
            try (TrainedModel model = TrainedModel.load(work.checkpoint(), settings.training().threads())) {
                model.export(dir);
            }
            List<String> problems = ServingContract.violations(dir, settings.dataset().spec());
            if (!problems.isEmpty()) {
                throw new StageFailedException("exported SavedModel breaks the serving contract: " + problems);
            }
            writeWarmup(dir, new PreparedData(work.data(), settings.dataset().spec()).readTest(),
                    settings.modelName(), settings.verify().canarySize());
            List<ModelManifest.FileEntry> entries = new ArrayList<>();
            for (String rel : FileTrees.relativeFiles(dir)) {
                Path f = dir.resolve(rel);
                entries.add(new ModelManifest.FileEntry(rel, Sha256.of(f), Files.size(f)));
            }
            ModelManifest manifest = new ModelManifest(version, settings.modelName(),
                    settings.training().architecture().id(), run.runId(), Instant.now().toString(),
                    run.gitCommit() != null ? run.gitCommit() : settings.gitCommit(),
                    Sha256.of(work.data().resolve(PreparedData.MANIFEST)),
                    metrics(evaluation), signature(settings.dataset().spec()), dataset(settings.dataset().spec()),
                    entries);
            Json.write(dir.resolve(ModelManifest.FILE_NAME), manifest);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot package version " + version, e);
        }
        Shipment shipment = Shipments.of(dir, settings.target(), DeployTarget.STAGING, run.runId());
        LOG.info("package: version {} exported to {}; shipping {} files to {}", version, dir,
                shipment.getFiles().size(), settings.target().describe(DeployTarget.STAGING));
        return shipment;
    }

    /** Checks the uploaded files against the manifest and makes the version appear in staging. */
    public String publish(Shipment shipment) {
        try (ModelStore staging = settings.target().open(DeployTarget.STAGING)) {
            AtomicPublisher.publish(staging, shipment.getIncoming(), shipment.getVersion(), shipment.getSizes());
        }
        String summary = "package: version " + shipment.getVersion() + " staged at "
                + settings.target().describe(DeployTarget.STAGING) + "/" + shipment.getVersion() + " ("
                + shipment.getFiles().size() + " files, sizes verified)";
        LOG.info(summary);
        return summary;
    }

    /**
     * Writes TF Serving's warm-up file into the SavedModel (so TF Serving and the embedded server
     * run it before the version takes traffic): two predict requests on {@code serving_default}
     * made of the run's first test images, one of 1 image and one of {@code batch} images (the
     * verify stage's canary size; fewer if the test split is smaller).
     */
    static Path writeWarmup(Path savedModel, Dataset test, String modelName, int batch) throws IOException {
        List<List<WarmupRequests.FloatInput>> requests = new ArrayList<>();
        for (int n : new java.util.TreeSet<>(List.of(1, Math.max(1, Math.min(batch, test.size()))))) {
            float[] values = new float[n * test.imageSize()];
            for (int i = 0; i < n; i++) {
                test.copyScaled(i, values, i * test.imageSize());
            }
            requests.add(List.of(new WarmupRequests.FloatInput(GraphNames.SIGNATURE_INPUT,
                    new long[] {n, test.rows(), test.cols(), test.channels()}, values)));
        }
        return WarmupRequests.write(savedModel, modelName, GraphNames.SIGNATURE_KEY, requests);
    }

    private static Map<String, Object> metrics(Map<String, Object> evaluation) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("accuracy", evaluation.get("accuracy"));
        m.put("loss", evaluation.get("loss"));
        m.put("testImages", evaluation.get("count"));
        return m;
    }

    /** The manifest's dataset entry: what the model's input and output mean. */
    static Map<String, Object> dataset(DatasetSpec spec) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("name", spec.name());
        d.put("height", spec.height());
        d.put("width", spec.width());
        d.put("channels", spec.channels());
        d.put("classes", spec.classes());
        return d;
    }

    private static Map<String, Object> signature(DatasetSpec spec) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("tag", GraphNames.SERVE_TAG);
        s.put("key", GraphNames.SIGNATURE_KEY);
        s.put("method", GraphNames.PREDICT_METHOD);
        s.put("inputs", Map.of(GraphNames.SIGNATURE_INPUT, Map.of("dtype", "DT_FLOAT", "shape",
                List.of(-1, spec.height(), spec.width(), spec.channels()))));
        s.put("outputs", Map.of(GraphNames.SIGNATURE_OUTPUT, Map.of("dtype", "DT_FLOAT", "shape",
                List.of(-1, spec.classCount()))));
        return s;
    }
}
