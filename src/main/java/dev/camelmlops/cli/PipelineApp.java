package dev.camelmlops.cli;

import dev.camelmlops.model.TrainingListener;
import dev.camelmlops.stage.BuildStage;
import dev.camelmlops.stage.DeployStage;
import dev.camelmlops.stage.VerifyStage;
import dev.camelmlops.stage.PackageStage;
import dev.camelmlops.stage.PipelineSettings;
import dev.camelmlops.stage.TestStage;
import dev.camelmlops.stage.TrainStage;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.camel.CamelExecutionException;
import org.apache.camel.Exchange;
import org.apache.camel.RuntimeCamelException;
import org.apache.camel.main.BaseMainSupport;
import org.apache.camel.main.Main;
import org.apache.camel.main.MainListenerSupport;

/**
 * Starts Camel (camel-main) with the YAML routes and the stage beans, sends one exchange to an
 * endpoint, stops, and turns the outcome into an exit code.
 */
public final class PipelineApp {
    private final Path home;
    private final Properties properties;
    private final PipelineSettings settings;
    private final TrainingListener listener;
    private final PrintStream out;

    public PipelineApp(Path home, Properties properties, PipelineSettings settings, TrainingListener listener,
                       PrintStream out) {
        this.home = home;
        this.properties = properties;
        this.settings = settings;
        this.listener = listener;
        this.out = out;
    }

    /** Runs {@code direct:<route>} once; returns {@link ExitCodes#OK} or {@link ExitCodes#FAILED}. */
    public int runOnce(String route) {
        Main main = new Main();
        main.configure().setName("camel-mlops");
        main.configure().withRoutesIncludePattern("file:" + home.resolve("routes").toAbsolutePath() + "/*.yaml");
        main.setOverrideProperties(properties);
        bindStages(main);
        FailureCounter failures = new FailureCounter();
        AtomicReference<Exchange> result = new AtomicReference<>();
        long t0 = System.nanoTime();
        main.addMainListener(new MainListenerSupport() {
            @Override
            public void afterConfigure(BaseMainSupport m) {
                m.getCamelContext().getManagementStrategy().addEventNotifier(failures);
            }

            @Override
            public void afterStart(BaseMainSupport m) {
                try {
                    result.set(m.getCamelContext().createProducerTemplate().send("direct:" + route, e -> {
                        e.getMessage().setHeader("mlopsRunId", settings.runId());
                    }));
                } finally {
                    main.completed();
                }
            }
        });
        try {
            main.run();
        } catch (Exception e) {
            out.println("FAILED: cannot start Camel: " + describe(e));
            return ExitCodes.FAILED;
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        Exchange ex = result.get();
        if (ex == null || ex.isFailed() || failures.failures() > 0) {
            String stage = ex == null ? route : String.valueOf(ex.getProperty(Exchange.FAILURE_ROUTE_ID, route, String.class));
            Throwable cause = ex == null ? null : ex.getException();
            out.printf(Locale.ROOT, "FAILED at stage %s after %.1f s: %s%n", stage, seconds,
                    cause == null ? "see the log above" : describe(cause));
            return ExitCodes.FAILED;
        }
        out.printf(Locale.ROOT, "OK: %s finished in %.1f s%n", route, seconds);
        return ExitCodes.OK;
    }

    private void bindStages(Main main) {
        main.bind("buildStage", new BuildStage(settings));
        main.bind("trainStage", new TrainStage(settings, listener));
        main.bind("testStage", new TestStage(settings));
        main.bind("packageStage", new PackageStage(settings));
        main.bind("deployStage", new DeployStage(settings));
        main.bind("verifyStage", new VerifyStage(settings));
    }

    /**
     * The message of the first exception that is not a Camel wrapper, followed by its root
     * cause's when that says something more (e.g. why an SFTP write failed).
     */
    static String describe(Throwable t) {
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
