package dev.camelmlops.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.camelmlops.testing.Cli;
import dev.camelmlops.testing.InboxFiles;
import dev.camelmlops.testing.TestDatabase;
import dev.camelmlops.testing.TinyFashion;
import dev.camelmlops.testing.WatchProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cluster mode end to end: two `mlops watch` processes on one PostgreSQL and one shared inbox
 * (and one deploy target), a schedule firing every 2 s, 22 files dropped over time, and one
 * instance killed (kill -9) in the middle of a retrain. Then: every batch was used by exactly
 * one finished run (or is still pending), no slot fired twice, no version was published twice,
 * the ledger holds every run once, and the survivor took up the dead instance's batches.
 * Needs PostgreSQL (see TestDatabase); tagged slow (about a minute).
 */
@Tag("slow")
class ClusterWatchTest {
    private static final Path HOME = Path.of("").toAbsolutePath();
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern SLOT = Pattern.compile("schedule: slot (.+) fired on instance (\\S+)");
    private static final int FILES = 22;

    @TempDir
    Path tmp;
    private final List<WatchProcess> processes = new ArrayList<>();
    private TestDatabase db;

    @AfterEach
    void stop() throws Exception {
        for (WatchProcess p : processes) {
            p.kill();
        }
        if (db != null) {
            db.close();
        }
    }

    @Test
    void twoInstancesShareTheWorkExactlyOnceAndTheSurvivorFinishesADeadInstancesRetrain() throws Exception {
        db = TestDatabase.create();
        Cli cli = new Cli(tmp);
        List<String> first = new ArrayList<>(db.options());
        first.add("run");
        assertEquals(0, cli.run(first.toArray(String[]::new)), cli.output());

        WatchProcess a = start(cli, "node-a");
        WatchProcess b = start(cli, "node-b");
        Path inbox = tmp.resolve("inbox");

        String killedRun = null;
        List<String> killedBatches = List.of();
        Instant killedAt = null;
        WatchProcess survivor = null;
        for (int i = 0; i < FILES; i++) {
            drop(inbox, "batch-" + i + ".csv", InboxFiles.csv(TinyFashion.dataset(30, 100 + i)));
            Thread.sleep(400);
            if (i >= 8 && killedRun == null) {
                Map<String, String> running;
                do { // a retrain that is still running half a second into it: well into training
                    running = awaitARunningRetrain(60);
                    Thread.sleep(500);
                } while (count("SELECT count(*) FROM mlops_runs WHERE finished IS NULL AND id = '"
                        + running.get("id") + "'") == 0);
                killedRun = running.get("id");
                WatchProcess victim = "node-a".equals(running.get("instance")) ? a : b;
                survivor = victim == a ? b : a;
                killedBatches = strings("SELECT sha256 FROM mlops_batches WHERE run_id = '" + killedRun + "'");
                victim.kill();
                killedAt = Instant.now();
                processes.remove(victim);
            }
        }
        assertTrue(killedRun != null, "a retrain was killed");
        awaitSettled(inbox, 180);

        // every batch: used by exactly one finished run, or still pending
        List<String> batches = strings("SELECT sha256 FROM mlops_batches");
        assertEquals(FILES, batches.size(), "one batch per file, none twice");
        Map<String, JsonNode> runs = runs();
        Map<String, String> usedBy = new HashMap<>();
        int used = 0;
        for (JsonNode run : runs.values()) {
            String outcome = run.path("outcome").asText();
            for (JsonNode batch : run.path("data").path("batches")) {
                String sha = batch.path("sha256").asText();
                assertTrue(Set.of("succeeded", "failed").contains(outcome), "a run that used batches finished: " + run);
                String before = usedBy.put(sha, run.path("id").asText());
                assertEquals(null, before, "batch " + sha + " used by two runs: " + before + " and " + run.path("id"));
                used++;
            }
        }
        int pending = count("SELECT count(*) FROM mlops_batches WHERE state = 'pending'");
        assertEquals(FILES, used + pending, "every batch was used once or is pending: used " + used + ", pending " + pending);
        assertEquals(0, count("SELECT count(*) FROM mlops_batches WHERE state = 'claimed'"));
        for (String sha : killedBatches) {
            assertTrue(usedBy.containsKey(sha), "the killed run's batch " + sha + " was retrained by the survivor");
        }

        // no schedule slot fired twice
        Map<String, List<String>> slots = new LinkedHashMap<>();
        for (WatchProcess p : List.of(a, b)) {
            for (String line : p.lines()) {
                Matcher m = SLOT.matcher(line);
                if (m.find()) {
                    slots.computeIfAbsent(m.group(1), k -> new ArrayList<>()).add(m.group(2));
                }
            }
        }
        assertTrue(slots.size() >= 4, "the schedule fired: " + slots);
        slots.forEach((slot, on) -> assertEquals(1, on.size(), "slot " + slot + " fired on " + on));
        Set<String> firingInstances = new HashSet<>();
        slots.values().forEach(firingInstances::addAll);

        // no version published twice; the ledger holds every run once, the killed one as abandoned
        List<Integer> versions = new ArrayList<>();
        runs.values().stream().filter(r -> r.has("version") && "succeeded".equals(r.path("outcome").asText()))
                .forEach(r -> versions.add(r.path("version").asInt()));
        assertEquals(versions.size(), new HashSet<>(versions).size(), "versions " + versions);
        assertEquals(count("SELECT count(*) FROM mlops_runs"), runs.size());
        JsonNode dead = runs.get(killedRun);
        assertEquals("abandoned", dead.path("outcome").asText(), dead.toString());
        long retrains = runs.values().stream().filter(r -> "retrain".equals(r.path("route").asText())).count();
        Set<String> instances = new HashSet<>();
        runs.values().forEach(r -> instances.add(r.path("instance").asText()));

        // the survivor took the dead run's batches: when
        String takeover = usedBy.get(killedBatches.isEmpty() ? "" : killedBatches.get(0));
        double takeoverSeconds = takeover == null ? -1
                : Duration.between(killedAt, Instant.parse(runs.get(takeover).path("started").asText())).toMillis() / 1000.0;
        String health = survivor.healthDetail().body();
        assertTrue(health.contains("\"instance\"") && health.contains("retrain.running-on"), health);

        System.out.printf("cluster: files %d, batches %d, used %d, pending %d; slots fired %d (on %s), none twice;"
                        + " retrain runs %d on %s; versions published %s; runs in the ledger %d; killed run %s"
                        + " (%d batches) taken over by run %s %.1f s after the kill%n",
                FILES, batches.size(), used, pending, slots.size(), firingInstances, retrains, instances, versions,
                runs.size(), killedRun, killedBatches.size(), takeover, takeoverSeconds);
    }

