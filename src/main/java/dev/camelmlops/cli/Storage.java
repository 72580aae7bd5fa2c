package dev.camelmlops.cli;

import dev.camelmlops.cluster.ClusterStorage;
import dev.camelmlops.data.BatchStore;
import dev.camelmlops.data.FileBatchStore;
import dev.camelmlops.registry.FileRunLedger;
import dev.camelmlops.registry.RunLedger;
import dev.camelmlops.run.LocalRetrainLock;
import dev.camelmlops.run.RetrainLock;
import dev.camelmlops.run.ShutdownSignal;
import dev.camelmlops.settings.PipelineSettings;
import java.util.Map;
import org.apache.camel.spi.IdempotentRepository;
import org.apache.camel.support.processor.idempotent.MemoryIdempotentRepository;

/**
 * Where the service keeps what its instances share: the batches, the run ledger, the retrain lock,
 * the inbox's file locks and (in cluster mode) Quartz's job store. On one machine, files and this
 * process; with db.url, PostgreSQL ({@link ClusterStorage}).
 */
record Storage(BatchStore batches, RunLedger ledger, RetrainLock lock,
               java.util.function.Function<org.apache.camel.CamelContext, IdempotentRepository> inboxLocks,
               Map<String, String> quartzProperties, AutoCloseable resources) implements AutoCloseable {

    static Storage open(PipelineSettings settings, ShutdownSignal shutdown) {
        if (settings.cluster().enabled()) {
            ClusterStorage c = ClusterStorage.open(settings.cluster(), shutdown);
            return new Storage(c.batches(), c.ledger(), c.lock(), c::inboxLocks, c.quartzProperties(), c);
        }
        IdempotentRepository inboxLocks = MemoryIdempotentRepository.memoryIdempotentRepository(10_000);
        return new Storage(new FileBatchStore(settings.retrain().batchDir()), new FileRunLedger(settings.ledgerFile()),
                new LocalRetrainLock(settings.cluster().instanceId(), shutdown),
                context -> inboxLocks, Map.of(), () -> { });
    }

    /** The ledger alone (mlops history): no lock, no pool beyond what reading needs. */
    static RunLedger ledgerOnly(PipelineSettings settings) {
        return settings.cluster().enabled() ? ClusterStorage.ledgerOnly(settings.cluster())
                : new FileRunLedger(settings.ledgerFile());
    }

    @Override
    public void close() {
        try {
            resources.close();
        } catch (Exception e) {
            org.slf4j.LoggerFactory.getLogger(Storage.class).warn("closing the storage: {}", e.toString());
        }
    }
}
