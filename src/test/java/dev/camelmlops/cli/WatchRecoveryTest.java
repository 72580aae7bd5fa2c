package dev.camelmlops.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.camelmlops.registry.RunLedger;
import dev.camelmlops.serving.ModelServerConfig;
import dev.camelmlops.testing.Cli;
import dev.camelmlops.testing.InboxFiles;
import dev.camelmlops.testing.TinyFashion;
import dev.camelmlops.testing.WatchProcess;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `mlops watch` as a real process, stopped the two ways a service is stopped in production: a
 * crash (kill -9) and SIGTERM, each in the middle of a retrain. Then started again: the batch the
 * stopped run had claimed is retrained without another drop, health is UP, and the log says what
 * happened at the right level. SIGTERM past training instead lets the run finish and publish, and
 * the next start has nothing to retrain. Tagged slow: each test starts three JVMs (about 35 s here).
 */
@Tag("slow")
class WatchRecoveryTest {
    private static final Path HOME = Path.of("").toAbsolutePath();
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;
    private Cli cli;
    private RunLedger ledger;
    private final List<Service> started = new ArrayList<>();

    @BeforeEach
    void deployAFirstModel() {
        cli = new Cli(tmp);
        assertEquals(0, cli.run("run"), cli.output());
        ledger = new dev.camelmlops.registry.FileRunLedger(tmp.resolve("ledger.jsonl"));
    }

    @AfterEach
    void destroyEveryProcess() throws Exception {
        for (Service s : started) {
            s.process.destroyForcibly();
            s.process.waitFor(30, TimeUnit.SECONDS);
        }
    }

    /** `mlops watch` as a process, with this test's settings. */
    final class Service extends WatchProcess {
        Service(String... extra) throws Exception {
            super(HOME, tmp.resolve("watch-" + (started.size() + 1) + ".log"), arguments(extra));
            started.add(this);
        }

        /** Waits until a retrain is in training: its started line is in the ledger and epochs go by. */
        String awaitTraining() throws Exception {
            awaitTrue("a retrain is training", 60, () -> retrains().stream().anyMatch(r -> r.get("ended") == null)
                    && lines().stream().filter(l -> l.startsWith("Epoch ")).count() >= 3);
            return String.valueOf(retrains().get(retrains().size() - 1).get("id"));
        }
    }

    private List<String> arguments(String... extra) {
        List<String> args = new ArrayList<>(cli.defaults());
        args.addAll(List.of("-Dinbox.poll-ms=200", "-Dinbox.read-lock-min-age-ms=300",
                "-Dinbox.read-lock-check-ms=150", "-Dquality.max-regression=0.05"));
        args.addAll(List.of(extra));
        return args;
    }

    private static void awaitTrue(String what, int seconds, BooleanSupplier condition) throws InterruptedException {
        WatchProcess.awaitTrue(what, seconds, condition);
    }

    private List<Map<String, Object>> retrains() {
        return ledger.runs().stream().filter(r -> "retrain".equals(r.get("route"))).toList();
    }

    private void drop(String name, String content) throws Exception {
        Path inbox = Files.createDirectories(tmp.resolve("inbox"));
        Path part = tmp.resolve("." + name + ".writing");
        Files.writeString(part, content);
        Files.move(part, inbox.resolve(name));
    }

