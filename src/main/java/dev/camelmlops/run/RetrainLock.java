package dev.camelmlops.run;

import java.util.Optional;

/**
 * One retrain at a time: held for the whole of a retrain run. On one machine a lock in this
 * process; in cluster mode a PostgreSQL advisory lock held by the running instance's database
 * session, so it goes away with that session when the instance dies.
 */
public interface RetrainLock {
    /**
     * Waits until this instance holds the lock. Throws {@link RunAbandonedException} when the
     * service stops while waiting.
     */
    void acquire();

    /** Lets the lock go (nothing happens when it is not held). */
    void release();

    /** The instance running a retrain now, if any (this one or, in cluster mode, another). */
    Optional<String> holder();
}
