package dev.camelmlops.run;

import dev.camelmlops.camel.StageTimer;

import dev.camelmlops.registry.Json;
import dev.camelmlops.settings.PipelineSettings;
import dev.camelmlops.registry.RunIds;
import dev.camelmlops.registry.RunLedger;
import dev.camelmlops.registry.WorkDir;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import dev.camelmlops.report.ReportWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.camel.CamelContext;
import org.apache.camel.CamelExecutionException;
import org.apache.camel.Exchange;
import org.apache.camel.RuntimeCamelException;

/**
 * Records runs (the route {@code run} calls it): {@link #started} gives the run its id and writes
 * the "started" record to the ledger; {@link #finished}, called whatever the outcome, writes the
 * "finished" record (trigger, times, per-stage seconds, data hashes, parameters, metrics, version,
 * outcome and reason), the report, feeds the {@link RunMetrics}, and leaves the record as the body for the notification.
 */
public final class RunRecorder {
    /** Header: the run's id. */
    public static final String RUN_ID = "mlopsRunId";
    /** Header: what started the run (cli, cli-stage, inbox, schedule, start-up, follow-up:..., ...). */
    public static final String TRIGGER = "mlopsTrigger";
    /** Header: the route the run runs (pipeline, retrain, a stage). */
    public static final String ROUTE = "mlopsRoute";
    /** Header: the run's outcome, set by {@link #finished}. */
    public static final String OUTCOME = "mlopsOutcome";
    /** Exchange property: the {@link Result} of the run, set by {@link #finished}. */
    public static final String RESULT = "mlopsRunResult";
    private static final String STARTED_AT = "mlopsRunStarted";

    private final PipelineSettings settings;
    private final RunLedger ledger;
    private final RunMetrics metrics;

    public RunRecorder(PipelineSettings settings, RunLedger ledger) {
        this(settings, ledger, null);
    }

    /** With {@code metrics} (may be null): fed each finished run. */
    public RunRecorder(PipelineSettings settings, RunLedger ledger, RunMetrics metrics) {
        this.settings = settings;
        this.ledger = ledger;
        this.metrics = metrics;
    }

    /** The outcomes a finished record can have. */
    public static final String SUCCEEDED = "succeeded";
    public static final String FAILED = "failed";
    /** Stopped by a shutdown of the service (or, seen in the ledger, by a crash): nobody's fault. */
    public static final String ABANDONED = RunLedger.ABANDONED;

    /**
     * What a run came to. {@code abandoned}: it did not fail, it was stopped by a shutdown of the
     * service (SIGTERM, Ctrl-C) before it could finish; {@code failedStage} is then where it stopped.
     */
    public record Result(String runId, boolean succeeded, String failedStage, String reason, double seconds,
                         boolean abandoned) {
    }

    /** A run begins: its id (run.id for a run from the command line, else a new one) and its "started" record. */
    public void started(Exchange exchange) {
        String route = exchange.getIn().getHeader(ROUTE, String.class);
        String trigger = exchange.getIn().getHeader(TRIGGER, "cli", String.class);
        String id = settings.runId() != null && "cli".equals(trigger) ? settings.runId() : RunIds.next();
        Instant start = Instant.now();
        exchange.getIn().setHeader(RUN_ID, id);
        exchange.getIn().setHeader(TRIGGER, trigger);
        exchange.setProperty(STARTED_AT, start);
        Map<String, Object> started = new LinkedHashMap<>();
        started.put("event", "started");
        started.put("id", id);
        started.put("trigger", trigger);
        started.put("route", route);
        started.put("started", start.toString());
        started.put("instance", settings.cluster().instanceId());
        started.put("pid", ProcessHandle.current().pid());
        ledger.append(started);
    }

