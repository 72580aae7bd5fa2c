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
        boolean abandoned = !r.succeeded() && (context.isStopping() || context.isStopped()
                || (r.reason() != null && r.reason().contains(RunAbandonedException.MESSAGE)));
        if (abandoned) {
            batches.release(r.runId());
            LOG.warn("retrain {} abandoned: its batches go back to pending", r.runId());
        } else {
            batches.consume(r.runId());
        }
        return r;
    }
}
