package dev.camelmlops.cli;

import dev.camelmlops.serving.ModelServer;
import dev.camelmlops.serving.ModelVersionWatcher;
import dev.camelmlops.settings.PipelineSettings;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.nio.file.Path;

/** The TF-Serving-compatible server running inside this process over a local model folder. */
final class EmbeddedServing implements AutoCloseable {
    private final ModelVersionWatcher watcher;
    private final ModelServer server;

    private EmbeddedServing(ModelVersionWatcher watcher, ModelServer server) {
        this.watcher = watcher;
        this.server = server;
    }

    static EmbeddedServing start(PipelineSettings settings, Path basePath) {
        return start(settings.modelName(), basePath, settings.serving().host(), settings.serving().port(), settings);
    }

    static EmbeddedServing start(String modelName, Path basePath, String host, int port, PipelineSettings settings) {
        ModelVersionWatcher watcher = new ModelVersionWatcher(modelName, basePath, settings.serving().pollInterval(),
                settings.serving().tfThreads());
        try {
            ModelServer server = new ModelServer(watcher, settings.serving().options(host, port));
            watcher.start();
            server.start();
            return new EmbeddedServing(watcher, server);
        } catch (BindException e) {
            watcher.close();
            throw new MlopsCli.ConfigurationException("cannot serve on " + host + ":" + port + " (" + e.getMessage()
                    + "): set serving.port (SERVING_PORT) to a free port, or serving.url to an existing server");
        } catch (IOException e) {
            watcher.close();
            throw new UncheckedIOException(e);
        }
    }

    String url() {
        return server.baseUrl();
    }

    @Override
    public void close() {
        server.close();
        watcher.close();
    }
}
