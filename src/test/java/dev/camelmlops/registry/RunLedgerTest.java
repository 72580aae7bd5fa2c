package dev.camelmlops.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A run without a "finished" record is running while its process lives, else abandoned. */
class RunLedgerTest {
    @TempDir
    Path tmp;

    private static Map<String, Object> started(String id, Object pid, Instant at) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("event", "started");
        r.put("id", id);
        r.put("trigger", "inbox");
        r.put("route", "retrain");
        r.put("started", at.toString());
        if (pid != null) {
            r.put("pid", pid);
        }
        return r;
    }

    @Test
    void unfinishedRunsAreRunningOnlyWhileTheirProcessLives() throws Exception {
        RunLedger ledger = new dev.camelmlops.registry.FileRunLedger(tmp.resolve("runs.jsonl"));
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        ledger.append(started("no-pid", null, Instant.now()));
        ledger.append(started("dead-process", gone.pid(), Instant.now()));
        ledger.append(started("this-process", ProcessHandle.current().pid(), Instant.now()));
        // a process that started after the run cannot be the one running it (a reused pid)
        ledger.append(started("pid-reused", ProcessHandle.current().pid(), Instant.parse("2000-01-01T00:00:00Z")));
        Map<String, Object> finished = new LinkedHashMap<>(started("done", ProcessHandle.current().pid(), Instant.now()));
        finished.put("event", "finished");
        finished.put("outcome", "succeeded");
        ledger.append(finished);

        List<Object> outcomes = ledger.runs().stream().map(r -> r.get("outcome")).toList();
        assertEquals(List.of("abandoned", "abandoned", "running", "abandoned", "succeeded"), outcomes);
        assertEquals("no finished record: the process stopped during the run (killed or crashed)",
                ledger.run("dead-process").orElseThrow().get("reason"));
    }

    @Test
    void aRunIsSeenAbandonedOnceItsProcessHasDiedEvenIfTheFileDidNotChange() throws Exception {
        Path file = tmp.resolve("runs.jsonl");
        RunLedger ledger = new dev.camelmlops.registry.FileRunLedger(file);
        Process p = new ProcessBuilder("sleep", "60").start();
        try {
            ledger.append(started("r1", p.pid(), Instant.now()));
            assertEquals("running", ledger.runs().get(0).get("outcome"));
        } finally {
            p.destroyForcibly();
            p.waitFor();
        }
        long size = Files.size(file);
        assertEquals("abandoned", ledger.runs().get(0).get("outcome"));
        assertEquals(size, Files.size(file), "judged without a new line in the ledger");
    }
}
