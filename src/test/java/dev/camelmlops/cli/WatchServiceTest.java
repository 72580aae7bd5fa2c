package dev.camelmlops.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.camelmlops.data.BatchStore;
import dev.camelmlops.data.Dataset;
import dev.camelmlops.data.Sha256;
import dev.camelmlops.model.TrainingListener;
import dev.camelmlops.registry.RunLedger;
import dev.camelmlops.testing.Cli;
import dev.camelmlops.testing.InboxFiles;
import dev.camelmlops.testing.InboxFiles.Member;
import dev.camelmlops.testing.TinyFashion;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `mlops watch` end to end: the real Camel context with the project's routes, real files dropped
 * into the inbox, real retrains of a small model, the embedded server, the run ledger.
 */
class WatchServiceTest {

    @TempDir
    Path tmp;
    private Cli cli;
    private Path inbox;
    private RunLedger ledger;

    @BeforeEach
    void deployAFirstModel() {
        cli = new Cli(tmp);
        assertEquals(0, cli.run("run"), cli.output());
        inbox = tmp.resolve("inbox");
        ledger = new dev.camelmlops.registry.FileRunLedger(tmp.resolve("ledger.jsonl"));
    }

    /** The service on a thread, stopped as SIGTERM would stop it. */
    final class Service implements AutoCloseable {
        final InProcessWatch watch;
        final MlopsCli.WatchSetup setup;

        Service(String... extra) throws Exception {
            this(TrainingListener.NONE, extra);
        }

        /** With {@code training} told of every run's training progress, on the training thread. */
        Service(TrainingListener training, String... extra) throws Exception {
            List<String> args = new ArrayList<>(cli.defaults());
            args.addAll(List.of("-Dinbox.poll-ms=200", "-Dinbox.read-lock-min-age-ms=300",
                    "-Dinbox.read-lock-check-ms=150", "-Dquality.max-regression=0.05"));
            args.addAll(List.of(extra));
            watch = new InProcessWatch(args, training);
            setup = watch.setup;
        }

        /**
         * Waits (bounded) until every dropped file is handled and no run is in progress or queued.
         * A file leaves the inbox only once its intake has stored it and requested a retrain (in
         * the inbox route, before Camel moves it), and the start-up trigger is requested before
         * the service counts as started (InProcessWatch): so once the inbox is empty, idle means
         * every run those asked for has ended.
         */
        void settle() throws Exception {
            long deadline = System.currentTimeMillis() + 90_000;
            while (System.currentTimeMillis() < deadline) {
                if (inboxFiles().isEmpty()) {
                    assertTrue(setup.app().requests().awaitIdle(Math.max(1, deadline - System.currentTimeMillis())),
                            "runs still in progress after 90 s: " + retrains());
                    return;
                }
                Thread.sleep(50);
            }
            throw new AssertionError("inbox not settled: " + inboxFiles());
        }

        @Override
        public void close() throws Exception {
            watch.close();
        }
    }

