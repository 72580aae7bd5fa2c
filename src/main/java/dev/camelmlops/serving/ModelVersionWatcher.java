package dev.camelmlops.serving;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves the newest version of one model from a base path, as TF Serving does: every poll it
 * lists the integer-named folders, loads the highest one when it is new (the old version keeps
 * serving until the new one has loaded, then is released), and falls back to the next highest
 * when the served folder disappears (a rollback). A version that fails to load is reported with
 * its error and not retried until its folder changes; the previous version keeps serving.
 */
public final class ModelVersionWatcher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ModelVersionWatcher.class);

    private final String modelName;
    private final Path basePath;
    private final Duration pollInterval;
    private final int tfThreads;
    private final AtomicReference<LoadedVersion> current = new AtomicReference<>();
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
        if (tfThreads < 1) {
            throw new IllegalArgumentException("tfThreads must be 1 or more, got " + tfThreads);
        }
        this.modelName = modelName;
        this.basePath = basePath;
        this.pollInterval = pollInterval;
        this.tfThreads = tfThreads;
        this.metrics = new ServingMetrics(modelName, this::servedVersion);
    }

    public String modelName() {
        return modelName;
    }

    public Path basePath() {
        return basePath;
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

    /** One look at the base path (public for tests and for a synchronous first load). */
    public synchronized void poll() {
        if (closed) {
            return;
        }
        TreeMap<Long, Path> versions = listVersions();
        LoadedVersion served = current.get();
        for (Long v : versions.descendingKeySet()) {
            Path dir = versions.get(v);
            if (served != null && served.version() == v) {
                return;
            }
            Failure f = failures.get(v);
            FileTime modified = modified(dir);
            if (f != null && f.modified().equals(modified)) {
                continue;
            }
            try {
                long t0 = System.nanoTime();
                LoadedVersion loaded = LoadedVersion.load(v, dir, tfThreads);
                long loadNanos = System.nanoTime() - t0;
                Warmup.Outcome warm;
                try {
                    warm = loaded.warmUp(afterWarmupRequest);
                } catch (RuntimeException e) {
                    loaded.release();
                    throw e;
                }
                // As TensorFlow's loader counts it: the SavedModel's load, without the warm-up.
                metrics.loadAttempt(dir, true, loadNanos);
                failures.remove(v);
                LoadedVersion old = current.getAndSet(loaded);
                LOG.info("model {}: version {} loaded from {} in {} ms (warm-up: {} request(s) from {}{}, {} ms){}",
                        modelName, v, dir, (System.nanoTime() - t0) / 1_000_000, warm.requests(), warm.source(),
                        warm.skipped() > 0 ? ", " + warm.skipped() + " skipped" : "", Math.round(warm.seconds() * 1000),
                        old == null ? "" : ", replacing version " + old.version());
                if (old != null) {
                    old.release();
                }
                return;
            } catch (RuntimeException e) {
                metrics.loadAttempt(dir, false, 0);
                String message = firstLine(e.getMessage() == null ? e.toString() : e.getMessage());
                failures.put(v, new Failure(message, modified));
                LOG.error("model {}: version {} failed to load from {}: {}", modelName, v, dir, message);
            }
        }
        if (served != null && !versions.containsKey(served.version())) {
            LOG.warn("model {}: version {} was removed and no other version can be served", modelName,
                    served.version());
            if (current.compareAndSet(served, null)) {
                served.release();
            }
        }
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
        if (version > servedVersion() && !failures.containsKey(version)
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

    /** The served version with a reference taken (release it), or null when none is loaded. */
    LoadedVersion acquire() {
        while (true) {
            LoadedVersion v = current.get();
            if (v == null) {
                return null;
            }
            if (v.acquire()) {
                return v;
            }
        }
    }

    /** The served version number, or -1. */
    public long servedVersion() {
        LoadedVersion v = current.get();
        return v == null ? -1 : v.version();
    }

    /** This model's serving metrics: requests (recorded by the REST API), loads, the served version. */
    ServingMetrics metrics() {
        return metrics;
    }

    /** What the served version's warm-up did, or null when none is served. */
    Warmup.Outcome servedWarmup() {
        LoadedVersion v = current.get();
        return v == null ? null : v.warmup();
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
        LoadedVersion v = current.getAndSet(null);
        if (v != null) {
            v.release();
        }
    }
}
