package dev.camelmlops.registry;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The run ledger: every run, whatever started it and however it ended. A run appends a "started"
 * record when it begins and a "finished" record when it ends; reading merges them, one entry per
 * run. A run with no "finished" record is {@value #RUNNING} while the process that started it is
 * alive, else {@value #ABANDONED} (it was killed or crashed).
 *
 * <p>Two implementations: {@link FileRunLedger} (a JSON Lines file, one machine) and, in cluster
 * mode, a table in PostgreSQL that every instance writes to.
 */
public interface RunLedger {
    /** Outcome of a run stopped before it could finish: a shutdown, a kill, a crash. */
    String ABANDONED = "abandoned";
    /** Outcome shown for a run whose process is still at it. */
    String RUNNING = "running";

    /** Appends a "started" or "finished" record (field "event"), durably, before returning. */
    void append(Map<String, Object> record);

    /** Every run, oldest first, its "finished" record over its "started" one. */
    List<Map<String, Object>> runs();

    default Optional<Map<String, Object>> run(String id) {
        return runs().stream().filter(r -> id.equals(String.valueOf(r.get("id")))).findFirst();
    }

    /** Where the ledger is, for messages. */
    String describe();
}
