package dev.camelmlops.testing;

import dev.camelmlops.serving.ModelRepository;
import dev.camelmlops.serving.ModelServer;
import dev.camelmlops.serving.ServingOptions;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A serving host as the README sets TF Serving up: the embedded server on
 * {@code <prod>/models.config} (the file deploy writes), re-read every 200 ms, serving the newest
 * version of {@code my_model} until the file exists. Strict about labels, as TF Serving is by
 * default: a label on a version that is not AVAILABLE makes it refuse the whole file.
 */
public final class ConfigServer implements AutoCloseable {
    private final ModelRepository models;
    private final ModelServer server;

    public ConfigServer(Path prod) throws Exception {
        this(prod, false);
    }

    /**
     * With {@code allowLabelsForUnavailable}, as TF Serving run with
     * {@code --allow_version_labels_for_unavailable_models=true}: a (re)started host on a
     * models.config that already has labels (README: a restarted container).
     */
    public ConfigServer(Path prod, boolean allowLabelsForUnavailable) throws Exception {
        models = ModelRepository.configFile(prod.resolve("models.config"),
                ModelRepository.singleConfig("my_model", prod), Duration.ofMillis(200), Duration.ofMillis(200), 1,
                allowLabelsForUnavailable);
        models.start();
        server = new ModelServer(models, ServingOptions.of("127.0.0.1", 0, 2, 1 << 24));
        server.start();
    }

    public String url() {
        return server.baseUrl();
    }

    public ModelRepository models() {
        return models;
    }

    /** The version {@code label} names for my_model (its metadata), or "400: <error>" / "404: ...". */
    public String labelled(String label) {
        Http.Response r = Http.get(url() + "/v1/models/my_model/labels/" + label + "/metadata");
        return r.status() == 200 ? r.json().at("/model_spec/version").asText()
                : r.status() + ": " + r.json().path("error").asText();
    }

    @Override
    public void close() {
        server.close();
        models.close();
    }
}
