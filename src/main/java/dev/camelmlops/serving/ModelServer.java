package dev.camelmlops.serving;

import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A TensorFlow-Serving-compatible REST server for the models of a {@link ModelRepository} (one
 * model, or those of a TF Serving model config file) (the API of TF Serving's REST
 * documentation, {@link RestApi}) on an HTTP engine ({@link ServingOptions.Engine}): Netty by
 * default, the JDK's server on request. Request bodies are size-limited and slow clients
 * time out; nothing a client sends can stop the server.
 */
public final class ModelServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ModelServer.class);

    private final ModelRepository models;
    private final ServingOptions options;
    private final HttpEngine engine;

    /** The default engine and protections. */
    public ModelServer(ModelVersionWatcher models, String host, int port, int threads, long maxRequestBytes)
            throws IOException {
        this(models, ServingOptions.of(host, port, threads, maxRequestBytes));
    }

    /**
     * Binds at once (a port conflict throws here); answers from {@link #start()}.
     *
     * @param o host (127.0.0.1 by default in the configuration), port (0 picks a free one:
     *          {@link #port()} tells which), engine and limits
     */
    public ModelServer(ModelVersionWatcher models, ServingOptions o) throws IOException {
        this(ModelRepository.of(models), o);
    }

    /** A server over the models of a repository (started and closed by its owner). */
    public ModelServer(ModelRepository models, ServingOptions o) throws IOException {
        this.models = models;
        this.options = o;
        RestApi api = new RestApi(models, o.noop());
        this.engine = switch (o.engine()) {
            case NETTY -> new NettyHttpEngine(api, o);
            case JDK -> new JdkHttpEngine(api, o);
        };
    }

    public void start() throws IOException {
        engine.start();
        LOG.info("serving {} on http://{}:{} ({} engine)", models.configFile().map(f -> "the models of " + f)
                        .orElse("model(s) " + models.modelNames()), engine.address().getHostString(), port(),
                options.engine().id());
    }

    public int port() {
        return engine.address().getPort();
    }

    public String baseUrl() {
        return "http://" + engine.address().getHostString() + ":" + port();
    }

    public ServingOptions options() {
        return options;
    }

    /** Open connections (Netty engine; -1 for the JDK's, which does not tell). */
    public int openConnections() {
        return engine instanceof NettyHttpEngine n ? n.openConnections() : -1;
    }

    @Override
    public void close() {
        engine.close();
    }
}
