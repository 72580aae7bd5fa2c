package dev.camelmlops.bench;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A closed-loop HTTP load: {@code connections} keep-alive connections sending requests back to
 * back for a fixed time. With wrk installed it runs wrk, a separate process (the server then has
 * the CPU to itself, as in production); else a lean in-process client on plain sockets, one
 * thread per connection, which shares the CPU with the server. java.net.http's client was tried
 * first and measured itself: about 1.5 ms per request, 640 status requests per second where wrk
 * gets 16,000 from the same server.
 */
final class HttpLoad {
    static final String WRK = "wrk";
    static final String SOCKETS = "in-process sockets";

    record Result(int connections, double requestsPerSecond, double p50Millis, double p99Millis, long requests,
                  long errors, String generator) {
    }

    private HttpLoad() {
    }

    /** The generator {@link #run} uses on this machine. */
    static String generator() {
        return wrkInstalled() ? WRK : SOCKETS;
    }

    static Result run(String url, String body, int connections, Duration warmup, Duration duration)
            throws IOException, InterruptedException {
        return wrkInstalled() ? wrk(url, body, connections, warmup, duration)
                : sockets(url, body, connections, warmup, duration);
    }

    static boolean wrkInstalled() {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, "wrk"))) {
                return true;
            }
        }
        return false;
    }

    // ------------------------------------------------------------------------------------ wrk

    static Result wrk(String url, String body, int connections, Duration warmup, Duration duration)
            throws IOException, InterruptedException {
        Path script = null;
        Path bodyFile = null;
        try {
            List<String> base = new ArrayList<>(List.of("wrk", "-t" + Math.min(connections, 2), "-c" + connections));
            if (body != null) {
                bodyFile = Files.createTempFile("mlops-bench-body", ".json");
                Files.writeString(bodyFile, body);
                script = Files.createTempFile("mlops-bench-post", ".lua");
                Files.writeString(script, "wrk.method = \"POST\"\n"
                        + "wrk.headers[\"Content-Type\"] = \"application/json\"\n"
                        + "local f = io.open(\"" + bodyFile.toAbsolutePath() + "\", \"rb\")\n"
                        + "wrk.body = f:read(\"*a\")\n"
                        + "f:close()\n");
                base.addAll(List.of("-s", script.toString()));
            }
            if (!warmup.isZero()) {
                runWrk(base, warmup, url);
            }
            String out = runWrk(base, duration, url);
            return parseWrk(out, connections);
        } finally {
            if (script != null) {
                Files.deleteIfExists(script);
            }
            if (bodyFile != null) {
                Files.deleteIfExists(bodyFile);
            }
        }
    }

    private static String runWrk(List<String> base, Duration d, String url) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(base);
        cmd.addAll(List.of("-d" + Math.max(1, (d.toMillis() + 999) / 1000) + "s", "--latency", url));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(d.toSeconds() + 60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("wrk did not finish: " + out);
        }
        if (p.exitValue() != 0) {
            throw new IOException("wrk exited with " + p.exitValue() + ": " + out);
        }
        return out;
    }

    private static final Pattern RPS = Pattern.compile("Requests/sec:\\s+([0-9.]+)");
    private static final Pattern TOTAL = Pattern.compile("([0-9]+) requests in");
    private static final Pattern NON_2XX = Pattern.compile("Non-2xx or 3xx responses:\\s+([0-9]+)");
    private static final Pattern SOCKET_ERRORS = Pattern.compile(
            "Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)");

    /** The figures of wrk's report (with --latency). */
    static Result parseWrk(String out, int connections) throws IOException {
        Matcher rps = RPS.matcher(out);
        Matcher total = TOTAL.matcher(out);
        double p50 = percentile(out, "50%");
        double p99 = percentile(out, "99%");
        if (!rps.find() || !total.find() || Double.isNaN(p50) || Double.isNaN(p99)) {
            throw new IOException("cannot read wrk's report: " + out);
        }
        long errors = 0;
        Matcher non2xx = NON_2XX.matcher(out);
        if (non2xx.find()) {
            errors += Long.parseLong(non2xx.group(1));
        }
        Matcher socket = SOCKET_ERRORS.matcher(out);
        if (socket.find()) {
            for (int g = 1; g <= 4; g++) {
                errors += Long.parseLong(socket.group(g));
            }
        }
        return new Result(connections, Double.parseDouble(rps.group(1)), p50, p99, Long.parseLong(total.group(1)),
                errors, WRK);
    }

    /** A line of the latency distribution, e.g. "     50%  224.00us", in milliseconds. */
    private static double percentile(String out, String label) {
        Matcher m = Pattern.compile("(?m)^\\s*" + Pattern.quote(label) + "\\s+([0-9.]+)(us|ms|s|m)\\s*$").matcher(out);
        if (!m.find()) {
            return Double.NaN;
        }
        double v = Double.parseDouble(m.group(1));
        return switch (m.group(2).toLowerCase(Locale.ROOT)) {
            case "us" -> v / 1000;
            case "ms" -> v;
            case "s" -> v * 1000;
            default -> v * 60_000;
        };
    }

    // -------------------------------------------------------------------------------- sockets

    static Result sockets(String url, String body, int connections, Duration warmup, Duration duration)
            throws InterruptedException {
        URI uri = URI.create(url);
        String path = uri.getRawPath() + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery());
        byte[] payload = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
        String head = (body == null ? "GET " : "POST ") + path + " HTTP/1.1\r\nHost: " + uri.getHost() + ":"
                + uri.getPort() + "\r\n" + (body == null ? "" : "Content-Type: application/json\r\nContent-Length: "
                + payload.length + "\r\n") + "\r\n";
        byte[] headBytes = head.getBytes(StandardCharsets.US_ASCII);
        byte[] request = Arrays.copyOf(headBytes, headBytes.length + payload.length);
        System.arraycopy(payload, 0, request, headBytes.length, payload.length);

        AtomicLong errors = new AtomicLong();
        long warmEnd = System.nanoTime() + warmup.toNanos();
        long end = warmEnd + duration.toNanos();
        long[][] latencies = new long[connections][];
        int[] counts = new int[connections];
        Thread[] threads = new Thread[connections];
        for (int t = 0; t < connections; t++) {
            int slot = t;
            latencies[t] = new long[1 << 20];
            threads[t] = new Thread(() -> {
                long[] mine = latencies[slot];
                int n = 0;
                Connection c = null;
                while (true) {
                    long t0 = System.nanoTime();
                    if (t0 > end) {
                        break;
                    }
                    int status;
                    try {
                        if (c == null) {
                            c = new Connection(uri.getHost(), uri.getPort());
                        }
                        status = c.exchange(request);
                    } catch (IOException e) {
                        status = -1;
                        if (c != null) {
                            c.close();
                        }
                        c = null;
                    }
                    long t1 = System.nanoTime();
                    if (t0 >= warmEnd) {
                        if (status != 200) {
                            errors.incrementAndGet();
                        }
                        if (n < mine.length) {
                            mine[n++] = t1 - t0;
                        }
                    }
                }
                if (c != null) {
                    c.close();
                }
                counts[slot] = n;
            }, "load-" + t);
            threads[t].start();
        }
        for (Thread t : threads) {
            t.join();
        }
        long[] all = new long[Arrays.stream(counts).sum()];
        int at = 0;
        for (int t = 0; t < connections; t++) {
            System.arraycopy(latencies[t], 0, all, at, counts[t]);
            at += counts[t];
        }
        Arrays.sort(all);
        double p50 = all.length == 0 ? Double.NaN : all[all.length / 2] / 1e6;
        double p99 = all.length == 0 ? Double.NaN : all[Math.min(all.length - 1, (int) (all.length * 0.99))] / 1e6;
        return new Result(connections, all.length / (duration.toNanos() / 1e9), p50, p99, all.length, errors.get(),
                SOCKETS);
    }

    /** One keep-alive HTTP/1.1 connection: writes a prepared request, reads one response. */
    private static final class Connection implements AutoCloseable {
        private final Socket socket;
        private final OutputStream out;
        private final InputStream in;
        private final byte[] skip = new byte[1 << 16];

        Connection(String host, int port) throws IOException {
            socket = new Socket();
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress(host, port), 5000);
            socket.setSoTimeout(30_000);
            out = socket.getOutputStream();
            in = new BufferedInputStream(socket.getInputStream(), 1 << 16);
        }

        /** Sends the request and reads the whole response; returns its status. */
        int exchange(byte[] request) throws IOException {
            out.write(request);
            out.flush();
            String statusLine = line();
            String[] parts = statusLine.split(" ", 3);
            if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
                throw new IOException("not an HTTP response: " + statusLine);
            }
            int status = Integer.parseInt(parts[1]);
            long length = -1;
            boolean chunked = false;
            boolean close = false;
            for (String h = line(); !h.isEmpty(); h = line()) {
                String lower = h.toLowerCase(Locale.ROOT);
                if (lower.startsWith("content-length:")) {
                    length = Long.parseLong(lower.substring(15).trim());
                } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
                    chunked = true;
                } else if (lower.startsWith("connection:") && lower.contains("close")) {
                    close = true;
                }
            }
            if (chunked) {
                for (long size = Long.parseLong(line().split(";")[0].trim(), 16); size > 0;
                     size = Long.parseLong(line().split(";")[0].trim(), 16)) {
                    skip(size);
                    line();
                }
                for (String trailer = line(); !trailer.isEmpty(); trailer = line()) {
                    // trailers are not used
                }
            } else if (length >= 0) {
                skip(length);
            } else {
                throw new IOException("response without Content-Length or chunked encoding");
            }
            if (close) {
                throw new IOException("the server closed the connection");
            }
            return status;
        }

        private void skip(long n) throws IOException {
            long left = n;
            while (left > 0) {
                int r = in.read(skip, 0, (int) Math.min(skip.length, left));
                if (r < 0) {
                    throw new IOException("connection closed in a response body");
                }
                left -= r;
            }
        }

        private String line() throws IOException {
            StringBuilder b = new StringBuilder(64);
            while (true) {
                int c = in.read();
                if (c < 0) {
                    throw new IOException("connection closed");
                }
                if (c == '\n') {
                    int len = b.length();
                    if (len > 0 && b.charAt(len - 1) == '\r') {
                        b.setLength(len - 1);
                    }
                    return b.toString();
                }
                b.append((char) c);
            }
        }

        @Override
        public void close() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }
}
