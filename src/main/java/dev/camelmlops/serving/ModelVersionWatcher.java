package dev.camelmlops.serving;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.Collections;
import java.util.Map;
import java.util.NavigableMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves the versions of one model that its version policy selects from a base path, as TF
 * Serving's file system storage path source and manager do: every poll it lists the
 * integer-named folders, loads the selected ones that are new (highest first; the versions
 * served before keep serving until then) and then releases the loaded ones no longer selected.
 * The default policy, latest 1, serves the newest version and falls back to the next highest
 * when the served folder disappears (a rollback). A version that fails to load is reported with
 * its error and not retried until its folder changes; a latest-n policy then selects the next
 * lower version instead, so a failed new version leaves the previous one serving.
 */
public final class ModelVersionWatcher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ModelVersionWatcher.class);

    private final String modelName;
    private final Path basePath;
    private final Duration pollInterval;
    private final int tfThreads;
    /** The loaded versions (an immutable snapshot, replaced whole under the watcher's lock). */
    private volatile NavigableMap<Long, LoadedVersion> loaded = Collections.emptyNavigableMap();
    private volatile ModelServerConfig.VersionPolicy policy;
    private final Map<Long, Failure> failures = new ConcurrentHashMap<>();
    private final ServingMetrics metrics;
    private ScheduledExecutorService scheduler;
    private final java.util.concurrent.atomic.AtomicBoolean lookQueued = new java.util.concurrent.atomic.AtomicBoolean();
    private volatile Runnable afterWarmupRequest = () -> { };
    /** Set by {@link #close()}; a poll after it (a scheduled one that was waiting for the lock, a status request) loads nothing. */
    private boolean closed;

    /** A version that could not be loaded, and the folder's modification time then. */
    record Failure(String message, FileTime modified) {
    }

    public ModelVersionWatcher(String modelName, Path basePath, Duration pollInterval) {
        this(modelName, basePath, pollInterval, 1);
    }

    /** @param tfThreads TensorFlow intra-op threads per loaded version (serving.tf-threads) */
    public ModelVersionWatcher(String modelName, Path basePath, Duration pollInterval, int tfThreads) {
        this(modelName, basePath, pollInterval, tfThreads, new ModelServerConfig.VersionPolicy.Latest(1), null);
    }

    /**
     * @param policy  which versions to serve (TF Serving's default: latest 1)
     * @param metrics where loads and requests are counted (shared by the models of one server);
     *                null: metrics of this model alone
     */
    ModelVersionWatcher(String modelName, Path basePath, Duration pollInterval, int tfThreads,
                        ModelServerConfig.VersionPolicy policy, ServingMetrics metrics) {
        if (tfThreads < 1) {
            throw new IllegalArgumentException("tfThreads must be 1 or more, got " + tfThreads);
        }
        this.modelName = modelName;
        this.basePath = basePath;
        this.pollInterval = pollInterval;
        this.tfThreads = tfThreads;
        this.policy = policy;
        this.metrics = metrics != null ? metrics : new ServingMetrics();
        this.metrics.register(modelName, this::servedVersion);
    }

    public String modelName() {
        return modelName;
    }

    public Path basePath() {
        return basePath;
    }

    public ModelServerConfig.VersionPolicy policy() {
        return policy;
    }

    /** A new version policy, in force from the next poll (call {@link #poll()} to apply it now). */
    public void policy(ModelServerConfig.VersionPolicy p) {
        this.policy = p;
    }

    /** Polls once now, then every poll interval in the background. */
    public synchronized void start() {
        poll();
        scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "model-watcher-" + modelName);
            t.setDaemon(true);
            return t;
        });
        scheduler.scheduleWithFixedDelay(this::pollQuietly, pollInterval.toMillis(), pollInterval.toMillis(),
                TimeUnit.MILLISECONDS);
    }

    private void pollQuietly() {
        try {
            poll();
        } catch (RuntimeException e) {
            LOG.error("model {}: polling {} failed: {}", modelName, basePath, e.toString());
        }
    }

    /**
     * The versions to serve: those the policy selects out of the present ones, leaving out
     * versions that failed to load and whose folder has not changed since (a latest-n policy
     * then reaches down to the next ones).
     */
    private SortedSet<Long> selected(TreeMap<Long, Path> versions) {
        TreeSet<Long> candidates = new TreeSet<>();
        for (Map.Entry<Long, Path> e : versions.entrySet()) {
            Failure f = failures.get(e.getKey());
            if (loaded.containsKey(e.getKey()) || f == null || !f.modified().equals(modified(e.getValue()))) {
                candidates.add(e.getKey());
            }
        }
        return policy.select(candidates);
    }

    /** One look at the base path (public for tests and for a synchronous first load). */
    public synchronized void poll() {
        if (closed) {
            return;
        }
        TreeMap<Long, Path> versions = listVersions();
        SortedSet<Long> wanted = selected(versions);
        // Load what is wanted and not loaded, highest first; a failure changes what is wanted.
        boolean changed = true;
        while (changed) {
            changed = false;
            for (Long v : new TreeSet<>(wanted).descendingSet()) {
                if (loaded.containsKey(v)) {
                    continue;
                }
                if (!load(v, versions.get(v))) {
                    wanted = selected(versions);
                    changed = true;
                    break;
                }
            }
        }
        for (LoadedVersion old : loaded.values()) {
            if (!wanted.contains(old.version())) {
                unload(old, versions.containsKey(old.version()));
            }
        }
    }

    /** Loads and warms up a version, then serves it; false when that failed (recorded). */
    private boolean load(long v, Path dir) {
        FileTime modified = modified(dir);
        try {
            long t0 = System.nanoTime();
            LoadedVersion version = LoadedVersion.load(v, dir, tfThreads);
            long loadNanos = System.nanoTime() - t0;
            Warmup.Outcome warm;
            try {
                warm = version.warmUp(afterWarmupRequest);
            } catch (RuntimeException e) {
                version.release();
                throw e;
            }
            // As TensorFlow's loader counts it: the SavedModel's load, without the warm-up.
            metrics.loadAttempt(dir, true, loadNanos);
            failures.remove(v);
            long before = servedVersion();
            TreeMap<Long, LoadedVersion> next = new TreeMap<>(loaded);
            next.put(v, version);
            loaded = Collections.unmodifiableNavigableMap(next);
            LOG.info("model {}: version {} loaded from {} in {} ms (warm-up: {} request(s) from {}{}, {} ms){}",
                    modelName, v, dir, (System.nanoTime() - t0) / 1_000_000, warm.requests(), warm.source(),
                    warm.skipped() > 0 ? ", " + warm.skipped() + " skipped" : "", Math.round(warm.seconds() * 1000),
                    before > 0 && before < v ? ", newer than version " + before : "");
            return true;
        } catch (RuntimeException e) {
            metrics.loadAttempt(dir, false, 0);
            String message = firstLine(e.getMessage() == null ? e.toString() : e.getMessage());
            failures.put(v, new Failure(message, modified));
            LOG.error("model {}: version {} failed to load from {}: {}", modelName, v, dir, message);
            return false;
        }
    }

    /** Stops serving a version; its bundle closes when the last request holding it is done. */
    private void unload(LoadedVersion old, boolean present) {
        TreeMap<Long, LoadedVersion> next = new TreeMap<>(loaded);
        next.remove(old.version());
        loaded = Collections.unmodifiableNavigableMap(next);
        if (next.isEmpty()) {
            LOG.warn("model {}: version {} was {} and no other version can be served", modelName, old.version(),
                    present ? "dropped by the version policy" : "removed");
        } else {
            LOG.info("model {}: version {} unloaded ({}); serving {}", modelName, old.version(),
                    present ? "not in the version policy " + policy : "its folder was removed", next.keySet());
        }
        old.release();
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl > 0 ? s.substring(0, nl).trim() : s.trim();
    }

    private TreeMap<Long, Path> listVersions() {
        TreeMap<Long, Path> versions = new TreeMap<>();
        if (!Files.isDirectory(basePath)) {
            return versions;
        }
        try (DirectoryStream<Path> s = Files.newDirectoryStream(basePath)) {
            for (Path p : s) {
                String name = p.getFileName().toString();
                if (Files.isDirectory(p) && name.matches("[0-9]{1,18}")) {
                    long v = Long.parseLong(name);
                    if (v > 0) {
                        versions.put(v, p);
                    }
                }
            }
        } catch (IOException e) {
            LOG.error("model {}: cannot list {}: {}", modelName, basePath, e.toString());
        }
        return versions;
    }

    private static FileTime modified(Path dir) {
        try {
            return Files.getLastModifiedTime(dir);
        } catch (IOException e) {
            return FileTime.fromMillis(0);
        }
    }

    /**
     * Asked about a version newer than the served one whose folder is already there: look now
     * instead of at the next poll (a client waiting for a fresh version gets it up to a poll
     * interval sooner; nothing else changes). Started on the watcher's own thread when it runs,
     * so the asking request (on an event loop that answers other connections too) never waits
     * for a load; one look at a time is queued.
     */
    public void pollIfPresent(long version) {
        if (!loaded.containsKey(version) && mightServe(version) && !failures.containsKey(version)
                && Files.isDirectory(basePath.resolve(Long.toString(version)))) {
            ScheduledExecutorService s;
            synchronized (this) {
                s = scheduler;
            }
            if (s == null) {
                pollQuietly();
            } else if (lookQueued.compareAndSet(false, true)) {
                try {
                    s.execute(() -> {
                        lookQueued.set(false);
                        pollQuietly();
                    });
                } catch (java.util.concurrent.RejectedExecutionException e) {
                    lookQueued.set(false); // closing
                }
            }
        }
    }

    /** Whether the policy could select {@code version} were its folder there (a look for it is worth it). */
    private boolean mightServe(long version) {
        ModelServerConfig.VersionPolicy p = policy;
        if (p instanceof ModelServerConfig.VersionPolicy.Specific s) {
            return s.versions().contains(version);
        }
        if (p instanceof ModelServerConfig.VersionPolicy.Latest l) {
            NavigableMap<Long, LoadedVersion> now = loaded;
            return now.size() < l.numVersions() || version > now.firstKey();
        }
        return true;
    }

    /**
     * The highest loaded version (what a request without version gets, TF Serving's "latest")
     * with a reference taken (release it), or null when none is loaded.
     */
    LoadedVersion acquire() {
        while (true) {
            Map.Entry<Long, LoadedVersion> e = loaded.lastEntry();
            if (e == null) {
                return null;
            }
            if (e.getValue().acquire()) {
                return e.getValue();
            }
        }
    }

    /** Loaded version {@code version} with a reference taken (release it), or null when it is not loaded. */
    LoadedVersion acquire(long version) {
        while (true) {
            LoadedVersion v = loaded.get(version);
            if (v == null) {
                return null;
            }
            if (v.acquire()) {
                return v;
            }
        }
    }

    /** The highest loaded version number (served to a request without version), or -1. */
    public long servedVersion() {
        Map.Entry<Long, LoadedVersion> e = loaded.lastEntry();
        return e == null ? -1 : e.getKey();
    }

    /** The loaded versions, ascending: TF Serving's AVAILABLE ones. */
    public SortedSet<Long> availableVersions() {
        return Collections.unmodifiableSortedSet(new TreeSet<>(loaded.keySet()));
    }

    /** Whether {@code version} is loaded and answering (AVAILABLE). */
    public boolean isAvailable(long version) {
        return loaded.containsKey(version);
    }

    /** The serving metrics this model counts in: requests (recorded by the REST API), loads, the served version. */
    ServingMetrics metrics() {
        return metrics;
    }

    /** What the served version's warm-up did, or null when none is served. */
    Warmup.Outcome servedWarmup() {
        Map.Entry<Long, LoadedVersion> e = loaded.lastEntry();
        return e == null ? null : e.getValue().warmup();
    }

    /** Tests: runs after each warm-up request, while the version being warmed is not yet served. */
    void afterWarmupRequest(Runnable hook) {
        this.afterWarmupRequest = hook;
    }

    Map<Long, Failure> failures() {
        return failures;
    }

    /**
     * Versions (of any model) loaded in this process whose session and graph are not closed yet:
     * one per running watcher once in-flight requests on replaced versions are done (tests, bench).
     */
    public static long openVersionsInProcess() {
        return LoadedVersion.openInProcess();
    }

    /** Versions (of any model) whose session and graph this process has closed (tests, bench). */
    public static long closedVersionsInProcess() {
        return LoadedVersion.closedInProcess();
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (scheduler != null) {
            scheduler.shutdownNow();
            scheduler = null;
        }
        NavigableMap<Long, LoadedVersion> all = loaded;
        loaded = Collections.emptyNavigableMap();
        for (LoadedVersion v : all.values()) {
            v.release();
        }
    }
}
