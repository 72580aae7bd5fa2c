package dev.camelmlops.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
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
import org.apache.camel.CamelContext;
import org.apache.camel.health.HealthCheck;
import org.apache.camel.health.HealthCheckHelper;

/**
 * The health port of `mlops watch`: {@code GET /health}, Camel's health checks (routes, the last
 * run) as JSON; {@code GET /metrics}, the {@link RunMetrics} in Prometheus text format.
 */
final class HealthEndpoint implements AutoCloseable {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(HealthEndpoint.class);
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private final HttpServer http;

    HealthEndpoint(CamelContext context, RunMetrics metrics, String host, int port) throws IOException {
        http = HttpServer.create(new InetSocketAddress(host, port), 16);
        http.createContext("/metrics", ex -> {
            try (ex) {
                if (!"GET".equals(ex.getRequestMethod()) && !"HEAD".equals(ex.getRequestMethod())) {
                    ex.getResponseHeaders().set("Allow", "GET, HEAD");
                    ex.sendResponseHeaders(405, -1);
                    return;
                }
                byte[] b;
                try {
                    b = metrics.scrape().getBytes(StandardCharsets.UTF_8);
                } catch (RuntimeException e) {
                    LOG.warn("GET /metrics: {}", e.toString());
                    ex.sendResponseHeaders(500, -1);
                    return;
                }
                ex.getResponseHeaders().set("Content-Type", RunMetrics.CONTENT_TYPE);
                boolean head = "HEAD".equals(ex.getRequestMethod());
                ex.sendResponseHeaders(200, head ? -1 : b.length);
                if (!head) {
                    try (OutputStream os = ex.getResponseBody()) {
                        os.write(b);
                    }
                }
            }
        });
        http.createContext("/health", ex -> {
            try (ex) {
                Map<String, Object> body = report(context);
                byte[] b = MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(body);
                ex.getResponseHeaders().set("Content-Type", "application/json");
                ex.sendResponseHeaders("UP".equals(body.get("status")) ? 200 : 503, b.length);
                try (OutputStream os = ex.getResponseBody()) {
                    os.write(b);
                }
            }
        });
        http.start();
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
    }
}
