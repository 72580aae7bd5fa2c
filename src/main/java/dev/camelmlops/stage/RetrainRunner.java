package dev.camelmlops.stage;

import dev.camelmlops.data.BatchStore;
import org.apache.camel.CamelContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One retrain run: the run itself (through {@link RunExecutor}, so it is in the ledger), then the
 * batches it claimed are used up (whatever the outcome: a rejected batch is not retried), or
 * given back to pending when the run was abandoned by a shutdown.
 */
public final class RetrainRunner {
    private static final Logger LOG = LoggerFactory.getLogger(RetrainRunner.class);
    private final RunExecutor executor;
    private final BatchStore batches;

    public RetrainRunner(RunExecutor executor, BatchStore batches) {
        this.executor = executor;
        this.batches = batches;
    }

    public RunExecutor.Result run(CamelContext context, String trigger) {
        return run(context, trigger, "retrain");
    }

    /** {@code route} is "retrain" or "retrain-candidate" (without deploy and verify). */
    public RunExecutor.Result run(CamelContext context, String trigger, String route) {
        RunExecutor.Result r = executor.execute(context, route, trigger);
        if (r.abandoned()) {
            batches.release(r.runId());
            // expected (someone stopped the service): one INFO line, the ledger has the rest
            LOG.info("retrain {} abandoned at stage {}: the service is stopping; its batches are pending again "
                    + "and the next start retrains them", r.runId(), r.failedStage());
        } else {
            batches.consume(r.runId());
        }
        return r;
    }
}
