package dev.camelmlops.cli;

import dev.camelmlops.camel.StageTimer;
import dev.camelmlops.model.TrainingListener;
import dev.camelmlops.run.LastRunHealthCheck;
import dev.camelmlops.run.RetrainRequests;
import dev.camelmlops.run.RunRecorder;
import dev.camelmlops.run.ShutdownSignal;
import dev.camelmlops.settings.PipelineSettings;
import dev.camelmlops.stage.BuildStage;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.camel.main.BaseMainSupport;
import org.apache.camel.main.Main;
import org.apache.camel.main.MainListenerSupport;

/**
 * Starts Camel (camel-main) with the YAML routes and the stage beans, sends one exchange to an
 * endpoint, stops, and turns the outcome into an exit code.
 */
public final class PipelineApp implements AutoCloseable {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(PipelineApp.class);
    private final Path home;
    private final Properties properties;
    private final PipelineSettings settings;
    private final TrainingListener listener;
    private final PrintStream out;

    /** Routes that talk to the serving REST API (deploy asks which version it serves, verify probes it). */
    private static final List<String> SERVING_ROUTES = List.of("pipeline", "deploy", "verify", "retrain");

    /** The routes only the service (`mlops watch`) runs. */
    static final String TRIGGER_ROUTES = "triggers.yaml";
    private final BuildStage buildStage;
    private final ShutdownSignal shutdown = new ShutdownSignal();
    private final Storage storage;
    private final MlopsBeans beans;

    public PipelineApp(Path home, Properties properties, PipelineSettings settings, TrainingListener listener,
                       PrintStream out) {
        this.home = home;
        this.properties = properties;
        this.settings = settings;
        this.listener = listener;
        this.out = out;
        this.buildStage = new BuildStage(settings);
        this.storage = Storage.open(settings, shutdown);
        this.beans = new MlopsBeans(settings, buildStage, listener, shutdown, storage);
    }

    @Override
    public void close() {
        storage.close();
    }

    /** Runs {@code direct:<route>} once as a run (route run); returns {@link ExitCodes#OK} or {@link ExitCodes#FAILED}. */
    public int runOnce(String route, String trigger) {
        return runOnce(route, trigger, "direct:run");
    }

    /**
     * One retrain run, "retrain" or "retrain-candidate" (route retrain-run: the retrain lock, then
     * the run; its batches are used up or, if abandoned, released).
     */
    public int retrainOnce(String route, String trigger) {
        return runOnce(route, trigger, "direct:retrain-run");
    }

