package dev.camelmlops.serving;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tensorflow.Signature;
import org.tensorflow.ndarray.Shape;

/**
 * TF Serving's REST API for the models of a {@link ModelRepository}, apart from any HTTP engine:
 * a request (method, path, the whole body) in, a {@link Reply} out.
 * {@code GET /v1/models/{name}[/versions/{v} | /labels/{label}]} (status), {@code GET .../metadata}
 * (signature defs) and {@code POST /v1/models/{name}[/versions/{v} | /labels/{label}]:predict},
 * {@code :classify} and {@code :regress} ({@link ClassifyRegress}). A
 * label is resolved to its version first (unknown: 400 "Unrecognized servable version label");
 * metadata answers that version. Status through a label answers only the labelled version (TF
 * Serving ignores the label there and lists every version).
 * Errors are {@code {"error": "..."}} with 400 for a bad request and 404 for an unknown model or
 * version, as TF Serving answers them. The engines ({@link HttpEngine}) only move bytes.
 */
final class RestApi {
    private static final Logger LOG = LoggerFactory.getLogger(RestApi.class);
    private static final Pattern PATH = Pattern.compile(
            "^/v1/models/([^/:]+)(?:/versions/([^/:]+))?(/metadata)?(?::([A-Za-z]+))?/?$");
    /**
     * A model path naming a version label ({@code /labels/<label>}): the groups of {@link #PATH},
     * the label in group 2 where PATH has the version.
     */
    private static final Pattern LABEL_PATH = Pattern.compile(
            "^/v1/models/([^/:]+)/labels/([^/:]+)(/metadata)?(?::([A-Za-z]+))?/?$");
    /** Number-heavy bodies: Jackson's fast float parser and writer (a 1-image request has 784 numbers). */
    static final JsonFactory JSON = JsonFactory.builder()
            .enable(com.fasterxml.jackson.core.StreamReadFeature.USE_FAST_DOUBLE_PARSER)
            .enable(com.fasterxml.jackson.core.StreamWriteFeature.USE_FAST_DOUBLE_WRITER)
            .build();
    static final String JSON_TYPE = "application/json";
    /** The bench's no-op answer: the size of a 10-class prediction, computed once. */
    private static final byte[] NOOP_ANSWER = ("{\"predictions\": [[0.0123, 0.0456, 0.0789, 0.1012, 0.1345,"
            + " 0.1678, 0.1901, 0.1234, 0.0567, 0.0890]]}").getBytes(StandardCharsets.UTF_8);

    private final ModelRepository models;
    private final boolean noop;
    private final ServingMetrics metrics;

    /**
     * @param noop answer {@code POST /v1/models/{name}:noop} with a fixed 10-float prediction
     *             without looking at the body (the bench's measure of HTTP and body I/O alone);
     *             off in a served process
     */
    RestApi(ModelRepository models, boolean noop) {
        this.models = models;
        this.noop = noop;
        this.metrics = models.metrics();
    }

    /** An answer: status, content type and body. */
    record Reply(int status, String contentType, byte[] body) {
        static Reply json(int status, byte[] body) {
            return new Reply(status, JSON_TYPE, body);
        }
    }

    /**
     * Answers one request whose body has been read whole; never throws. Every request but those
     * for the metrics themselves is recorded in {@link ServingMetrics} (count by model, API and
     * status; latency of successful ones), as TF Serving records its REST requests.
     */
    Reply handle(String method, String path, byte[] body) {
        return handle(method, path, body, null, null);
    }

    /**
     * The same for an engine that must not wait: a batched predict is started and its reply
     * reaches {@code later} on the thread that runs the model (null is returned); every other
     * request is answered here, as by {@link #handle(String, String, byte[])}. Never throws.
     */
    Reply handle(String method, String path, byte[] body, java.util.function.Consumer<Reply> later,
                 RequestBatcher.Owner owner) {
        if (ServingMetrics.PATH.equals(path)) {
            return metrics(method);
        }
        long t0 = System.nanoTime();
        Matcher matched = PATH.matcher(path);
        if (!matched.matches()) {
            Matcher label = LABEL_PATH.matcher(path);
            matched = label.matches() ? label : null;
        }
        Matcher m = matched; // null: not a path of the API
        java.util.function.Consumer<Reply> recorded = later == null ? null : r -> {
            record(path, m, r.status(), System.nanoTime() - t0);
            later.accept(r);
        };
        Reply reply;
        try {
            reply = route(method, path, body, m, recorded, owner);
        } catch (RestException e) {
            reply = error(e.status(), e.getMessage());
        } catch (Throwable e) {
            LOG.error("{} {} failed", method, path, e);
            reply = error(500, "internal error: " + e);
        }
        if (reply != null) {
            record(path, m, reply.status(), System.nanoTime() - t0);
        }
        return reply;
    }

