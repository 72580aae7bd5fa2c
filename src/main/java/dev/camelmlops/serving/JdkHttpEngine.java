package dev.camelmlops.serving;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JDK's own HTTP server with a fixed pool of workers: the engine before Netty, kept for
 * side-by-side measurement ({@code serving.engine=jdk}). Its workers read request bodies without
 * a timeout, so slow clients can hold all of them; {@link NettyHttpEngine} does not have that flaw.
 */
final class JdkHttpEngine implements HttpEngine {
    private static final Logger LOG = LoggerFactory.getLogger(JdkHttpEngine.class);

    static {
        // The JDK server writes headers and body in separate packets; with Nagle's algorithm on,
        // each keep-alive response then waits ~40 ms for the client's delayed ACK. It reads this
        // property once, when its configuration class loads.
        if (System.getProperty("sun.net.httpserver.nodelay") == null) {
            System.setProperty("sun.net.httpserver.nodelay", "true");
        }
    }

    private final RestApi api;
    private final long maxRequestBytes;
    private final HttpServer http;
    private final ExecutorService workers;

    JdkHttpEngine(RestApi api, ServingOptions o) throws IOException {
        this.api = api;
        this.maxRequestBytes = o.maxRequestBytes();
        this.http = HttpServer.create(new InetSocketAddress(o.host(), o.port()), 128);
        AtomicInteger n = new AtomicInteger();
        this.workers = Executors.newFixedThreadPool(o.threads(), r -> {
            Thread t = new Thread(r, "serving-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        http.setExecutor(workers);
        http.createContext("/", this::handle);
    }

    @Override
    public void start() {
        http.start();
    }

    @Override
    public InetSocketAddress address() {
        return http.getAddress();
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
            RestApi.Reply reply;
            byte[] body = readBody(ex);
            if (body == null) {
                ex.getResponseHeaders().set("Connection", "close");
                reply = RestApi.tooLarge(maxRequestBytes);
            } else {
                reply = api.handle(ex.getRequestMethod(), ex.getRequestURI().getPath(), body);
            }
            ex.getResponseHeaders().set("Content-Type", reply.contentType());
            ex.sendResponseHeaders(reply.status(), reply.body().length);
            try (OutputStream os = ex.getResponseBody()) {
                os.write(reply.body());
            }
        } catch (IOException e) {
            // The client went away (closed its connection mid-request or before the answer):
            // nothing to answer and nothing wrong with the server.
            LOG.debug("{} {}: client went away: {}", ex.getRequestMethod(), ex.getRequestURI(), e.toString());
        }
    }

    /**
     * Reads the body up to the size limit; null when it is larger. An oversized body is still
     * read to its end (up to a hard cap) and discarded, so the client receives the 413 instead of
     * a reset connection.
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
        return total > maxRequestBytes ? null : buf.toByteArray();
    }
}
