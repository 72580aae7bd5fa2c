package dev.camelmlops.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Both load generators against a real HTTP server that checks every request. */
class HttpLoadTest {
    private static final String BODY = "{\"instances\": [" + "0.5,".repeat(2000) + "1]}";
    private HttpServer server;
    private String url;
    private final AtomicLong posts = new AtomicLong();

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
        server.createContext("/status", ex -> respond(ex, 200, "{\"ok\": true}"));
        server.createContext("/predict", ex -> {
            String got = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            posts.incrementAndGet();
            respond(ex, "POST".equals(ex.getRequestMethod()) && BODY.equals(got) ? 200 : 400, "{\"predictions\": [1]}");
        });
        server.setExecutor(Executors.newFixedThreadPool(4));
        server.start();
        url = "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private static void respond(HttpExchange ex, int status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(status, b.length);
        try (OutputStream os = ex.getResponseBody()) {
            os.write(b);
        }
    }

    private static void assertSane(HttpLoad.Result r, int connections) {
        assertEquals(connections, r.connections());
        assertTrue(r.requests() > 0, r.toString());
        assertTrue(r.requestsPerSecond() > 0, r.toString());
        assertTrue(r.p50Millis() > 0 && r.p99Millis() >= r.p50Millis(), r.toString());
    }

    @Test
    void socketsSendWholeRequestsAndCountOnlyTheFailedOnes() throws Exception {
        HttpLoad.Result status = HttpLoad.sockets(url + "/status", null, 2, Duration.ofMillis(200), Duration.ofSeconds(1));
        assertSane(status, 2);
        assertEquals(0, status.errors(), status.toString());
        assertEquals(HttpLoad.SOCKETS, status.generator());

        long before = posts.get();
        HttpLoad.Result ok = HttpLoad.sockets(url + "/predict", BODY, 3, Duration.ofMillis(200), Duration.ofSeconds(1));
        assertSane(ok, 3);
        assertEquals(0, ok.errors(), "the server got every body whole: " + ok);
        assertTrue(posts.get() - before >= ok.requests(), "each counted request reached the server");

        HttpLoad.Result rejected = HttpLoad.sockets(url + "/predict", BODY + " ", 2, Duration.ZERO, Duration.ofSeconds(1));
        assertTrue(rejected.requests() > 0);
        assertEquals(rejected.requests(), rejected.errors(), "every 400 is an error: " + rejected);
    }

    @Test
    void wrkWhenInstalled() throws Exception {
        assumeTrue(HttpLoad.wrkInstalled(), "wrk is not installed");
        HttpLoad.Result status = HttpLoad.wrk(url + "/status", null, 2, Duration.ZERO, Duration.ofSeconds(1));
        assertSane(status, 2);
        assertEquals(0, status.errors(), status.toString());
        assertEquals(HttpLoad.WRK, status.generator());

        HttpLoad.Result ok = HttpLoad.wrk(url + "/predict", BODY, 2, Duration.ZERO, Duration.ofSeconds(1));
        assertSane(ok, 2);
        assertEquals(0, ok.errors(), "wrk sent the body as given: " + ok);

        HttpLoad.Result rejected = HttpLoad.wrk(url + "/predict", "{}", 2, Duration.ZERO, Duration.ofSeconds(1));
        assertEquals(rejected.requests(), rejected.errors(), "every 400 is an error: " + rejected);
    }

    @Test
    void wrkReportsAreReadInMilliseconds() throws Exception {
        String report = """
                Running 1s test @ http://127.0.0.1:1/x
                  2 threads and 8 connections
                  Latency Distribution
                     50%  224.00us
                     75%    1.20ms
                     90%    3.00ms
                     99%    1.50s
                  12345 requests in 1.00s, 1.00MB read
                  Socket errors: connect 1, read 2, write 3, timeout 4
                  Non-2xx or 3xx responses: 5
                Requests/sec:  12345.67
                Transfer/sec:      1.00MB
                """;
        HttpLoad.Result r = HttpLoad.parseWrk(report, 8);
        assertEquals(0.224, r.p50Millis(), 1e-9);
        assertEquals(1500, r.p99Millis(), 1e-9);
        assertEquals(12345, r.requests());
        assertEquals(12345.67, r.requestsPerSecond(), 1e-9);
        assertEquals(15, r.errors());
        assertThrows(IOException.class, () -> HttpLoad.parseWrk("unable to connect", 8));
    }
}