    /**
     * Counts a request: under a model's name only when the path names a configured model (else
     * under ""), so clients cannot add label values. Compares regions of the path: no allocation.
     */
    private void record(String path, Matcher m, int status, long nanos) {
        ServingMetrics.Counters model = metrics.other;
        ServingMetrics.Api api = ServingMetrics.Api.NONE;
        ServingMetrics.Counters named = m == null ? null : metrics.counters(path, m.start(1), m.end(1));
        if (named != null && models.serves(named.name)) {
            model = named;
            if (m.start(4) < 0) {
                api = m.start(3) >= 0 ? ServingMetrics.Api.METADATA : ServingMetrics.Api.STATUS;
            } else if (is(path, m, 4, "predict")) {
                api = ServingMetrics.Api.PREDICT;
            } else if (is(path, m, 4, "classify")) {
                api = ServingMetrics.Api.CLASSIFY;
            } else if (is(path, m, 4, "regress")) {
                api = ServingMetrics.Api.REGRESS;
            } else if (noop && is(path, m, 4, "noop")) {
                api = ServingMetrics.Api.NOOP;
            }
        }
        metrics.request(model, api, status, nanos);
    }

    private static boolean is(String path, Matcher m, int group, String expected) {
        int start = m.start(group);
        return start >= 0 && m.end(group) - start == expected.length()
                && path.regionMatches(start, expected, 0, expected.length());
    }

    /** {@code GET /monitoring/prometheus/metrics}: the exposition (not itself counted, as in TF Serving). */
    private Reply metrics(String method) {
        if (!"GET".equals(method)) {
            return error(405, ServingMetrics.PATH + " takes GET, not " + method);
        }
        try {
            return new Reply(200, ServingMetrics.CONTENT_TYPE, metrics.scrape());
        } catch (RuntimeException e) {
            LOG.error("GET {} failed", ServingMetrics.PATH, e);
            return error(500, "metrics failed: " + e);
        }
    }

