package dev.camelmlops.serving;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tensorflow.Signature;
import org.tensorflow.ndarray.Shape;

/**
 * A TensorFlow-Serving-compatible REST server for one model (the API of TF Serving's REST
 * documentation): {@code GET /v1/models/{name}[/versions/{v}]} (status),
 * {@code GET .../metadata} (signature defs) and {@code POST .../{name}[/versions/{v}]:predict}.
 * Errors are {@code {"error": "..."}} with 400 for a bad request and 404 for an unknown model or
 * version. Request bodies are size-limited; nothing a client sends can stop the server.
 */
public final class ModelServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ModelServer.class);
    private static final Pattern PATH = Pattern.compile(
            "^/v1/models/([^/:]+)(?:/versions/([^/:]+))?(/metadata)?(?::([A-Za-z]+))?/?$");
    /** A model path naming a version label ({@code /labels/<label>}), alone or with a version. */
    private static final Pattern LABEL_PATH = Pattern.compile(
            "^/v1/models/([^/:]+)(?:/versions/[^/:]+)?/labels/[^/:]*(?:/metadata)?(?::[A-Za-z]*)?/?$");
    /** Number-heavy bodies: Jackson's fast float parser and writer (a 1-image request has 784 numbers). */
    private static final JsonFactory JSON = JsonFactory.builder()
            .enable(com.fasterxml.jackson.core.StreamReadFeature.USE_FAST_DOUBLE_PARSER)
            .enable(com.fasterxml.jackson.core.StreamWriteFeature.USE_FAST_DOUBLE_WRITER)
            .build();

    static {
        // The JDK server writes headers and body in separate packets; with Nagle's algorithm on,
        // each keep-alive response then waits ~40 ms for the client's delayed ACK. It reads this
        // property once, when its configuration class loads.
        if (System.getProperty("sun.net.httpserver.nodelay") == null) {
            System.setProperty("sun.net.httpserver.nodelay", "true");
        }
    }

    private final ModelVersionWatcher models;
    private final long maxRequestBytes;
    private final HttpServer http;
    private final ExecutorService workers;

    /**
     * @param host address to bind (127.0.0.1 by default in the configuration)
     * @param port TCP port; 0 picks a free one ({@link #port()} tells which)
     */
    public ModelServer(ModelVersionWatcher models, String host, int port, int threads, long maxRequestBytes)
            throws IOException {
        this.models = models;
        this.maxRequestBytes = maxRequestBytes;
        this.http = HttpServer.create(new InetSocketAddress(host, port), 128);
        AtomicInteger n = new AtomicInteger();
        this.workers = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "serving-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        http.setExecutor(workers);
        http.createContext("/", this::handle);
    }

    public void start() {
        http.start();
        LOG.info("serving model '{}' from {} on http://{}:{}", models.modelName(), models.basePath(),
                http.getAddress().getHostString(), port());
    }

    public int port() {
        return http.getAddress().getPort();
    }

    public String baseUrl() {
        return "http://" + http.getAddress().getHostString() + ":" + port();
    }

    @Override
    public void close() {
        http.stop(0);
        workers.shutdown();
        try {
            workers.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void handle(HttpExchange ex) {
        try (ex) {
            try {
                route(ex);
            } catch (RestException e) {
                sendError(ex, e.status(), e.getMessage());
            } catch (IOException e) {
                // The client went away (closed its connection mid-request or before the answer):
                // nothing to answer and nothing wrong with the server.
                LOG.debug("{} {}: client went away: {}", ex.getRequestMethod(), ex.getRequestURI(), e.toString());
            } catch (Throwable e) {
                LOG.error("{} {} failed", ex.getRequestMethod(), ex.getRequestURI(), e);
                sendError(ex, 500, "internal error: " + e);
            }
        } catch (IOException e) {
            LOG.debug("client went away: {}", e.toString());
        }
    }

    private void route(HttpExchange ex) throws IOException {
        String method = ex.getRequestMethod();
        String path = ex.getRequestURI().getPath();
        Matcher m = PATH.matcher(path);
        if (!m.matches()) {
            if (LABEL_PATH.matcher(path).matches()) {
                // TF Serving refuses a label (and a version with a label) as malformed when the
                // model has no version labels; this server has none.
                throw RestException.badRequest("Malformed request: " + method + " " + path
                        + " (version labels are not configured for this model: use /versions/<number>)");
            }
            if (path.startsWith("/v1/")) {
                // What TF Serving's REST handler answers for any /v1/ path it cannot parse.
                throw RestException.badRequest("Malformed request: " + method + " " + path);
            }
            throw RestException.notFound("Malformed request: " + method + " " + path);
        }
        String name = m.group(1);
        String versionText = m.group(2);
        boolean metadata = m.group(3) != null;
        String verb = m.group(4);
        Long version = null;
        if (versionText != null) {
            if (!versionText.matches("[0-9]{1,18}")) {
                throw RestException.badRequest("version must be a positive integer, got '" + versionText + "'");
            }
            version = Long.parseLong(versionText);
        }
        if (!models.modelName().equals(name)) {
            throw RestException.notFound("Servable not found for request: " + spec(name, version));
        }
        if (verb != null) {
            if (metadata) {
                throw RestException.badRequest("Malformed request: " + method + " " + path);
            }
            if (!"predict".equals(verb)) {
                throw RestException.badRequest("':" + verb + "' is not supported; this server answers ':predict'");
            }
            if (!"POST".equals(method)) {
                throw RestException.badRequest(":predict takes POST, not " + method);
            }
            predict(ex, name, version);
            return;
        }
        if (!"GET".equals(method)) {
            throw RestException.badRequest((metadata ? "metadata" : "model status") + " takes GET, not " + method);
        }
        if (metadata) {
            metadata(ex, name, version);
        } else {
            status(ex, name, version);
        }
    }

    private static String spec(String name, Long version) {
        return version == null ? "Latest(" + name + ")" : "Specific(" + name + ", " + version + ")";
    }

    private LoadedVersion acquire(String name, Long version) {
        LoadedVersion v = models.acquire();
        if (v == null) {
            throw RestException.notFound("Servable not found for request: " + spec(name, version));
        }
        if (version != null && v.version() != version) {
            v.release();
            throw RestException.notFound("Servable not found for request: " + spec(name, version));
        }
        return v;
    }

    private void predict(HttpExchange ex, String name, Long version) throws IOException {
        byte[] body = readBody(ex);
        FastRequest fast = FastRequest.parse(body);
        JsonNode request = fast == null ? JsonBody.parse(body) : null;
        LoadedVersion v = acquire(name, version);
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream(4096);
            try (JsonGenerator g = JSON.createGenerator(out, JsonEncoding.UTF8)) {
                if (fast == null || !Predictor.predictFast(v, fast, g)) {
                    if (request == null) {
                        request = JsonBody.parse(body);
                    }
                    Predictor.predict(v, request, g);
                }
            }
            send(ex, 200, out.toByteArray());
        } finally {
            v.release();
        }
    }

    private void status(HttpExchange ex, String name, Long version) throws IOException {
        if (version != null) {
            models.pollIfPresent(version);
        }
        long served = models.servedVersion();
        Map<Long, ModelVersionWatcher.Failure> failures = models.failures();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonGenerator g = JSON.createGenerator(out, JsonEncoding.UTF8)) {
            g.writeStartObject();
            g.writeArrayFieldStart("model_version_status");
            int n = 0;
            if (served > 0 && (version == null || version == served)) {
                writeStatus(g, served, "AVAILABLE", "OK", "");
                n++;
            }
            for (Map.Entry<Long, ModelVersionWatcher.Failure> f : failures.entrySet()) {
                if (version == null || version.equals(f.getKey())) {
                    writeStatus(g, f.getKey(), "END", "UNKNOWN", f.getValue().message());
                    n++;
                }
            }
            g.writeEndArray();
            g.writeEndObject();
            if (n == 0) {
                throw RestException.notFound(version == null
                        ? "Could not find any versions of model " + name
                        : "Could not find version " + version + " of model " + name);
            }
        }
        send(ex, 200, out.toByteArray());
    }

    private static void writeStatus(JsonGenerator g, long version, String state, String code, String message)
            throws IOException {
        g.writeStartObject();
        g.writeStringField("version", Long.toString(version));
        g.writeStringField("state", state);
        g.writeObjectFieldStart("status");
        g.writeStringField("error_code", code);
        g.writeStringField("error_message", message);
        g.writeEndObject();
        g.writeEndObject();
    }

    private void metadata(HttpExchange ex, String name, Long version) throws IOException {
        LoadedVersion v = acquire(name, version);
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (JsonGenerator g = JSON.createGenerator(out, JsonEncoding.UTF8)) {
                g.writeStartObject();
                g.writeObjectFieldStart("model_spec");
                g.writeStringField("name", name);
                g.writeStringField("signature_name", "");
                g.writeStringField("version", Long.toString(v.version()));
                g.writeEndObject();
                g.writeObjectFieldStart("metadata");
                g.writeObjectFieldStart("signature_def");
                g.writeObjectFieldStart("signature_def");
                for (Map.Entry<String, Signature> e : v.signatures().entrySet()) {
                    g.writeObjectFieldStart(e.getKey());
                    writeTensors(g, "inputs", e.getValue().getInputs());
                    writeTensors(g, "outputs", e.getValue().getOutputs());
                    g.writeStringField("method_name", e.getValue().methodName());
                    g.writeEndObject();
                }
                g.writeEndObject();
                g.writeEndObject();
                if (!v.classNames().isEmpty()) {
                    // Not in TF Serving's answer: what each output index means, from the version's MANIFEST.json.
                    g.writeArrayFieldStart("class_names");
                    for (String c : v.classNames()) {
                        g.writeString(c);
                    }
                    g.writeEndArray();
                }
                g.writeEndObject();
                g.writeEndObject();
            }
            send(ex, 200, out.toByteArray());
        } finally {
            v.release();
        }
    }

    private static void writeTensors(JsonGenerator g, String field, Map<String, Signature.TensorDescription> tensors)
            throws IOException {
        g.writeObjectFieldStart(field);
        for (Map.Entry<String, Signature.TensorDescription> t : tensors.entrySet()) {
            g.writeObjectFieldStart(t.getKey());
            g.writeStringField("dtype", t.getValue().dataType.name());
            g.writeObjectFieldStart("tensor_shape");
            Shape s = t.getValue().shape;
            g.writeArrayFieldStart("dim");
            if (!s.isUnknown()) {
                for (long d : s.asArray()) {
                    g.writeStartObject();
                    g.writeStringField("size", Long.toString(d));
                    g.writeStringField("name", "");
                    g.writeEndObject();
                }
            }
            g.writeEndArray();
            g.writeBooleanField("unknown_rank", s.isUnknown());
            g.writeEndObject();
            g.writeStringField("name", t.getValue().name);
            g.writeEndObject();
        }
        g.writeEndObject();
    }

    /**
     * Reads the body up to the size limit. An oversized body is still read to its end (up to a
     * hard cap) and discarded, so the client receives the 413 instead of a reset connection.
     */
    private byte[] readBody(HttpExchange ex) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        byte[] chunk = new byte[16384];
        long total = 0;
        long cap = Math.max(maxRequestBytes * 4, 64L << 20);
        try (InputStream in = ex.getRequestBody()) {
            int r;
            while ((r = in.read(chunk)) > 0) {
                total += r;
                if (total <= maxRequestBytes) {
                    buf.write(chunk, 0, r);
                } else if (total > cap) {
                    break;
                }
            }
        }
        if (total > maxRequestBytes) {
            ex.getResponseHeaders().set("Connection", "close");
            throw new RestException(413, "request body is larger than the limit of " + maxRequestBytes + " bytes");
        }
        return buf.toByteArray();
    }

    private static void sendError(HttpExchange ex, int status, String message) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonGenerator g = JSON.createGenerator(out, JsonEncoding.UTF8)) {
            g.writeStartObject();
            g.writeStringField("error", message);
            g.writeEndObject();
        }
        send(ex, status, out.toByteArray());
    }

    private static void send(HttpExchange ex, int status, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, body.length);
        try (OutputStream os = ex.getResponseBody()) {
            os.write(body);
        }
    }
}
