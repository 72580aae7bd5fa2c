package dev.camelmlops.cli;

import dev.camelmlops.serving.ModelRepository;
import dev.camelmlops.serving.ModelServer;
import dev.camelmlops.serving.ModelServerConfig;
import dev.camelmlops.settings.PipelineSettings;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The TF-Serving-compatible server running inside this process over local model folders: one
 * model (its newest version), or the models of a TF Serving model config file.
 */
final class EmbeddedServing implements AutoCloseable {
    /** The model config file in a prod folder (a name TF Serving and this server never take for a version). */
    static final String MODELS_CONFIG = "models.config";

    private final ModelRepository models;
    private final ModelServer server;

    private EmbeddedServing(ModelRepository models, ModelServer server) {
        this.models = models;
        this.server = server;
    }

    /**
     * The server of {@code mlops run} and {@code mlops watch}: the models of
     * {@code <prodFolder>/models.config} (re-read every serving.poll-seconds) while that file
     * exists, else model.name from {@code prodFolder} with TF Serving's default policy (latest 1);
     * the switch either way happens at the next poll. Labels that are new may name a version not
     * loaded yet (TF Serving's --allow_version_labels_for_unavailable_models, so that a restart
     * takes a labelled file); moving a label to a version that is not available is refused.
     */
    static EmbeddedServing start(PipelineSettings settings, Path prodFolder) {
        return start(settings, prodFolder, settings.serving().host(), settings.serving().port());
    }

    /** The same on another address ({@code mlops serve --host --port}). */
    static EmbeddedServing start(PipelineSettings settings, Path prodFolder, String host, int port) {
        Duration poll = settings.serving().pollInterval();
        ModelRepository models = ModelRepository.configFile(prodFolder.resolve(MODELS_CONFIG),
                ModelRepository.singleConfig(settings.modelName(), prodFolder), poll, poll,
                settings.serving().tfThreads(), true);
        return start(models, host, port, settings);
    }

    /** One model, its newest version. */
    static EmbeddedServing start(String modelName, Path basePath, String host, int port, PipelineSettings settings) {
        return start(ModelRepository.single(modelName, basePath, settings.serving().pollInterval(),
                settings.serving().tfThreads()), host, port, settings);
    }

    /** The models of a repository (started here; closed with this). */
    static EmbeddedServing start(ModelRepository models, String host, int port, PipelineSettings settings) {
        try {
            ModelServer server = new ModelServer(models, settings.serving().options(host, port));
            try {
                models.start();
            } catch (ModelServerConfig.InvalidModelConfigException e) {
                server.close();
                throw new MlopsCli.ConfigurationException(e.getMessage());
            }
            server.start();
            return new EmbeddedServing(models, server);
        } catch (BindException e) {
            models.close();
            throw new MlopsCli.ConfigurationException("cannot serve on " + host + ":" + port + " (" + e.getMessage()
                    + "): set serving.port (SERVING_PORT) to a free port, or serving.url to an existing server");
        } catch (IOException e) {
            models.close();
            throw new UncheckedIOException(e);
        }
    }

    String url() {
        return server.baseUrl();
    }

    /** The served models: labels and available versions in force, the config file's problem if any. */
    ModelRepository models() {
        return models;
    }

    @Override
    public void close() {
        server.close();
        models.close();
    }
}
