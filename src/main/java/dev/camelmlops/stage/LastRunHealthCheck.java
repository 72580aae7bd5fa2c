package dev.camelmlops.stage;

import dev.camelmlops.registry.RunLedger;
import java.util.List;
import java.util.Map;
import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

/**
 * Camel health check "mlops/last-run": UP with the last completed run's id, trigger, outcome and
 * reason as details; DOWN when that run failed, so monitoring notices a rejected or broken retrain.
 * A run stopped by a shutdown or a crash ({@value RunExecutor#ABANDONED}) or still running is no
 * verdict on the pipeline: it is shown as a detail and the check looks at the run before it.
 * A readiness check only: a failed run is no reason to restart the service.
 */
public final class LastRunHealthCheck extends AbstractHealthCheck {
    private final RunLedger ledger;
    private final RetrainCoordinator coordinator;

    public LastRunHealthCheck(RunLedger ledger, RetrainCoordinator coordinator) {
        super("mlops", "last-run");
        this.ledger = ledger;
        this.coordinator = coordinator;
    }

    @Override
    public boolean isLiveness() {
        return false;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        builder.detail("retrain.running", coordinator.busy());
        List<Map<String, Object>> runs = ledger.runs();
        Map<String, Object> last = null;
        for (int i = runs.size() - 1; i >= 0 && last == null; i--) {
            Map<String, Object> r = runs.get(i);
            Object outcome = r.get("outcome");
            if (RunExecutor.SUCCEEDED.equals(outcome) || RunExecutor.FAILED.equals(outcome)) {
                last = r;
            } else if (RunExecutor.ABANDONED.equals(outcome) && builder.detail("last.abandoned.id") == null) {
                builder.detail("last.abandoned.id", String.valueOf(r.get("id")));
                builder.detail("last.abandoned.reason", String.valueOf(r.get("reason")));
            }
        }
        if (last == null) {
            builder.detail("last.run", "none completed yet");
            builder.up();
            return;
        }
        for (String k : List.of("id", "trigger", "route", "started", "outcome", "reason", "version")) {
            if (last.get(k) != null) {
                builder.detail("last." + k, String.valueOf(last.get(k)));
            }
        }
        if (RunExecutor.SUCCEEDED.equals(last.get("outcome"))) {
            builder.up();
        } else {
            builder.message("last run " + last.get("id") + " " + last.get("outcome") + ": " + last.get("reason"));
            builder.down();
        }
    }
}
