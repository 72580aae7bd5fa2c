package dev.camelmlops.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A closed-loop HTTP load generator: {@code connections} threads, each with its own client (one
 * keep-alive connection), sending requests back to back for a fixed time. Bounded in count and
 * time; loopback only.
 */
final class HttpLoad {
    record Result(int connections, double requestsPerSecond, double p50Millis, double p99Millis, long requests,
                  long errors) {
    }

    private HttpLoad() {
    }

    static Result run(String url, String body, int connections, Duration warmup, Duration duration)
            throws InterruptedException {
        List<long[]> latencies = new ArrayList<>();
        AtomicLong errors = new AtomicLong();
        AtomicLong count = new AtomicLong();
        long warmEnd = System.nanoTime() + warmup.toNanos();
        long end = warmEnd + duration.toNanos();
        Thread[] threads = new Thread[connections];
        for (int t = 0; t < connections; t++) {
            long[] mine = new long[2_000_000];
            latencies.add(mine);
            int slot = t;
            threads[t] = new Thread(() -> {
                HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                        .connectTimeout(Duration.ofSeconds(5)).build();
                HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30));
                HttpRequest req = body == null ? b.GET().build()
                        : b.header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
                int n = 0;
                while (true) {
                    long t0 = System.nanoTime();
                    if (t0 > end) {
                        break;
                    }
                    try {
                        HttpResponse<byte[]> r = client.send(req, HttpResponse.BodyHandlers.ofByteArray());
                        if (r.statusCode() != 200) {
                            errors.incrementAndGet();
                        }
                    } catch (Exception e) {
                        errors.incrementAndGet();
                    }
                    long t1 = System.nanoTime();
                    if (t0 >= warmEnd && n < mine.length) {
                        mine[n++] = t1 - t0;
                        count.incrementAndGet();
                    }
                }
                latencies.set(slot, Arrays.copyOf(mine, n));
            }, "load-" + t);
            threads[t].start();
        }
        for (Thread t : threads) {
            t.join();
        }
        long[] all = latencies.stream().flatMapToLong(Arrays::stream).toArray();
        Arrays.sort(all);
        double p50 = all.length == 0 ? Double.NaN : all[all.length / 2] / 1e6;
        double p99 = all.length == 0 ? Double.NaN : all[Math.min(all.length - 1, (int) (all.length * 0.99))] / 1e6;
        return new Result(connections, count.get() / (duration.toNanos() / 1e9), p50, p99, count.get(), errors.get());
    }
}
