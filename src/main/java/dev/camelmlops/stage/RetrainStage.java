package dev.camelmlops.stage;

import dev.camelmlops.run.RunRecorder;
import dev.camelmlops.settings.PipelineSettings;

import dev.camelmlops.data.BatchStore;
import dev.camelmlops.deploy.AtomicPublisher;
import dev.camelmlops.deploy.DeployTarget;
import dev.camelmlops.deploy.ModelStore;
import dev.camelmlops.registry.Json;
import dev.camelmlops.registry.WorkDir;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.camel.Header;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Retrain, first step: claims every pending batch of new data for this run, fetches the currently
 * deployed model (the version labelled stable in prod/models.config, else the highest version in
 * prod; over SFTP its copy in staging) into
 * {@code work/baseline/} to warm-start from and compare against, and builds the training data:
 * the new batches plus a replay sample of the base training data.
 */
public class RetrainStage {
    private static final Logger LOG = LoggerFactory.getLogger(RetrainStage.class);
    private final PipelineSettings settings;
    private final BuildStage build;
    private final BatchStore batches;
    private final VersionLabels labels;

    public RetrainStage(PipelineSettings settings, BuildStage build, BatchStore batches, VersionLabels labels) {
        this.settings = settings;
        this.build = build;
        this.batches = batches;
        this.labels = labels;
    }

    public String prepare(@Header(RunRecorder.RUN_ID) String runId) {
        List<BatchStore.Batch> claimed = batches.claim(runId);
        String summary = build.build(runId, claimed, settings.retrain().replayFraction());
        WorkDir work = new WorkDir(settings.workDir());
        int deployed;
        try (ModelStore prod = settings.target().open(DeployTarget.PROD)) {
            List<Integer> versions = AtomicPublisher.versions(prod);
            if (versions.isEmpty()) {
                throw new StageFailedException("no deployed model in " + prod.describe()
                        + " to warm-start from: run ./mlops run first");
            }
            // after a rollback the stable version is not the newest: warm-start from (and compare with) it
            deployed = labels.read(prod).label(VersionLabels.STABLE).map(Long::intValue).filter(versions::contains)
                    .orElse(versions.get(versions.size() - 1));
            if (!settings.target().remote()) {
                prod.download(Integer.toString(deployed), work.baseline());
            }
        }
        if (settings.target().remote()) {
            try (ModelStore staging = settings.target().open(DeployTarget.STAGING)) {
                if (!staging.exists(Integer.toString(deployed))) {
                    throw new StageFailedException("deployed version " + deployed + " is not in "
                            + staging.describe() + ": cannot fetch it to warm-start from");
                }
                staging.download(Integer.toString(deployed), work.baseline());
            }
        }
        Map<String, Object> record = new LinkedHashMap<>();
        record.put("deployedVersion", deployed);
        record.put("batches", claimed.stream().map(BatchStore.Batch::sha256).toList());
        Json.write(work.root().resolve("retrain.json"), record);
        LOG.info("retrain: warm start from deployed version {}; {} new batches; {}", deployed, claimed.size(), summary);
        return summary;
    }
}