    static Reply error(int status, String message) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonGenerator g = JSON.createGenerator(out, JsonEncoding.UTF8)) {
            g.writeStartObject();
            g.writeStringField("error", message);
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Reply.json(status, out.toByteArray());
    }

    /** The reply to a failed predict call, as {@link #handle} would give it. */
    private static Reply failure(RuntimeException e) {
        if (e instanceof RestException r) {
            return error(r.status(), r.getMessage());
        }
        LOG.error("predict failed", e);
        return error(500, "internal error: " + e);
    }

    static Reply tooLarge(long limit) {
        return error(413, "request body is larger than the limit of " + limit + " bytes");
    }

    /** @param m the path matched against {@link #PATH}, or null when it does not match */
    /** @param later where a started batched predict answers (null: answer here); see {@link #handle(String, String, byte[], java.util.function.Consumer, RequestBatcher.Owner)} */
    private Reply route(String method, String path, byte[] body, Matcher m, java.util.function.Consumer<Reply> later,
                        RequestBatcher.Owner owner) throws IOException {
        if (m == null) {
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
        if (m.pattern() == LABEL_PATH) {
            // As ServerCore resolves a ModelSpec's version_label, before looking for the model.
            version = models.versionForLabel(name, versionText);
        } else if (versionText != null) {
            if (!versionText.matches("[0-9]{1,18}")) {
                throw RestException.badRequest("version must be a positive integer, got '" + versionText + "'");
            }
            version = Long.parseLong(versionText);
        }
        if (models.model(name) == null) {
            throw RestException.notFound("Servable not found for request: " + spec(name, version));
        }
        if (verb != null) {
            if (metadata) {
                throw RestException.badRequest("Malformed request: " + method + " " + path);
            }
            if (noop && "noop".equals(verb) && "POST".equals(method)) {
                return Reply.json(200, NOOP_ANSWER);
            }
            if ("classify".equals(verb) || "regress".equals(verb)) {
                if (!"POST".equals(method)) {
                    throw RestException.badRequest(":" + verb + " takes POST, not " + method);
                }
                return classifyOrRegress(verb, body, name, version);
            }
            if (!"predict".equals(verb)) {
                throw RestException.badRequest("':" + verb + "' is not supported; this server answers ':predict',"
                        + " ':classify' and ':regress'");
            }
            if (!"POST".equals(method)) {
                throw RestException.badRequest(":predict takes POST, not " + method);
            }
            return predict(body, name, version, later, owner);
        }
        if (!"GET".equals(method)) {
            throw RestException.badRequest((metadata ? "metadata" : "model status") + " takes GET, not " + method);
        }
        return metadata ? metadata(name, version) : status(name, version);
    }

    private static String spec(String name, Long version) {
        return version == null ? "Latest(" + name + ")" : "Specific(" + name + ", " + version + ")";
    }

    private LoadedVersion acquire(String name, Long version) {
        ModelVersionWatcher model = models.model(name);
        LoadedVersion v = model == null ? null : version == null ? model.acquire() : model.acquire(version);
        if (v == null) {
            throw RestException.notFound("Servable not found for request: " + spec(name, version));
        }
        return v;
    }

    private Reply predict(byte[] body, String name, Long version, java.util.function.Consumer<Reply> later,
                          RequestBatcher.Owner owner) throws IOException {
        FastRequest fast = FastRequest.parse(body);
        JsonNode request = fast == null ? JsonBody.parse(body) : null;
        LoadedVersion v = acquire(name, version);
        if (later != null && fast != null) {
            boolean started;
            try {
                // The version is released when the answer is written, on the thread of the call.
                started = Predictor.submitFast(v, fast, owner, (json, error) -> {
                    v.release();
                    later.accept(json != null ? Reply.json(200, json) : failure(error));
                });
            } catch (RuntimeException e) {
                v.release();
                throw e;
            }
            if (started) {
                return null;
            }
        }
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
            return Reply.json(200, out.toByteArray());
        } finally {
            v.release();
        }
    }

    /** {@code :classify} or {@code :regress}: the body is read (as TF Serving does) before the version is looked up. */
    private Reply classifyOrRegress(String verb, byte[] body, String name, Long version) {
        TfExamples.Request request = TfExamples.parse(verb, body);
        LoadedVersion v = acquire(name, version);
        try {
            return Reply.json(200, "classify".equals(verb) ? ClassifyRegress.classify(v, request)
                    : ClassifyRegress.regress(v, request));
        } finally {
            v.release();
        }
    }

    private Reply status(String name, Long version) throws IOException {
        ModelVersionWatcher model = models.model(name);
        if (model == null) {
            throw RestException.notFound("Could not find any versions of model " + name);
        }
        if (version != null) {
            model.pollIfPresent(version);
        }
        java.util.SortedSet<Long> available = model.availableVersions();
        Map<Long, ModelVersionWatcher.Failure> failures = model.failures();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonGenerator g = JSON.createGenerator(out, JsonEncoding.UTF8)) {
            g.writeStartObject();
            g.writeArrayFieldStart("model_version_status");
            int n = 0;
            // Highest first, as TF Serving lists them.
            for (Long v : new java.util.TreeSet<>(available).descendingSet()) {
                if (version == null || version.equals(v)) {
                    writeStatus(g, v, "AVAILABLE", "OK", "");
                    n++;
                }
            }
            for (Map.Entry<Long, ModelVersionWatcher.Failure> f : failures.entrySet()) {
                if ((version == null || version.equals(f.getKey())) && !available.contains(f.getKey())) {
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
        return Reply.json(200, out.toByteArray());
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

    private Reply metadata(String name, Long version) throws IOException {
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
            return Reply.json(200, out.toByteArray());
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
}
