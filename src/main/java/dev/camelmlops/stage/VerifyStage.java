package dev.camelmlops.stage;

import dev.camelmlops.camel.CamelHttpTransport;
import dev.camelmlops.settings.PipelineSettings;

import dev.camelmlops.data.Dataset;
import dev.camelmlops.data.PreparedData;
import dev.camelmlops.deploy.AtomicPublisher;
import dev.camelmlops.deploy.DeployTarget;
import dev.camelmlops.deploy.ModelStore;
import dev.camelmlops.model.Evaluator;
import dev.camelmlops.model.TrainedModel;
import dev.camelmlops.registry.Json;
import dev.camelmlops.registry.ModelVersions;
import dev.camelmlops.registry.WorkDir;
import dev.camelmlops.serving.ServingClient;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import java.util.OptionalLong;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Verify: waits until the serving REST API reports the exact deployed version AVAILABLE, checks
 * that its predictions for a canary batch of test images match the local model's (same classes,
 * probabilities within the tolerance), and that the example's own request works. A failure is a
 * {@link VerificationFailedException}; the route then calls {@link #rollBack}: the version's prod
 * folder is removed (so the previous version serves again), the reason is recorded in
 * verify.json, and the stage fails.
 */
public class VerifyStage {
    private static final Logger LOG = LoggerFactory.getLogger(VerifyStage.class);
    private static final long POLL_MILLIS = 500;
    /**
     * In the work folder: a predict request with the first test image, the body of the curl line
     * the end of a run prints (written when the served version answered it).
     */
    public static final String EXAMPLE_REQUEST = "example-request.json";
    private final PipelineSettings settings;
    private final VersionLabels labels;

    public VerifyStage(PipelineSettings settings, VersionLabels labels) {
        this.settings = settings;
        this.labels = labels;
    }

    public String run(Exchange exchange) {
        WorkDir work = new WorkDir(settings.workDir());
        OptionalInt packaged = ModelVersions.newest(work.packages());
        if (packaged.isEmpty()) {
            throw new StageFailedException("no packaged version in " + work.packages() + ": nothing to verify");
        }
        int version = packaged.getAsInt();
        String url = settings.serving().url().orElseThrow(() ->
                new StageFailedException("serving.url is not set and no embedded server is running"));
        Map<String, Object> record = new LinkedHashMap<>();
        record.put("version", version);
        record.put("servingUrl", url);
        record.put("started", Instant.now().toString());
        long t0 = System.nanoTime();
        try (CamelHttpTransport http = new CamelHttpTransport(exchange.getContext(),
                (int) Math.min(Integer.MAX_VALUE, settings.verify().timeout().toMillis()))) {
            ServingClient client = new ServingClient(url, settings.modelName(), http);
            try {
                double waited = awaitAvailable(client, version);
                record.put("secondsUntilAvailable", waited);
                record.put("secondsUntilCanary", labelCanary(client, version, t0, DeployStage.mover(exchange, "verify")));
                check(work, client, version, record);
            } catch (VerificationFailed e) {
                record.put("passed", false);
                record.put("reason", e.getMessage());
                record.put("seconds", (System.nanoTime() - t0) / 1e9);
                throw new VerificationFailedException(version, url, record, e.getMessage());
            }
        }
        record.put("passed", true);
        String stable = promote(exchange, url, version, record);
        record.put("seconds", (System.nanoTime() - t0) / 1e9);
        Json.write(work.root().resolve("verify.json"), record);
        String summary = String.format(Locale.ROOT,
                "verify: version %d is AVAILABLE at %s and answers the canary batch of %s images like the local model"
                        + " (max |diff| %.2e); %s", version, client(url), record.get("canaryImages"), record.get("maxAbsDiff"),
                stable);
        LOG.info(summary);
        return summary;
    }

    /**
     * Labels {@code version} canary (deploy has done it unless no server answered then) and
     * waits until the server resolves the label to it; the seconds that took.
     */
    private double labelCanary(ServingClient client, int version, long t0, VersionLabels.Mover mover) {
        long start = System.nanoTime();
        try (ModelStore prod = settings.target().open(DeployTarget.PROD)) {
            if (labels.read(prod).label(VersionLabels.CANARY).orElse(-1L) != version) {
                labels.label(prod, VersionLabels.CANARY, version, mover);
            }
        } catch (StageFailedException | dev.camelmlops.deploy.DeployException e) {
            throw new VerificationFailed("cannot label version " + version + " " + VersionLabels.CANARY + ": "
                    + e.getMessage());
        }
        java.time.Duration left = settings.verify().timeout().minusNanos(System.nanoTime() - t0);
        OptionalLong seen = VersionLabels.awaitLabel(client, VersionLabels.CANARY, version,
                left.isNegative() ? java.time.Duration.ZERO : left);
        if (seen.isEmpty() || seen.getAsLong() != version) {
            throw new VerificationFailed("the server at " + client.modelUrl() + " "
                    + (seen.isEmpty() ? "does not know the label " + VersionLabels.CANARY
                    : "resolves the label " + VersionLabels.CANARY + " to version " + seen.getAsLong())
                    + " within " + settings.verify().timeout().toSeconds() + " s of the start of verify, although "
                    + settings.target().describe(DeployTarget.PROD) + "/" + VersionLabels.CONFIG_FILE + " labels version "
                    + version + ": is it serving with --model_config_file on that file (README: \"A real TF Serving"
                    + " host\"), and is its poll interval shorter than verify.timeout-seconds?");
        }
        return (System.nanoTime() - start) / 1e9;
    }

    /**
     * Verification passed: moves stable to {@code version} (the canary label goes, only it stays
     * loaded) and waits, within the verify timeout, for the server to resolve stable to it; a
     * server slower than that is reported, not rolled back (the version is good).
     */
    private String promote(Exchange exchange, String url, int version, Map<String, Object> record) {
        try (ModelStore prod = settings.target().open(DeployTarget.PROD)) {
            labels.promoted(prod, version, DeployStage.mover(exchange, "verify"));
        }
        try (CamelHttpTransport http = new CamelHttpTransport(exchange.getContext(), 5000)) {
            OptionalLong seen = VersionLabels.awaitLabel(new ServingClient(url, settings.modelName(), http),
                    VersionLabels.STABLE, version, settings.verify().timeout());
            record.put(VersionLabels.STABLE, version);
            if (seen.isPresent() && seen.getAsLong() == version) {
                return "labelled " + VersionLabels.STABLE;
            }
            String late = "labelled " + VersionLabels.STABLE + " in " + VersionLabels.CONFIG_FILE + ", but the server still"
                    + " resolves it to " + (seen.isEmpty() ? "nothing" : "version " + seen.getAsLong()) + " after "
                    + settings.verify().timeout().toSeconds() + " s";
            LOG.warn("verify: version {} {}", version, late);
            record.put("stableWarning", late);
            return late;
        }
    }

    private String client(String url) {
        return url + "/v1/models/" + settings.modelName();
    }

    /** Waits (verify.timeout-seconds) until the version is AVAILABLE; the seconds that took. */
    private double awaitAvailable(ServingClient client, int version) {
        long start = System.nanoTime();
        try {
            VersionLabels.availability(client, settings.verify().timeout(), settings.verify().timeout()).await(version);
        } catch (StageFailedException e) {
            throw new VerificationFailed(e.getMessage());
        }
        return (System.nanoTime() - start) / 1e9;
    }

    /** "'Sandal' (5)": a class by name and index. */
    private String className(int index) {
        java.util.List<String> names = settings.dataset().spec().classes();
        return index >= 0 && index < names.size() ? "'" + names.get(index) + "' (" + index + ")" : String.valueOf(index);
    }

    private void check(WorkDir work, ServingClient client, int version, Map<String, Object> record) {
        Dataset test = new PreparedData(work.data(), settings.dataset().spec()).readTest();
        Dataset canary = test.head(settings.verify().canarySize());
        float[][] images = new float[canary.size()][canary.imageSize()];
        for (int i = 0; i < canary.size(); i++) {
            canary.copyScaled(i, images[i], 0);
        }
        float[][] local;
        try (TrainedModel model = TrainedModel.load(work.packageDir(version), settings.training().threads())) {
            local = new Evaluator().predict(model, canary, canary.size());
        }
        float[][] remote;
        try {
            remote = client.predictLabelled(VersionLabels.CANARY, images, canary.rows(), canary.cols(),
                    canary.channels(), "serving_default");
        } catch (IllegalStateException e) {
            throw new VerificationFailed(e.getMessage());
        }
        double maxDiff = 0;
        for (int i = 0; i < local.length; i++) {
            if (remote[i].length != local[i].length) {
                throw new VerificationFailed("image " + i + ": " + remote[i].length + " probabilities, expected "
                        + local[i].length);
            }
            if (argmax(remote[i]) != argmax(local[i])) {
                throw new VerificationFailed("image " + i + " is classified " + className(argmax(remote[i]))
                        + " by the served model but " + className(argmax(local[i])) + " by the packaged model");
            }
            for (int c = 0; c < local[i].length; c++) {
                maxDiff = Math.max(maxDiff, Math.abs(remote[i][c] - local[i][c]));
            }
        }
        record.put("canaryImages", local.length);
        record.put("maxAbsDiff", maxDiff);
        if (maxDiff > settings.verify().tolerance()) {
            throw new VerificationFailed(String.format(Locale.ROOT,
                    "served probabilities differ from the packaged model's by up to %.3g (tolerance %.3g)", maxDiff,
                    settings.verify().tolerance()));
        }
        float[][] seed = new float[Math.min(3, images.length)][];
        System.arraycopy(images, 0, seed, 0, seed.length);
        try {
            float[][] p = client.predict(null, seed, canary.rows(), canary.cols(), canary.channels(),
                    "serving_default");
            record.put("exampleRequestPredictions", p.length);
            writeExampleRequest(work, images[0], canary);
        } catch (IllegalStateException e) {
            throw new VerificationFailed("the example's request to " + client.modelUrl() + ":predict failed: "
                    + e.getMessage());
        }
    }

    private static void writeExampleRequest(WorkDir work, float[] image, Dataset canary) {
        String body = ServingClient.requestBody(new float[][] {image}, canary.rows(), canary.cols(), canary.channels(),
                "serving_default");
        try {
            java.nio.file.Files.writeString(work.root().resolve(EXAMPLE_REQUEST), body);
        } catch (java.io.IOException e) {
            LOG.warn("verify: cannot write {}: {}", work.root().resolve(EXAMPLE_REQUEST), e.toString());
        }
    }

    /**
     * After a failed verification (the exception caught by the route): removes the version from
     * prod, waits (bounded) until the server serves another one, records both in verify.json and
     * returns the stage's failure message.
     */
    public String rollBack(Exchange exchange) {
        VerificationFailedException failure = exchange.getProperty(Exchange.EXCEPTION_CAUGHT,
                VerificationFailedException.class);
        int version = failure.version();
        Map<String, Object> record = new LinkedHashMap<>(failure.record());
        String rollback;
        try (CamelHttpTransport http = new CamelHttpTransport(exchange.getContext(),
                (int) Math.min(Integer.MAX_VALUE, settings.verify().timeout().toMillis()))) {
            rollback = rollback(new ServingClient(failure.servingUrl(), settings.modelName(), http), version,
                    DeployStage.mover(exchange, "verify"));
        }
        record.put("rollback", rollback);
        Json.write(new WorkDir(settings.workDir()).root().resolve("verify.json"), record);
        return "verify failed for version " + version + ": " + failure.getMessage() + "; " + rollback;
    }

    private String rollback(ServingClient client, int version, VersionLabels.Mover mover) {
        try (ModelStore prod = settings.target().open(DeployTarget.PROD)) {
            try {
                labels.dropped(prod, version, mover);
            } catch (StageFailedException e) {
                LOG.error("verify: {} not updated for the rollback of version {}: {}", VersionLabels.CONFIG_FILE,
                        version, e.getMessage());
            }
            AtomicPublisher.remove(prod, version);
        } catch (RuntimeException e) {
            LOG.error("verify: ROLLBACK FAILED for version {}: {}", version, e.getMessage());
            return "rollback FAILED: " + e.getMessage();
        }
        OptionalLong serving = OptionalLong.empty();
        long deadline = System.nanoTime() + Math.min(settings.verify().timeout().toNanos(), 10_000_000_000L);
        while (System.nanoTime() < deadline) {
            try {
                serving = client.servedVersion();
                if (serving.isPresent() && serving.getAsLong() != version) {
                    break;
                }
            } catch (RuntimeException e) {
                serving = OptionalLong.empty();
            }
            sleep(POLL_MILLIS);
        }
        String result = "version " + version + " rolled back (removed from "
                + settings.target().describe(DeployTarget.PROD) + ")"
                + (serving.isPresent() && serving.getAsLong() != version
                ? "; version " + serving.getAsLong() + " serves again" : "; no other version is being served");
        LOG.warn("verify: {}", result);
        return result;
    }

    private static int argmax(float[] p) {
        int best = 0;
        for (int i = 1; i < p.length; i++) {
            if (p[i] > p[best]) {
                best = i;
            }
        }
        return best;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StageFailedException("interrupted while verifying");
        }
    }

    /** A check failed: roll back. */
    private static final class VerificationFailed extends RuntimeException {
        VerificationFailed(String message) {
            super(message);
        }
    }
}
