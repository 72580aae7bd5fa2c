package dev.camelmlops.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.camelmlops.serving.ServingClient;
import dev.camelmlops.testing.TinyModels;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reload bench step alone, run by hand (it is a measurement, not a test):
 * {@code ./mvnw -B test -Dtest=ReloadBenchManualTest -Dbench.reloads=30}.
 */
@EnabledIfSystemProperty(named = "bench.reloads", matches = "[0-9]+")
class ReloadBenchManualTest {
    @TempDir
    Path dir;

    @Test
    @SuppressWarnings("unchecked")
    void reloads() throws Exception {
        int n = Integer.parseInt(System.getProperty("bench.reloads"));
        Path model = dir.resolve("model");
        TinyModels.export(model, 1);
        float[][] image = new float[1][784];
        Map<String, Object> r = ReloadBench.run(model, dir.resolve("scratch"), ServingClient.requestBody(image, null),
                n, 2);
        List<Double> rss = (List<Double>) r.get("rssAfterEachReloadMB");
        List<Double> heap = (List<Double>) r.get("heapCommittedAfterEachReloadMB");
        StringBuilder tenth = new StringBuilder();
        for (int i = 9; i < rss.size(); i += 10) {
            tenth.append(String.format(" %d:%.1f(heap %.0f)", i + 1, rss.get(i), heap.get(i)));
        }
        System.out.printf("reload bench: %d reloads, %s answers, %s failed; RSS start %.1f MB, after reloads%s MB;"
                        + " max %.1f, end %.1f, after GC %.1f MB%n", n, r.get("answers"), r.get("failedRequests"),
                r.get("rssStartMB"), tenth, r.get("rssMaxMB"), r.get("rssEndMB"), r.get("rssAfterGcMB"));
        System.out.println("reload bench: publish-to-served ms " + r.get("publishToServedMillis"));
        assertEquals(0L, r.get("failedRequests"));
        assertEquals(1L, r.get("openVersionsAfter"));
    }
}
