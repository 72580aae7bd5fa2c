package dev.camelmlops.cli;

import dev.camelmlops.deploy.DeployTarget;
import dev.camelmlops.settings.PipelineSettings;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code mlops serve}: the embedded TF-Serving-compatible server, until SIGTERM or Ctrl-C. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serve the newest version of a model folder over TF Serving's REST API until stopped",
                "(SIGTERM / Ctrl-C): GET /v1/models/NAME[/versions/V][/metadata],",
                "POST /v1/models/NAME[/versions/V]:predict. New integer version folders are picked up",
                "within a second; a removed one falls back to the previous version."})
final class ServeCommand implements Callable<Integer> {
    @ParentCommand
    MlopsCli parent;

    @Option(names = "--model-name", paramLabel = "NAME", description = "Model name in the URLs (default: model.name).")
    String modelName;

    @Option(names = "--model-base-path", paramLabel = "DIR",
            description = "Folder with integer-named SavedModel versions (default: deploy.prod-dir).")
    Path basePath;

    @Option(names = "--port", paramLabel = "N", description = "TCP port (default: serving.port, 8501).")
    Integer port;

    @Option(names = "--host", paramLabel = "ADDRESS", description = "Address to bind (default: serving.host, 127.0.0.1).")
    String host;

    @Override
    public Integer call() throws InterruptedException {
        PipelineSettings settings = parent.settings(parent.configuration());
        Path base = basePath != null ? basePath
                : settings.target().remote() ? Path.of("var/prod") : settings.target().localFolder(DeployTarget.PROD);
        CountDownLatch stopped = new CountDownLatch(1);
        EmbeddedServing serving = EmbeddedServing.start(modelName != null ? modelName : settings.modelName(), base,
                host != null ? host : settings.serving().host(), port != null ? port : settings.serving().port(),
                settings);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            serving.close();
            stopped.countDown();
        }, "serve-shutdown"));
        parent.out().println("Serving at " + serving.url() + " (Ctrl-C to stop)");
        stopped.await();
        return ExitCodes.OK;
    }
}
