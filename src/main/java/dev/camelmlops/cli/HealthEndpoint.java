package dev.camelmlops.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.camelmlops.run.RunMetrics;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.camel.CamelContext;
import org.apache.camel.health.HealthCheck;
import org.apache.camel.health.HealthCheckHelper;

/**
 * The health port of `mlops watch`: {@code GET /health}, a short summary (status and why, the last
 * run, the served version, pending batches; {@link HealthSummary}), 200 when UP, 503 when DOWN;
 * {@code GET /health?detail=true}, every Camel health check (routes, the last run) with its
 * details, same status codes; {@code GET /metrics}, the {@link RunMetrics} in Prometheus text
 * format; {@code GET /}, the list of these endpoints. HEAD answers as GET without a body; other
 * methods get 405, unknown paths 404, both with a JSON error.
 */
final class HealthEndpoint implements AutoCloseable {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(HealthEndpoint.class);
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final String JSON = "application/json";

    /** The endpoints as {@code GET /} lists them. */
    static final List<Map<String, String>> ENDPOINTS = List.of(
            endpoint("/", "the endpoints of this port (this list)"),
            endpoint("/health", "a summary: status UP or DOWN and why, the last run (id, outcome, when, version),"
                    + " the served version and its stable / canary labels, pending batches; HTTP 200 when UP,"
                    + " 503 when DOWN"),
            endpoint("/health?detail=true", "every health check (each route, mlops/last-run) with its state and"
                    + " details; HTTP 200 when UP, 503 when DOWN"),
            endpoint("/metrics", "the service's metrics in Prometheus text format 0.0.4"));

    private final HttpServer http;
    private final ExecutorService executor;

    HealthEndpoint(CamelContext context, RunMetrics metrics, HealthSummary summary, String host, int port)
            throws IOException {
        http = HttpServer.create(new InetSocketAddress(host, port), 16);
        // a few threads: a slow serving host (asked by the summary) holds up no other request
        executor = Executors.newFixedThreadPool(3, r -> {
            Thread t = new Thread(r, "mlops-health");
            t.setDaemon(true);
            return t;
        });
        http.setExecutor(executor);
        http.createContext("/", ex -> {
            try {
                handle(ex, context, metrics, summary);
            } catch (RuntimeException e) {
                LOG.warn("{} {}: {}", ex.getRequestMethod(), ex.getRequestURI(), e.toString());
                if (ex.getResponseCode() == -1) {
                    send(ex, 500, JSON, json(Map.of("error", String.valueOf(e.getMessage()))));
                }
            } finally {
                ex.close();
            }
        });
        http.start();
    }

    private static Map<String, String> endpoint(String path, String answers) {
        Map<String, String> e = new LinkedHashMap<>();
        e.put("path", path);
        e.put("method", "GET");
        e.put("answers", answers);
        return e;
    }

    private static void handle(HttpExchange ex, CamelContext context, RunMetrics metrics, HealthSummary summary)
            throws IOException {
        String path = ex.getRequestURI().getPath();
        if (!List.of("/", "/health", "/metrics").contains(path)) {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("error", "no endpoint " + path + " on this port: GET / lists them");
            body.put("endpoints", List.of("/", "/health", "/health?detail=true", "/metrics"));
            send(ex, 404, JSON, json(body));
            return;
        }
        String method = ex.getRequestMethod();
        if (!"GET".equals(method) && !"HEAD".equals(method)) {
            ex.getResponseHeaders().set("Allow", "GET, HEAD");
            send(ex, 405, JSON, json(Map.of("error", method + " is not allowed on " + path + ": use GET (or HEAD)")));
            return;
        }
        switch (path) {
            case "/" -> {
                Map<String, Object> body = new LinkedHashMap<>();
                body.put("service", "mlops watch");
                body.put("endpoints", ENDPOINTS);
                send(ex, 200, JSON, json(body));
            }
            case "/metrics" -> {
                byte[] b;
                try {
                    b = metrics.scrape().getBytes(StandardCharsets.UTF_8);
                } catch (RuntimeException e) {
                    LOG.warn("GET /metrics: {}", e.toString());
                    send(ex, 500, JSON, json(Map.of("error", "cannot read the metrics: " + e.getMessage())));
                    return;
                }
                send(ex, 200, RunMetrics.CONTENT_TYPE, b);
            }
            default -> {
                Boolean detail = detail(ex.getRequestURI().getRawQuery());
                if (detail == null) {
                    send(ex, 400, JSON, json(Map.of("error", "detail must be true or false: /health?detail=true")));
                    return;
                }
                Map<String, Object> report = report(context);
                Map<String, Object> body = detail ? report : summary.summarize(report);
                send(ex, "UP".equals(report.get("status")) ? 200 : 503, JSON, json(body));
            }
        }
    }

    /** The detail parameter of a query: false when absent, null when neither true nor false. */
    static Boolean detail(String query) {
        Boolean detail = false;
        if (query == null) {
            return detail;
        }
        for (String p : query.split("&")) {
            if (p.equals("detail") || p.startsWith("detail=")) {
                String v = p.equals("detail") ? "true" : p.substring("detail=".length());
                detail = "true".equalsIgnoreCase(v) ? Boolean.TRUE : "false".equalsIgnoreCase(v) ? Boolean.FALSE : null;
                if (detail == null) {
                    return null;
                }
            }
        }
        return detail;
    }

    private static byte[] json(Map<String, ?> body) throws IOException {
        return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(body);
    }

    /** Sends {@code body} with {@code status}; to HEAD, the status and headers alone. */
    private static void send(HttpExchange ex, int status, String contentType, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", contentType);
        boolean head = "HEAD".equals(ex.getRequestMethod());
        ex.sendResponseHeaders(status, head ? -1 : body.length);
        if (!head) {
            try (OutputStream os = ex.getResponseBody()) {
                os.write(body);
            }
        }
    }

    static Map<String, Object> report(CamelContext context) {
        Collection<HealthCheck.Result> results = HealthCheckHelper.invokeReadiness(context);
        List<Map<String, Object>> checks = new ArrayList<>();
        boolean up = true;
        for (HealthCheck.Result r : results) {
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("id", r.getCheck().getGroup() == null ? r.getCheck().getId()
                    : r.getCheck().getGroup() + "/" + r.getCheck().getId());
            c.put("state", r.getState().name());
            r.getMessage().ifPresent(m -> c.put("message", m));
            Map<String, Object> details = new LinkedHashMap<>();
            r.getDetails().forEach((k, v) -> {
                if (!k.startsWith("invocation.") && !k.startsWith("failure.")) {
                    details.put(k, String.valueOf(v));
                }
            });
            c.put("details", details);
            checks.add(c);
            up &= r.getState() != HealthCheck.State.DOWN;
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("status", up ? "UP" : "DOWN");
        body.put("checks", checks);
        return body;
    }

    int port() {
        return http.getAddress().getPort();
    }

    @Override
    public void close() {
        http.stop(0);
        executor.shutdownNow();
    }
}
