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
    private final VersionLabels labels;

    public DeployStage(PipelineSettings settings, VersionLabels labels) {
        this.settings = settings;
        this.labels = labels;
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

    /**
     * Verifies the upload, renames it to the version number, adds it to the versions that
     * {@code models.config} loads ({@link VersionLabels#addCandidate}), applies retention (never
     * to a labelled or loaded version, nor the one being served), and labels it canary once the
     * serving host reports it AVAILABLE; when no host answers in time that label is left to verify.
     */
    public String publish(Shipment shipment, Exchange exchange) {
        int v = shipment.getVersion();
        List<Integer> removed;
        Set<Integer> protect = new TreeSet<>(Set.of(v));
        VersionLabels.Mover mover = mover(exchange, "deploy");
        VersionLabels.State state;
        try (ModelStore prod = settings.target().open(DeployTarget.PROD)) {
            AtomicPublisher.publish(prod, shipment.getIncoming(), v, shipment.getSizes());
            state = labels.addCandidate(prod, v, mover);
            state.labels().values().forEach(l -> protect.add(l.intValue()));
            state.policyVersions().forEach(l -> protect.add(l.intValue()));
            servedVersion(exchange).ifPresent(s -> protect.add((int) s));
            removed = AtomicPublisher.retain(prod, settings.keepVersions(), protect);
        }
        String canary = labelCanary(v, exchange, mover);
        Map<String, Object> record = new LinkedHashMap<>();
        record.put("version", v);
        record.put("target", settings.target().describe(DeployTarget.PROD));
        record.put("published", Instant.now().toString());
        record.put("protected", protect);
        record.put("servingConfig", settings.target().describe(DeployTarget.PROD) + "/" + VersionLabels.CONFIG_FILE);
        record.put("stable", state.label(VersionLabels.STABLE).orElse(null));
        boolean labelled = "labelled".equals(canary);
        record.put("canary", labelled ? v : null);
        if (!labelled) {
            record.put("canaryLeftToVerify", canary);
        }
        record.put("removedByRetention", removed);
        Json.write(new WorkDir(settings.workDir()).root().resolve("deploy.json"), record);
        String summary = "deploy: version " + v + " published to " + settings.target().describe(DeployTarget.PROD)
                + (labelled ? " and labelled " + VersionLabels.CANARY
                : " (" + VersionLabels.CANARY + " label left to verify: " + canary + ")")
                + state.label(VersionLabels.STABLE).map(s -> "; " + VersionLabels.STABLE + " stays " + s).orElse("")
                + (removed.isEmpty() ? "" : "; retention removed " + removed);
        LOG.info(summary);
        return summary;
    }

    /** Who moves labels in this exchange: the stage and the run. */
    static VersionLabels.Mover mover(Exchange exchange, String stage) {
        String run = exchange.getMessage().getHeader(dev.camelmlops.run.RunRecorder.RUN_ID, String.class);
        return new VersionLabels.Mover(stage, run, null);
    }

    /**
     * Waits (at most verify.timeout-seconds) until the serving host reports {@code v} AVAILABLE,
     * then labels it canary; what happened, in words.
     */
    private String labelCanary(int v, Exchange exchange, VersionLabels.Mover mover) {
        if (settings.serving().url().isEmpty()) {
            return "no serving.url to ask whether it is AVAILABLE";
        }
        try (CamelHttpTransport http = new CamelHttpTransport(exchange.getContext(), 5000)) {
            ServingClient client = new ServingClient(settings.serving().url().get(), settings.modelName(), http);
            VersionLabels.availability(client, settings.verify().timeout()).await(v);
            try (ModelStore prod = settings.target().open(DeployTarget.PROD)) {
                labels.label(prod, VersionLabels.CANARY, v, mover);
            }
            // done when the server answers the label (it reads the file at its own pace)
            java.util.OptionalLong seen = VersionLabels.awaitLabel(client, VersionLabels.CANARY, v,
                    settings.verify().timeout());
            if (seen.isEmpty() || seen.getAsLong() != v) {
                return "written to " + VersionLabels.CONFIG_FILE + ", but the server did not resolve it to version " + v
                        + " within " + settings.verify().timeout().toSeconds() + " s";
            }
            return "labelled";
        } catch (StageFailedException | dev.camelmlops.deploy.DeployException e) {
            LOG.warn("deploy: version {} not labelled {} yet: {}", v, VersionLabels.CANARY, e.getMessage());
            return e.getMessage();
        }
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
