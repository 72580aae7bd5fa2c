package dev.camelmlops.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.camelmlops.data.Dataset;
import dev.camelmlops.testing.Http;
import dev.camelmlops.testing.TinyFashion;
import dev.camelmlops.testing.TinyModels;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.SavedModelBundle;

/**
 * Loading and unloading versions: every replaced version's session and graph are closed, no
 * request fails during a swap, and nothing (versions, threads) accumulates.
 */
class ReloadTest {
    private static final int RELOADS = 30;
    private static final int CLIENTS = 3;

    @TempDir
    static Path templates;
    @TempDir
    Path base;

    static Path model;
    static final Dataset IMAGES = TinyFashion.dataset(4, 9);

    @BeforeAll
    static void export() {
        model = templates.resolve("model");
        TinyModels.export(model, 1);
    }

    /** Copies the model next to the base path and renames it in, as a deploy publishes a version. */
    private void publish(long version) throws IOException {
        Path staging = base.resolve(".staging-" + version);
        TinyModels.copyTree(model, staging);
        Files.move(staging, base.resolve(Long.toString(version)), StandardCopyOption.ATOMIC_MOVE);
    }

    private static void await(String what, Duration limit, BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("not within " + limit + ": " + what);
            }
            Thread.sleep(5);
        }
    }

    @Test
    void releasingMoreOftenThanAcquiredThrowsAndNeverHandsOutTheClosedVersion() throws Exception {
        publish(1);
        LoadedVersion v = LoadedVersion.load(1, base.resolve("1"), 1);
        assertTrue(v.acquire());
        v.release();
        v.release();
        assertTrue(v.closed());
        assertTrue(nativeClosed(v), "session and graph closed by the last release");
        IllegalStateException e = assertThrows(IllegalStateException.class, v::release);
        assertTrue(e.getMessage().contains("released more often than acquired"), e.getMessage());
        // Before the fix the count went to -1, and acquire() (which refuses only at 0) succeeded.
        assertFalse(v.acquire(), "a closed version must not be handed out");
    }

    @Test
    void aPollAfterCloseLoadsNothing() throws Exception {
        publish(1);
        long open = LoadedVersion.openInProcess();
        ModelVersionWatcher w = new ModelVersionWatcher("m", base, Duration.ofHours(1));
        w.start();
        assertEquals(open + 1, LoadedVersion.openInProcess());
        w.close();
        assertEquals(open, LoadedVersion.openInProcess());
        // A scheduled poll that was waiting for the watcher's lock while close() ran, or a status
        // request asking for a version (pollIfPresent), then runs: it used to load the version
        // again into the closed watcher, a bundle nothing would ever close.
        publish(2);
        w.poll();
        w.pollIfPresent(2);
        assertEquals(-1, w.servedVersion());
        assertNull(w.acquire());
        assertEquals(open, LoadedVersion.openInProcess(), "no version loaded after close");
    }

    @Test
    void thirtyReloadsUnderLoadCloseEveryOldVersionAndFailNoRequest() throws Exception {
        publish(1);
        long openBefore = LoadedVersion.openInProcess();
        long closedBefore = LoadedVersion.closedInProcess();
        String one = ModelServerTest.instances(IMAGES, 1, false);
        String three = ModelServerTest.instances(IMAGES, 3, false);
        List<LoadedVersion> seen = new ArrayList<>();
        AtomicLong ok = new AtomicLong();
        AtomicBoolean stop = new AtomicBoolean();
        ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);
        try (ModelVersionWatcher w = new ModelVersionWatcher("my_model", base, Duration.ofMillis(20))) {
            w.start();
            try (ModelServer server = new ModelServer(w, "127.0.0.1", 0, 4, 1_000_000)) {
                server.start();
                String url = server.baseUrl() + "/v1/models/my_model:predict";
                List<Future<Long>> futures = new ArrayList<>();
                for (int c = 0; c < CLIENTS; c++) {
                    String body = c % 2 == 0 ? one : three;
                    int rows = c % 2 == 0 ? 1 : 3;
                    futures.add(clients.submit(() -> {
                        long n = 0;
                        while (!stop.get()) {
                            Http.Response r = Http.post(url, body);
                            assertEquals(200, r.status(), r.body());
                            assertEquals(rows, r.json().get("predictions").size(), r.body());
                            ok.incrementAndGet();
                            n++;
                        }
                        return n;
                    }));
                }
                await("the first answers", Duration.ofSeconds(30), () -> ok.get() >= CLIENTS);
                seen.add(served(w));
                long threadsWarm = 0;
                java.util.Set<String> namesWarm = java.util.Set.of();
                long tasksWarm = 0;
                long duringSwaps = 0;
                for (int k = 2; k <= RELOADS + 1; k++) {
                    long version = k;
                    long before = ok.get();
                    publish(version);
                    await("version " + version + " served", Duration.ofSeconds(30), () -> w.servedVersion() == version);
                    duringSwaps += ok.get() - before;
                    seen.add(served(w));
                    // Retention keeping two versions: the one before the served one stays on disk.
                    if (version >= 3) {
                        TinyModels.deleteTree(base.resolve(Long.toString(version - 2)));
                    }
                    // Each old version is closed once the requests holding it are done.
                    await("version " + (version - 1) + " closed", Duration.ofSeconds(10),
                            () -> seen.get(seen.size() - 2).closed());
                    if (k == 6) {
                        threadsWarm = ManagementFactory.getThreadMXBean().getThreadCount();
                        namesWarm = threadNames();
                        tasksWarm = nativeThreads();
                    }
                }
                long atLastSwap = ok.get();
                await("answers from the last version", Duration.ofSeconds(30), () -> ok.get() >= atLastSwap + CLIENTS);
                stop.set(true);
                long answered = 0;
                for (Future<Long> f : futures) {
                    answered += f.get(60, TimeUnit.SECONDS);
                }
                System.out.printf("reload test: %d reloads, %d answers (all 200), %d during swap windows;"
                                + " JVM threads %d after 5 reloads, %d after %d; native threads %d, %d%n", RELOADS,
                        answered, duringSwaps, threadsWarm, ManagementFactory.getThreadMXBean().getThreadCount(),
                        RELOADS, tasksWarm, nativeThreads());
                System.out.println("reload test: threads new since the 5th reload: " + newThreads(namesWarm));
                assertTrue(duringSwaps > 0, "requests were answered while versions were swapped");
                // The test's HTTP client pools its own worker threads (HttpClient-1-Worker-n) and may
                // add one late; the server's and TensorFlow's threads must not grow.
                long clientThreadsAdded = newThreads(namesWarm).stream().filter(n -> n.startsWith("HttpClient-")).count();
                assertTrue(ManagementFactory.getThreadMXBean().getThreadCount() - clientThreadsAdded <= threadsWarm,
                        "JVM threads grow with reloads; new since the 5th: " + newThreads(namesWarm));
                assertTrue(nativeThreads() - clientThreadsAdded <= tasksWarm, "native threads grow with reloads");
                assertEquals(RELOADS + 1, seen.size());
                assertEquals(RELOADS + 1, w.servedVersion());
                for (LoadedVersion v : seen.subList(0, seen.size() - 1)) {
                    assertTrue(v.closed(), "version " + v.version() + " closed");
                    assertTrue(nativeClosed(v), "version " + v.version() + ": session and graph closed");
                }
                assertFalse(seen.get(seen.size() - 1).closed());
                assertEquals(openBefore + 1, LoadedVersion.openInProcess(), "only the served version is open");
                assertEquals(closedBefore + RELOADS, LoadedVersion.closedInProcess());
            } finally {
                stop.set(true);
                clients.shutdownNow();
                assertTrue(clients.awaitTermination(60, TimeUnit.SECONDS));
            }
        }
        assertEquals(openBefore, LoadedVersion.openInProcess(), "closing the watcher closes the served version");
    }

    /** The served version (kept only to look at later; the reference is given back at once). */
    private static LoadedVersion served(ModelVersionWatcher w) {
        LoadedVersion v = w.acquire();
        v.release();
        return v;
    }

    private static java.util.Set<String> threadNames() {
        java.util.Set<String> names = new java.util.TreeSet<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            names.add(t.getName());
        }
        return names;
    }

    private static java.util.Set<String> newThreads(java.util.Set<String> before) {
        java.util.Set<String> now = threadNames();
        now.removeAll(before);
        return now;
    }

    /** Threads of this process, Java or not (TensorFlow's own threads are native). */
    private static long nativeThreads() throws IOException {
        try (var s = Files.list(Path.of("/proc/self/task"))) {
            return s.count();
        }
    }

    /** TF Java nulls a Session's and a Graph's native handle once it has deleted them. */
    private static boolean nativeClosed(LoadedVersion v) throws ReflectiveOperationException {
        java.lang.reflect.Field f = LoadedVersion.class.getDeclaredField("bundle");
        f.setAccessible(true);
        SavedModelBundle b = (SavedModelBundle) f.get(v);
        return handle(b.session()) == null && handle(b.graph()) == null;
    }

    private static Object handle(Object o) throws ReflectiveOperationException {
        java.lang.reflect.Field f = o.getClass().getDeclaredField("nativeHandle");
        f.setAccessible(true);
        synchronized (lock(o)) {
            return f.get(o);
        }
    }

    private static Object lock(Object o) throws ReflectiveOperationException {
        java.lang.reflect.Field f = o.getClass().getDeclaredField("nativeHandleLock");
        f.setAccessible(true);
        return f.get(o);
    }
}