    private List<String> names(Path dir) throws Exception {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static long count(List<String> lines, String regex) {
        Pattern p = Pattern.compile(regex);
        return lines.stream().filter(l -> p.matcher(l).find()).count();
    }

    private static JsonNode lastRunCheck(HttpResponse<String> health) throws Exception {
        for (JsonNode c : JSON.readTree(health.body()).get("checks")) {
            if ("mlops/last-run".equals(c.get("id").asText())) {
                return c;
            }
        }
        throw new AssertionError("no mlops/last-run check: " + health.body());
    }

    /** Restarted without another drop: the pending batch is retrained and published as version 2. */
    private Service restartAndSeeVersion2Published(String abandonedRun) throws Exception {
        Service again = new Service("-Dretrain.epochs=2");
        JsonNode early = lastRunCheck(again.healthDetail());
        assertEquals("UP", early.get("state").asText(), "an abandoned run does not make health DOWN: " + early);
        assertEquals(abandonedRun, early.get("details").get("last.abandoned.id").asText(), early.toString());
        awaitTrue("version 2 published in prod/", 120, () -> Files.isDirectory(tmp.resolve("prod/2")));
        awaitTrue("the start-up retrain finished", 60, () -> "succeeded".equals(retrains().get(retrains().size() - 1)
                .get("outcome")));
        Map<String, Object> run = retrains().get(retrains().size() - 1);
        assertEquals("start-up", run.get("trigger"), run.toString());
        assertEquals(2, ((Number) run.get("version")).intValue(), run.toString());
        assertEquals(2, retrains().size(), "one abandoned run, one start-up run: " + retrains());
        assertEquals(List.of(), names(tmp.resolve("batches/pending")), "the batch was used");

        HttpResponse<String> health = again.healthDetail();
        assertEquals(200, health.statusCode(), health.body());
        assertEquals("UP", lastRunCheck(health).get("state").asText(), health.body());

        assertEquals(0, cli.run("history"), cli.output());
        String line = cli.output().lines().filter(l -> l.startsWith(abandonedRun)).findFirst().orElseThrow();
        assertTrue(line.contains(" abandoned "), line);
        assertEquals(0, count(again.lines(), " ERROR "), again.output());
        return again;
    }

    @Test
    void killedMidRetrainTheBatchIsRetrainedAtTheNextStartWithoutAnotherDrop() throws Exception {
        Service first = new Service("-Dretrain.epochs=100000");
        drop("batch.csv", InboxFiles.csv(TinyFashion.dataset(60, 11)));
        String run = first.awaitTraining();
        assertTrue(Files.isDirectory(tmp.resolve("batches/claimed").resolve(run)), "the run claimed the batch");

        first.process.destroyForcibly(); // SIGKILL: nothing of the service runs any more
        assertTrue(first.awaitExit(30), "killed");
        assertEquals("abandoned", ledger.run(run).orElseThrow().get("outcome"), "no finished line, process gone");

        Service again = restartAndSeeVersion2Published(run);
        assertEquals(1, count(again.lines(), "WARN .*batches claimed by runs that never ended \\(\\[" + run + "\\]\\)"),
                again.output());
    }

    @Test
    void sigtermMidRetrainLogsOneStoppedLineRecordsTheRunAsAbandonedAndTheNextStartRetrains() throws Exception {
        Service first = new Service("-Dretrain.epochs=100000");
        drop("batch.csv", InboxFiles.csv(TinyFashion.dataset(60, 11)));
        String run = first.awaitTraining();

        first.sigterm();
        assertTrue(first.awaitExit(60), "stopped on SIGTERM");
        assertEquals(143, first.process.exitValue(), "the JVM's exit status after SIGTERM (README, systemd unit)");
        List<String> log = first.lines();
        assertEquals(1, count(log, "stopped"), "one 'stopped' line:\n" + first.output());
        assertEquals(1, count(log, "INFO .*PipelineApp - stopped"), first.output());
        assertEquals(1, count(log, "INFO .*retrain " + run + " abandoned at stage warm-train"), first.output());
        assertEquals(0, count(log, " (ERROR|WARN) "), "nothing to act on:\n" + first.output());

        Map<String, Object> record = ledger.run(run).orElseThrow();
        assertEquals("abandoned", record.get("outcome"), record.toString());
        assertEquals(1, names(tmp.resolve("batches/pending")).size(), "the batch is pending again");

        restartAndSeeVersion2Published(run);
    }

    @Test
    void sigtermPastTrainingLetsTheRunFinishAndPublishThenTheNextStartHasNothingToRetrain() throws Exception {
        // the embedded server reads models.config every 3 s: deploy and verify wait for it, so the
        // run goes on for seconds after its last training step
        Service first = new Service("-Dretrain.epochs=2", "-Dserving.poll-seconds=3");
        drop("batch.csv", InboxFiles.csv(TinyFashion.dataset(60, 11)));
        Pattern lastEpoch = Pattern.compile("^Epoch 2/2 - ");
        // looked for every 5 ms: the moment after training is what this test is about
        WatchProcess.awaitTrue("the retrain's last epoch finished", 120, 5, () -> first.lines().stream()
                .anyMatch(l -> lastEpoch.matcher(l).find()));
        Map<String, Long> labelsBefore = labels();
        boolean publishedBefore = Files.isDirectory(tmp.resolve("prod/2"));
        int linesBefore = first.lines().size();
        Instant signalled = Instant.now();
        first.sigterm(); // past training: no training step is left to check the signal

        assertTrue(first.awaitExit(90), "stopped on SIGTERM");
        assertEquals(143, first.process.exitValue(), "the JVM's exit status after SIGTERM (README, systemd unit)");
        List<String> log = first.lines();
        System.out.println("SIGTERM landed after log line " + linesBefore + " (" + log.get(linesBefore - 1)
                + "); prod/2 published then: " + publishedBefore + ", labels then: " + labelsBefore
                + "; the run's stage lines after it: " + log.subList(linesBefore, log.size()).stream()
                        .filter(l -> l.matches(".* - (test|package|deploy|verify): .*")).toList());
        assertEquals(Map.of("stable", 1L), labelsBefore, "version 2 was not stable yet when the signal came");

        List<Map<String, Object>> runs = retrains();
        assertEquals(1, runs.size(), runs.toString());
        Map<String, Object> run = runs.get(0);
        assertEquals("succeeded", run.get("outcome"), run.toString());
        assertEquals(2, ((Number) run.get("version")).intValue(), run.toString());
        assertTrue(signalled.isBefore(Instant.parse(run.get("ended").toString())),
                "the signal came before the run ended: " + signalled + ", " + run);

        assertTrue(Files.isDirectory(tmp.resolve("prod/2")), "version 2 published");
        assertEquals(2L, labels().get("stable"), "verify moved stable to 2: " + labels());
        JsonNode verify = JSON.readTree(tmp.resolve("work/verify.json").toFile());
        assertEquals(2, verify.get("version").asInt(), verify.toString());
        assertTrue(verify.get("passed").asBoolean(), verify.toString());
        assertEquals(List.of(), names(tmp.resolve("batches/pending")), "the batch is used up, not pending again");
        List<String> done = names(tmp.resolve("inbox/.done"));
        assertTrue(done.size() == 1 && done.get(0).endsWith("-batch.csv"), "the inbox file is archived: " + done);
        assertTrue(Files.notExists(tmp.resolve("inbox/batch.csv")), "the inbox file is moved");

        assertEquals(1, count(log, "stopped"), "one 'stopped' line:\n" + first.output());
        assertEquals(1, count(log, "INFO .*PipelineApp - stopped"), first.output());
        assertEquals(0, count(log, " abandoned "), first.output());
        assertEquals(0, count(log, " (ERROR|WARN) "), "nothing to act on:\n" + first.output());

        // started again: nothing is pending, so nothing is retrained (the start-up decision is
        // taken before the "Watching" line the constructor waits for)
        Service again = new Service("-Dretrain.epochs=2");
        assertEquals(1, count(again.lines(), "Watching "), again.output());
        assertEquals(0, count(again.lines(), "pending at start-up"), again.output());
        JsonNode summary = JSON.readTree(again.health().body());
        assertEquals(0, summary.get("pendingBatches").asInt(), summary.toString());
        assertEquals(2, summary.get("served").get("version").asInt(), summary.toString());
        assertEquals(1, retrains().size(), "no start-up retrain: " + retrains());
        assertEquals(0, count(again.lines(), " (ERROR|WARN) "), again.output());
    }

    /** The labels prod/models.config gives the model (none before the file exists). */
    private Map<String, Long> labels() throws Exception {
        Path config = tmp.resolve("prod/models.config");
        if (!Files.exists(config)) {
            return Map.of();
        }
        return ModelServerConfig.parse(Files.readString(config), "models.config").models().get(0).labels();
    }
}
