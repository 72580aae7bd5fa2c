package dev.camelmlops.cli;

import dev.camelmlops.deploy.DeployTarget;
import dev.camelmlops.serving.ModelRepository;
import dev.camelmlops.settings.PipelineSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code mlops serve}: the embedded TF-Serving-compatible server, until SIGTERM or Ctrl-C. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serve models over TF Serving's REST API until stopped (SIGTERM / Ctrl-C).",
                "The newest version of a model folder, or the models of a TF Serving model config "
                        + "file:",
                "  GET  /v1/models/NAME[/versions/V|/labels/L][/metadata]",
                "  POST /v1/models/NAME[/versions/V|/labels/L]:predict",
                "New integer version folders are picked up within a second; a removed one falls "
                        + "back to the previous version. The config file is read again when it changes; one "
                        + "that is invalid, or labels a version not loaded, is refused and the config in "
                        + "force stays."})
final class ServeCommand implements Callable<Integer> {
    @ParentCommand
    MlopsCli parent;

    @Option(names = "--model-name", paramLabel = "NAME", description = "Model name in the URLs (default: model.name).")
    String modelName;

    @Option(names = "--model-base-path", paramLabel = "DIR",
            description = "Folder with integer-named SavedModel versions (default: deploy.prod-dir).")
    Path basePath;

    @Option(names = {"--model-config-file", "--model_config_file"}, paramLabel = "FILE",
            description = "TF Serving's model config file (text format ModelServerConfig): several models,"
                    + " version policies, version labels. Instead of --model-name/--model-base-path.")
    Path modelConfigFile;

    @Option(names = {"--model-config-file-poll-wait-seconds", "--model_config_file_poll_wait_seconds"},
            paramLabel = "N", description = "Read the config file again every N seconds; 0: only at the start"
                    + " (default: serving.poll-seconds).")
    Double configPollSeconds;

    @Option(names = {"--allow-version-labels-for-unavailable-models", "--allow_version_labels_for_unavailable_models"},
            description = "As TF Serving's flag: a new label may name a version that is not loaded yet (needed to"
                    + " start with a file that has labels); moving a label still needs its version loaded.")
    boolean allowLabelsForUnavailable;

    @Option(names = "--port", paramLabel = "N", description = "TCP port (default: serving.port, 8501).")
    Integer port;

    @Option(names = "--host", paramLabel = "ADDRESS", description = "Address to bind (default: serving.host, 127.0.0.1).")
    String host;

    @Override
    public Integer call() throws InterruptedException {
        PipelineSettings settings = parent.settings(parent.configuration());
        CountDownLatch stopped = new CountDownLatch(1);
        String bindHost = host != null ? host : settings.serving().host();
        int bindPort = port != null ? port : settings.serving().port();
        EmbeddedServing serving;
        if (modelConfigFile != null) {
            if (modelName != null || basePath != null) {
                throw new MlopsCli.ConfigurationException("--model-config-file names the models and their base paths;"
                        + " leave out --model-name and --model-base-path");
            }
            if (configPollSeconds != null && (configPollSeconds < 0 || configPollSeconds.isNaN())) {
                throw new MlopsCli.ConfigurationException("--model_config_file_poll_wait_seconds must be 0 or more, got "
                        + configPollSeconds);
            }
            Duration configPoll = configPollSeconds != null ? Duration.ofMillis(Math.round(configPollSeconds * 1000))
                    : settings.serving().pollInterval();
            try {
                serving = EmbeddedServing.start(ModelRepository.configFile(modelConfigFile, null,
                                settings.serving().pollInterval(), configPoll, settings.serving().tfThreads(),
                                allowLabelsForUnavailable), bindHost, bindPort, settings);
            } catch (MlopsCli.ConfigurationException e) {
                if (!allowLabelsForUnavailable && e.getMessage().contains("not currently available for inference")) {
                    throw new MlopsCli.ConfigurationException(e.getMessage() + " (at the start no version is loaded:"
                            + " add --allow_version_labels_for_unavailable_models, as TF Serving needs it)");
                }
                throw e;
            }
        } else {
            Path base = basePath != null ? basePath
                    : settings.target().remote() ? Path.of("var/prod") : settings.target().localFolder(DeployTarget.PROD);
            if (basePath == null && modelName == null) {
                // the prod folder the pipeline deploys into: its models.config (labels) while it exists,
                // its newest version until then, as `run` and `watch` serve it
                serving = EmbeddedServing.start(settings, base, bindHost, bindPort);
            } else {
                serving = EmbeddedServing.start(modelName != null ? modelName : settings.modelName(), base, bindHost,
                        bindPort, settings);
            }
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            serving.close();
            stopped.countDown();
        }, "serve-shutdown"));
        parent.out().println("Serving at " + serving.url() + " (Ctrl-C to stop)");
        stopped.await();
        return ExitCodes.OK;
    }
}
