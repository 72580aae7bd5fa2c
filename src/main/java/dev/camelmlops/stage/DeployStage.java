package dev.camelmlops.stage;

import dev.camelmlops.camel.CamelHttpTransport;
import dev.camelmlops.settings.PipelineSettings;

import dev.camelmlops.deploy.AtomicPublisher;
import dev.camelmlops.deploy.DeployTarget;
import dev.camelmlops.deploy.ModelStore;
import dev.camelmlops.registry.Json;
import dev.camelmlops.registry.ModelVersions;
import dev.camelmlops.registry.RunInfo;
import dev.camelmlops.registry.WorkDir;
import dev.camelmlops.serving.ServingClient;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deploy: ships the newest packaged version in the work folder into prod without ever exposing a
 * half-copied version ({@link AtomicPublisher}), then applies retention, never removing the
 * version being served.
 */
public class DeployStage {
    private static final Logger LOG = LoggerFactory.getLogger(DeployStage.class);
    private final PipelineSettings settings;

    public DeployStage(PipelineSettings settings) {
        this.settings = settings;
    }

    /** Cleans up interrupted uploads and returns the shipment of the newest packaged version. */
    public Shipment prepare() {
        WorkDir work = new WorkDir(settings.workDir());
        OptionalInt version = ModelVersions.newest(work.packages());
        if (version.isEmpty()) {
            throw new StageFailedException("no packaged version in " + work.packages() + ": run the package stage first");
        }
        RunInfo run = RunInfo.readOr(work.runInfo(), new RunInfo(settings.runId(), null, settings.gitCommit()));
        try (ModelStore prod = settings.target().open(DeployTarget.PROD)) {
            AtomicPublisher.removeLeftovers(prod);
            if (prod.exists(Integer.toString(version.getAsInt()))) {
                throw new StageFailedException("version " + version.getAsInt() + " is already in "
                        + prod.describe() + ": package a new version to deploy");
            }
        }
        Shipment s = Shipments.of(work.packageDir(version.getAsInt()), settings.target(), DeployTarget.PROD,
                run.runId());
        LOG.info("deploy: shipping version {} ({} files) to {}", s.getVersion(), s.getFiles().size(),
                settings.target().describe(DeployTarget.PROD));
        return s;
    }

    /** Verifies the upload, renames it to the version number, then applies retention. */
    public String publish(Shipment shipment, Exchange exchange) {
        int v = shipment.getVersion();
        List<Integer> removed;
        Set<Integer> protect = new TreeSet<>(Set.of(v));
        try (ModelStore prod = settings.target().open(DeployTarget.PROD)) {
            AtomicPublisher.publish(prod, shipment.getIncoming(), v, shipment.getSizes());
            servedVersion(exchange).ifPresent(s -> protect.add((int) s));
            removed = AtomicPublisher.retain(prod, settings.keepVersions(), protect);
        }
        Map<String, Object> record = new LinkedHashMap<>();
        record.put("version", v);
        record.put("target", settings.target().describe(DeployTarget.PROD));
        record.put("published", Instant.now().toString());
        record.put("protected", protect);
        record.put("removedByRetention", removed);
        Json.write(new WorkDir(settings.workDir()).root().resolve("deploy.json"), record);
        String summary = "deploy: version " + v + " published to " + settings.target().describe(DeployTarget.PROD)
                + (removed.isEmpty() ? "" : "; retention removed " + removed);
        LOG.info(summary);
        return summary;
    }

    private OptionalLong servedVersion(Exchange exchange) {
        if (settings.serving().url().isEmpty()) {
            return OptionalLong.empty();
        }
        try (CamelHttpTransport http = new CamelHttpTransport(exchange.getContext(), 5000)) {
            return new ServingClient(settings.serving().url().get(), settings.modelName(), http).servedVersion();
        } catch (RuntimeException e) {
            LOG.warn("deploy: cannot ask {} which version it serves ({}); retention keeps the newest {}",
                    settings.serving().url().get(), e.getMessage(), settings.keepVersions());
            return OptionalLong.empty();
        }
    }
}
