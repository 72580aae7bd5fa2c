package dev.camelmlops.cli;

import dev.camelmlops.deploy.DeployTarget;
import dev.camelmlops.model.TrainingListener;
import dev.camelmlops.registry.RunIds;
import dev.camelmlops.settings.PipelineSettings;
import java.io.PrintStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.ScopeType;

/** The {@code mlops} command line: one-shot pipeline runs with meaningful exit codes. */
@Command(name = "mlops", mixinStandardHelpOptions = true, version = "camel-mlops 0.1.0",
        description = {"A Fashion-MNIST delivery pipeline as Apache Camel routes with TensorFlow Java.",
                "",
                "Exit codes: 0 every step succeeded; 1 a stage failed (bad data, diverged "
                        + "training, quality gate, export or copy error); 2 bad usage or configuration "
                        + "(nothing was run).",
                "",
                "Configuration: config/application.properties, overridden by a .env file in the "
                        + "working folder, then environment variables (model.architecture <- "
                        + "MODEL_ARCHITECTURE), then -D. An unknown key (e.g. a typo) stops every command "
                        + "with exit code 2; `mlops check` validates the configuration and reaches the "
                        + "data, SFTP, serving and webhook."},
        subcommands = {MlopsCli.Run.class, MlopsCli.Stage.class, MlopsCli.Retrain.class, MlopsCli.Watch.class,
                CheckCommand.class, ServeCommand.class,
                LabelCommands.Versions.class, LabelCommands.Promote.class, LabelCommands.Rollback.class,
                HistoryCommand.class, NotifyCommand.class, BenchCommand.class,
                CommandLine.HelpCommand.class})
public final class MlopsCli {
    static final List<String> STAGES = List.of("build", "train", "test", "package", "deploy", "verify", "retrain");

    @Option(names = "-D", paramLabel = "key=value", scope = ScopeType.INHERIT,
            description = "Override a configuration key, e.g. train.epochs=3 (repeatable).")
    Map<String, String> overrides = new HashMap<>();

    @Option(names = "--config", paramLabel = "FILE", scope = ScopeType.INHERIT,
            description = "Properties file to use instead of <home>/config/application.properties.")
    Path configFile;

    /** Accepted before the command too (mlops --progress=plain stage train), for the commands that train. */
    @Option(names = "--progress", paramLabel = "MODE", defaultValue = "auto",
            description = "Training progress of run, retrain, stage and watch: auto (bar on a terminal, plain "
                    + "lines otherwise), bar, plain, off.")
    String progress;

    /** --progress on the commands that train (run, retrain, stage, watch), and only there. */
    static final class ProgressOption {
        @Option(names = "--progress", paramLabel = "MODE",
                description = "Training progress: auto (bar on a terminal, plain lines otherwise), bar, plain, off.")
        String progress;
    }

    /** The command's --progress, when given, wins over one given before the command. */
    MlopsCli progress(ProgressOption option) {
        if (option != null && option.progress != null) {
            progress = option.progress;
        }
        return this;
    }

    private final Path home;
    private final Map<String, String> environment;
    private final PrintStream out;
    private TrainingListener observer = TrainingListener.NONE;

    MlopsCli(Path home, Map<String, String> environment, PrintStream out) {
        this.home = home;
        this.environment = environment;
        this.out = out;
    }

    public static void main(String[] args) {
        // JavaCPP (under TensorFlow Java) otherwise reads /proc/self/statm on every native
        // allocation, i.e. on every tensor of every training step and predict request, to enforce
        // a physical-memory cap the JVM's own limits already cover.
        if (System.getProperty("org.bytedeco.javacpp.maxPhysicalBytes") == null) {
            System.setProperty("org.bytedeco.javacpp.maxPhysicalBytes", "0");
        }
        String homeProp = System.getProperty("mlops.home");
        Path home = Path.of(homeProp != null ? homeProp : ".").toAbsolutePath().normalize();
        System.exit(execute(home, System.getenv(), System.out, args));
    }

    /** Runs the command line and returns the exit code (the entry point for tests too). */
    public static int execute(Path home, Map<String, String> environment, PrintStream out, String... args) {
        return commandLine(home, environment, out).execute(args);
    }

