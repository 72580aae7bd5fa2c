package dev.camelmlops.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.camelmlops.registry.FileRunLedger;
import dev.camelmlops.testing.Cli;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `mlops history` on a ledger holding every kind of run: pipeline, retrain, abandoned, a label move. */
class HistoryCommandTest {
    @TempDir
    Path tmp;
    private Cli cli;

    private static Map<String, Object> record(Object... keyValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put((String) keyValues[i], keyValues[i + 1]);
        }
        return m;
    }

    private static Map<String, Object> finished(String id, String route, String trigger, String architecture,
                                                double accuracy, Map<String, Object> stageSeconds, Object... more) {
        Map<String, Object> r = record("event", "finished", "id", id, "trigger", trigger, "route", route,
                "started", "2026-11-29T04:31:51.630473932Z", "ended", "2026-11-29T04:32:02.7Z", "seconds", 11.074,
                "instance", "vm-1", "stageSeconds", stageSeconds,
                "params", record("architecture", architecture, "epochs", 2, "learningRate", 0.003, "seed", 42),
                "metrics", record("accuracy", accuracy, "loss", 0.341140492,
                        "gates", List.of(record("name", "min-accuracy", "passed", true, "message", "ok"))),
                "version", 1, "outcome", "succeeded");
        r.putAll(record(more));
        return r;
    }

    @BeforeEach
    void ledger() {
        cli = new Cli(tmp);
        FileRunLedger ledger = new FileRunLedger(tmp.resolve("ledger.jsonl"));
        // stage seconds as the timer records them: in the order the stages end, not the order they run
        ledger.append(finished("run-a", "pipeline", "cli", "tutorial", 0.8771, record("train", 8.38246, "build",
                0.301869, "test", 0.429, "package", 0.1978, "deploy", 0.826, "verify", 0.8866)));
        ledger.append(finished("run-b", "retrain", "inbox", "default", 0.8812, record("build", 0.2, "test", 0.4,
                "retrain", 5.125, "package", 0.2, "deploy", 0.8, "verify", 0.9), "version", 2,
                "data", record("trainImages", 60000, "batches", List.of("ab12"))));
        ledger.append(finished("run-c", "retrain", "schedule", "default", 0.5, record("retrain", 1.5),
                "outcome", "abandoned", "stoppedAtStage", "retrain",
                "reason", "stopped during stage retrain by a shutdown of the service (SIGTERM or Ctrl-C)"));
        // a started record whose process is gone: killed or crashed
        ledger.append(record("event", "started", "id", "run-d", "trigger", "start-up", "route", "retrain",
                "started", "2026-11-29T05:00:00Z", "pid", Long.MAX_VALUE));
        ledger.append(record("event", "finished", "id", "run-e", "trigger", "cli", "route", "promote",
                "started", "2026-11-29T05:01:00.5Z", "seconds", 1.72, "outcome", "succeeded", "version", 1,
                "previousStable", 2));
        ledger.append(record("event", "finished", "id", "run-f", "trigger", "cli", "route", "promote",
                "started", "2026-11-29T05:02:00Z", "seconds", 0.01, "outcome", "failed", "version", 7,
                "previousStable", 1, "reason", "version 7 is not in prod"));
    }

    private String row(String id) {
        return cli.output().lines().filter(l -> l.startsWith(id + " ")).findFirst()
                .orElseThrow(() -> new AssertionError("no row " + id + " in:\n" + cli.output()));
    }

    @Test
    void theTableShowsArchitectureTriggerAndStageSecondsInPipelineOrder() {
        assertEquals(0, cli.run("history"), cli.output());
        String header = cli.output().lines().filter(l -> l.startsWith("RUN ")).findFirst().orElseThrow();
        assertTrue(header.matches("RUN +TRIGGER +ROUTE +ARCH +STARTED +SECONDS +OUTCOME +VERSION +ACCURACY"
                + " +STAGE SECONDS +REASON"), header);
        assertTrue(row("run-a").matches("run-a +cli +pipeline +tutorial +2026-11-29T04:31:51Z +11\\.07 +succeeded +1"
                + " +0\\.8771 +build 0\\.30 train 8\\.38 test 0\\.43 package 0\\.20 deploy 0\\.83 verify 0\\.89"),
                row("run-a"));
        assertTrue(row("run-b").matches("run-b +inbox +retrain +default .* 0\\.8812 +retrain 5\\.13 build 0\\.20 test"
                + " 0\\.40 package 0\\.20 deploy 0\\.80 verify 0\\.90"), row("run-b"));
        assertTrue(row("run-c").matches("run-c +schedule +retrain .* abandoned at retrain .* retrain 1\\.50 +stopped"
                + " during stage retrain by a shutdown.*"), row("run-c"));
        assertTrue(row("run-d").matches("run-d +start-up +retrain +- .* abandoned .* no finished record: the process"
                + " stopped during the run \\(killed or crashed\\)"), row("run-d"));
        assertTrue(row("run-e").matches("run-e +cli +promote +- .* 1\\.72 +succeeded +1 +- +stable 2 -> 1"),
                row("run-e"));
        assertTrue(row("run-f").matches("run-f +cli +promote .* failed +7 +- +- +version 7 is not in prod"),
                row("run-f"));
    }

    @Test
    void anUnknownRunIsAUsageErrorWithAMessage() {
        assertEquals(2, cli.run("history", "run-zz"), cli.output());
        assertTrue(cli.output().contains("No run run-zz in " + tmp.resolve("ledger.jsonl")), cli.output());
        assertEquals(2, cli.run("history", "--compare", "run-a", "run-zz"), cli.output());
        assertTrue(cli.output().contains("No run run-zz in "), cli.output());
        assertEquals(2, cli.run("history", "run-a", "--compare", "run-a", "run-b"), cli.output());
        assertEquals(0, cli.run("history", "run-a"), cli.output());
        assertTrue(cli.output().contains("\"architecture\" : \"tutorial\""), cli.output());
    }

    @Test
    void compareShowsBothRunsSideBySideAndMarksTheDifferences() {
        assertEquals(0, cli.run("history", "--compare", "run-a", "run-b"), cli.output());
        List<String> lines = cli.output().lines().dropWhile(l -> !l.matches(" +KEY +run-a +run-b")).toList();
        assertTrue(lines.size() > 10, cli.output());
        assertTrue(lines.stream().anyMatch(l -> l.matches("\\*  params\\.architecture +tutorial +default")),
                cli.output());
        assertTrue(lines.stream().anyMatch(l -> l.matches("   params\\.seed +42 +42")), cli.output());
        assertTrue(lines.stream().anyMatch(l -> l.matches("\\*  metrics\\.accuracy +0\\.8771 +0\\.8812")),
                cli.output());
        assertTrue(lines.stream().anyMatch(l -> l.matches("   metrics\\.gates\\.min-accuracy +passed +passed")),
                cli.output());
        assertTrue(lines.stream().anyMatch(l -> l.matches("\\*  stageSeconds\\.retrain +- +5\\.13")), cli.output());
        assertTrue(lines.stream().anyMatch(l -> l.matches("\\*  data\\.batches +- +1")), cli.output());
        assertTrue(lines.stream().anyMatch(l -> l.matches("   started +2026-11-29T04:31:51Z +2026-11-29T04:31:51Z")),
                cli.output());
        int retrain = lines.indexOf(lines.stream().filter(l -> l.contains("stageSeconds.retrain")).findFirst()
                .orElseThrow());
        assertTrue(lines.get(retrain + 1).contains("stageSeconds.build"), "pipeline order: " + cli.output());
        assertTrue(lines.stream().anyMatch(l -> l.matches("\\d+ of \\d+ differ \\(\\*\\)")), cli.output());
        // a label move beside a training run: its keys, and "-" for what it does not have
        assertEquals(0, cli.run("history", "--compare", "run-a", "run-e"), cli.output());
        assertTrue(cli.output().contains("*  previousStable"), cli.output());
        assertTrue(cli.output().lines().anyMatch(l -> l.matches("\\* +params\\.architecture +tutorial +-")),
                cli.output());
    }
}
