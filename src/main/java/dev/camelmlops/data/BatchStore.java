package dev.camelmlops.data;

import java.util.List;
import java.util.function.Supplier;

/**
 * Accepted batches of new labelled images on their way into a retrain. A batch is pending until a
 * run claims it, then used up once the run has ended, or given back to pending when the run was
 * abandoned (a shutdown, a crash). No batch is ever lost or used by two runs; the same content is
 * never taken twice.
 *
 * <p>Two implementations behind this interface: {@link FileBatchStore} (one machine, folders and
 * renames) and, in cluster mode, one on PostgreSQL shared by every instance.
 */
public interface BatchStore {
    /** One batch: its content hash and a way to read its images. */
    record Batch(String sha256, Supplier<Dataset> reader) {
        public Dataset read() {
            return reader.get();
        }
    }

    /** Stores a validated batch as pending; false when the same content is already known. */
    boolean add(String sha256, Dataset data, String source);

    /** True when a batch with this content is pending, claimed or used. */
    boolean known(String sha256);

    /** How many batches are pending (routes ask this to decide whether a retrain has anything to do). */
    int pendingCount();

    /** How many batches are claimed by runs (in cluster mode, with no retrain running: orphans of a dead instance). */
    int claimedCount();

    /** Moves every pending batch to the run's claim and returns them. */
    List<Batch> claim(String run);

    /** The run has ended (either way): its batches are used up. */
    void consume(String run);

    /** The run was abandoned: its batches go back to pending for the next run. */
    void release(String run);

    /**
     * Gives back batches claimed by runs that can no longer end (their process is gone); returns
     * those runs. Call it only when no retrain can be running: at the start of the service on one
     * machine, or with the cluster's retrain lock held.
     */
    List<String> recover();

    /** Where the batches are, for messages. */
    String describe();
}
