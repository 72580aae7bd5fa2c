package dev.camelmlops.stage;

import dev.camelmlops.data.Sha256;
import dev.camelmlops.model.GraphNames;
import dev.camelmlops.model.ServingContract;
import dev.camelmlops.model.TrainedModel;
import dev.camelmlops.registry.Json;
import dev.camelmlops.registry.ModelManifest;
import dev.camelmlops.registry.ModelVersions;
import dev.camelmlops.registry.RunInfo;
import dev.camelmlops.registry.WorkDir;
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
 * the route then ships the files to the staging endpoint and {@link #verifyStaged} checks the copy.
 */
public class PackageStage {
    private static final Logger LOG = LoggerFactory.getLogger(PackageStage.class);
    private final PipelineSettings settings;

    public PackageStage(PipelineSettings settings) {
        this.settings = settings;
    }

    public PackagedModel export() {
        WorkDir work = new WorkDir(settings.workDir());
        if (!Files.isRegularFile(work.evaluation())) {
            throw new StageFailedException("no evaluation at " + work.evaluation() + ": run the test stage first");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> evaluation = Json.read(work.evaluation(), Map.class);
        if (!Boolean.TRUE.equals(evaluation.get("passed"))) {
            throw new StageFailedException("the checkpoint did not pass the quality gate: refusing to package it");
        }
        int version = nextVersion(work);
        Path dir = work.packageDir(version);
        try {
            FileTrees.deleteRecursively(dir);
            try (TrainedModel model = TrainedModel.load(work.checkpoint(), settings.training().threads())) {
                model.export(dir);
            }
            List<String> problems = ServingContract.violations(dir);
            if (!problems.isEmpty()) {
                throw new StageFailedException("exported SavedModel breaks the serving contract: " + problems);
            }
            List<ModelManifest.FileEntry> entries = new ArrayList<>();
            List<PackagedModel.ShippedFile> files = new ArrayList<>();
            for (String rel : FileTrees.relativeFiles(dir)) {
                Path f = dir.resolve(rel);
                entries.add(new ModelManifest.FileEntry(rel, Sha256.of(f), Files.size(f)));
                files.add(new PackagedModel.ShippedFile(version + "/" + rel, f.toFile()));
            }
            RunInfo run = RunInfo.readOr(work.runInfo(), new RunInfo(settings.runId(), null, settings.gitCommit()));
            ModelManifest manifest = new ModelManifest(version, settings.modelName(),
                    settings.training().architecture().id(), run.runId(), Instant.now().toString(),
                    run.gitCommit() != null ? run.gitCommit() : settings.gitCommit(),
                    Sha256.of(work.data().resolve(dev.camelmlops.data.PreparedData.MANIFEST)),
                    metrics(evaluation), signature(), entries);
            Path manifestFile = dir.resolve(ModelManifest.FILE_NAME);
            Json.write(manifestFile, manifest);
            files.add(new PackagedModel.ShippedFile(version + "/" + ModelManifest.FILE_NAME, manifestFile.toFile()));
            LOG.info("package: version {} exported to {} ({} files)", version, dir, files.size());
            return new PackagedModel(version, dir, files);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot package version " + version, e);
        }
    }

    /** Checks every file of the staged copy against the manifest (size and SHA-256). */
    public String verifyStaged(PackagedModel pkg) {
        Path staged = settings.stagingDir().resolve(Integer.toString(pkg.getVersion()));
        ModelManifest manifest = Json.read(staged.resolve(ModelManifest.FILE_NAME), ModelManifest.class);
        for (ModelManifest.FileEntry e : manifest.files()) {
            Path f = staged.resolve(e.path());
            try {
                if (!Files.isRegularFile(f) || Files.size(f) != e.bytes() || !Sha256.of(f).equals(e.sha256())) {
                    throw new StageFailedException("staged copy of version " + pkg.getVersion() + " is corrupt: "
                            + e.path() + " does not match MANIFEST.json");
                }
            } catch (IOException ex) {
                throw new UncheckedIOException(ex);
            }
        }
        String summary = "package: version " + pkg.getVersion() + " staged at " + staged + " ("
                + manifest.files().size() + " files + manifest, checksums verified)";
        LOG.info(summary);
        return summary;
    }

    private int nextVersion(WorkDir work) {
        int highest = Math.max(ModelVersions.highest(ModelVersions.list(settings.stagingDir())),
                ModelVersions.highest(ModelVersions.list(work.packages())));
        return highest + 1;
    }

    private static Map<String, Object> metrics(Map<String, Object> evaluation) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("accuracy", evaluation.get("accuracy"));
        m.put("loss", evaluation.get("loss"));
        m.put("testImages", evaluation.get("count"));
        return m;
    }

    private static Map<String, Object> signature() {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("tag", GraphNames.SERVE_TAG);
        s.put("key", GraphNames.SIGNATURE_KEY);
        s.put("method", GraphNames.PREDICT_METHOD);
        s.put("inputs", Map.of(GraphNames.SIGNATURE_INPUT, Map.of("dtype", "DT_FLOAT", "shape", List.of(-1, 28, 28, 1))));
        s.put("outputs", Map.of(GraphNames.SIGNATURE_OUTPUT, Map.of("dtype", "DT_FLOAT", "shape", List.of(-1, 10))));
        return s;
    }
}
