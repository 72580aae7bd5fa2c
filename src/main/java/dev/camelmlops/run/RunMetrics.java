package dev.camelmlops.run;

import dev.camelmlops.data.BatchStore;
import dev.camelmlops.registry.RunLedger;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The service's metrics in Prometheus text format (names in README.md, "Metrics"): finished runs
 * by trigger, route and outcome, stage durations, the inbox backlog, the deployed version and its
 * accuracy, whether this instance runs a retrain, and the JVM basics. {@link RunRecorder} feeds it
 * each finished run; whoever serves HTTP asks {@link #scrape()}. Knows no HTTP.
 */
public final class RunMetrics implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RunMetrics.class);
    /** The content type of {@link #scrape()}: Prometheus text format 0.0.4. */
    public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
    /** Common tag on every metric (not "instance": Prometheus adds its own at scrape time). */
    public static final String INSTANCE_TAG = "mlops_instance";

    private final String instance;
    private final BatchStore batches;
    private final RunLedger ledger;
    private final BooleanSupplier retrainRunning;
    private volatile PrometheusMeterRegistry registry;
    private volatile double deployedVersion = Double.NaN;
    private volatile double deployedAccuracy = Double.NaN;
    private JvmGcMetrics gc;

    /**
     * Nothing is measured until {@link #start()} (one-shot commands never start it, and pay
     * nothing for it).
     *
     * @param retrainRunning true while this instance runs a retrain (read at scrape time)
     */
    public RunMetrics(String instance, BatchStore batches, RunLedger ledger, BooleanSupplier retrainRunning) {
        this.instance = instance;
        this.batches = batches;
        this.ledger = ledger;
        this.retrainRunning = retrainRunning;
    }

    private static double pending(BatchStore batches) {
        try {
            return batches.pendingCount();
        } catch (RuntimeException e) {
            LOG.debug("mlops_inbox_pending_batches: cannot count the pending batches: {}", e.toString());
            return Double.NaN;
        }
    }

    private static double running(BooleanSupplier retrainRunning) {
        try {
            return retrainRunning.getAsBoolean() ? 1 : 0;
        } catch (RuntimeException e) {
            LOG.debug("mlops_retrain_running: {}", e.toString());
            return Double.NaN;
        }
    }

    /**
     * The service starts: the metrics are registered, the JVM's bound, and the deployed version and
     * accuracy are read from the ledger (the last run that succeeded with a version), so a restarted
     * service reports them.
     */
    public synchronized void start() {
        if (registry == null) {
            PrometheusMeterRegistry r = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            r.config().commonTags(INSTANCE_TAG, instance);
            Gauge.builder("mlops.inbox.pending.batches", batches, RunMetrics::pending).strongReference(true)
                    .description("Batches accepted from the inbox and waiting for a retrain").register(r);
            Gauge.builder("mlops.deployed.version", this, m -> m.deployedVersion)
                    .description("Version deployed by the last run that succeeded with a version").register(r);
            Gauge.builder("mlops.deployed.accuracy", this, m -> m.deployedAccuracy)
                    .description("Test accuracy of that version").register(r);
            Gauge.builder("mlops.retrain.running", retrainRunning, RunMetrics::running).strongReference(true)
                    .description("1 while this instance runs a retrain, else 0").register(r);
            new JvmMemoryMetrics().bindTo(r);
            new JvmThreadMetrics().bindTo(r);
            new ProcessorMetrics().bindTo(r);
            new UptimeMetrics().bindTo(r);
            registry = r;
        }
        if (gc == null) {
            gc = new JvmGcMetrics();
            gc.bindTo(registry);
        }
        try {
            List<Map<String, Object>> runs = ledger.runs();
            for (int i = runs.size() - 1; i >= 0; i--) {
                if (deployed(runs.get(i))) {
                    break;
                }
            }
        } catch (RuntimeException e) {
            LOG.warn("metrics: cannot read the deployed version from the run ledger ({}): {}", ledger.describe(),
                    e.toString());
        }
    }

    /**
     * A run finished in this process: counted, its stage durations recorded, the deployed version
     * noted. Nothing happens before {@link #start()}.
     */
    public void finished(Map<String, Object> run) {
        PrometheusMeterRegistry registry = this.registry;
        if (registry == null) {
            return;
        }
        Counter.builder("mlops.runs").description("Runs finished by this instance")
                .tag("trigger", triggerLabel(run.get("trigger")))
                .tag("route", String.valueOf(run.getOrDefault("route", "unknown")))
                .tag("outcome", String.valueOf(run.getOrDefault("outcome", "unknown")))
                .register(registry).increment();
        if (run.get("stageSeconds") instanceof Map<?, ?> stages) {
            stages.forEach((stage, seconds) -> {
                if (seconds instanceof Number n && n.doubleValue() >= 0) {
                    Timer.builder("mlops.stage").description("Time spent in each stage of the runs of this instance")
                            .tag("stage", String.valueOf(stage)).register(registry)
                            .record(Duration.ofNanos(Math.round(n.doubleValue() * 1e9)));
                }
            });
        }
        deployed(run);
    }

    /** Notes the version and accuracy of a run that succeeded with a version; false for any other run. */
    private boolean deployed(Map<String, Object> run) {
        if (!RunRecorder.SUCCEEDED.equals(run.get("outcome")) || !(run.get("version") instanceof Number v)) {
            return false;
        }
        double accuracy = run.get("metrics") instanceof Map<?, ?> m && m.get("accuracy") instanceof Number a
                ? a.doubleValue() : Double.NaN;
        deployedVersion = v.doubleValue();
        deployedAccuracy = accuracy;
        return true;
    }

    /** "follow-up:inbox,schedule" is counted as "follow-up" (bounded label values); none is "unknown". */
    static String triggerLabel(Object trigger) {
        if (trigger == null) {
            return "unknown";
        }
        String t = trigger.toString();
        int colon = t.indexOf(':');
        return colon > 0 ? t.substring(0, colon) : t;
    }

    /** Every metric in Prometheus text format 0.0.4 ({@link #CONTENT_TYPE}); empty before {@link #start()}. */
    public String scrape() {
        PrometheusMeterRegistry registry = this.registry;
        return registry == null ? "" : registry.scrape();
    }

    /** The service stops: the GC listeners are removed. */
    @Override
    public synchronized void close() {
        if (gc != null) {
            gc.close();
            gc = null;
        }
    }
}
