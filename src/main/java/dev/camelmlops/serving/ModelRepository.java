package dev.camelmlops.serving;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The models a server serves, as TF Serving's ServerCore holds them: one
 * {@link ModelVersionWatcher} per configured model (its base path, its version policy) and the
 * version labels of each. Built from one model (name and base path, policy latest 1), or from a
 * model config file in TF Serving's text format ({@link ModelServerConfig}) that is read again
 * every poll interval.
 *
 * <p>A new config is taken as ServerCore's ReloadConfig takes it: it must parse and pass
 * ServerCore's checks; then every version label must name a version of its model that is
 * available (loaded) right now, else the whole config is refused with TF Serving's message
 * ("Request to assign label to version N of model M, which is not currently available for
 * inference") and nothing changes: no load, no unload, the labels in force stay. A writer adds a
 * version first, waits until it is AVAILABLE, then writes the label. Accepted: the label map is
 * replaced whole, then models are added, re-policied and removed. A refused or invalid content is
 * logged once (with the file's name and the parser's line:column) and counted in
 * {@code camel_mlops_model_config_reload_total{status}}; it is tried again at every poll, since a
 * version it labels may have loaded meanwhile.
 */
public final class ModelRepository implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ModelRepository.class);

    private final Path configFile;
    private final ModelServerConfig fallback;
    private final Duration pollInterval;
    private final Duration configPollInterval;
    private final int tfThreads;
    private final boolean allowLabelsForUnavailable;
    private final ServingMetrics metrics;
    /** A watcher given from outside ({@link #of}): served, neither started nor closed here. */
    private final ModelVersionWatcher external;

    private volatile Map<String, ModelVersionWatcher> models = Map.of();
    private volatile Map<String, Map<String, Long>> labels = Map.of();
    /** Guarded by this. */
    private ModelServerConfig inForce;
    /** The file content in force, or null while the fallback is. Guarded by this. */
    private String appliedText;
    /** The content (or condition) last reported as a problem, so that each is logged once. */
    private String reported;
    private volatile String problem;
    private ScheduledExecutorService scheduler;
    private boolean closed;

    private ModelRepository(Path configFile, ModelServerConfig fallback, Duration pollInterval,
                            Duration configPollInterval, int tfThreads, boolean allowLabelsForUnavailable,
                            ModelVersionWatcher external) {
        this.configFile = configFile;
        this.fallback = fallback;
        this.pollInterval = pollInterval;
        this.configPollInterval = configPollInterval;
        this.tfThreads = tfThreads;
        this.allowLabelsForUnavailable = allowLabelsForUnavailable;
        this.external = external;
        this.metrics = external != null ? external.metrics() : new ServingMetrics();
        if (configFile != null) {
            metrics.configPending(() -> problem != null);
        }
    }

    /** One model, its newest version (TF Serving's default policy, latest 1), no labels. */
    public static ModelRepository single(String modelName, Path basePath, Duration pollInterval, int tfThreads) {
        return new ModelRepository(null, singleConfig(modelName, basePath), pollInterval, pollInterval, tfThreads,
                false, null);
    }

    /** A server over a watcher made elsewhere (which starts and closes it). */
    static ModelRepository of(ModelVersionWatcher watcher) {
        ModelRepository r = new ModelRepository(null, null, Duration.ZERO, Duration.ZERO, 1, false, watcher);
        r.models = Map.of(watcher.modelName(), watcher);
        return r;
    }

    /**
     * Models per a TF Serving model config file.
     *
     * @param fallback           served while the file does not exist, and when it is invalid at the start;
     *                           null: the file must exist and be valid at {@link #start()}, as for TF Serving
     * @param configPollInterval how often the file is read again (TF Serving's
     *                           {@code --model_config_file_poll_wait_seconds}); zero: read once
     * @param allowLabelsForUnavailable TF Serving's {@code --allow_version_labels_for_unavailable_models}:
     *                           a label that is new, or names the version it already names, may name a
     *                           version not loaded (yet); moving a label still needs the version available
     */
    public static ModelRepository configFile(Path file, ModelServerConfig fallback, Duration pollInterval,
                                             Duration configPollInterval, int tfThreads,
                                             boolean allowLabelsForUnavailable) {
        return new ModelRepository(file.toAbsolutePath(), fallback, pollInterval, configPollInterval, tfThreads,
                allowLabelsForUnavailable, null);
    }

    /** The config of one model served from {@code basePath} with TF Serving's default policy. */
    public static ModelServerConfig singleConfig(String modelName, Path basePath) {
        return ModelServerConfig.empty().with(new ModelServerConfig.Model(modelName,
                basePath.toAbsolutePath().normalize().toString(), ModelServerConfig.TENSORFLOW,
                new ModelServerConfig.VersionPolicy.Latest(1), Map.of()));
    }

    /**
     * Loads the models (returns when each has loaded what it can), then watches the config file.
     *
     * @throws ModelServerConfig.InvalidModelConfigException when there is no fallback and the file is missing, invalid or refused
     */
    public synchronized void start() {
        if (external != null) {
            return;
        }
        if (fallback != null) {
            String refused = apply(fallback);
            if (refused != null) {
                throw new ModelServerConfig.InvalidModelConfigException(refused);
            }
        }
        if (configFile == null) {
            return;
        }
        pollConfig();
        if (fallback == null && appliedText == null) {
            close();
            throw new ModelServerConfig.InvalidModelConfigException(problem);
        }
        if (!configPollInterval.isZero()) {
            scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "model-config-poller");
                t.setDaemon(true);
                return t;
            });
            scheduler.scheduleWithFixedDelay(this::pollConfigQuietly, configPollInterval.toMillis(),
                    configPollInterval.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    private void pollConfigQuietly() {
        try {
            pollConfig();
        } catch (RuntimeException e) {
            LOG.error("model config {}: reading it failed: {}", configFile, e.toString());
        }
    }

    /** One look at the config file (public for tests): a new content is checked and, if accepted, put in force. */
    public synchronized void pollConfig() {
        if (closed || configFile == null) {
            return;
        }
        String text;
        try {
            text = new String(Files.readAllBytes(configFile), StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            if (fallback != null) {
                if (appliedText != null || problem != null) {
                    LOG.info("model config {} is gone: serving {} again", configFile, describe(fallback));
                    apply(fallback);
                    appliedText = null;
                    reported = null;
                }
                problem = null;
            } else {
                report("\0absent", "invalid", configFile + ": not found");
            }
            return;
        } catch (IOException e) {
            report("\0io " + e, "invalid", configFile + ": cannot be read: " + e);
            return;
        }
        if (text.equals(appliedText)) {
            problem = null;
            return;
        }
        ModelServerConfig next;
        try {
            next = ModelServerConfig.parse(text, configFile.toString());
            for (ModelServerConfig.Model m : next.models()) {
                basePath(m);
            }
        } catch (ModelServerConfig.InvalidModelConfigException e) {
            report(text, "invalid", e.getMessage());
            return;
        } catch (IllegalArgumentException e) {
            report(text, "invalid", configFile + ": " + e.getMessage());
            return;
        }
        String refused = apply(next);
        if (refused != null) {
            report(text, "refused", configFile + ": " + refused);
            return;
        }
        appliedText = text;
        reported = null;
        problem = null;
        metrics.configReload("applied");
        LOG.info("model config {} in force: {}", configFile, describe(next));
    }

    private void report(String content, String outcome, String message) {
        problem = message;
        if (!content.equals(reported)) {
            reported = content;
            metrics.configReload(outcome);
            LOG.error("{}; the model config in force stays ({})", message,
                    inForce == null ? "none" : describe(inForce));
        }
    }

    private static String describe(ModelServerConfig c) {
        StringBuilder b = new StringBuilder();
        for (ModelServerConfig.Model m : c.models()) {
            b.append(b.length() == 0 ? "" : "; ").append(m.name()).append(" from ").append(m.basePath())
                    .append(", ").append(m.policy());
            if (!m.labels().isEmpty()) {
                b.append(", labels ").append(m.labels());
            }
        }
        return b.length() == 0 ? "no model" : b.toString();
    }

    /**
     * Puts a checked config in force, as ServerCore's ReloadConfig: labels first (all on
     * available versions, else refused: the message is returned and nothing changed), then the
     * models. Null when in force.
     */
    private String apply(ModelServerConfig next) {
        Map<String, ModelVersionWatcher> now = models;
        Map<String, Map<String, Long>> newLabels = new LinkedHashMap<>();
        for (ModelServerConfig.Model m : next.models()) {
            ModelVersionWatcher w = now.get(m.name());
            Map<String, Long> old = labels.getOrDefault(m.name(), Map.of());
            for (Map.Entry<String, Long> l : m.labels().entrySet()) {
                long v = l.getValue();
                boolean allowed = allowLabelsForUnavailable
                        && (!old.containsKey(l.getKey()) || old.get(l.getKey()) == v);
                if (!allowed && (w == null || !w.isAvailable(v))) {
                    // TF Serving's words (ServerCore::UpdateModelVersionLabelMap)
                    return "Request to assign label to version " + v + " of model " + m.name()
                            + ", which is not currently available for inference";
                }
            }
            if (!m.labels().isEmpty()) {
                newLabels.put(m.name(), m.labels());
            }
        }
        labels = Collections.unmodifiableMap(newLabels);
        Map<String, ModelVersionWatcher> after = new LinkedHashMap<>();
        Map<String, ModelVersionWatcher> published = new LinkedHashMap<>(now);
        for (ModelServerConfig.Model m : next.models()) {
            Path base = basePath(m);
            ModelVersionWatcher w = now.get(m.name());
            if (w != null && w.basePath().equals(base)) {
                if (!w.policy().equals(m.policy())) {
                    w.policy(m.policy());
                    w.poll();
                }
                after.put(m.name(), w);
            } else {
                ModelVersionWatcher fresh = new ModelVersionWatcher(m.name(), base, pollInterval, tfThreads,
                        m.policy(), metrics);
                fresh.start();
                after.put(m.name(), fresh);
                // published before the old one closes: a request finds one or the other
                published.put(m.name(), fresh);
                models = Collections.unmodifiableMap(new LinkedHashMap<>(published));
                if (w != null) {
                    w.close();
                }
            }
        }
        models = Collections.unmodifiableMap(after);
        for (Map.Entry<String, ModelVersionWatcher> e : now.entrySet()) {
            if (!after.containsKey(e.getKey())) {
                LOG.info("model {}: no longer in the model config; unloaded", e.getKey());
                e.getValue().close();
            }
        }
        inForce = next;
        return null;
    }

    /**
     * A model's base path on this host: an absolute path or a {@code file:} URI (TF Serving also
     * reads other file systems, s3:// and gs://; this server does not).
     */
    private static Path basePath(ModelServerConfig.Model m) {
        String p = m.basePath();
        try {
            if (p.startsWith("/")) {
                return Path.of(p);
            }
            if (p.regionMatches(true, 0, "file:", 0, 5)) {
                return Path.of(java.net.URI.create(p));
            }
        } catch (IllegalArgumentException | java.nio.file.FileSystemNotFoundException e) {
            throw new IllegalArgumentException("model " + m.name() + ": base_path " + p + " is not a path here: "
                    + e.getMessage());
        }
        throw new IllegalArgumentException("model " + m.name() + ": base_path " + p
                + " is on a file system this server cannot read; give an absolute path or a file: URI");
    }

    /** The model of that name when none is configured. */
    ModelVersionWatcher model(String name) {
        return models.get(name);
    }

    /** Whether a model of that name is configured (a request for it counts under its name). */
    boolean serves(String name) {
        return models.containsKey(name);
    }

    /**
     * The version a label names, as ServerCore's GetModelVersionForLabel.
     *
     * @throws RestException 400 "Unrecognized servable version label: ..." when the model has no such label
     */
    long versionForLabel(String modelName, String label) {
        Long v = labels.getOrDefault(modelName, Map.of()).get(label);
        if (v == null) {
            throw RestException.badRequest("Unrecognized servable version label: " + label);
        }
        return v;
    }

    /** The configured model names, in config order. */
    public java.util.Set<String> modelNames() {
        return models.keySet();
    }

    /** The labels in force of a model (label to version; empty when none). */
    public Map<String, Long> labels(String modelName) {
        return labels.getOrDefault(modelName, Map.of());
    }

    /** The versions of a model that are loaded (AVAILABLE), ascending; empty for an unknown model. */
    public java.util.SortedSet<Long> availableVersions(String modelName) {
        ModelVersionWatcher w = models.get(modelName);
        return w == null ? Collections.emptySortedSet() : w.availableVersions();
    }

    /** Why the config file is not the config in force (invalid or refused), if it is not. */
    public Optional<String> configProblem() {
        return Optional.ofNullable(problem);
    }

    /** The config in force (the fallback's, or the file's last accepted content). */
    public synchronized ModelServerConfig config() {
        return inForce;
    }

    /** The config file, if the models come from one. */
    public Optional<Path> configFile() {
        return Optional.ofNullable(configFile);
    }

    ServingMetrics metrics() {
        return metrics;
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (scheduler != null) {
            scheduler.shutdownNow();
            scheduler = null;
        }
        if (external == null) {
            for (ModelVersionWatcher w : models.values()) {
                w.close();
            }
            models = Map.of();
        }
    }
}
