package dev.camelmlops.cli;

import dev.camelmlops.model.TrainingListener;
import dev.camelmlops.data.BatchStore;
import dev.camelmlops.stage.BuildStage;
import dev.camelmlops.stage.InboxIntake;
import dev.camelmlops.stage.LastRunHealthCheck;
import dev.camelmlops.stage.RetrainCoordinator;
import dev.camelmlops.stage.ShutdownSignal;
import dev.camelmlops.stage.RetrainRunner;
import dev.camelmlops.stage.RetrainStage;
import dev.camelmlops.stage.DeployStage;
import dev.camelmlops.stage.VerifyStage;
import dev.camelmlops.stage.RunExecutor;
import dev.camelmlops.stage.StageTimer;
import dev.camelmlops.registry.RunLedger;
import dev.camelmlops.stage.PackageStage;
import dev.camelmlops.stage.PipelineSettings;
import dev.camelmlops.stage.TestStage;
import dev.camelmlops.stage.TrainStage;
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
public final class PipelineApp {
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
    private final StageTimer timer = new StageTimer();
    private final BuildStage buildStage;
    private final ShutdownSignal shutdown = new ShutdownSignal();
    private RetrainCoordinator coordinator;

    public PipelineApp(Path home, Properties properties, PipelineSettings settings, TrainingListener listener,
                       PrintStream out) {
        this.home = home;
        this.properties = properties;
        this.settings = settings;
        this.listener = listener;
        this.out = out;
        this.buildStage = new BuildStage(settings);
    }

    /** Runs {@code direct:<route>} once as a run; returns {@link ExitCodes#OK} or {@link ExitCodes#FAILED}. */
    public int runOnce(String route, String trigger) {
        return runOnce(route, context -> new RunExecutor(settings, ledger(), timer).execute(context, route, trigger));
    }

    /** One retrain run, "retrain" or "retrain-candidate" (its batches are used up or, if abandoned, released). */
    public int retrainOnce(String route, String trigger) {
        return runOnce(route, context -> retrainRunner().run(context, trigger, route));
    }

    interface RunAction {
        RunExecutor.Result run(org.apache.camel.CamelContext context);
    }

    private RetrainRunner retrainRunner() {
        return new RetrainRunner(new RunExecutor(settings, ledger(), timer), batchStore());
    }