    /**
     * The command line: help wraps once, at the terminal's width (80, or picocli.usage.width, when
     * it cannot be told); -D and --config are offered by every command but help.
     */
    static CommandLine commandLine(Path home, Map<String, String> environment, PrintStream out) {
        MlopsCli cli = new MlopsCli(home, environment, out);
        CommandLine cmd = new CommandLine(cli);
        cmd.setOut(new java.io.PrintWriter(out, true));
        cmd.setUsageHelpAutoWidth(true);
        CommandLine.Model.CommandSpec help = cmd.getSubcommands().get("help").getCommandSpec();
        for (String name : List.of("-D", "--config")) {
            help.remove(help.findOption(name));
        }
        cmd.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            if (ex instanceof ConfigurationException c) {
                commandLine.getErr().println(c.report());
                return ExitCodes.USAGE;
            }
            commandLine.getErr().println("FAILED: " + dev.camelmlops.run.RunRecorder.describe(ex));
            return ExitCodes.FAILED;
        });
        return cmd;
    }

    @Command(name = "run", mixinStandardHelpOptions = true,
            description = {"Run the whole pipeline once, then exit.",
                "build -> train -> test -> package -> deploy -> verify. Without serving.url "
                        + "(SERVING_URL) an embedded TF-Serving-compatible server serves the local prod "
                        + "folder for the verify stage. Exit code 0 only if every stage succeeded. The last "
                        + "lines say where the report is, which version went where, and how to serve and "
                        + "call it."})
    static final class Run implements Callable<Integer> {
        @ParentCommand
        MlopsCli parent;

        @Mixin
        ProgressOption progress;

        @Override
        public Integer call() {
            return parent.progress(progress).runRoute("pipeline", "cli");
        }
    }

    @Command(name = "retrain", mixinStandardHelpOptions = true,
            description = {"Retrain once from the deployed model, then exit.",
                "Warm start from the deployed model with the pending new batches (from the inbox) "
                        + "plus a replay of the base training data, then test (the candidate must not be "
                        + "worse than the deployed model), package, deploy, verify. Exit code 1 when the "
                        + "candidate is rejected or any stage fails."})
    static final class Retrain implements Callable<Integer> {
        @ParentCommand
        MlopsCli parent;

        @Mixin
        ProgressOption progress;

        @Override
        public Integer call() {
            return parent.progress(progress).runRoute("retrain", "cli");
        }
    }

    @Command(name = "stage", mixinStandardHelpOptions = true,
            description = {"Run one stage against the work folder (work.dir), then exit.",
                "As a CircleCI job does, a stage reads what the previous stage wrote there:",
                "  build    find, validate and prepare the data; write the data manifest",
                "  train    train the configured model; write the checkpoint and history.json",
                "  test     evaluate on the test split; write evaluation.json and JUnit XML;",
                "           fail (exit 1) when accuracy is below quality.min-accuracy",
                "  package  export the SavedModel + MANIFEST.json as the next version and",
                "           publish it to staging (var/staging, or <DEPLOY_SERVER_PATH>/staging)",
                "  deploy   publish the newest packaged version to prod atomically; retention",
                "  verify   wait until serving reports the version AVAILABLE, compare its",
                "           predictions on a canary batch with the local model's; roll back",
                "           on failure",
                "  retrain  warm-start a candidate from the deployed model with the pending",
                "           batches, test it against the deployed model and package it",
                "           (deploy and verify follow)"})
    static final class Stage implements Callable<Integer> {
        @ParentCommand
        MlopsCli parent;

        @Mixin
        ProgressOption progress;

        @Parameters(index = "0", paramLabel = "NAME", description = "build, train, test, package, deploy, verify or retrain")
        String name;

        @Override
        public Integer call() {
            if (!STAGES.contains(name)) {
                throw new ConfigurationException("unknown stage '" + name + "' (expected one of " + STAGES + ")");
            }
            return parent.progress(progress).runRoute("retrain".equals(name) ? "retrain-candidate" : name, "cli-stage");
        }
    }

    PrintStream out() {
        return out;
    }

    Path home() {
        return home;
    }

    /**
     * The typed settings; every mistake of the configuration (unknown keys found by
     * {@link #configuration()}, invalid values) is reported at once, as a {@link ConfigurationException}.
     */
    PipelineSettings settings(Properties props) {
        List<String> problems = new java.util.ArrayList<>(loadProblems);
        PipelineSettings settings = null;
        try {
            settings = PipelineSettings.from(props::getProperty);
        } catch (dev.camelmlops.settings.InvalidSettingsException e) {
            problems.addAll(e.problems());
        } catch (IllegalArgumentException e) {
            problems.add(e.getMessage());
        }
        if (!problems.isEmpty()) {
            throw new ConfigurationException(problems);
        }
        return settings;
    }

    /** Routes that read the Fashion-MNIST files (their data must be there before anything starts). */
    private static final List<String> DATA_ROUTES = List.of("pipeline", "build", "retrain", "retrain-candidate");
    /** Routes that write to staging and prod: an SFTP target is reached before training. */
    private static final Map<String, List<String>> DELIVERY_AREAS = Map.of(
            "pipeline", List.of(DeployTarget.STAGING, DeployTarget.PROD),
            "retrain", List.of(DeployTarget.STAGING, DeployTarget.PROD),
            "retrain-candidate", List.of(DeployTarget.STAGING),
            "package", List.of(DeployTarget.STAGING),
            "deploy", List.of(DeployTarget.STAGING, DeployTarget.PROD));

    int runRoute(String route, String trigger) {
        if (!List.of("build", "deploy").contains(route)) {
            dev.camelmlops.model.NativeWarmup.startInBackground();
        }
        Properties props = configuration();
        PipelineSettings settings = settings(props);
        derive(props, settings, false);
        boolean embeddedServing = settings.serving().url().isEmpty() && !settings.target().remote()
                && List.of("pipeline", "deploy", "verify", "retrain").contains(route);
        List<String> problems = Preflight.startProblems(settings, DATA_ROUTES.contains(route), embeddedServing, null);
        if (!problems.isEmpty()) {
            throw new ConfigurationException(problems);
        }
        warnAboutInsecureSettings(settings);
        if (settings.target().remote() && DELIVERY_AREAS.containsKey(route)) {
            long start = System.nanoTime();
            java.util.Optional<String> unreachable = Preflight.deliveryProblem(settings, DELIVERY_AREAS.get(route));
            if (unreachable.isPresent()) {
                out.printf(java.util.Locale.ROOT, "FAILED before any stage ran (deploy target check, %.1f s): %s%n",
                        (System.nanoTime() - start) / 1e9, unreachable.get());
                return ExitCodes.FAILED;
            }
        }
        EmbeddedServing embedded = null;
        try {
            if (embeddedServing) {
                embedded = EmbeddedServing.start(settings, settings.target().localFolder(DeployTarget.PROD));
                settings = settings.withServingUrl(embedded.url());
            }
            try (PipelineApp app = app(props, settings)) {
                app.embeddedServing(embedded != null);
                return route.startsWith("retrain") ? app.retrainOnce(route, trigger) : app.runOnce(route, trigger);
            }
        } finally {
            if (embedded != null) {
                embedded.close();
            }
        }
    }

    /**
     * The application on this configuration. In cluster mode it connects to the database first:
     * a database that cannot be reached, or refuses the credentials, stops the command before
     * anything runs (exit 2), with the URL and user but never the password.
     */
    private PipelineApp app(Properties props, PipelineSettings settings) {
        try {
            return new PipelineApp(home, props, settings, listener(), out);
        } catch (IllegalStateException e) {
            if (settings.cluster().enabled()) {
                throw new ConfigurationException(e.getMessage());
            }
            throw e;
        }
    }

    /** Sends {@code message} through the notify route (with its retries); true when delivered. */
    boolean notify(Map<String, Object> message) {
        Properties props = configuration();
        PipelineSettings settings = settings(props);
        derive(props, settings, false);
        try (PipelineApp app = app(props, settings)) {
            return app.notify(message);
        }
    }

    /** Properties the routes use that follow from the configuration. */
    static void derive(Properties props, PipelineSettings settings, boolean watch) {
        props.setProperty("mlops.staging-endpoint", settings.target().endpointUri(DeployTarget.STAGING));
        props.setProperty("mlops.prod-endpoint", settings.target().endpointUri(DeployTarget.PROD));
        boolean scheduled = watch && !settings.retrain().cron().isBlank();
        props.setProperty("mlops.schedule-enabled", Boolean.toString(scheduled));
        String cron = scheduled ? settings.retrain().cron().trim().replaceAll("\\s+", "+") : "0+0+0+1+1+?+2099";
        // clustered: the job store keeps the trigger; a slot missed while every instance was down
        // fires once (cron misfire instruction 1: fire once now, then go on with the schedule)
        props.setProperty("mlops.schedule-endpoint", "quartz://mlops/retrain?cron=" + cron
                + (settings.cluster().enabled() ? "&trigger.misfireInstruction=1" : ""));
        props.setProperty("mlops.notify-redeliveries", Integer.toString(settings.notifications().attempts() - 1));
        props.setProperty("mlops.instance-id", settings.cluster().instanceId());
        props.setProperty("mlops.cluster", Boolean.toString(watch && settings.cluster().enabled()));
        props.setProperty("mlops.takeover-check-ms", Long.toString(settings.cluster().takeoverCheck().toMillis()));
    }

    /** `mlops watch`: the long-running service. */
    int watch() {
        try (WatchSetup w = watchSetup()) {
            return w.app().watch(w.healthPort());
        }
    }

    /** What `mlops watch` runs: the app, the embedded server it may need, the health port. */
    record WatchSetup(PipelineApp app, EmbeddedServing embedded, int healthPort) implements AutoCloseable {
        @Override
        public void close() {
            app.close();
            if (embedded != null) {
                embedded.close();
            }
        }
    }

    WatchSetup watchSetup() {
        Properties props = configuration();
        PipelineSettings settings = settings(props);
        derive(props, settings, true);
        int healthPort = healthPort(props);
        boolean embeddedServing = settings.serving().url().isEmpty() && !settings.target().remote();
        List<String> problems = Preflight.startProblems(settings, true, embeddedServing, healthPort);
        if (!problems.isEmpty()) {
            throw new ConfigurationException(problems);
        }
        warnAboutInsecureSettings(settings);
        EmbeddedServing embedded = null;
        if (embeddedServing) {
            embedded = EmbeddedServing.start(settings, settings.target().localFolder(DeployTarget.PROD));
            settings = settings.withServingUrl(embedded.url());
        }
        return new WatchSetup(app(props, settings), embedded, healthPort);
    }

    /** watch.health-port (validated with the other settings). */
    static int healthPort(Properties props) {
        return Integer.parseInt(props.getProperty("watch.health-port", "8502").trim());
    }

    @Command(name = "watch", mixinStandardHelpOptions = true,
            description = {"Run as a service until SIGTERM / Ctrl-C.",
                "New files in the inbox (inbox.dir) and the schedule (retrain.cron) trigger "
                        + "retrains, one at a time (triggers during a run coalesce into one follow-up run); "
                        + "the embedded server serves the local prod folder unless serving.url is set.",
                "On watch.health-port: GET /health, a summary (status and why, last run, served version "
                        + "and labels, pending batches; ?detail=true every check); GET / lists the endpoints."})
    static final class Watch implements Callable<Integer> {
        @ParentCommand
        MlopsCli parent;

        @Mixin
        ProgressOption progress;

        @Override
        public Integer call() {
            return parent.progress(progress).watch();
        }
    }

    private void warnAboutInsecureSettings(PipelineSettings settings) {
        if (settings.target().remote() && settings.target().toString().contains("strict host key checking false")) {
            org.slf4j.LoggerFactory.getLogger(MlopsCli.class).warn("SECURITY WARNING: SSH host key checking is "
                    + "DISABLED (DEPLOY_SERVER_STRICT_HOST_KEY_CHECKING=no). Anyone able to intercept the connection "
                    + "can impersonate the deployment server and receive the model and the credentials. Add the "
                    + "host key to the known_hosts file and remove this setting.");
        }
    }

    /** Mistakes found while reading the configuration (unknown keys), reported by {@link #settings}. */
    private List<String> loadProblems = List.of();

    Properties configuration() {
        Path defaults = home.resolve("config").resolve("application.properties");
        Path config = configFile != null ? configFile : defaults;
        Properties props;
        try {
            ConfigLoader.Loaded loaded = ConfigLoader.read(config, defaults, Path.of(".env"), environment, overrides);
            props = loaded.properties();
            loadProblems = loaded.problems();
        } catch (IllegalArgumentException e) {
            throw new ConfigurationException(e.getMessage());
        }
        if (props.getProperty("run.id", "").isBlank()) {
            props.setProperty("run.id", RunIds.next());
        }
        if (props.getProperty("run.git-commit", "").isBlank()) {
            String commit = environment.containsKey("CIRCLE_SHA1") ? environment.get("CIRCLE_SHA1") : gitCommit(home);
            if (commit != null) {
                props.setProperty("run.git-commit", commit);
            }
        }
        return props;
    }

    /**
     * Also tells {@code observer} of the training progress, after --progress's own listener, on
     * the training thread (tests: to know a run is training, or to hold it there while they act).
     * Changes nothing else.
     */
    MlopsCli observeTraining(TrainingListener observer) {
        this.observer = observer;
        return this;
    }

    private TrainingListener listener() {
        TrainingListener shown = progressListener();
        TrainingListener also = observer;
        if (also == TrainingListener.NONE) {
            return shown;
        }
        return new TrainingListener() {
            @Override
            public void epochStarted(int epoch, int epochs, int steps) {
                shown.epochStarted(epoch, epochs, steps);
                also.epochStarted(epoch, epochs, steps);
            }

            @Override
            public void stepFinished(int epoch, int step, int steps, double meanLoss, double meanAccuracy) {
                shown.stepFinished(epoch, step, steps, meanLoss, meanAccuracy);
                also.stepFinished(epoch, step, steps, meanLoss, meanAccuracy);
            }

            @Override
            public void epochFinished(dev.camelmlops.model.TrainingHistory.Epoch result, int epochs) {
                shown.epochFinished(result, epochs);
                also.epochFinished(result, epochs);
            }
        };
    }

    private TrainingListener progressListener() {
        return switch (progress) {
            case "off" -> TrainingListener.NONE;
            case "bar" -> new ConsoleProgress(out, true);
            case "plain" -> new ConsoleProgress(out, false);
            case "auto" -> new ConsoleProgress(out, System.console() != null);
            default -> throw new ConfigurationException("--progress must be auto, bar, plain or off, got " + progress);
        };
    }

    /**
     * The commit checked out in {@code home}: read from .git (HEAD, then the loose or packed ref)
     * without starting a process, else asked of git.
     */
    static String gitCommit(Path home) {
        Path git = home.resolve(".git");
        if (!Files.exists(git)) {
            return null;
        }
        // a worktree's (or submodule's) .git is a file naming the real folder: git itself reads that
        String fromFiles = Files.isDirectory(git) ? headFromFiles(git) : null;
        if (fromFiles != null) {
            return fromFiles;
        }
        try {
            Process p = new ProcessBuilder("git", "-C", home.toString(), "rev-parse", "HEAD")
                    .redirectErrorStream(true).start();
            String s = new String(p.getInputStream().readAllBytes()).trim();
            return p.waitFor(5, TimeUnit.SECONDS) && p.exitValue() == 0 && s.matches("[0-9a-f]{40}") ? s : null;
        } catch (Exception e) {
            return null;
        }
    }

    static String headFromFiles(Path git) {
        try {
            String head = Files.readString(git.resolve("HEAD")).trim();
            if (head.matches("[0-9a-f]{40}")) {
                return head;
            }
            if (!head.startsWith("ref: ")) {
                return null;
            }
            String ref = head.substring(5).trim();
            Path loose = git.resolve(ref).normalize();
            if (loose.startsWith(git) && Files.isRegularFile(loose)) {
                String id = Files.readString(loose).trim();
                return id.matches("[0-9a-f]{40}") ? id : null;
            }
            Path packed = git.resolve("packed-refs");
            if (Files.isRegularFile(packed)) {
                for (String line : Files.readAllLines(packed)) {
                    if (line.endsWith(" " + ref) && line.length() == 41 + ref.length()) {
                        String id = line.substring(0, 40);
                        return id.matches("[0-9a-f]{40}") ? id : null;
                    }
                }
            }
            return null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** Bad usage or configuration: exit code 2. Holds every problem found. */
    static final class ConfigurationException extends RuntimeException {
        private final List<String> problems;

        ConfigurationException(String message) {
            this(List.of(message));
        }

        ConfigurationException(List<String> problems) {
            super(String.join("; ", problems));
            this.problems = List.copyOf(problems);
        }

        List<String> problems() {
            return problems;
        }

        /** "Configuration error: ..." or, for several, one indented line each. */
        String report() {
            if (problems.size() == 1) {
                return "Configuration error: " + problems.get(0);
            }
            StringBuilder b = new StringBuilder("Configuration errors (" + problems.size() + "):");
            problems.forEach(p -> b.append(System.lineSeparator()).append("  ").append(p));
            return b.toString();
        }
    }
}