    /**
     * The service: inbox and schedule routes started, retrains run one at a time (routes/triggers.yaml), until the
     * JVM is asked to stop (SIGTERM, Ctrl-C). A retrain in progress is then abandoned at its next
     * training step (its batches go back to pending) or, past training, finishes. At start-up,
     * batches left pending (e.g. by such a run, or by a crash) start a retrain.
     *
     * <p>On a signal the JVM runs its shutdown hooks and then exits with 128 + the signal
     * (143 for SIGTERM, 130 for Ctrl-C), whatever this method returns; the hook installed here
     * holds the JVM until the stop below is complete, so it always ends with one "stopped" line.
     */
    public int watch(int healthPort) {
        List<String> recovered = settings.cluster().enabled() ? List.of() : storage.batches().recover();
        if (!recovered.isEmpty()) {
            LOG.warn("batches claimed by runs that never ended ({}) are pending again", recovered);
        }
        Main main = newMain(true);
        watching = main;
        AtomicReference<HealthEndpoint> health = new AtomicReference<>();
        AtomicReference<String> healthFailure = new AtomicReference<>();
        main.addMainListener(new MainListenerSupport() {
            @Override
            public void afterStart(BaseMainSupport m) {
                org.apache.camel.health.HealthCheckRegistry checks =
                        org.apache.camel.health.HealthCheckRegistry.get(m.getCamelContext());
                checks.register(new org.apache.camel.impl.health.RoutesHealthCheckRepository());
                checks.register(new LastRunHealthCheck(storage.ledger(), beans.retrainRequests(), storage.lock(),
                        settings.cluster().instanceId()));
                try {
                    // before any retrain can start: a service without its health endpoint (the port
                    // taken since the start-up check) stops instead of running unobserved
                    beans.runMetrics().start();
                    health.set(new HealthEndpoint(m.getCamelContext(), beans.runMetrics(),
                            new HealthSummary(storage.ledger(), storage.batches(), settings.cluster().instanceId(),
                                    settings.modelName(), settings.serving().url()),
                            settings.serving().host(), healthPort));
                    healthEndpoint = health.get();
                } catch (java.io.IOException e) {
                    healthFailure.set("cannot start the health endpoint on " + settings.serving().host() + ":"
                            + healthPort + " (watch.health-port): " + e.getMessage());
                    main.completed();
                    return;
                }
                beans.retrainRequests().started();
                m.getCamelContext().createFluentProducerTemplate().to("direct:start-up").send();
                out.println("Watching " + settings.retrain().inboxDir().toAbsolutePath() + (settings.retrain().cron()
                        .isBlank() ? "" : " and the schedule '" + settings.retrain().cron() + "'")
                        + "; health at http://" + settings.serving().host() + ":" + health.get().port()
                        + "/health, metrics at /metrics (Ctrl-C or SIGTERM to stop)");
            }

            @Override
            public void beforeStop(BaseMainSupport m) {
                shutdown.raise();
            }
        });
        java.util.concurrent.CountDownLatch stopped = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicBoolean signalled = new java.util.concurrent.atomic.AtomicBoolean();
        Thread hook = new Thread(() -> {
            signalled.set(true);
            shutdown.raise();
            try {
                // Camel's own hook stops the context; this one keeps the JVM up until watch() has
                // closed the health endpoint (bounded: 90 s, beyond camel.main.shutdown-timeout)
                stopped.await(90, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "mlops-watch-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            main.run();
        } catch (Exception e) {
            out.println("FAILED: " + RunRecorder.describe(e));
            return ExitCodes.FAILED;
        } finally {
            shutdown.raise();
            if (health.get() != null) {
                health.get().close();
            }
            healthEndpoint = null;
            beans.runMetrics().close();
            LOG.info("stopped{}", signalled.get() ? " (signal: SIGTERM or Ctrl-C)" : "");
            stopped.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running: nothing to remove
            }
        }
        if (healthFailure.get() != null) {
            out.println("FAILED: " + healthFailure.get());
            return ExitCodes.USAGE;
        }
        return ExitCodes.OK;
    }

    private volatile Main watching;
    private volatile HealthEndpoint healthEndpoint;

    /** The port the running service's health endpoint (/health, /metrics) is bound to, or -1. */
    public int healthPort() {
        HealthEndpoint h = healthEndpoint;
        return h == null ? -1 : h.port();
    }

    /** Stops {@link #watch} as SIGTERM would (for tests and embedding). */
    public void stopWatch() {
        Main m = watching;
        if (m != null) {
            shutdown.raise();
            m.completed();
        }
    }

    /** The Camel context of the running service, or null. */
    org.apache.camel.CamelContext context() {
        Main m = watching;
        return m == null ? null : m.getCamelContext();
    }

    /** The retrain requests of the service (tests wait on them). */
    RetrainRequests requests() {
        return beans.retrainRequests();
    }

    private int runOnce(String route, String trigger, String endpoint) {
        if (List.of("pipeline", "build", "retrain", "retrain-candidate").contains(route)) {
            buildStage.prefetch();
        }
        FailureCounter failures = new FailureCounter();
        java.util.Optional<org.apache.camel.Exchange> sent = oneShot(failures, context -> {
            if (settings.serving().url().isPresent() && SERVING_ROUTES.contains(route)) {
                dev.camelmlops.camel.CamelHttpTransport.warmUp(context,
                        settings.serving().url().get() + "/v1/models/" + settings.modelName());
            }
            return context.createFluentProducerTemplate().to(endpoint)
                    .withHeader(RunRecorder.ROUTE, route).withHeader(RunRecorder.TRIGGER, trigger).send();
        });
        if (sent.isEmpty()) {
            return ExitCodes.FAILED;
        }
        RunRecorder.Result r = sent.get().getProperty(RunRecorder.RESULT, RunRecorder.Result.class);
        boolean ok = r != null && r.succeeded() && failures.failures() == 0;
        if (!ok) {
            out.printf(Locale.ROOT, "FAILED at stage %s after %.1f s: %s%n", r == null ? route : r.failedStage(),
                    r == null ? 0.0 : r.seconds(), r == null || r.reason() == null ? "see the log above" : r.reason());
        } else {
            out.printf(Locale.ROOT, "OK: %s finished in %.1f s (run %s)%n", route, r.seconds(), r.runId());
        }
        summary(route, r == null ? null : r.runId(), ok).forEach(out::println);
        return ok ? ExitCodes.OK : ExitCodes.FAILED;
    }

    /** True when the serving URL is the embedded server of this process (no serving.url configured). */
    private boolean embeddedServing;

    /** Says that the serving URL is this process's embedded server: the end of a run then points at `mlops serve`. */
    void embeddedServing(boolean embedded) {
        this.embeddedServing = embedded;
    }

    /** The lines after the OK or FAILED line (never fails the command). */
    private List<String> summary(String route, String runId, boolean ok) {
        try {
            java.util.Map<String, Object> record = runId == null ? null : storage.ledger().run(runId).orElse(null);
            return RunSummary.lines(settings, route, record, ok, embeddedServing);
        } catch (RuntimeException e) {
            LOG.warn("cannot summarise the run: {}", e.toString());
            return List.of();
        }
    }

    /** Sends {@code message} to direct:notify in a one-shot context; true when the webhook took it. */
    boolean notify(java.util.Map<String, Object> message) {
        return oneShot(new FailureCounter(), context -> context.createFluentProducerTemplate()
                .to("direct:notify").withBody(message).send())
                .map(ex -> Boolean.TRUE.equals(ex.getMessage().getHeader(dev.camelmlops.run.Notifier.DELIVERED)))
                .orElse(false);
    }

    /**
     * A one-shot context (no triggers): started, {@code send} called once it runs, stopped; the
     * exchange it sent, or empty when Camel could not start (said on the output).
     */
    private java.util.Optional<org.apache.camel.Exchange> oneShot(FailureCounter failures,
            java.util.function.Function<org.apache.camel.CamelContext, org.apache.camel.Exchange> send) {
        Main main = newMain(false);
        AtomicReference<org.apache.camel.Exchange> sent = new AtomicReference<>();
        main.addMainListener(new MainListenerSupport() {
            @Override
            public void afterConfigure(BaseMainSupport m) {
                m.getCamelContext().getManagementStrategy().addEventNotifier(failures);
            }

            @Override
            public void afterStart(BaseMainSupport m) {
                try {
                    sent.set(send.apply(m.getCamelContext()));
                } finally {
                    main.completed();
                }
            }
        });
        try {
            main.run();
        } catch (Exception e) {
            out.println("FAILED: cannot start Camel: " + RunRecorder.describe(e));
            return java.util.Optional.empty();
        }
        return java.util.Optional.ofNullable(sent.get());
    }

    /**
     * camel-main with the project's routes, the configuration and the stage beans. One-shot
     * commands leave out routes/triggers.yaml: they never start the inbox or the schedule, and
     * Quartz alone costs about 0.4 s to start and stop.
     */
    Main newMain(boolean service) {
        Main main = new Main();
        main.configure().setName("camel-mlops");
        Path routes = home.resolve("routes").toAbsolutePath();
        main.configure().withRoutesIncludePattern("file:" + routes + "/*.yaml");
        if (!service) {
            main.configure().withRoutesExcludePattern("file:" + routes + "/" + TRIGGER_ROUTES);
        }
        main.setOverrideProperties(properties);
        configure(main, service);
        return main;
    }

    private void configure(Main main, boolean service) {
        main.configure().addConfiguration(beans);
        main.addMainListener(new MainListenerSupport() {
            @Override
            public void afterConfigure(BaseMainSupport m) {
                m.getCamelContext().addRoutePolicyFactory(new StageTimer());
                m.getCamelContext().getRegistry().bind("inboxLocks", storage.inboxLocks().apply(m.getCamelContext()));
            }
        });
        if (service && !storage.quartzProperties().isEmpty()) {
            org.apache.camel.component.quartz.QuartzComponent quartz = new org.apache.camel.component.quartz.QuartzComponent();
            quartz.setProperties(new java.util.HashMap<>(storage.quartzProperties()));
            main.bind("quartz", quartz);
        }
    }
}