    /**
     * The service: inbox and schedule routes started, retrains run by the coordinator, until the
     * JVM is asked to stop (SIGTERM, Ctrl-C). A retrain in progress is then abandoned at its next
     * training step (its batches go back to pending) or, past training, finishes. At start-up,
     * batches left pending (e.g. by such a run, or by a crash) start a retrain.
     *
     * <p>On a signal the JVM runs its shutdown hooks and then exits with 128 + the signal
     * (143 for SIGTERM, 130 for Ctrl-C), whatever this method returns; the hook installed here
     * holds the JVM until the stop below is complete, so it always ends with one "stopped" line.
     */
    public int watch(int healthPort) {
        List<String> recovered = batchStore().recover();
        if (!recovered.isEmpty()) {
            LOG.warn("batches claimed by runs that never ended ({}) are pending again", recovered);
        }
        Main main = newMain(true);
        watching = main;
        AtomicReference<HealthEndpoint> health = new AtomicReference<>();
        AtomicReference<String> healthFailure = new AtomicReference<>();
        main.addMainListener(new MainListenerSupport() {
            @Override
            public void afterConfigure(BaseMainSupport m) {
                m.getCamelContext().addRoutePolicyFactory(timer);
            }

            @Override
            public void afterStart(BaseMainSupport m) {
                org.apache.camel.health.HealthCheckRegistry checks =
                        org.apache.camel.health.HealthCheckRegistry.get(m.getCamelContext());
                checks.register(new org.apache.camel.impl.health.RoutesHealthCheckRepository());
                checks.register(new LastRunHealthCheck(ledger(), coordinator));
                try {
                    // before any retrain can start: a service without its health endpoint (the port
                    // taken since the start-up check) stops instead of running unobserved
                    health.set(new HealthEndpoint(m.getCamelContext(), settings.serving().host(), healthPort));
                } catch (java.io.IOException e) {
                    healthFailure.set("cannot start the health endpoint on " + settings.serving().host() + ":"
                            + healthPort + " (watch.health-port): " + e.getMessage());
                    main.completed();
                    return;
                }
                coordinator.start(m.getCamelContext());
                coordinator.startUp(java.time.Instant.now());
                out.println("Watching " + settings.retrain().inboxDir().toAbsolutePath() + (settings.retrain().cron()
                        .isBlank() ? "" : " and the schedule '" + settings.retrain().cron() + "'")
                        + "; health at http://" + settings.serving().host() + ":" + health.get().port()
                        + "/health (Ctrl-C or SIGTERM to stop)");
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
                // closed the coordinator and the health endpoint (bounded, beyond Camel's 45 s)
                stopped.await(90, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "mlops-watch-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            main.run();
        } catch (Exception e) {
            out.println("FAILED: " + RunExecutor.describe(e));
            return ExitCodes.FAILED;
        } finally {
            shutdown.raise();
            coordinator.close();
            if (health.get() != null) {
                health.get().close();
            }
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

    /** The coordinator of the last started context (tests drive triggers through it). */
    RetrainCoordinator coordinator() {
        return coordinator;
    }

    private int runOnce(String route, RunAction action) {
        if (List.of("pipeline", "build", "retrain", "retrain-candidate").contains(route)) {
            buildStage.prefetch();
        }
        Main main = newMain(false);
        FailureCounter failures = new FailureCounter();
        AtomicReference<RunExecutor.Result> result = new AtomicReference<>();
        main.addMainListener(new MainListenerSupport() {
            @Override
            public void afterConfigure(BaseMainSupport m) {
                m.getCamelContext().getManagementStrategy().addEventNotifier(failures);
                m.getCamelContext().addRoutePolicyFactory(timer);
            }

            @Override
            public void afterStart(BaseMainSupport m) {
                if (settings.serving().url().isPresent() && SERVING_ROUTES.contains(route)) {
                    dev.camelmlops.stage.CamelHttpTransport.warmUp(m.getCamelContext(),
                            settings.serving().url().get() + "/v1/models/" + settings.modelName());
                }
                try {
                    result.set(action.run(m.getCamelContext()));
                } finally {
                    main.completed();
                }
            }
        });
        try {
            main.run();
        } catch (Exception e) {
            out.println("FAILED: cannot start Camel: " + RunExecutor.describe(e));
            return ExitCodes.FAILED;
        }
        RunExecutor.Result r = result.get();
        if (r == null || !r.succeeded() || failures.failures() > 0) {
            out.printf(Locale.ROOT, "FAILED at stage %s after %.1f s: %s%n", r == null ? route : r.failedStage(),
                    r == null ? 0.0 : r.seconds(), r == null || r.reason() == null ? "see the log above" : r.reason());
            return ExitCodes.FAILED;
        }
        out.printf(Locale.ROOT, "OK: %s finished in %.1f s (run %s)%n", route, r.seconds(), r.runId());
        return ExitCodes.OK;
    }

    BatchStore batchStore() {
        return new BatchStore(settings.retrain().batchDir());
    }

    RunLedger ledger() {
        return new RunLedger(settings.ledgerFile());
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
        bindStages(main);
        return main;
    }

    private void bindStages(Main main) {
        BuildStage build = buildStage;
        main.bind("buildStage", build);
        main.bind("retrainStage", new RetrainStage(settings, build, batchStore()));
        main.bind("trainStage", new TrainStage(settings, shutdown.guard(listener)));
        coordinator = new RetrainCoordinator(settings, batchStore(), ledger(), retrainRunner());
        main.bind("retrainCoordinator", coordinator);
        main.bind("inboxIntake", new InboxIntake(settings, batchStore()));
        main.bind("testStage", new TestStage(settings));
        main.bind("packageStage", new PackageStage(settings));
        main.bind("deployStage", new DeployStage(settings));
        main.bind("verifyStage", new VerifyStage(settings));
    }

}
