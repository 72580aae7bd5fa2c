package dev.camelmlops.stage;

import dev.camelmlops.deploy.AtomicPublisher;
import dev.camelmlops.deploy.ModelStore;
import dev.camelmlops.registry.RunLedger;
import dev.camelmlops.serving.ModelServerConfig;
import dev.camelmlops.serving.ModelServerConfig.Model;
import dev.camelmlops.serving.ModelServerConfig.VersionPolicy;
import dev.camelmlops.settings.PipelineSettings;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The version labels of the model in prod ({@value #STABLE}, {@value #CANARY}), kept where TF
 * Serving reads them: {@code <prod>/}{@value #CONFIG_FILE}, its model server config, with a
 * {@code specific} version policy naming the versions to load. Every change rewrites that file
 * atomically (temporary file, then rename), locally or over SFTP, keeping the entries of other
 * models, and is recorded in the run ledger.
 *
 * <p>TF Serving assigns a label only to a version that is AVAILABLE at the moment it reads the
 * file, and refuses the whole file otherwise (without loading anything it adds). So a label moves
 * to a new version in two writes: the first adds the version to the policy, the second, once the
 * server reports it AVAILABLE, moves the label ({@link Availability}).
 */
public final class VersionLabels {
    private static final Logger LOG = LoggerFactory.getLogger(VersionLabels.class);
    public static final String STABLE = "stable";
    public static final String CANARY = "canary";
    public static final String CONFIG_FILE = "models.config";
    /** The comment on top of every file written. */
    static final List<String> HEADER = List.of(
            "TensorFlow Serving model config (tensorflow_model_server --model_config_file), kept by camel-mlops:",
            "deploy adds a version and labels it canary, verify moves stable to it, mlops promote / rollback",
            "move stable. Written whole and renamed into place; entries of other models are kept as they are.");

    private final PipelineSettings settings;
    private final RunLedger ledger;
    private String eventsRun;
    private final List<Map<String, Object>> events = new ArrayList<>();

    public VersionLabels(PipelineSettings settings, RunLedger ledger) {
        this.settings = settings;
        this.ledger = ledger;
    }

    /** Waits until the serving host reports a version AVAILABLE, or fails saying why. */
    @FunctionalInterface
    public interface Availability {
        void await(long version);
    }

    /** Who moves a label: the stage or command, its run, and the command line when a person typed it. */
    public record Mover(String by, String runId, String command) {
    }

    /** The model's entry in the config ({@code model} empty when there is none) and the whole config. */
    public record State(ModelServerConfig config, Optional<Model> model) {
        public Optional<Long> label(String label) {
            return model.flatMap(m -> m.label(label));
        }

        public Map<String, Long> labels() {
            return model.map(Model::labels).orElse(Map.of());
        }

        /** The versions the policy names (a specific policy), else empty. */
        public SortedSet<Long> policyVersions() {
            return model.map(Model::policy).filter(p -> p instanceof VersionPolicy.Specific)
                    .map(p -> ((VersionPolicy.Specific) p).versions()).orElse(new TreeSet<>());
        }
    }

    /** Reads {@code <prod>/models.config}; a file that does not parse stops here, untouched. */
    public State read(ModelStore prod) {
        Optional<byte[]> bytes = prod.read(CONFIG_FILE);
        if (bytes.isEmpty()) {
            return new State(ModelServerConfig.empty(), Optional.empty());
        }
        ModelServerConfig config;
        try {
            config = ModelServerConfig.parse(new String(bytes.get(), StandardCharsets.UTF_8),
                    prod.describe() + "/" + CONFIG_FILE);
        } catch (ModelServerConfig.InvalidModelConfigException e) {
            throw new StageFailedException(e.getMessage() + " (left as it is: fix it, or remove it to start"
                    + " the labels afresh)");
        }
        return new State(config, config.model(settings.modelName()));
    }

    // ---- the pipeline ----

    /**
     * Deploy, after publishing {@code version}: the policy loads it beside the stable version; a
     * canary of an earlier trial loses its label (this version is the new trial).
     */
    public State addCandidate(ModelStore prod, long version, Mover mover) {
        State s = read(prod);
        TreeSet<Long> versions = new TreeSet<>();
        Map<String, Long> labels = new TreeMap<>();
        s.label(STABLE).ifPresent(v -> {
            versions.add(v);
            labels.put(STABLE, v);
        });
        versions.add(version);
        return write(prod, s, versions, labels, mover);
    }

    /**
     * Labels {@code version} (which the server reports AVAILABLE) as {@code label}, keeping the
     * other labels and loading whatever they name.
     */
    public State label(ModelStore prod, String label, long version, Mover mover) {
        State s = read(prod);
        TreeSet<Long> versions = new TreeSet<>(s.labels().values());
        versions.add(version);
        Map<String, Long> labels = new TreeMap<>(s.labels());
        labels.put(label, version);
        return write(prod, s, versions, labels, mover);
    }

    /** Verify passed: {@code version} is stable, the trial is over (no canary), only it is loaded. */
    public State promoted(ModelStore prod, long version, Mover mover) {
        return write(prod, read(prod), new TreeSet<>(List.of(version)), Map.of(STABLE, version), mover);
    }

    /**
     * Verify failed: {@code version} leaves the policy and loses its labels; the stable version
     * (if another) stays. Without one, the policy is TF Serving's default (the newest version),
     * as before any label existed.
     */
    public State dropped(ModelStore prod, long version, Mover mover) {
        State s = read(prod);
        Map<String, Long> labels = new TreeMap<>(s.labels());
        labels.values().removeIf(v -> v == version);
        TreeSet<Long> versions = new TreeSet<>(labels.values());
        return write(prod, s, versions, labels, mover);
    }

    // ---- commands ----

    /**
     * Makes {@code version} stable: adds it to the policy, waits until the server reports it
     * AVAILABLE ({@code availability}; null when no server is there to ask), then moves the label
     * and unloads the rest. When the wait fails the previous file is put back and this throws.
     */
    public State promote(ModelStore prod, long version, Availability availability, Mover mover) {
        List<Integer> present = AtomicPublisher.versions(prod);
        if (!present.contains((int) version)) {
            throw new StageFailedException("version " + version + " is not in " + prod.describe() + " (there: "
                    + (present.isEmpty() ? "none" : present) + ")");
        }
        State before = read(prod);
        if (before.label(STABLE).orElse(-1L) == version && before.policyVersions().equals(new TreeSet<>(List.of(version)))
                && before.labels().size() == 1) {
            LOG.info("version {} is already {}; nothing to change", version, STABLE);
            return before;
        }
        if (availability != null) {
            // loaded first (already in the policy, e.g. a canary: still waited for; it may have failed to load)
            if (!before.policyVersions().contains(version)) {
                TreeSet<Long> both = new TreeSet<>(before.policyVersions());
                both.addAll(before.labels().values());
                both.add(version);
                write(prod, before, both, before.labels(), null);
            }
            try {
                availability.await(version);
            } catch (RuntimeException e) {
                prod.replaceAtomically(CONFIG_FILE, before.config().text(HEADER).getBytes(StandardCharsets.UTF_8));
                throw new StageFailedException("version " + version + " did not become AVAILABLE: " + e.getMessage()
                        + "; " + CONFIG_FILE + " is back as it was (" + STABLE + " "
                        + before.label(STABLE).map(String::valueOf).orElse("none") + ")", e);
            }
        }
        return write(prod, read(prod), new TreeSet<>(List.of(version)), Map.of(STABLE, version), mover);
    }

    /**
     * The version a rollback goes to: walking back through the stable label's history in the
     * ledger, the latest earlier stable version that is still in prod and was not rolled back from
     * (unless it was made stable again after that); without such, the highest version in prod below the current stable one that was
     * not rolled back from either (rolling back twice does not return to where the first began).
     */
    public long rollbackTarget(ModelStore prod) {
        State s = read(prod);
        long current = s.label(STABLE).orElseThrow(() -> new StageFailedException("no version is labelled "
                + STABLE + " in " + prod.describe() + "/" + CONFIG_FILE + ": nothing to roll back from"));
        List<Integer> present = AtomicPublisher.versions(prod);
        List<Long> stableHistory = new ArrayList<>();
        java.util.Set<Long> rolledBackFrom = new java.util.HashSet<>();
        for (Map<String, Object> e : labelEvents()) {
            if (STABLE.equals(e.get("label")) && e.get("version") instanceof Number v) {
                stableHistory.add(v.longValue());
                if ("rollback".equals(e.get("by")) && e.get("previous") instanceof Number p) {
                    rolledBackFrom.add(p.longValue());
                }
                rolledBackFrom.remove(v.longValue()); // stable again since: trusted again
            }
        }
        rolledBackFrom.add(current);
        for (int i = stableHistory.size() - 1; i >= 0; i--) {
            long v = stableHistory.get(i);
            if (!rolledBackFrom.contains(v) && present.contains((int) v)) {
                return v;
            }
        }
        for (int i = present.size() - 1; i >= 0; i--) {
            if (present.get(i) < current && !rolledBackFrom.contains((long) present.get(i))) {
                return present.get(i);
            }
        }
        List<Integer> earlier = present.stream().filter(v -> v < current).toList();
        throw new StageFailedException("no version to roll back to: " + STABLE + " is " + current + (earlier.isEmpty()
                ? " and prod has no earlier version (there: " + present + ")"
                : "; the earlier versions in prod " + earlier + " were rolled back from")
                + ": name one with --to, or mlops promote another");
    }

    /** Every label move recorded in the ledger for this model, oldest first. */
    public List<Map<String, Object>> labelEvents() {
        List<Map<String, Object>> all = new ArrayList<>();
        for (Map<String, Object> run : ledger.runs()) {
            if (run.get("labelEvents") instanceof List<?> list) {
                for (Object o : list) {
                    if (o instanceof Map<?, ?> m && settings.modelName().equals(m.get("model"))) {
                        @SuppressWarnings("unchecked")
                        Map<String, Object> e = (Map<String, Object>) m;
                        all.add(e);
                    }
                }
            }
        }
        return all;
    }

    /** One version in prod as {@code mlops versions} shows it. */
    public record VersionRow(long version, List<String> labels, boolean loaded, Map<String, Object> manifest,
                             Map<String, Map<String, Object>> labelledBy) {
    }

    /** The versions in prod, newest first, with labels, whether the policy loads them, manifest, label history. */
    public List<VersionRow> versions(ModelStore prod) {
        State s = read(prod);
        List<Integer> present = AtomicPublisher.versions(prod);
        SortedSet<Long> loaded = s.model().map(m -> m.policy().select(toLongs(present)))
                .orElseGet(() -> new VersionPolicy.Latest(1).select(toLongs(present)));
        List<Map<String, Object>> events = labelEvents();
        List<VersionRow> rows = new ArrayList<>();
        for (int i = present.size() - 1; i >= 0; i--) {
            long v = present.get(i);
            List<String> labels = new ArrayList<>();
            Map<String, Map<String, Object>> by = new LinkedHashMap<>();
            for (Map.Entry<String, Long> l : s.labels().entrySet()) {
                if (l.getValue() == v) {
                    labels.add(l.getKey());
                    for (int k = events.size() - 1; k >= 0; k--) {
                        Map<String, Object> e = events.get(k);
                        if (l.getKey().equals(e.get("label"))) {
                            if (e.get("version") instanceof Number n && n.longValue() == v) {
                                by.put(l.getKey(), e);
                            }
                            break;
                        }
                    }
                }
            }
            rows.add(new VersionRow(v, labels, loaded.contains(v), manifest(prod, v), by));
        }
        return rows;
    }

    private static SortedSet<Long> toLongs(List<Integer> versions) {
        TreeSet<Long> s = new TreeSet<>();
        versions.forEach(v -> s.add(v.longValue()));
        return s;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> manifest(ModelStore prod, long version) {
        try {
            Optional<byte[]> b = prod.read(version + "/MANIFEST.json");
            return b.isEmpty() ? Map.of() : dev.camelmlops.registry.Json.MAPPER.readValue(b.get(), Map.class);
        } catch (java.io.IOException | RuntimeException e) {
            return Map.of("error", "MANIFEST.json cannot be read: " + e.getMessage());
        }
    }

    // ---- writing and recording ----

    private State write(ModelStore prod, State before, SortedSet<Long> wanted, Map<String, Long> wantedLabels,
                        Mover mover) {
        // A label on a version that is not in prod would make TF Serving refuse the whole file (and load
        // nothing it adds), so a label or version whose folder has gone (removed by hand) is dropped.
        List<Integer> present = AtomicPublisher.versions(prod);
        TreeSet<Long> versions = new TreeSet<>();
        wanted.stream().filter(v -> present.contains(v.intValue())).forEach(versions::add);
        Map<String, Long> labels = new TreeMap<>();
        wantedLabels.forEach((l, v) -> {
            if (present.contains(v.intValue())) {
                labels.put(l, v);
            } else {
                LOG.warn("{}/{}: label {} named version {}, which is not in prod any more: label removed", prod.describe(),
                        CONFIG_FILE, l, v);
            }
        });
        String basePath = settings.serving().modelBasePath()
                .orElseGet(() -> before.model().map(Model::basePath).orElseGet(prod::absoluteRoot));
        VersionPolicy policy = versions.isEmpty() ? new VersionPolicy.Latest(1) : new VersionPolicy.Specific(versions);
        Model model = new Model(settings.modelName(), basePath, ModelServerConfig.TENSORFLOW, policy, labels);
        ModelServerConfig next = before.config().with(model);
        State after = new State(next, Optional.of(model));
        if (next.equals(before.config()) && prod.exists(CONFIG_FILE)) {
            return after;
        }
        prod.replaceAtomically(CONFIG_FILE, next.text(HEADER).getBytes(StandardCharsets.UTF_8));
        LOG.info("{}/{}: model {} loads versions {}, labels {}", prod.describe(), CONFIG_FILE, settings.modelName(),
                versions.isEmpty() ? "(newest)" : versions, labels.isEmpty() ? "none" : labels);
        if (mover != null) {
            record(before.labels(), labels, mover);
        }
        return after;
    }

    /** Appends the label moves between {@code before} and {@code after} to the mover's run in the ledger. */
    private synchronized void record(Map<String, Long> before, Map<String, Long> after, Mover mover) {
        TreeMap<String, Long> all = new TreeMap<>();
        List<Map<String, Object>> moves = new ArrayList<>();
        java.util.Set<String> names = new java.util.TreeSet<>(before.keySet());
        names.addAll(after.keySet());
        for (String label : names) {
            Long from = before.get(label);
            Long to = after.get(label);
            if (java.util.Objects.equals(from, to)) {
                continue;
            }
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("model", settings.modelName());
            e.put("label", label);
            e.put("version", to);
            e.put("previous", from);
            e.put("at", Instant.now().toString());
            e.put("by", mover.by());
            e.put("run", mover.runId());
            if (mover.command() != null) {
                e.put("command", mover.command());
            }
            moves.add(e);
        }
        if (moves.isEmpty() || mover.runId() == null) {
            return;
        }
        if (!mover.runId().equals(eventsRun)) {
            eventsRun = mover.runId();
            events.clear();
        }
        events.addAll(moves);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("id", mover.runId());
        // no "event": merged into the run's record without changing whether it has finished
        r.put("labelEvents", List.copyOf(events));
        try {
            ledger.append(r);
        } catch (RuntimeException e) {
            LOG.warn("label moves {} not recorded in the run ledger {}: {}", moves, ledger.describe(), e.getMessage());
        }
    }

    // ---- asking the server ----

    /** How long a serving host that does not answer at all is waited for (a restart), before giving up. */
    static final long UNREACHABLE_NANOS = 5_000_000_000L;

    /**
     * Availability through a TF Serving REST API: the version's status every half second until it
     * is AVAILABLE; a version the server failed to load, {@code timeout} passing, or a server that
     * does not answer at all for 5 s, throws.
     */
    public static Availability availability(dev.camelmlops.serving.ServingClient client, java.time.Duration timeout) {
        return availability(client, timeout, java.time.Duration.ofNanos(UNREACHABLE_NANOS));
    }

    /**
     * The same, giving a host that does not answer at all {@code unreachable} (verify gives it its
     * whole timeout: a serving host may be restarting).
     */
    public static Availability availability(dev.camelmlops.serving.ServingClient client, java.time.Duration timeout,
                                            java.time.Duration unreachable) {
        return version -> {
            long start = System.nanoTime();
            long deadline = start + timeout.toNanos();
            String last = "no answer yet";
            boolean answered = false;
            while (true) {
                if (!answered && System.nanoTime() - start > unreachable.toNanos() && unreachable.compareTo(timeout) < 0) {
                    throw new StageFailedException("the serving host at " + client.modelUrl() + " did not answer for "
                            + unreachable.toSeconds() + " s (" + last + ")");
                }
                try {
                    dev.camelmlops.serving.ServingClient.VersionState s = client.versionState(version);
                    answered = true;
                    if (s != null && s.available()) {
                        return;
                    }
                    if (s != null && "END".equals(s.state()) && !s.errorMessage().isEmpty()) {
                        throw new StageFailedException("serving could not load version " + version + ": "
                                + s.errorMessage());
                    }
                    last = s == null ? "version " + version + " not known to the server yet" : "state " + s.state();
                } catch (IllegalStateException e) {
                    last = e.getMessage();
                }
                if (System.nanoTime() > deadline) {
                    throw new StageFailedException("version " + version + " was not AVAILABLE within "
                            + timeout.toSeconds() + " s at " + client.modelUrl() + " (last: " + last + ")");
                }
                pause();
            }
        };
    }

    /**
     * Waits until the server resolves {@code label} to {@code version} (it reads the config file
     * at its own pace: TF Serving every --model_config_file_poll_wait_seconds); the version the
     * label names at the end, or empty when the server does not know the label.
     */
    public static OptionalLong awaitLabel(dev.camelmlops.serving.ServingClient client, String label, long version,
                                          java.time.Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        OptionalLong seen = OptionalLong.empty();
        while (true) {
            try {
                seen = client.labelVersion(label);
                if (seen.isPresent() && seen.getAsLong() == version) {
                    return seen;
                }
            } catch (IllegalStateException e) {
                seen = OptionalLong.empty();
            }
            if (System.nanoTime() > deadline) {
                return seen;
            }
            pause();
        }
    }

    private static void pause() {
        try {
            Thread.sleep(250);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StageFailedException("interrupted while waiting for the serving host");
        }
    }
}