    private WatchProcess start(Cli cli, String instance) throws Exception {
        List<String> args = new ArrayList<>(cli.defaults());
        args.addAll(db.options());
        args.addAll(List.of("-Dwork.dir=" + tmp.resolve("work-" + instance), "-Dcluster.instance-id=" + instance,
                "-Dinbox.poll-ms=200", "-Dinbox.read-lock-min-age-ms=300", "-Dinbox.read-lock-check-ms=150",
                "-Dquality.max-regression=0.2", "-Dretrain.epochs=300", "-Dretrain.cron=0/2 * * * * ?",
                "-Dcluster.takeover-check-seconds=1", "-Dcluster.inbox-lock-max-age-seconds=5"));
        WatchProcess p = new WatchProcess(HOME, tmp.resolve(instance + ".log"), args);
        processes.add(p);
        return p;
    }

    private static void drop(Path inbox, String name, String content) throws Exception {
        Files.createDirectories(inbox);
        Path tmpFile = inbox.getParent().resolve("." + name + ".writing");
        Files.writeString(tmpFile, content);
        Files.move(tmpFile, inbox.resolve(name));
    }

    private Map<String, String> awaitARunningRetrain(int seconds) throws Exception {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (System.nanoTime() < deadline) {
            try (Connection c = db.connect(); ResultSet rs = c.createStatement().executeQuery(
                    "SELECT id, instance FROM mlops_runs WHERE finished IS NULL AND record->>'route' = 'retrain'"
                            + " AND EXISTS (SELECT 1 FROM mlops_batches WHERE run_id = mlops_runs.id)")) {
                if (rs.next()) {
                    return Map.of("id", rs.getString(1), "instance", rs.getString(2));
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no retrain running within " + seconds + " s");
    }

    /** Inbox empty, nothing pending or claimed, no run unfinished on a live instance, for 3 s. */
    private void awaitSettled(Path inbox, int seconds) throws Exception {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        long quietSince = -1;
        while (System.nanoTime() < deadline) {
            boolean quiet;
            try (Stream<Path> s = Files.list(inbox)) {
                quiet = s.noneMatch(Files::isRegularFile)
                        && count("SELECT count(*) FROM mlops_batches WHERE state <> 'consumed'") == 0
                        && runs().values().stream().noneMatch(r -> "running".equals(r.path("outcome").asText()));
            }
            if (!quiet) {
                quietSince = -1;
            } else if (quietSince < 0) {
                quietSince = System.nanoTime();
            } else if (System.nanoTime() - quietSince > 3_000_000_000L) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("the cluster did not settle within " + seconds + " s: "
                + strings("SELECT sha256 || ' ' || state FROM mlops_batches WHERE state <> 'consumed'"));
    }

    /** The ledger as `mlops history` reads it (running/abandoned judged by the instances' sessions). */
    private Map<String, JsonNode> runs() throws Exception {
        Map<String, JsonNode> out = new LinkedHashMap<>();
        org.postgresql.ds.PGSimpleDataSource ds = new org.postgresql.ds.PGSimpleDataSource();
        ds.setUrl(db.url());
        ds.setUser(db.user());
        ds.setPassword(db.password());
        ds.setApplicationName("test-reader");
        for (Map<String, Object> r : new dev.camelmlops.cluster.PgRunLedger(ds, "test").runs()) {
            JsonNode n = JSON.valueToTree(r);
            out.put(n.path("id").asText(), n);
        }
        return out;
    }

    private int count(String sql) throws Exception {
        try (Connection c = db.connect(); ResultSet rs = c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getInt(1);
        }
    }

    private List<String> strings(String sql) throws Exception {
        List<String> out = new ArrayList<>();
        try (Connection c = db.connect(); ResultSet rs = c.createStatement().executeQuery(sql)) {
            while (rs.next()) {
                out.add(rs.getString(1).trim());
            }
        }
        return out;
    }
}
