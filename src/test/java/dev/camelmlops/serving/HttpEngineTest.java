package dev.camelmlops.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.camelmlops.testing.Http;
import dev.camelmlops.testing.RawHttp;
import dev.camelmlops.testing.TinyModels;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * HTTP/1.1 as clients really send it, on plain sockets, against each engine: keep-alive,
 * pipelining, {@code Expect: 100-continue}, chunked bodies (also malformed ones), the body limit;
 * and what the default engine must survive: slow and vanishing clients, too many connections.
 */
class HttpEngineTest {
    private static final String MODEL = "/v1/models/my_model";
    @TempDir
    static Path base;
    static String image;

    private final List<AutoCloseable> open = new ArrayList<>();

    @BeforeAll
    static void model() {
        TinyModels.export(base.resolve("1"), 1);
        StringBuilder b = new StringBuilder("[");
        for (int y = 0; y < 28; y++) {
            b.append(y == 0 ? "[" : ",[");
            for (int x = 0; x < 28; x++) {
                b.append(x == 0 ? "" : ",").append("[").append((x * y) % 7 / 7.0).append("]");
            }
            b.append("]");
        }
        image = b.append("]").toString();
    }

    private static String predictBody() {
        return "{\"instances\": [" + image + "]}";
    }

    private ModelServer serve(ServingOptions o) throws IOException {
        ModelVersionWatcher w = new ModelVersionWatcher("my_model", base, Duration.ofHours(1));
        open.add(w);
        w.start();
        ModelServer s = new ModelServer(w, o);
        open.add(0, s);
        s.start();
        return s;
    }

