package dev.camelmlops.run;


import dev.camelmlops.registry.RunLedger;
import java.util.List;
import java.util.Map;
import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

/**
 * Camel health check "mlops/last-run": UP with the last completed run's id, trigger, outcome and
 * reason as details; DOWN when that run failed, so monitoring notices a rejected or broken retrain.
 * A run stopped by a shutdown or a crash ({@value RunRecorder#ABANDONED}) or still running is no
 * verdict on the pipeline: it is shown as a detail and the check looks at the run before it.
 * A readiness check only: a failed run is no reason to restart the service.
 */
public final class LastRunHealthCheck extends AbstractHealthCheck {
    private final RunLedger ledger;
    private final RetrainRequests requests;

    private final RetrainLock lock;
    private final String instance;

    public LastRunHealthCheck(RunLedger ledger, RetrainRequests requests, RetrainLock lock, String instance) {
        super("mlops", "last-run");
        this.ledger = ledger;
        this.requests = requests;
        this.lock = lock;
        this.instance = instance;
    }

    @Override
    public boolean isLiveness() {
        return false;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        builder.detail("instance", instance);
        builder.detail("retrain.running", requests.busy());
        builder.detail("retrain.running-on", lock.holder().orElse("none"));
        List<Map<String, Object>> runs = ledger.runs();
        Map<String, Object> last = null;
        for (int i = runs.size() - 1; i >= 0 && last == null; i--) {
            Map<String, Object> r = runs.get(i);
            Object outcome = r.get("outcome");
            if (RunRecorder.SUCCEEDED.equals(outcome) || RunRecorder.FAILED.equals(outcome)) {
                last = r;
            } else if (RunRecorder.ABANDONED.equals(outcome) && builder.detail("last.abandoned.id") == null) {
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
        if (RunRecorder.SUCCEEDED.equals(last.get("outcome"))) {
            builder.up();
        } else {
            builder.message("last run " + last.get("id") + " " + last.get("outcome") + ": " + last.get("reason"));
            builder.down();
        }
    }
}
