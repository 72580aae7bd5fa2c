package dev.camelmlops.cluster;

import com.zaxxer.hikari.HikariDataSource;
import dev.camelmlops.data.BatchStore;
import dev.camelmlops.registry.RunLedger;
import dev.camelmlops.run.RetrainLock;
import dev.camelmlops.run.ShutdownSignal;
import dev.camelmlops.settings.PipelineSettings;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.camel.CamelContext;
import org.apache.camel.processor.idempotent.jdbc.JdbcOrphanLockAwareIdempotentRepository;
import org.apache.camel.spi.IdempotentRepository;
import org.quartz.utils.ConnectionProvider;
import org.quartz.utils.DBConnectionManager;

/**
 * Cluster mode: everything the instances share, in one PostgreSQL (db.url). Opening it connects,
 * creates the tables that are missing, and registers the pool with Quartz, whose clustered JDBC
 * job store (JobStoreTX, PostgreSQL delegate, instance id AUTO) makes each schedule slot fire on
 * exactly one instance.
 */
public final class ClusterStorage implements AutoCloseable {
    /** Quartz's name for our pool. */
    static final String QUARTZ_DATA_SOURCE = "mlops";
    /** The inbox's lock rows (CAMEL_MESSAGEPROCESSED.processorName): the same on every instance. */
    static final String INBOX_PROCESSOR = "mlops-inbox";
    private final PipelineSettings.Cluster cluster;
    private final HikariDataSource db;
    private final PgBatchStore batches;
    private final PgRunLedger ledger;
    private final PgRetrainLock lock;
    private IdempotentRepository inboxLocks;

    private ClusterStorage(PipelineSettings.Cluster cluster, HikariDataSource db, ShutdownSignal shutdown) {
        this.cluster = cluster;
        this.db = db;
        this.batches = new PgBatchStore(db, cluster.instanceId());
        this.ledger = new PgRunLedger(db, describe(cluster));
        this.lock = new PgRetrainLock(db, cluster.instanceId(), shutdown);
    }

    public static ClusterStorage open(PipelineSettings.Cluster cluster, ShutdownSignal shutdown) {
        HikariDataSource db = Database.pool(cluster, cluster.instanceId(), cluster.poolSize());
        try {
            Database.migrate(db);
        } catch (RuntimeException e) {
            db.close();
            throw e;
        }
        DBConnectionManager.getInstance().addConnectionProvider(QUARTZ_DATA_SOURCE, new ConnectionProvider() {
            @Override
            public Connection getConnection() throws SQLException {
                return db.getConnection();
            }

            @Override
            public void shutdown() {
                // the pool is closed with the storage
            }

            @Override
            public void initialize() {
                // the pool is open already
            }
        });
        return new ClusterStorage(cluster, db, shutdown);
    }

    /**
     * The ledger alone, for reading (mlops history): no pool (a connection per read, nothing left
     * open), its sessions named mlops-history.
     */
    public static RunLedger ledgerOnly(PipelineSettings.Cluster cluster) {
        org.postgresql.ds.PGSimpleDataSource db = new org.postgresql.ds.PGSimpleDataSource();
        db.setUrl(cluster.dbUrl().orElseThrow());
        db.setUser(cluster.dbUsername());
        cluster.dbPassword().ifPresent(db::setPassword);
        db.setApplicationName("mlops-history");
        db.setConnectTimeout(10);
        Database.migrate(db);
        return new PgRunLedger(db, describe(cluster));
    }

    private static String describe(PipelineSettings.Cluster cluster) {
        return "table mlops_runs in " + cluster.dbUrl().orElse("?");
    }

    public BatchStore batches() {
        return batches;
    }

    public RunLedger ledger() {
        return ledger;
    }

    public RetrainLock lock() {
        return lock;
    }

    /**
     * The inbox's read locks: a row per file being read, renewed every few seconds by the instance
     * reading it; a row older than cluster.inbox-lock-max-age-seconds (its instance died) is taken over.
     */
    public synchronized IdempotentRepository inboxLocks(CamelContext context) {
        if (inboxLocks == null) {
            JdbcOrphanLockAwareIdempotentRepository rows =
                    new JdbcOrphanLockAwareIdempotentRepository(db, INBOX_PROCESSOR, context);
            long maxAge = cluster.inboxLockMaxAge().toMillis();
            rows.setLockMaxAgeMillis(maxAge);
            rows.setLockKeepAliveIntervalMillis(Math.max(500, maxAge / 5));
            rows.setCreateTableIfNotExists(false); // db/cluster-schema.sql: a messageId wide enough for any path
            inboxLocks = new OwnLocksOnly(rows);
        }
        return inboxLocks;
    }

    /** Quartz: clustered JDBC job store on our pool; the same scheduler name on every instance. */
    public Map<String, String> quartzProperties() {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("org.quartz.scheduler.instanceName", "camel-mlops");
        p.put("org.quartz.scheduler.instanceId", "AUTO");
        p.put("org.quartz.scheduler.skipUpdateCheck", "true");
        p.put("org.quartz.threadPool.class", "org.quartz.simpl.SimpleThreadPool");
        p.put("org.quartz.threadPool.threadCount", "2");
        p.put("org.quartz.jobStore.class", "org.quartz.impl.jdbcjobstore.JobStoreTX");
        p.put("org.quartz.jobStore.driverDelegateClass", "org.quartz.impl.jdbcjobstore.PostgreSQLDelegate");
        p.put("org.quartz.jobStore.dataSource", QUARTZ_DATA_SOURCE);
        p.put("org.quartz.jobStore.tablePrefix", "QRTZ_");
        p.put("org.quartz.jobStore.isClustered", "true");
        p.put("org.quartz.jobStore.clusterCheckinInterval", "5000");
        p.put("org.quartz.jobStore.misfireThreshold", "10000");
        return p;
    }

    @Override
    public void close() {
        lock.release();
        db.close();
    }

    /** As when the process dies: every connection dropped, the lock not given back politely (tests). */
    void die() {
        db.close();
    }
}
