package dev.camelmlops.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.camelmlops.cluster.PgBatchStore;
import dev.camelmlops.data.FileBatchStore;
import dev.camelmlops.registry.FileRunLedger;
import dev.camelmlops.testing.TinyFashion;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postgresql.ds.PGSimpleDataSource;

/** RunMetrics on a real batch store and run ledger, read back from its Prometheus text. */
class RunMetricsTest {
    @TempDir
    Path tmp;

    private static Map<String, Object> run(String trigger, String route, String outcome, Integer version,
                                           Double accuracy, Map<String, Object> stageSeconds) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("event", "finished");
        r.put("id", "r-" + System.nanoTime());
        r.put("trigger", trigger);
        r.put("route", route);
        r.put("outcome", outcome);
        r.put("stageSeconds", stageSeconds);
        if (version != null) {
            r.put("version", version);
        }
        if (accuracy != null) {
            r.put("metrics", Map.of("accuracy", accuracy, "loss", 0.5));
        }
        return r;
    }

    /** The value of the one sample named {@code name} whose labels include every one of {@code labels}. */
    private static double sample(String text, String name, String... labels) {
        Pattern p = Pattern.compile("^" + Pattern.quote(name) + "(\\{[^}]*})? (\\S+)$", Pattern.MULTILINE);
        Matcher m = p.matcher(text);
        Double found = null;
        while (m.find()) {
            String l = m.group(1) == null ? "" : m.group(1);
            boolean all = true;
            for (String label : labels) {
                all &= l.contains(label);
            }
            if (all) {
                if (found != null) {
                    throw new AssertionError("more than one sample " + name + " " + List.of(labels) + ":\n" + text);
                }
                found = Double.valueOf(m.group(2));
            }
        }
        if (found == null) {
            throw new AssertionError("no sample " + name + " " + List.of(labels) + " in:\n" + text);
        }
        return found;
    }

    @Test
    void countsFinishedRunsByTriggerRouteAndOutcomeWithFollowUpsFoldedIntoOneLabel() {
        FileBatchStore batches = new FileBatchStore(tmp.resolve("batches"));
        try (RunMetrics metrics = new RunMetrics("host-1", batches, new FileRunLedger(tmp.resolve("l.jsonl")), () -> false)) {
            metrics.start();
            metrics.finished(run("inbox", "retrain", "succeeded", 2, 0.81, Map.of("train", 1.5, "test", 0.25)));
            metrics.finished(run("follow-up:inbox,schedule", "retrain", "failed", null, 0.4, Map.of("train", 0.5)));
            metrics.finished(run("follow-up:schedule", "retrain", "failed", null, null, Map.of()));
            metrics.finished(run("cli", "pipeline", "abandoned", null, null, Map.of()));
            String text = metrics.scrape();

            assertEquals(1.0, sample(text, "mlops_runs_total", "trigger=\"inbox\"", "route=\"retrain\"",
                    "outcome=\"succeeded\"", "mlops_instance=\"host-1\""));
            assertEquals(2.0, sample(text, "mlops_runs_total", "trigger=\"follow-up\"", "outcome=\"failed\""));
            assertEquals(1.0, sample(text, "mlops_runs_total", "trigger=\"cli\"", "route=\"pipeline\"",
                    "outcome=\"abandoned\""));
            assertFalse(text.contains("follow-up:"), "no label value per list of triggers:\n" + text);

            assertEquals(2.0, sample(text, "mlops_stage_seconds_count", "stage=\"train\""));
            assertEquals(2.0, sample(text, "mlops_stage_seconds_sum", "stage=\"train\""), 1e-6);
            assertEquals(0.25, sample(text, "mlops_stage_seconds_sum", "stage=\"test\""), 1e-6);

            assertEquals(2.0, sample(text, "mlops_deployed_version"), "the failed runs after it change nothing");
            assertEquals(0.81, sample(text, "mlops_deployed_accuracy"), 1e-9);
        }
    }

    @Test
    void deployedVersionIsNaNUntilKnownAndPendingBatchesAreCountedAtScrapeTime() {
        FileBatchStore batches = new FileBatchStore(tmp.resolve("batches"));
        AtomicBoolean running = new AtomicBoolean();
        try (RunMetrics metrics = new RunMetrics("host-1", batches, new FileRunLedger(tmp.resolve("l.jsonl")),
                running::get)) {
            metrics.finished(run("cli", "pipeline", "succeeded", 7, 0.9, Map.of("train", 1.0)));
            assertEquals("", metrics.scrape(), "nothing measured before start() (one-shot commands)");
            metrics.start();
            String text = metrics.scrape();
            assertTrue(Double.isNaN(sample(text, "mlops_deployed_version")), text);
            assertTrue(Double.isNaN(sample(text, "mlops_deployed_accuracy")), text);
            assertEquals(0.0, sample(text, "mlops_inbox_pending_batches"));
            assertEquals(0.0, sample(text, "mlops_retrain_running"));

            batches.add("a".repeat(64), TinyFashion.dataset(6, 1), "one.csv");
            batches.add("b".repeat(64), TinyFashion.dataset(6, 2), "two.csv");
            running.set(true);
            text = metrics.scrape();
            assertEquals(2.0, sample(text, "mlops_inbox_pending_batches"));
            assertEquals(1.0, sample(text, "mlops_retrain_running"));
            assertTrue(Pattern.compile("^jvm_memory_used_bytes\\{.*area=\"heap\".*} [1-9]", Pattern.MULTILINE)
                    .matcher(text).find(), "JVM metrics bound by start():\n" + text);
            assertTrue(sample(text, "process_uptime_seconds") > 0);
            assertTrue(text.contains("jvm_threads_live_threads"), text);
            assertTrue(text.contains("system_cpu_count"), text);
        }
    }

    @Test
    void aRestartedServiceReportsTheLastDeployedVersionFromTheLedger() {
        FileRunLedger ledger = new FileRunLedger(tmp.resolve("ledger.jsonl"));
        ledger.append(run("cli", "pipeline", "succeeded", 1, 0.7, Map.of()));
        ledger.append(run("inbox", "retrain", "succeeded", 3, 0.83, Map.of()));
        ledger.append(run("schedule", "retrain", "failed", 4, 0.2, Map.of()));
        ledger.append(run("cli-stage", "train", "succeeded", null, 0.9, Map.of()));
        try (RunMetrics metrics = new RunMetrics("host-1", new FileBatchStore(tmp.resolve("b")), ledger, () -> false)) {
            metrics.start();
            String text = metrics.scrape();
            assertEquals(3.0, sample(text, "mlops_deployed_version"));
            assertEquals(0.83, sample(text, "mlops_deployed_accuracy"), 1e-9);
            assertFalse(text.contains("mlops_runs_total{"), "runs of earlier processes are not counted again");
        }
    }

    @Test
    void anUnreachableBatchDatabaseIsReportedAsNaNNotAFailedScrape() {
        PGSimpleDataSource down = new PGSimpleDataSource();
        down.setURL("jdbc:postgresql://127.0.0.1:1/nothing?connectTimeout=2");
        try (RunMetrics metrics = new RunMetrics("host-1", new PgBatchStore(down, "host-1"),
                new FileRunLedger(tmp.resolve("l.jsonl")), () -> {
                    throw new IllegalStateException("lock holder unknown");
                })) {
            metrics.start();
            String text = metrics.scrape();
            assertTrue(Double.isNaN(sample(text, "mlops_inbox_pending_batches")), text);
            assertTrue(Double.isNaN(sample(text, "mlops_retrain_running")), text);
        }
    }
}