    /**
     * The run has ended, well or not (called from the route's finally block, where the exception,
     * if any, is in {@code exception}): the "finished" record, the report; the record becomes the body.
     */
    public Map<String, Object> finished(Exchange exchange) {
        Throwable failure = exchange.getException() != null ? exchange.getException()
                : exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        String route = exchange.getIn().getHeader(ROUTE, String.class);
        String trigger = exchange.getIn().getHeader(TRIGGER, String.class);
        String id = exchange.getIn().getHeader(RUN_ID, String.class);
        Instant start = exchange.getProperty(STARTED_AT, Instant.class);
        Instant end = Instant.now();
        CamelContext context = exchange.getContext();
        boolean ok = failure == null;
        StageTimer.Timings timings = StageTimer.timings(exchange);
        String stage = ok ? null : timings.failedStage() != null ? timings.failedStage() : route;
        boolean abandoned = !ok && (causedBy(failure, RunAbandonedException.class)
                || context.isStopping() || context.isStopped());
        String reason = ok ? null : abandoned
                ? "stopped during stage " + stage + " by a shutdown of the service (SIGTERM or Ctrl-C)"
                : describe(failure);
        double seconds = Duration.between(start, end).toMillis() / 1000.0;

        Map<String, Object> finished = new LinkedHashMap<>();
        finished.put("event", "finished");
        finished.put("id", id);
        finished.put("trigger", trigger);
        finished.put("route", route);
        finished.put("started", start.toString());
        finished.put("ended", end.toString());
        finished.put("seconds", seconds);
        finished.put("instance", settings.cluster().instanceId());
        finished.put("stageSeconds", timings.seconds());
        finished.putAll(summary(new WorkDir(settings.workDir()), "cli-stage".equals(trigger) ? null : id));
        String outcome = ok ? SUCCEEDED : abandoned ? ABANDONED : FAILED;
        finished.put("outcome", outcome);
        if (!ok) {
            finished.put(abandoned ? "stoppedAtStage" : "failedStage", stage);
            finished.put("reason", reason);
        }
        List<Map<String, Object>> earlier = ledger.runs();
        ledger.append(finished);
        List<Map<String, Object>> all = new java.util.ArrayList<>(earlier);
        all.add(finished);
        writeReport(finished, all, configChanges(context));
        exchange.getIn().setHeader(OUTCOME, outcome);
        exchange.setProperty(RESULT, new Result(id, ok, stage, reason, seconds, abandoned));
        if (metrics != null) {
            try {
                metrics.finished(finished);
            } catch (RuntimeException e) {
                org.slf4j.LoggerFactory.getLogger(RunRecorder.class).warn("cannot update the metrics: {}", e.toString());
            }
        }
        return finished;
    }

