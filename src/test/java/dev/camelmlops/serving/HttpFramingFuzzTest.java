package dev.camelmlops.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.camelmlops.testing.Http;
import dev.camelmlops.testing.TinyModels;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mutated HTTP framing (request lines, headers, Content-Length, chunk sizes, truncation) sent to
 * the default engine, 400 connections at once: each gets answers with an expected status and a
 * JSON error body when it is an error, or none, and is closed by the server within its request timeout; the server keeps
 * answering and is left with no open connection.
 */
class HttpFramingFuzzTest {
    @TempDir
    Path base;

    private static final Pattern STATUS = Pattern.compile("HTTP/1\\.[01] (\\d{3}) ");
    private static final Set<Integer> EXPECTED = Set.of(100, 200, 400, 404, 405, 413, 417, 431);

    /** One 28x28x1 image of the tiny model. */
    private static final String BODY = "{\"instances\": [[" + String.join(",",
            java.util.Collections.nCopies(28, "[" + String.join(",", java.util.Collections.nCopies(28, "[0.5]")) + "]"))
            + "]]}";

    private static String[] seeds() {
        String body = BODY;
        return new String[]{
            "GET /v1/models/my_model HTTP/1.1\r\nHost: t\r\n\r\n",
            "POST /v1/models/my_model:predict HTTP/1.1\r\nHost: t\r\nContent-Length: " + body.length() + "\r\n\r\n" + body,
            "POST /v1/models/my_model:predict HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "a\r\n" + body.substring(0, 10) + "\r\n" + Integer.toHexString(body.length() - 10) + "\r\n"
                    + body.substring(10) + "\r\n0\r\n\r\n",
            "POST /v1/models/my_model:predict HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: "
                    + body.length() + "\r\n\r\n" + body,
            "GET /monitoring/prometheus/metrics HTTP/1.0\r\n\r\n",
        };
    }

    private static final String[] INSERTS = {"\r\n", ":", " ", "0", "-", "ffffffff", "\u0000", "%", "\r\n\r\n",
        "Content-Length: 5\r\n", "Transfer-Encoding: chunked\r\n", "Content-Length: -1\r\n", "x".repeat(20_000)};

    private static byte[] mutate(String seed, Random rnd) {
        StringBuilder s = new StringBuilder(seed);
        int edits = 1 + rnd.nextInt(4);
        for (int e = 0; e < edits && s.length() > 0; e++) {
            int at = rnd.nextInt(s.length());
            switch (rnd.nextInt(4)) {
                case 0 -> s.setCharAt(at, (char) rnd.nextInt(256));
                case 1 -> s.insert(at, INSERTS[rnd.nextInt(INSERTS.length)]);
                case 2 -> s.delete(at, Math.min(s.length(), at + 1 + rnd.nextInt(8)));
                default -> s.setLength(at); // truncated
            }
        }
        return s.toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    @Test
    void mutatedRequestsGetExpectedAnswersOrNoneAndEveryConnectionIsClosed() throws Exception {
        TinyModels.export(base.resolve("1"), 1);
        try (ModelVersionWatcher w = new ModelVersionWatcher("my_model", base, Duration.ofHours(1));
             ModelServer s = new ModelServer(w, ServingOptions.of("127.0.0.1", 0, 2, 100_000)
                     .withRequestTimeout(Duration.ofSeconds(2)))) {
            w.start();
            s.start();
            Random rnd = new Random(20261129L);
            String[] seeds = seeds();
            ExecutorService pool = Executors.newFixedThreadPool(50);
            try {
                List<Future<String>> outcomes = new ArrayList<>();
                for (int k = 0; k < 400; k++) {
                    byte[] req = mutate(seeds[k % seeds.length], rnd);
                    boolean halfClose = rnd.nextBoolean();
                    outcomes.add(pool.submit(() -> exchange(s.port(), req, halfClose)));
                }
                for (Future<String> f : outcomes) {
                    String problem = f.get(60, TimeUnit.SECONDS);
                    assertEquals(null, problem);
                }
            } finally {
                pool.shutdownNow();
            }
            Http.Response r = Http.post(s.baseUrl() + "/v1/models/my_model:predict", BODY);
            assertEquals(200, r.status(), r.body());
            assertEquals(10, r.json().get("predictions").get(0).size(), r.body());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (s.openConnections() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertEquals(0, s.openConnections(), "connections left open");
        }
    }

    /** Null when the exchange was acceptable, else what was wrong (with the request). */
    private static String exchange(int port, byte[] req, boolean halfClose) throws Exception {
        try (Socket k = new Socket("127.0.0.1", port)) {
            // The server closes an idle or unfinished connection after 2 s; 8 s without its close is a hang.
            k.setSoTimeout(8_000);
            try {
                k.getOutputStream().write(req);
                if (halfClose) {
                    k.shutdownOutput();
                }
            } catch (java.io.IOException e) {
                return null; // the server closed first (an oversized header): acceptable
            }
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            InputStream in = k.getInputStream();
            byte[] buf = new byte[8192];
            try {
                int n;
                while ((n = in.read(buf)) >= 0) {
                    got.write(buf, 0, n);
                }
            } catch (SocketTimeoutException e) {
                return "not closed within 8 s after: " + preview(req);
            } catch (java.io.IOException e) {
                // a reset is an acceptable end
            }
            String text = got.toString(StandardCharsets.ISO_8859_1);
            Matcher m = STATUS.matcher(text);
            while (m.find()) {
                int status = Integer.parseInt(m.group(1));
                if (!EXPECTED.contains(status)) {
                    return "status " + status + " for: " + preview(req);
                }
                int end = text.indexOf("\r\n\r\n", m.end());
                String headers = end < 0 ? "" : text.substring(m.end(), end).toLowerCase(java.util.Locale.ROOT);
                if (status >= 400 && !headers.contains("content-type: application/json")) {
                    return "error " + status + " without a JSON body for: " + preview(req);
                }
            }
            return null;
        }
    }

    private static String preview(byte[] req) {
        String s = new String(req, StandardCharsets.ISO_8859_1);
        return (s.length() > 200 ? s.substring(0, 200) + "..." : s).replace("\r", "\\r").replace("\n", "\\n");
    }
}
