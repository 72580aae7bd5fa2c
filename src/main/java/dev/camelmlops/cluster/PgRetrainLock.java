package dev.camelmlops.cluster;

import dev.camelmlops.run.RetrainLock;
import dev.camelmlops.run.RunAbandonedException;
import dev.camelmlops.run.ShutdownSignal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One retrain at a time across the cluster: a PostgreSQL session-level advisory lock, held on one
 * connection for the whole run. When the instance dies, its connection closes and the lock goes
 * with it; another instance waiting for it gets it at its next try.
 */
public final class PgRetrainLock implements RetrainLock {
    private static final Logger LOG = LoggerFactory.getLogger(PgRetrainLock.class);
    /** The advisory lock key (one bigint: classid 0, objid this value). */
    static final long KEY = 7_000_001L;
    private static final long RETRY_MILLIS = 250;
    private final DataSource db;
    private final String instance;
    private final ShutdownSignal shutdown;
    private Connection held;
    /** Tries that found the lock taken, since this instance started (read by tests: "it is waiting"). */
    private final java.util.concurrent.atomic.AtomicInteger refusedTries = new java.util.concurrent.atomic.AtomicInteger();

    public PgRetrainLock(DataSource db, String instance, ShutdownSignal shutdown) {
        this.db = db;
        this.instance = instance;
        this.shutdown = shutdown;
    }

    @Override
    public synchronized void acquire() {
        if (held != null) {
            throw new IllegalStateException("the retrain lock is already held by this instance");
        }
        boolean logged = false;
        while (true) {
            if (shutdown.raised()) {
                throw new RunAbandonedException();
            }
            Connection c = null;
            try {
                c = db.getConnection();
                try (PreparedStatement ps = c.prepareStatement("SELECT pg_try_advisory_lock(?)")) {
                    ps.setLong(1, KEY);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        if (rs.getBoolean(1)) {
                            held = c;
                            if (logged) {
                                LOG.info("retrain lock taken by instance {}", instance);
                            }
                            return;
                        }
                    }
                }
                c.close();
                refusedTries.incrementAndGet();
                if (!logged) {
                    LOG.info("another instance ({}) is retraining: waiting for it to finish", holder().orElse("?"));
                    logged = true;
                }
            } catch (SQLException e) {
                closeQuietly(c);
                LOG.warn("retrain lock: {} (retrying)", e.getMessage());
            }
            try {
                Thread.sleep(RETRY_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new RunAbandonedException();
            }
        }
    }

    /** How many tries found the lock held by another instance. */
    int refusedTries() {
        return refusedTries.get();
    }

    @Override
    public synchronized void release() {
        if (held == null) {
            return;
        }
        try (PreparedStatement ps = held.prepareStatement("SELECT pg_advisory_unlock(?)")) {
            ps.setLong(1, KEY);
            ps.execute();
        } catch (SQLException e) {
            LOG.warn("retrain lock: cannot unlock ({}); closing its connection frees it", e.getMessage());
            try {
                held.abort(Runnable::run); // do not give a connection that may still hold the lock back to the pool
            } catch (SQLException ignored) {
                // closed below
            }
        } finally {
            closeQuietly(held);
            held = null;
        }
    }

    @Override
    public Optional<String> holder() {
        try (Connection c = db.getConnection(); PreparedStatement ps = c.prepareStatement(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                        + " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid::bigint = ?"
                        + " AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database"
                        + " WHERE datname = current_database())")) {
            ps.setLong(1, KEY);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.ofNullable(rs.getString(1)) : Optional.empty();
            }
        } catch (SQLException e) {
            LOG.debug("retrain lock holder: {}", e.getMessage());
            return Optional.empty();
        }
    }

    private static void closeQuietly(Connection c) {
        if (c != null) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // nothing to do
            }
        }
    }
}