    private static boolean causedBy(Throwable t, Class<? extends Throwable> type) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (type.isInstance(c)) {
                return true;
            }
        }
        return false;
    }

    /**
     * report.html and metrics.json in the work folder; compared with the deployed model a retrain
     * started from, else the last earlier run that produced a version. Never fails the run.
     */
    @SuppressWarnings("unchecked")
    private void writeReport(Map<String, Object> run, List<Map<String, Object>> runs,
                             List<dev.camelmlops.report.ConfigDiff.Row> config) {
        List<Map<String, Object>> earlier = runs.subList(0, runs.size() - 1);
        Map<String, Object> previous = null;
        if (run.get("metrics") instanceof Map<?, ?> m && m.get("baseline") instanceof Map<?, ?> b) {
            previous = new LinkedHashMap<>((Map<String, Object>) b);
            previous.put("label", "deployed model (warm-start source)");
        } else {
            for (int i = earlier.size() - 1; i >= 0 && previous == null; i--) {
                Map<String, Object> r = earlier.get(i);
                if (SUCCEEDED.equals(r.get("outcome")) && r.get("version") != null
                        && r.get("metrics") instanceof Map<?, ?> m2) {
                    previous = new LinkedHashMap<>();
                    previous.put("label", "version " + r.get("version") + " (run " + r.get("id") + ")");
                    previous.put("accuracy", m2.get("accuracy"));
                    previous.put("loss", m2.get("loss"));
                }
            }
        }
        try {
            ReportWriter.write(new WorkDir(settings.workDir()), run, previous, runs, config);
        } catch (RuntimeException e) {
            org.slf4j.LoggerFactory.getLogger(RunRecorder.class).warn("cannot write the run report: {}", e.toString());
        }
    }

    /**
     * The configuration keys this run set differently from the defaults, secrets masked: the
     * configuration is what the command line gave Camel (its override properties), the defaults
     * config/application.properties under the project's home ({@code mlops.home}, which the
     * launcher sets, else the working folder, as the command line does). Null if unknown.
     */
    static List<dev.camelmlops.report.ConfigDiff.Row> configChanges(CamelContext context) {
        try {
            org.apache.camel.spi.PropertiesComponent pc = context.getPropertiesComponent();
            java.util.Properties effective = pc instanceof org.apache.camel.component.properties.PropertiesComponent c
                    ? c.getOverrideProperties() : null;
            if (effective == null || effective.isEmpty()) {
                return null;
            }
            String home = pc.resolveProperty("mlops.home").orElse(".");
            java.util.Properties defaults = dev.camelmlops.report.ConfigDiff.read(
                    Path.of(home).resolve("config").resolve("application.properties"));
            return defaults == null ? null : dev.camelmlops.report.ConfigDiff.differences(defaults, effective);
        } catch (RuntimeException e) {
            return null;
        }
    }

    /**
     * Data hashes, parameters, metrics and version from the work folder when they belong to run
     * {@code runId}; with {@code runId} null (a single stage run, as CircleCI jobs do), whatever
     * the work folder's run has produced so far, with that run's id as {@code pipelineRunId}.
     */
    @SuppressWarnings("unchecked")
    static Map<String, Object> summary(WorkDir work, String runId) {
        Map<String, Object> s = new LinkedHashMap<>();
        Path runInfo = work.runInfo();
        if (!Files.isRegularFile(runInfo)) {
            return s;
        }
        Object workRun = Json.read(runInfo, Map.class).get("runId");
        if (runId == null) {
            s.put("pipelineRunId", workRun);
        } else if (!runId.equals(workRun)) {
            return s;
        }
        Path dataManifest = work.data().resolve("data-manifest.json");
        if (Files.isRegularFile(dataManifest)) {
            Map<String, Object> m = Json.read(dataManifest, Map.class);
            Map<String, Object> data = new LinkedHashMap<>();
            data.put("inputs", m.get("inputs"));
            data.put("batches", m.get("batches"));
            data.put("trainImages", ((Map<String, Object>) m.get("train")).get("count"));
            s.put("data", data);
        }
        if (Files.isRegularFile(work.history())) {
            Map<String, Object> h = Json.read(work.history(), Map.class);
            Map<String, Object> params = new LinkedHashMap<>(h);
            params.remove("history");
            s.put("params", params);
        }
        if (Files.isRegularFile(work.evaluation())) {
            Map<String, Object> e = Json.read(work.evaluation(), Map.class);
            Map<String, Object> metrics = new LinkedHashMap<>();
            metrics.put("accuracy", e.get("accuracy"));
            metrics.put("loss", e.get("loss"));
            if (e.containsKey("baseline")) {
                metrics.put("baseline", e.get("baseline"));
            }
            metrics.put("gates", e.get("gates"));
            s.put("metrics", metrics);
        }
        Path deploy = work.root().resolve("deploy.json");
        if (Files.isRegularFile(deploy)) {
            s.put("version", Json.read(deploy, Map.class).get("version"));
        } else if (Files.isDirectory(work.packages())) {
            dev.camelmlops.registry.ModelVersions.newest(work.packages()).ifPresent(v -> s.put("packagedVersion", v));
        }
        return s;
    }

    /**
     * The message of the first exception that is not a Camel wrapper, followed by its root
     * cause's when that says something more (e.g. why an SFTP write failed).
     */
    public static String describe(Throwable t) {
        Throwable c = t;
        while ((c instanceof CamelExecutionException || c instanceof RuntimeCamelException
                || c instanceof org.apache.camel.CamelExchangeException
                || c instanceof java.lang.reflect.InvocationTargetException) && c.getCause() != null) {
            c = c.getCause();
        }
        String msg = message(c);
        Throwable root = c;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String rootMsg = message(root);
        return root == c || msg.contains(rootMsg) ? msg : msg + " (" + rootMsg + ")";
    }

    private static String message(Throwable t) {
        String msg = t.getMessage();
        return msg == null || msg.isBlank() ? t.getClass().getSimpleName() : msg;
    }
}
