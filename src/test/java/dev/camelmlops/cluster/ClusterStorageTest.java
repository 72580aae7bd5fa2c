package dev.camelmlops.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.zaxxer.hikari.HikariDataSource;
import dev.camelmlops.data.BatchStore;
import dev.camelmlops.data.Dataset;
import dev.camelmlops.registry.RunLedger;
import dev.camelmlops.run.ShutdownSignal;
import dev.camelmlops.settings.PipelineSettings;
import dev.camelmlops.testing.TestDatabase;
import dev.camelmlops.testing.TinyFashion;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.spi.IdempotentRepository;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Cluster mode's shared state on a real PostgreSQL: two "instances" are two pools with their own names. */
class ClusterStorageTest {
    private TestDatabase database;
    private final List<ClusterStorage> opened = new ArrayList<>();

    @BeforeEach
    void database() {
        database = TestDatabase.create();
    }

    @AfterEach
    void drop() {
        opened.forEach(ClusterStorage::close);
        database.close();
    }

    private PipelineSettings.Cluster cluster(String instance) {
        return new PipelineSettings.Cluster(Optional.of(database.url()), database.user(),
                Optional.ofNullable(database.password()), 4, instance, Duration.ofSeconds(1), Duration.ofSeconds(2));
    }

    private ClusterStorage instance(String name) {
        ClusterStorage s = ClusterStorage.open(cluster(name), new ShutdownSignal());
        opened.add(s);
        return s;
    }

