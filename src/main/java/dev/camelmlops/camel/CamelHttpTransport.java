package dev.camelmlops.camel;

import dev.camelmlops.serving.ServingClient;
import java.net.URI;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;

/**
 * HTTP for the serving probe through camel-http: one endpoint per server (timeouts, no exception
 * on 4xx/5xx so the status can be inspected), the full URL in the CamelHttpUri header.
 */
public final class CamelHttpTransport implements ServingClient.Transport, AutoCloseable {
    private final ProducerTemplate template;
    private final int timeoutMillis;

    public CamelHttpTransport(CamelContext context, int timeoutMillis) {
        this.template = context.createProducerTemplate();
        this.timeoutMillis = timeoutMillis;
    }

    @Override
    public ServingClient.Response call(String method, String url, String body) {
        URI u = URI.create(url);
        String endpoint = u.getScheme() + "://" + u.getHost() + (u.getPort() > 0 ? ":" + u.getPort() : "")
                + "?throwExceptionOnFailure=false&connectTimeout=" + timeoutMillis + "&responseTimeout=" + timeoutMillis;
        Exchange ex = template.send(endpoint, e -> {
            e.getIn().setHeader(Exchange.HTTP_METHOD, method);
            e.getIn().setHeader(Exchange.HTTP_URI, url);
            if (body != null) {
                e.getIn().setHeader(Exchange.CONTENT_TYPE, "application/json");
                e.getIn().setBody(body);
            }
        });
        if (ex.getException() != null) {
            throw new IllegalStateException(method + " " + url + " failed: " + ex.getException().getMessage(),
                    ex.getException());
        }
        Integer status = ex.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE, Integer.class);
        String text = ex.getMessage().getBody(String.class);
        return new ServingClient.Response(status == null ? 0 : status, text == null ? "" : text);
    }

    /**
     * Asks {@code url} once on a background thread and ignores the answer: the first exchange
     * through camel-http creates the component and its HTTP client (about 0.3 s), which would
     * otherwise fall into the deploy stage. Only for read-only URLs; failures are not reported.
     */
    public static void warmUp(CamelContext context, String url) {
        Thread t = new Thread(() -> {
            try (CamelHttpTransport http = new CamelHttpTransport(context, 5000)) {
                http.call("GET", url, null);
            } catch (RuntimeException ignored) {
                // only a head start
            }
        }, "http-warmup");
        t.setDaemon(true);
        t.start();
    }

    @Override
    public void close() {
        try {
            template.stop();
        } catch (RuntimeException ignored) {
            // best effort
        }
    }
}
