package dev.camelmlops.cluster;

import dev.camelmlops.data.BatchStore;
import dev.camelmlops.registry.RunLedger;
import dev.camelmlops.run.RetrainLock;
import dev.camelmlops.run.ShutdownSignal;
import dev.camelmlops.settings.PipelineSettings;
import java.util.Map;
import org.apache.camel.spi.IdempotentRepository;

/** Placeholder: cluster mode on PostgreSQL (being written). */
public final class ClusterStorage implements AutoCloseable {
    public static ClusterStorage open(PipelineSettings.Cluster cluster, ShutdownSignal shutdown) {
        throw new UnsupportedOperationException("cluster mode");
    }

    public static RunLedger ledgerOnly(PipelineSettings.Cluster cluster) {
        throw new UnsupportedOperationException("cluster mode");
    }

    public BatchStore batches() {
        return null;
    }

    public RunLedger ledger() {
        return null;
    }

    public RetrainLock lock() {
        return null;
    }

    public IdempotentRepository inboxLocks() {
        return null;
    }

    public Map<String, String> quartzProperties() {
        return Map.of();
    }

    @Override
    public void close() {
    }
}