    private List<String> inboxFiles() throws Exception {
        if (!Files.isDirectory(inbox)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(inbox)) {
            return s.filter(Files::isRegularFile).map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** The version folders of a prod folder (its models.config aside). */
    private List<String> versions(Path dir) throws Exception {
        return names(dir).stream().filter(n -> n.matches("[0-9]+")).toList();
    }

    private List<String> names(Path dir) throws Exception {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private List<Map<String, Object>> retrains() {
        return ledger.runs().stream().filter(r -> "retrain".equals(r.get("route"))).toList();
    }

    private void drop(String name, String content) throws Exception {
        Files.createDirectories(inbox);
        Path tmpFile = tmp.resolve("." + name + ".writing");
        Files.writeString(tmpFile, content);
        Files.move(tmpFile, inbox.resolve(name));
    }

    @Test
    void aValidCsvRetrainsAndIsServedAndTheSameContentIsTakenOnlyOnceEvenAfterARestart() throws Exception {
        String csv = InboxFiles.csv(TinyFashion.dataset(60, 11));
        Path verify = cli.work().resolve("verify.json");
        assertTrue(Files.readString(verify).contains("\"version\" : 1"), "`mlops run` verified version 1");
        Files.delete(verify); // the retrain under test must write its own
        try (Service s = new Service()) {
            drop("batch-1.csv", csv);
            s.settle();
            drop("same-content-new-name.csv", csv);
            s.settle();
        }
        assertEquals(1, retrains().size(), retrains().toString());
        Map<String, Object> run = retrains().get(0);
        assertEquals("inbox", run.get("trigger"));
        assertEquals("succeeded", run.get("outcome"), run.toString());
        assertEquals(2, ((Number) run.get("version")).intValue());
        assertTrue(versions(tmp.resolve("prod")).contains("2"), "version 2 deployed");
        String verified = Files.readString(verify);
        assertTrue(verified.contains("\"passed\" : true") && verified.contains("\"version\" : 2"),
                "the retrain verified version 2: " + verified);
        assertEquals(2, names(inbox.resolve(".done")).size());

        try (Service s = new Service()) {
            drop("again-after-restart.csv", csv);
            s.settle();
        }
        assertEquals(1, retrains().size(), "content seen before a restart is not retrained again");
        assertEquals(3, names(inbox.resolve(".done")).size());
    }

    /** GET /metrics on the service's health port: the content type and the body. */
    private static String[] metrics(Service s) throws Exception {
        int port = s.setup.app().healthPort();
        assertTrue(port > 0, "the health endpoint is bound");
        java.net.http.HttpResponse<String> r = java.net.http.HttpClient.newHttpClient().send(
                java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + "/metrics"))
                        .timeout(java.time.Duration.ofSeconds(10)).GET().build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return new String[] {r.headers().firstValue("Content-Type").orElse(""), r.body()};
    }

    /** The sample line of {@code name} whose labels contain every one of {@code labels}, e.g. "name{a="b"} 1.0". */
    private static String sampleLine(String body, String name, String... labels) {
        return body.lines().filter(l -> l.startsWith(name + "{") || l.startsWith(name + " "))
                .filter(l -> Arrays.stream(labels).allMatch(l::contains)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + name + " " + Arrays.toString(labels) + " in:\n" + body));
    }

    private static double value(String line) {
        return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
    }

    @Test
    void metricsOnTheHealthPortCountTheInboxRetrainAndReportTheDeployedVersionBacklogAndJvm() throws Exception {
        try (Service s = new Service()) {
            String[] before = metrics(s);
            assertEquals("text/plain; version=0.0.4; charset=utf-8", before[0]);
            assertEquals(1.0, value(sampleLine(before[1], "mlops_deployed_version")),
                    "version 1 (deployed by `mlops run` before the service started) read from the ledger");
            assertFalse(before[1].contains("trigger=\"inbox\""), before[1]);

            drop("batch-1.csv", InboxFiles.csv(TinyFashion.dataset(60, 11)));
            s.settle();
            assertEquals(1, retrains().size(), retrains().toString());
            String body = metrics(s)[1];
            String instance = "mlops_instance=\"" + retrains().get(0).get("instance") + "\"";
            assertEquals(1.0, value(sampleLine(body, "mlops_runs_total", "trigger=\"inbox\"", "route=\"retrain\"",
                    "outcome=\"succeeded\"", instance)), body);
            assertEquals(2.0, value(sampleLine(body, "mlops_deployed_version")), body);
            double accuracy = ((Number) ((Map<?, ?>) retrains().get(0).get("metrics")).get("accuracy")).doubleValue();
            assertEquals(accuracy, value(sampleLine(body, "mlops_deployed_accuracy")), 1e-9, body);
            assertEquals(0.0, value(sampleLine(body, "mlops_inbox_pending_batches")), body);
            assertEquals(0.0, value(sampleLine(body, "mlops_retrain_running")), body);
            assertEquals(1.0, value(sampleLine(body, "mlops_stage_seconds_count", "stage=\"warm-train\"")), body);
            assertTrue(value(sampleLine(body, "mlops_stage_seconds_sum", "stage=\"warm-train\"")) > 0, body);
            assertTrue(value(sampleLine(body, "jvm_memory_used_bytes", "area=\"heap\"")) >= 0, body);
        }
    }

    interface Action {
        void run() throws Exception;
    }

    /** The WARN and ERROR lines logged while {@code action} ran (tests log at WARN; the log goes to System.out). */
    private static List<String> warningsAndErrors(Action action) throws Exception {
        PrintStream original = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        OutputStream both = new OutputStream() {
            @Override
            public synchronized void write(int b) {
                buf.write(b);
                original.write(b);
            }

            @Override
            public synchronized void write(byte[] b, int off, int len) {
                buf.write(b, off, len);
                original.write(b, off, len);
            }
        };
        System.setOut(new PrintStream(both, true, StandardCharsets.UTF_8));
        try {
            action.run();
        } finally {
            System.setOut(original);
        }
        return buf.toString(StandardCharsets.UTF_8).lines().filter(l -> l.matches(".* (WARN|ERROR) .*")).toList();
    }

    @Test
    void aRejectedFileIsOneWarningNamingItAndItsReasonNotAnErrorAndStillMovesToError() throws Exception {
        List<String> logged = warningsAndErrors(() -> {
            try (Service s = new Service()) {
                drop("bad-header.csv", "label,pixel1\n1,2\n");
                s.settle();
            }
        });
        assertEquals(1, logged.size(), "one line, not an ERROR for a 'stage inbox' nor Camel's rollback: " + logged);
        assertTrue(logged.get(0).matches(".* WARN InboxIntake - inbox: bad-header.csv rejected .*wrong header.*"),
                logged.get(0));
        List<String> errors = names(inbox.resolve(".error"));
        assertEquals(2, errors.size(), errors.toString());
        assertTrue(errors.get(0).endsWith("-bad-header.csv") && errors.get(1).endsWith("-bad-header.csv.reason"),
                errors.toString());
        assertTrue(Files.readString(inbox.resolve(".error").resolve(errors.get(1))).contains("wrong header"));
        assertEquals(List.of(), names(inbox.resolve(".done")));
    }

    @Test
    void aBatchWithShuffledLabelsIsRejectedNothingIsDeployedAndTheLedgerSaysWhy() throws Exception {
        Dataset shuffled = InboxFiles.shuffledLabels(TinyFashion.dataset(200, 12), 3);
        List<String> logged = warningsAndErrors(() -> {
            try (Service s = new Service("-Dquality.max-regression=0")) {
                drop("shuffled.csv", InboxFiles.csv(shuffled));
                s.settle();
            }
        });
        assertEquals(1, logged.size(), "a rejected candidate is one WARN (the gate did its job): " + logged);
        assertTrue(logged.get(0).matches(".* WARN pipeline - stage test rejected the candidate: quality gate failed.*"),
                logged.get(0));
        Map<String, Object> run = retrains().get(0);
        assertEquals("failed", run.get("outcome"));
        String reason = String.valueOf(run.get("reason"));
        assertTrue(reason.contains("the labels look unrelated to the images"), reason);
        @SuppressWarnings("unchecked")
        Map<String, Object> metrics = (Map<String, Object>) run.get("metrics");
        assertTrue(metrics.containsKey("accuracy") && ((Map<?, ?>) metrics.get("baseline")).containsKey("accuracy"),
                "both accuracies recorded: " + metrics);
        assertEquals(List.of("1"), versions(tmp.resolve("prod")), "nothing deployed");
        assertFalse(names(tmp.resolve("batches/pending")).size() > 0, "a rejected batch is not retried");
    }

    @Test
    void everyBadInputLandsInErrorWithItsReasonAndTheServiceKeepsRunning() throws Exception {
        Dataset d = TinyFashion.dataset(6, 13);
        byte[] images = InboxFiles.idxImages(d, true);
        byte[] labels = InboxFiles.idxLabels(d, true);
        String h = InboxFiles.header() + "\n";
        String good = InboxFiles.csv(d);
        String row = good.split("\n")[1];
        try (Service s = new Service("-Dinbox.max-bytes=200000")) {
            drop("empty.csv", "");
            drop("wrong-header.csv", "label,pixel1\n1,2\n");
            drop("wrong-columns.csv", h + "1,2,3\n");
            drop("non-numeric.csv", h + row.replaceFirst(",\\d+,", ",x,") + "\n");
            drop("out-of-range.csv", h + row.replaceFirst(",\\d+,", ",300,") + "\n");
            drop("bad-label.csv", h + row.replaceFirst("^\\d", "12") + "\n");
            drop("huge.csv", h + (row + "\n").repeat(120));
            Files.createDirectories(inbox);
            InboxFiles.zip(tmp.resolve(".z1"), List.of(new Member("images.gz",
                    Arrays.copyOf(images, images.length / 2)), new Member("labels.gz", labels)));
            Files.move(tmp.resolve(".z1"), inbox.resolve("truncated-gzip.zip"));
            InboxFiles.zip(tmp.resolve(".z2"), List.of(new Member("images.gz", images), new Member("labels.gz", images)));
            Files.move(tmp.resolve(".z2"), inbox.resolve("magic-mismatch.zip"));
            InboxFiles.tarGz(tmp.resolve(".z3"), List.of(new Member("images.gz", images),
                    new Member("labels.gz", InboxFiles.idxLabels(d.head(2), true))));
            Files.move(tmp.resolve(".z3"), inbox.resolve("count-mismatch.tar.gz"));
            InboxFiles.zip(tmp.resolve(".z4"), List.of(new Member("images.gz", images)));
            Files.move(tmp.resolve(".z4"), inbox.resolve("missing-member.zip"));
            InboxFiles.zip(tmp.resolve(".z5"), List.of(new Member("images.gz", images), new Member("../labels.gz", labels)));
            Files.move(tmp.resolve(".z5"), inbox.resolve("traversal.zip"));
            s.settle();
            Map<String, Object> health = HealthEndpoint.report(s.setup.app().context());
            assertEquals("UP", health.get("status"), health.toString());
        }
        Map<String, String> expected = Map.ofEntries(
                Map.entry("empty.csv", "empty file"),
                Map.entry("wrong-header.csv", "wrong header"),
                Map.entry("wrong-columns.csv", "line 2: expected 785 columns"),
                Map.entry("non-numeric.csv", "'x' is not an integer"),
                Map.entry("out-of-range.csv", "300 is outside 0-255"),
                Map.entry("bad-label.csv", "(label): 12 is outside 0-9"),
                Map.entry("huge.csv", "over the limit inbox.max-bytes = 200000"),
                Map.entry("truncated-gzip.zip", "truncated"),
                Map.entry("magic-mismatch.zip", "unexpected member (IDX magic 2051)"),
                Map.entry("count-mismatch.tar.gz", "has 6 images but labels.gz has 2 labels"),
                Map.entry("missing-member.zip", "archive member missing"),
                Map.entry("traversal.zip", "path traversal"));
        List<String> errors = names(inbox.resolve(".error"));
        for (Map.Entry<String, String> e : expected.entrySet()) {
            String moved = errors.stream().filter(n -> n.endsWith("-" + e.getKey())).findFirst()
                    .orElseThrow(() -> new AssertionError(e.getKey() + " not in .error: " + errors));
            String reason = Files.readString(inbox.resolve(".error").resolve(moved + ".reason"));
            assertTrue(reason.contains(e.getValue()), e.getKey() + ": " + reason);
        }
        assertEquals(List.of(), retrains(), "no retrain for bad input");
    }

    @Test
    void filesArrivingDuringARunCoalesceIntoExactlyOneFollowUpRun() throws Exception {
        // the first run is held in training until all five files have been taken in: the order is fixed
        CountDownLatch training = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        TrainingListener holdTheFirstRun = new TrainingListener() {
            @Override
            public void epochStarted(int epoch, int epochs, int steps) {
                if (training.getCount() > 0) {
                    training.countDown();
                    try {
                        release.await(90, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }
        };
        try (Service s = new Service(holdTheFirstRun, "-Dretrain.replay-fraction=1")) {
            try {
                drop("first.csv", InboxFiles.csv(TinyFashion.dataset(40, 20)));
                assertTrue(training.await(60, TimeUnit.SECONDS), "the first run is training within 60 s");
                for (int i = 1; i <= 5; i++) {
                    drop("during-" + i + ".csv", InboxFiles.csv(TinyFashion.dataset(40, 30 + i)));
                }
                // each is stored, then requests a retrain (the first request queues the follow-up,
                // the other four are noted for it), then moves to .done/: five, and first.csv
                long deadline = System.currentTimeMillis() + 60_000;
                while ((names(inbox.resolve(".done")).size() < 6 || names(tmp.resolve("batches/pending")).size() < 5)
                        && System.currentTimeMillis() < deadline) {
                    Thread.sleep(50);
                }
                assertEquals(6, names(inbox.resolve(".done")).size(), "five requests noted within 60 s, and the first");
                assertEquals(5, names(tmp.resolve("batches/pending")).size(), "all five stored");
                assertEquals(List.of("running"), retrains().stream().map(r -> r.get("outcome")).toList(),
                        "only the first run, still training: " + retrains());
            } finally {
                release.countDown();
            }
            s.settle();
        }
        List<Map<String, Object>> runs = retrains();
        assertEquals(2, runs.size(), runs.toString());
        assertEquals("inbox", runs.get(0).get("trigger"));
        assertTrue(String.valueOf(runs.get(1).get("trigger")).startsWith("follow-up:inbox"), runs.get(1).toString());
        assertEquals(1, batches(runs.get(0)).size());
        assertEquals(5, batches(runs.get(1)).size(), "the follow-up took all five");
        assertEquals(List.of(), names(tmp.resolve("batches/pending")));
    }

    @SuppressWarnings("unchecked")
    private static List<Object> batches(Map<String, Object> run) {
        return (List<Object>) ((Map<String, Object>) run.get("data")).get("batches");
    }

    @Test
    void aFileStillBeingWrittenIsReadOnlyOnceComplete() throws Exception {
        String csv = InboxFiles.csv(TinyFashion.dataset(30, 40));
        byte[] bytes = csv.getBytes(StandardCharsets.UTF_8);
        // the writer pauses 100 ms between chunks, far below the read lock's minimum age (2 s); the
        // longest pause it really made is measured, so a machine that stalled it beyond that age
        // (when taking the file would be right) is reported, not counted as a defect
        long minAge = 2000;
        long longestPause = 0;
        try (Service s = new Service("-Dinbox.read-lock-min-age-ms=" + minAge)) {
            Files.createDirectories(inbox);
            Path target = inbox.resolve("slow.csv");
            try (OutputStream out = Files.newOutputStream(target)) {
                int chunk = bytes.length / 10 + 1;
                long lastWrite = System.nanoTime();
                for (int off = 0; off < bytes.length; off += chunk) {
                    if (off > 0) {
                        Thread.sleep(100);
                    }
                    long now = System.nanoTime();
                    longestPause = Math.max(longestPause, (now - lastWrite) / 1_000_000);
                    out.write(bytes, off, Math.min(chunk, bytes.length - off));
                    out.flush();
                    lastWrite = System.nanoTime();
                    assertTrue(Files.exists(target) || longestPause >= minAge, "not taken while being written");
                }
            }
            s.settle();
        }
        assumeTrue(longestPause < minAge, "the writer stalled " + longestPause + " ms, beyond the read lock's age");
        assertEquals(List.of(), names(inbox.resolve(".error")), "never read half-written");
        assertEquals(1, names(inbox.resolve(".done")).size());
        assertEquals(30, ((Number) ((Map<?, ?>) retrains().get(0).get("data")).get("trainImages")).intValue() - 75,
                "all 30 rows arrived (plus a replay of 75 base images)");
    }

    @Test
    void aTestCronFiresARun() throws Exception {
        try (Service s = new Service("-Dretrain.cron=0/2 * * * * ?", "-Dretrain.only-with-new-data=false")) {
            long deadline = System.currentTimeMillis() + 20_000;
            while (retrains().stream().noneMatch(r -> "schedule".equals(r.get("trigger")))
                    && System.currentTimeMillis() < deadline) {
                Thread.sleep(100);
            }
        }
        assertTrue(retrains().stream().anyMatch(r -> "schedule".equals(r.get("trigger"))), retrains().toString());
    }

    @Test
    void aScheduledRunMissedWhileTheServiceWasDownRunsOnceAtStartUp() throws Exception {
        ledger.append(new java.util.LinkedHashMap<>(Map.of("event", "finished", "id", "20250101-020000-abcd",
                "trigger", "schedule", "route", "retrain", "started", "2025-01-01T02:00:00Z",
                "outcome", "succeeded")));
        String[] daily = {"-Dretrain.cron=0 0 3 * * ?", "-Dretrain.only-with-new-data=false"};
        try (Service s = new Service(daily)) {
            long deadline = System.currentTimeMillis() + 20_000;
            while (retrains().size() < 2 && System.currentTimeMillis() < deadline) {
                Thread.sleep(100);
            }
            s.settle();
        }
        List<Map<String, Object>> runs = retrains();
        assertEquals(2, runs.size(), "one catch-up run for many missed 03:00 slots: " + runs);
        assertEquals("schedule-catch-up", runs.get(1).get("trigger"));
        try (Service s = new Service(daily)) {
            // started means its start-up trigger has been decided (InProcessWatch): none is due
            assertFalse(s.setup.app().requests().busy(), "no catch-up requested at the second start: " + retrains());
            s.settle();
        }
        assertEquals(2, retrains().size(), "nothing was missed since the catch-up run");
    }

    /** A training listener that counts {@code latch} down at every training step (on the training thread). */
    private static TrainingListener countingSteps(CountDownLatch latch) {
        return new TrainingListener() {
            @Override
            public void stepFinished(int epoch, int step, int steps, double meanLoss, double meanAccuracy) {
                latch.countDown();
            }
        };
    }

    @Test
    void stoppingDuringTrainingAbandonsTheRunCleanly() throws Exception {
        CountDownLatch trainingStep = new CountDownLatch(1);
        TrainingListener steps = countingSteps(trainingStep);
        try (Service s = new Service(steps, "-Dretrain.epochs=100000", "-Dretrain.replay-fraction=1")) {
            drop("long.csv", InboxFiles.csv(TinyFashion.dataset(40, 50)));
            assertTrue(trainingStep.await(60, TimeUnit.SECONDS), "the run is training within 60 s");
        }
        Map<String, Object> run = retrains().get(0);
        assertEquals("abandoned", run.get("outcome"), run.toString());
        assertEquals("warm-train", run.get("stoppedAtStage"), run.toString());
        assertTrue(String.valueOf(run.get("reason")).contains("shutdown"), run.toString());
        assertEquals(1, names(tmp.resolve("batches/pending")).size(), "the batch is pending again, not lost");
        assertEquals(List.of("1"), versions(tmp.resolve("prod")), "no new or half-published version");
        assertEquals(1, names(inbox.resolve(".done")).size());
    }

    private List<String> namesQuietly(Path dir) {
        try {
            return names(dir);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void theFileThatStartsARetrainMovesToDoneOnceItsBatchIsStoredNotWhenTheRunEnds() throws Exception {
        CountDownLatch trainingStep = new CountDownLatch(1);
        TrainingListener steps = countingSteps(trainingStep);
        String csv = InboxFiles.csv(TinyFashion.dataset(40, 51));
        String sha = Sha256.of(csv.getBytes(StandardCharsets.UTF_8));
        try (Service s = new Service(steps, "-Dretrain.epochs=100000")) {
            drop("starts-a-run.csv", csv);
            assertTrue(trainingStep.await(60, TimeUnit.SECONDS), "its retrain is training within 60 s");
            // the run trains on (100000 epochs) while the file's fate is decided by its intake alone
            dev.camelmlops.testing.WatchProcess.awaitTrue("moved to .done/ while its run is still training", 20,
                    () -> namesQuietly(inbox.resolve(".done")).size() == 1);
            assertEquals(List.of(), inboxFiles());
            String run = String.valueOf(retrains().get(0).get("id"));
            assertEquals("running", retrains().get(0).get("outcome"), retrains().toString());
            assertTrue(Files.isDirectory(tmp.resolve("batches/claimed").resolve(run).resolve(sha)),
                    "the batch is stored, and claimed by the run: " + names(tmp.resolve("batches/claimed")));
            Path done = inbox.resolve(".done").resolve(names(inbox.resolve(".done")).get(0));
            assertEquals(sha, Sha256.of(done), "the whole file, untouched");
        }
        assertEquals(1, names(inbox.resolve(".done")).size(), "still there after the run was abandoned");
        assertEquals(List.of(sha), names(tmp.resolve("batches/pending")), "the abandoned run gave the batch back");
    }

    @Test
    void aFileWhoseBatchCannotBeStoredNeverReachesDoneAndItsReasonSaysHowToHandItInAgain() throws Exception {
        String csv = InboxFiles.csv(TinyFashion.dataset(40, 52));
        String sha = Sha256.of(csv.getBytes(StandardCharsets.UTF_8));
        Path pending = tmp.resolve("batches/pending");
        List<String> logged = warningsAndErrors(() -> {
            try (Service s = new Service()) {
                // the store breaks while the service runs: "pending" cannot be made a folder
                Files.createDirectories(pending.getParent());
                if (Files.isDirectory(pending)) {
                    Files.delete(pending);
                }
                Files.writeString(pending, "not a folder");
                drop("unlucky.csv", csv);
                s.settle();
                assertEquals(List.of(), names(inbox.resolve(".done")), "never in .done/: its batch is not stored");
                List<String> errors = names(inbox.resolve(".error"));
                assertEquals(2, errors.size(), errors.toString());
                String reason = Files.readString(inbox.resolve(".error").resolve(errors.get(1)));
                assertTrue(reason.startsWith("not stored, the file itself was not judged: cannot store batch " + sha),
                        reason);
                assertTrue(reason.contains("FileAlreadyExistsException: " + pending), reason);
                assertTrue(reason.contains("move it back into the inbox once the batch store ("
                        + tmp.resolve("batches") + ") works again"), reason);
                Path kept = inbox.resolve(".error").resolve(errors.get(0));
                assertEquals(sha, Sha256.of(kept), "the file is kept whole");
                assertEquals(List.of(), retrains(), "nothing to retrain on");

                // repaired, and the file handed in again as the reason says: taken, retrained, served
                Files.delete(pending);
                Files.move(kept, inbox.resolve("unlucky.csv"));
                s.settle();
                awaitRetrains(1);
                assertEquals("succeeded", retrains().get(0).get("outcome"), retrains().toString());
                assertEquals(1, names(inbox.resolve(".done")).size());
                assertTrue(Files.isDirectory(tmp.resolve("batches/consumed").resolve(
                        String.valueOf(retrains().get(0).get("id"))).resolve(sha)), "its batch was used");
            }
        });
        assertEquals(1, logged.size(), "one line says it, no stack trace from Camel: " + logged);
        assertTrue(logged.get(0).matches(".* ERROR InboxIntake - inbox: unlucky.csv moved to .error/ .*not stored.*"),
                logged.get(0));
    }

    private void awaitRetrains(int n) throws Exception {
        long deadline = System.currentTimeMillis() + 90_000;
        while (retrains().size() < n || retrains().stream().anyMatch(r -> "running".equals(r.get("outcome")))) {
            if (System.currentTimeMillis() > deadline) {
                throw new AssertionError("not " + n + " finished retrains within 90 s: " + retrains());
            }
            Thread.sleep(100);
        }
    }

    private String pendingBatch(Dataset d) {
        String sha = Sha256.of(InboxFiles.csv(d).getBytes(StandardCharsets.UTF_8));
        assertTrue(new dev.camelmlops.data.FileBatchStore(tmp.resolve("batches")).add(sha, d, "test"));
        return sha;
    }

    @Test
    void theBatchOfARunThatNeverEndedIsRetrainedAtStartUpWithoutAnotherDrop() throws Exception {
        String crashed = "20250101-000000-dead";
        pendingBatch(TinyFashion.dataset(60, 11));
        new dev.camelmlops.data.FileBatchStore(tmp.resolve("batches")).claim(crashed);
        ledger.append(new java.util.LinkedHashMap<>(Map.of("event", "started", "id", crashed, "trigger", "inbox",
                "route", "retrain", "started", "2025-01-01T00:00:00Z")));
        try (Service s = new Service()) {
            awaitRetrains(2);
            s.settle();
            Map<String, Object> health = HealthEndpoint.report(s.setup.app().context());
            // the run's own check; Camel's inbox consumer check is DOWN until its first poll,
            // which may come after a retrain this small has finished
            Map<?, ?> lastRun = ((List<?>) health.get("checks")).stream().map(c -> (Map<?, ?>) c)
                    .filter(c -> "mlops/last-run".equals(c.get("id"))).findFirst().orElseThrow();
            assertEquals("UP", lastRun.get("state"), health.toString());
            assertTrue(lastRun.toString().contains("last.trigger=start-up"), lastRun.toString());
        }
        List<Map<String, Object>> runs = retrains();
        assertEquals("abandoned", runs.get(0).get("outcome"), runs.get(0).toString());
        assertEquals("start-up", runs.get(1).get("trigger"), runs.get(1).toString());
        assertEquals("succeeded", runs.get(1).get("outcome"), runs.get(1).toString());
        assertEquals(1, batches(runs.get(1)).size());
        assertEquals(List.of("1", "2"), versions(tmp.resolve("prod")), "published without another drop");
        assertEquals(List.of(), names(tmp.resolve("batches/pending")));
    }

    @Test
    void atStartUpPendingDataACatchUpAndAFileArrivingCoalesceAndNoRunIsEmpty() throws Exception {
        ledger.append(new java.util.LinkedHashMap<>(Map.of("event", "finished", "id", "20250101-020000-abcd",
                "trigger", "schedule", "route", "retrain", "started", "2025-01-01T02:00:00Z",
                "outcome", "succeeded")));
        pendingBatch(TinyFashion.dataset(40, 61));
        drop("arriving.csv", InboxFiles.csv(TinyFashion.dataset(40, 62)));
        try (Service s = new Service("-Dretrain.cron=0 0 3 * * ?")) {
            awaitRetrains(2);
            s.settle();
        }
        List<Map<String, Object>> runs = retrains().subList(1, retrains().size());
        assertEquals("schedule-catch-up", runs.get(0).get("trigger"), "the catch-up took the pending batch: " + runs);
        assertTrue(runs.size() <= 2, "at most the catch-up and one follow-up: " + runs);
        assertTrue(runs.stream().noneMatch(r -> "start-up".equals(r.get("trigger"))), "no second start-up run: " + runs);
        assertTrue(runs.stream().allMatch(r -> !batches(r).isEmpty()), "no run without new data: " + runs);
        assertEquals(2, runs.stream().mapToInt(r -> batches(r).size()).sum(), runs.toString());
        assertEquals(List.of(), names(tmp.resolve("batches/pending")));
    }
}
