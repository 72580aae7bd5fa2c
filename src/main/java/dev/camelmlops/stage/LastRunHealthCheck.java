package dev.camelmlops.stage;

import dev.camelmlops.registry.RunLedger;
import java.util.List;
import java.util.Map;
import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

/**
 * Camel health check "mlops/last-run": UP with the last run's id, trigger, outcome and reason as
 * details; DOWN when that run failed or was interrupted, so monitoring notices a rejected or broken
 * retrain. A readiness check only: a failed run is no reason to restart the service.
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
        if (runs.isEmpty()) {
            builder.detail("last.run", "none yet");
            builder.up();
            return;
        }
        Map<String, Object> last = runs.get(runs.size() - 1);
        for (String k : List.of("id", "trigger", "route", "started", "outcome", "reason", "version")) {
            if (last.get(k) != null) {
                builder.detail("last." + k, String.valueOf(last.get(k)));
            }
        }
        if ("succeeded".equals(last.get("outcome"))) {
            builder.up();
        } else {
            builder.message("last run " + last.get("id") + " " + last.get("outcome") + ": " + last.get("reason"));
            builder.down();
        }
    }
}