    @Test
    void instancesStartingTogetherCreateTheSchemaOnceAndAgainIsHarmless() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<ClusterStorage>> starts = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                String name = "node-" + i;
                starts.add(pool.submit(() -> instance(name)));
            }
            for (Future<ClusterStorage> f : starts) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        try (var c = database.connect(); var rs = c.createStatement().executeQuery(
                "SELECT count(*) FROM pg_tables WHERE tablename IN ('mlops_batches', 'mlops_runs', 'qrtz_locks',"
                        + " 'qrtz_cron_triggers', 'camel_messageprocessed')")) {
            rs.next();
            assertEquals(5, rs.getInt(1));
        }
    }

    @Test
    void batchesAreTakenOnceClaimedByOneRunAndGivenBackOrUsedUp() throws Exception {
        BatchStore a = instance("node-a").batches();
        BatchStore b = instance("node-b").batches();
        Dataset d1 = TinyFashion.dataset(20, 1);
        Dataset d2 = dev.camelmlops.testing.ShapesDataset.dataset(5, 2); // RGB 32x32x3: the channels are stored too
        assertTrue(a.add("a".repeat(64), d1, "one.csv"));
        assertFalse(b.add("a".repeat(64), d1, "one-again.csv"), "the same content is not taken twice, by any instance");
        assertTrue(b.known("a".repeat(64)));
        assertTrue(b.add("b".repeat(64), d2, "two.csv"));
        assertEquals(2, a.pendingCount());

        // two runs claim at the same moment: every batch goes to exactly one of them
        CompletableFuture<List<BatchStore.Batch>> x = CompletableFuture.supplyAsync(() -> a.claim("run-x"));
        CompletableFuture<List<BatchStore.Batch>> y = CompletableFuture.supplyAsync(() -> b.claim("run-y"));
        List<String> claimed = new ArrayList<>();
        x.get().forEach(bt -> claimed.add(bt.sha256()));
        y.get().forEach(bt -> claimed.add(bt.sha256()));
        assertEquals(List.of("a".repeat(64), "b".repeat(64)), claimed.stream().sorted().toList());
        assertEquals(0, a.pendingCount());
        assertEquals(2, a.claimedCount());

        Dataset back = java.util.stream.Stream.concat(x.get().stream(), y.get().stream())
                .filter(bt -> bt.sha256().equals("a".repeat(64))).findFirst().orElseThrow().read();
        assertArrayEquals(d1.pixels(), back.pixels(), "pixels come back as stored");
        assertArrayEquals(d1.labels(), back.labels());
        assertEquals(d1.rows(), back.rows());
        Dataset rgb = java.util.stream.Stream.concat(x.get().stream(), y.get().stream())
                .filter(bt -> bt.sha256().equals("b".repeat(64))).findFirst().orElseThrow().read();
        assertEquals("32x32x3", rgb.shapeText());
        assertArrayEquals(d2.pixels(), rgb.pixels());

        a.release("run-x");
        b.release("run-y");
        assertEquals(2, a.pendingCount(), "an abandoned run gives its batches back");
        List<BatchStore.Batch> again = b.claim("run-z");
        assertEquals(2, again.size());
        assertEquals(List.of("run-z"), a.recover(), "a run that can no longer end: its batches are pending again");
        assertEquals(2, b.pendingCount());
        b.claim("run-w");
        b.consume("run-w");
        assertEquals(0, a.pendingCount());
        assertEquals(0, a.claimedCount());
        assertTrue(a.known("b".repeat(64)), "used content is still known");
        assertEquals(List.of(), a.recover());
    }

    @Test
    void theLedgerMergesARunsRecordsAndTellsRunningFromAbandonedByTheInstancesSession() {
        RunLedger ledger = instance("node-a").ledger();
        ledger.append(record("started", "r1", "node-a"));
        ledger.append(record("started", "r2", "node-gone"));
        Map<String, Object> finished = record("finished", "r1", "node-a");
        finished.put("outcome", "succeeded");
        finished.put("version", 3);
        ledger.append(finished);
        ledger.append(record("started", "r3", "node-a"));
        // label moves of a run (VersionLabels): merged in, without an event, so a running run stays running
        Map<String, Object> moves = new LinkedHashMap<>();
        moves.put("id", "r3");
        moves.put("labelEvents", List.of(Map.of("model", "my_model", "label", "canary", "version", 4)));
        ledger.append(moves);

        RunLedger other = instance("node-b").ledger();
        List<Map<String, Object>> runs = other.runs();
        assertEquals(List.of("r1", "r2", "r3"), runs.stream().map(r -> r.get("id")).toList());
        assertEquals("succeeded", runs.get(0).get("outcome"));
        assertEquals(3, runs.get(0).get("version"));
        assertEquals("cli", runs.get(0).get("trigger"), "the started record's fields stay");
        assertEquals("abandoned", runs.get(1).get("outcome"), "node-gone has no session: it died");
        assertTrue(String.valueOf(runs.get(1).get("reason")).contains("node-gone"));
        assertEquals("running", runs.get(2).get("outcome"), "node-a is connected");
        assertEquals(List.of(Map.of("model", "my_model", "label", "canary", "version", 4)),
                runs.get(2).get("labelEvents"));
    }

    private static Map<String, Object> record(String event, String id, String instance) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("event", event);
        r.put("id", id);
        r.put("instance", instance);
        if ("started".equals(event)) {
            r.put("trigger", "cli");
        }
        return r;
    }

    @Test
    void oneRetrainAtATimeAcrossInstancesAndADeadInstancesLockGoesWithIt() throws Exception {
        ClusterStorage a = instance("node-a");
        ClusterStorage b = instance("node-b");
        a.lock().acquire();
        assertEquals(Optional.of("node-a"), b.lock().holder());
        PgRetrainLock bLock = (PgRetrainLock) b.lock();
        CompletableFuture<Void> waiting = CompletableFuture.runAsync(bLock::acquire);
        // node-b has tried twice and been refused both times: it is waiting, not merely slow to start
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (bLock.refusedTries() < 2 && !waiting.isDone() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertFalse(waiting.isDone(), "node-b waits while node-a retrains");
        assertTrue(bLock.refusedTries() >= 2, "node-b tried and was refused: " + bLock.refusedTries());
        opened.remove(a);
        a.die(); // node-a dies: its connections close without unlocking
        waiting.get(20, TimeUnit.SECONDS);
        assertEquals(Optional.of("node-b"), b.lock().holder());
        b.lock().release();
        assertEquals(Optional.empty(), b.lock().holder());
    }

    @Test
    void anInboxFileIsLockedByOneInstanceAndALoserDoesNotFreeTheWinnersLock() throws Exception {
        try (DefaultCamelContext ctx = new DefaultCamelContext()) {
            ctx.start();
            IdempotentRepository a = instance("node-a").inboxLocks(ctx);
            IdempotentRepository b = instance("node-b").inboxLocks(ctx);
            ctx.addService(a);
            ctx.addService(b);
            String file = "/srv/shared/inbox/" + "x".repeat(300) + ".csv";
            assertTrue(a.add(file), "a long path fits");
            assertFalse(b.add(file), "held by node-a");
            b.remove(file); // what camel-file 4.22.0 does after a failed lock attempt
            assertFalse(b.add(file), "still held by node-a");
            a.remove(file);
            assertTrue(b.add(file), "free once node-a is done with it");
            Set<String> keys = new HashSet<>();
            try (var c = database.connect(); var rs = c.createStatement().executeQuery(
                    "SELECT messageId FROM camel_messageprocessed")) {
                while (rs.next()) {
                    keys.add(rs.getString(1));
                }
            }
            assertEquals(Set.of(file), keys);
        }
    }
}