    private ModelServer serve(ServingOptions.Engine e) throws IOException {
        return serve(ServingOptions.of("127.0.0.1", 0, 4, 100_000).withEngine(e));
    }

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : open) {
            c.close();
        }
    }

    private static void assertPrediction(RawHttp.Response r) {
        assertEquals(200, r.status(), r.body());
        assertEquals(10, Http.parse(r.body()).get("predictions").get(0).size(), r.body());
    }

    @ParameterizedTest
    @EnumSource(ServingOptions.Engine.class)
    void keepAliveAndPipelinedRequestsAreAnsweredInOrderOnOneConnection(ServingOptions.Engine engine) throws Exception {
        ModelServer s = serve(engine);
        try (RawHttp c = new RawHttp(s.port(), 10_000)) {
            // Three requests in one write, the middle one a predict: answers come back in order.
            c.send(RawHttp.get(MODEL) + RawHttp.post(MODEL + ":predict", predictBody()) + RawHttp.get(MODEL + "/metadata"));
            RawHttp.Response status = c.read();
            assertEquals(200, status.status(), status.body());
            assertTrue(status.body().contains("AVAILABLE"), status.body());
            assertPrediction(c.read());
            RawHttp.Response metadata = c.read();
            assertEquals(200, metadata.status(), metadata.body());
            assertTrue(metadata.body().contains("signature_def"), metadata.body());
            // The connection is still open for more.
            assertPrediction(c.send(RawHttp.post(MODEL + ":predict", predictBody())).read());
        }
    }

    @ParameterizedTest
    @EnumSource(ServingOptions.Engine.class)
    void expectContinueGetsA100ThenTheAnswer(ServingOptions.Engine engine) throws Exception {
        ModelServer s = serve(engine);
        byte[] body = predictBody().getBytes(StandardCharsets.UTF_8);
        try (RawHttp c = new RawHttp(s.port(), 10_000)) {
            c.send("POST " + MODEL + ":predict HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: "
                    + body.length + "\r\n\r\n");
            RawHttp.Response cont = c.read();
            assertEquals(100, cont.status());
            c.send(new String(body, StandardCharsets.ISO_8859_1));
            assertPrediction(c.read());
        }
    }

    /** A body announced over the limit is refused before it is sent; the connection stays usable. */
    @Test
    void expectContinueOverTheLimitGets413InJsonBeforeTheBody() throws Exception {
        ModelServer s = serve(ServingOptions.Engine.NETTY);
        try (RawHttp c = new RawHttp(s.port(), 10_000)) {
            c.send("POST " + MODEL + ":predict HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5000000\r\n\r\n");
            RawHttp.Response r = c.read();
            assertEquals(413, r.status(), r.body());
            assertTrue(Http.parse(r.body()).get("error").asText().contains("limit of 100000 bytes"), r.body());
            assertPrediction(c.send(RawHttp.post(MODEL + ":predict", predictBody())).read());
        }
    }

    @ParameterizedTest
    @EnumSource(ServingOptions.Engine.class)
    void aChunkedBodyIsAnswered(ServingOptions.Engine engine) throws Exception {
        ModelServer s = serve(engine);
        String body = predictBody();
        StringBuilder chunked = new StringBuilder();
        for (int i = 0; i < body.length(); i += 1000) {
            String part = body.substring(i, Math.min(body.length(), i + 1000));
            chunked.append(Integer.toHexString(part.length())).append("\r\n").append(part).append("\r\n");
        }
        chunked.append("0\r\n\r\n");
        try (RawHttp c = new RawHttp(s.port(), 10_000)) {
            c.send("POST " + MODEL + ":predict HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked);
            assertPrediction(c.read());
        }
    }

    @ParameterizedTest
    @EnumSource(ServingOptions.Engine.class)
    void aBodyOverTheLimitGets413InJson(ServingOptions.Engine engine) throws Exception {
        ModelServer s = serve(engine);
        String big = "{\"instances\": [" + "0.5,".repeat(40_000) + "0.5]}";
        try (RawHttp c = new RawHttp(s.port(), 10_000)) {
            RawHttp.Response r = c.send(RawHttp.post(MODEL + ":predict", big)).read();
            assertEquals(413, r.status(), r.body());
            assertTrue(Http.parse(r.body()).get("error").asText().contains("limit of 100000 bytes"), r.body());
        }
    }

    /** A bad chunk size used to hang a JDK worker; the default engine answers 400 and closes. */
    @Test
    void aMalformedChunkSizeIsRefusedAndTheConnectionClosed() throws Exception {
        ModelServer s = serve(ServingOptions.Engine.NETTY);
        for (String size : new String[]{"zz", "-5", "ffffffffffffffffff"}) {
            try (RawHttp c = new RawHttp(s.port(), 10_000)) {
                c.send("POST " + MODEL + ":predict HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + size + "\r\n{\"instances\"\r\n0\r\n\r\n");
                RawHttp.Response r = c.read();
                assertEquals(400, r.status(), size + ": " + r.body());
                assertTrue(Http.parse(r.body()).get("error").asText().startsWith("malformed HTTP request"), r.body());
                assertTrue(c.closedByServer(), size + ": the connection stays open");
            }
        }
        assertEquals(200, Http.get(s.baseUrl() + MODEL).status());
    }

    /**
     * 200 connections that send one byte of a request and stall, then one that sends half a
     * body and stalls: predicts on other connections go on being answered, and once the request
     * timeout has passed the server has closed every stalled connection.
     */
    @Test
    void slowClientsDoNotHoldUpOthersAndAreClosedAfterTheRequestTimeout() throws Exception {
        ModelServer s = serve(ServingOptions.of("127.0.0.1", 0, 2, 100_000).withRequestTimeout(Duration.ofSeconds(2)));
        List<Socket> slow = new ArrayList<>();
        try {
            for (int i = 0; i < 200; i++) {
                Socket k = new Socket("127.0.0.1", s.port());
                k.getOutputStream().write('P');
                k.getOutputStream().flush();
                slow.add(k);
            }
            RawHttp half = new RawHttp(s.port(), 10_000);
            open.add(half);
            String req = RawHttp.post(MODEL + ":predict", predictBody());
            half.send(req.substring(0, req.length() / 2));
            // Normal clients are answered meanwhile, each on a new connection and on one kept open.
            try (RawHttp c = new RawHttp(s.port(), 5_000)) {
                for (int i = 0; i < 20; i++) {
                    assertPrediction(c.send(RawHttp.post(MODEL + ":predict", predictBody())).read());
                    try (RawHttp d = new RawHttp(s.port(), 5_000)) {
                        assertPrediction(d.send(RawHttp.post(MODEL + ":predict", predictBody())).read());
                    }
                }
            }
            // The stalled ones are closed by the server once their 2 s are up (bounded wait).
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (s.openConnections() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertEquals(0, s.openConnections(), "connections left open after the request timeout");
            assertTrue(half.closedByServer(), "a half-sent request was not timed out");
            slow.get(0).setSoTimeout(5_000);
            assertEquals(-1, slow.get(0).getInputStream().read(), "a one-byte client was not closed");
        } finally {
            for (Socket k : slow) {
                k.close();
            }
        }
    }

    /** The control: on the JDK engine the same stalled clients take every worker. */
    @Test
    void theJdkEngineIsHeldUpByAsManyStalledClientsAsItHasWorkers() throws Exception {
        ModelServer s = serve(ServingOptions.of("127.0.0.1", 0, 2, 100_000).withEngine(ServingOptions.Engine.JDK));
        List<Socket> slow = new ArrayList<>();
        ExecutorService client = Executors.newSingleThreadExecutor();
        try {
            for (int i = 0; i < 2; i++) {
                Socket k = new Socket("127.0.0.1", s.port());
                k.getOutputStream().write(RawHttp.post(MODEL + ":predict", predictBody()).substring(0, 200)
                        .getBytes(StandardCharsets.ISO_8859_1));
                slow.add(k);
            }
            Future<Integer> answer = client.submit(() -> {
                try (RawHttp c = new RawHttp(s.port(), 60_000)) {
                    return c.send(RawHttp.get(MODEL)).read().status();
                }
            });
            assertThrows(TimeoutException.class, () -> answer.get(2, TimeUnit.SECONDS));
            for (Socket k : slow) {
                k.close();
            }
            assertEquals(200, answer.get(30, TimeUnit.SECONDS));
        } finally {
            for (Socket k : slow) {
                k.close();
            }
            client.shutdownNow();
        }
    }

    @Test
    void connectionsBeyondTheLimitAreClosedAndTheOthersServed() throws Exception {
        ModelServer s = serve(ServingOptions.of("127.0.0.1", 0, 2, 100_000).withMaxConnections(3));
        List<RawHttp> kept = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            RawHttp c = new RawHttp(s.port(), 5_000);
            open.add(c);
            kept.add(c);
            assertEquals(200, c.send(RawHttp.get(MODEL)).read().status());
        }
        try (RawHttp extra = new RawHttp(s.port(), 5_000)) {
            assertTrue(extra.closedByServer(), "a fourth connection was accepted");
        }
        kept.get(0).close();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (s.openConnections() > 2 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        try (RawHttp again = new RawHttp(s.port(), 5_000)) {
            assertEquals(200, again.send(RawHttp.get(MODEL)).read().status());
        }
        assertPrediction(kept.get(1).send(RawHttp.post(MODEL + ":predict", predictBody())).read());
    }

    @Test
    void clientsThatVanishMidRequestLeaveNothingBehind() throws Exception {
        ModelServer s = serve(ServingOptions.Engine.NETTY);
        String req = RawHttp.post(MODEL + ":predict", predictBody());
        for (int i = 0; i < 50; i++) {
            try (Socket k = new Socket("127.0.0.1", s.port())) {
                k.setSoLinger(true, 0); // a reset, as a crashed client
                k.getOutputStream().write(req.substring(0, (i * 97) % req.length()).getBytes(StandardCharsets.ISO_8859_1));
            }
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (s.openConnections() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(0, s.openConnections());
        try (RawHttp c = new RawHttp(s.port(), 5_000)) {
            assertPrediction(c.send(req).read());
        }
    }
}
