package dev.camelmlops.bench;

import dev.camelmlops.data.FashionMnistFiles;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/** Runs every benchmark in order and renders the table. */
public final class BenchRun {
    private BenchRun() {
    }

    /** The steps, in the order they run. */
    public enum Step {
        data, tutorial, roof, training, defaultModel, pipeline, serving, reloads, sftp
    }

    /** @param only the steps to run; null or empty: all */
    public static Map<String, Object> all(FashionMnistFiles files, boolean quick, java.util.Set<Step> only,
                                          PrintStream out, Path scratch, Path home, String commit) throws Exception {
        java.util.function.Predicate<Step> on = st -> only == null || only.isEmpty() || only.contains(st)
                || st == Step.tutorial && (only.contains(Step.serving) || only.contains(Step.reloads));
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("date", Instant.now().toString());
        meta.put("cores", Runtime.getRuntime().availableProcessors());
        meta.put("java", System.getProperty("java.version"));
        meta.put("quick", quick);
        meta.put("commit", commit == null ? "unknown" : commit);
        Benchmarks b = new Benchmarks(files, quick, out, scratch);
        b.results().put("machine", meta);
        try {
            // Always: it also loads the data the other steps use.
            b.guard("dataLoading", b::dataLoading);
            Path[] tutorial = {null};
            if (on.test(Step.tutorial)) {
                b.guard("tutorial", () -> tutorial[0] = b.tutorialRun());
            }
            double[] roof = {Double.NaN};
            if (on.test(Step.roof) || on.test(Step.training)) {
                b.guard("matmulRoof", () -> roof[0] = b.matmulRoof());
            }
            if (on.test(Step.training)) {
                b.guard("trainingThroughput", () -> b.trainingThroughput(roof[0]));
            }
            if (on.test(Step.defaultModel)) {
                b.guard("defaultModel", b::defaultWithin60s);
            }
            b.guard("pipeline", () -> {
                if (!on.test(Step.pipeline)) {
                    return;
                }
                Map<String, Object> r = PipelineBench.run(home, Files.createDirectories(scratch.resolve("pipeline")),
                        files.trainImages().getParent(), quick);
                b.results().put("pipeline", r);
                out.printf(Locale.ROOT, "bench: mlops run (tutorial%s; median of %d after one warm-up run): %.1f s wall,"
                                + " %.1f s training, overhead %.1f s (all: %s), peak RSS %.0f MB%n",
                        quick ? ", 1 epoch" : "", r.get("measuredRuns"), r.get("wallSeconds"),
                        r.getOrDefault("trainingSeconds", Double.NaN), r.getOrDefault("overheadSeconds", Double.NaN),
                        r.get("overheadSecondsAll"), r.get("peakRssMB"));
            });
            if (tutorial[0] != null && on.test(Step.serving)) {
                b.guard("serving", () -> b.serving(tutorial[0]));
            }
            if (tutorial[0] != null && on.test(Step.reloads)) {
                b.guard("reloads", () -> b.reloads(tutorial[0]));
            }
            b.guard("sftp", () -> {
                if (!on.test(Step.sftp)) {
                    return;
                }
                Map<String, Object> r = SftpBench.inChildJvm(Files.createDirectories(scratch.resolve("sftp")),
                        quick ? 40_000_000L : 200_000_000L, quick ? 1 : 3);
                b.results().put("sftp", r);
                out.printf(Locale.ROOT, "bench: SFTP deploy of %.0f MB (median of %s): Camel sftp %.1f MB/s, OpenSSH sftp"
                                + " %s MB/s; heap %.0f MB before, peak %.0f MB used (with garbage), %.0f MB after a GC"
                                + " (-Xmx256m)%n", ((Number) r.get("bytes")).doubleValue() / 1e6,
                        r.get("repeats"), r.get("camelSftpMBps"), r.containsKey("opensshMBps")
                                ? String.format(Locale.ROOT, "%.1f", r.get("opensshMBps")) : String.valueOf(r.get("openssh")),
                        r.get("heapBeforeMB"), r.get("heapPeakDuringUploadMB"), r.get("heapAfterUploadsAndGcMB"));
            });
        } finally {
            deleteTree(scratch);
        }
        return b.results();
    }

    @SuppressWarnings("unchecked")
    public static String table(Map<String, Object> r) {
        StringBuilder t = new StringBuilder();
        Map<String, Object> meta = (Map<String, Object>) r.get("machine");
        t.append(String.format(Locale.ROOT, "%n%d cores, commit %s, %s%s%n%n", meta.get("cores"), meta.get("commit"),
                meta.get("date"), Boolean.TRUE.equals(meta.get("quick")) ? " (--quick)" : ""));
        t.append(String.format("%-44s %-30s %-30s %s%n", "figure", "value", "reference (same run)", "goal"));
        row(t, r, "trainingThroughput", m -> String.format(Locale.ROOT, "%.0f img/s, %.2f GFLOP/s",
                m.get("imagesPerSecond"), m.get("achievedGflops")), m -> String.format(Locale.ROOT,
                "MatMul %.1f GFLOP/s (%.0f%%)", m.get("roofGflops"), 100 * num(m.get("ratio"))), "training (default model)");
        row(t, r, "trainingThroughputFlopHeavy", m -> String.format(Locale.ROOT, "%.0f img/s, %.2f GFLOP/s",
                m.get("imagesPerSecond"), m.get("achievedGflops")), m -> String.format(Locale.ROOT,
                "MatMul %.1f GFLOP/s (%.0f%%)", m.get("roofGflops"), 100 * num(m.get("ratio"))),
                "training (wide MLP, FLOP-heavy)");
        row(t, r, "tutorial", m -> String.format(Locale.ROOT, "%.1f s, accuracy %.4f", m.get("seconds"),
                m.get("testAccuracy")), m -> "-", "tutorial model, 5 epochs");
        row(t, r, "defaultModel", m -> m.containsKey("skipped") ? "skipped (--quick)"
                : String.format(Locale.ROOT, "accuracy %.4f", m.get("accuracyWithin60s")), m -> "-",
                "default model within 60 s of training");
        row(t, r, "dataLoading", m -> String.format(Locale.ROOT, "%.3f s", m.get("readAndValidateSeconds")),
                m -> String.format(Locale.ROOT, "gunzip %.3f s (%.0f%%)", m.get("gzipOnlySeconds"),
                        100 * num(m.get("ratio"))), "read + validate the 4 IDX files");
        row(t, r, "pipeline", m -> String.format(Locale.ROOT, "overhead %.1f s of %.1f s",
                m.get("overheadSeconds"), m.get("wallSeconds")), m -> String.format(Locale.ROOT, "peak RSS %.0f MB",
                m.get("peakRssMB")), "mlops run: wall - training; peak RSS");
        if (r.get("serving") instanceof Map<?, ?> s && s.get("rows") instanceof List<?> rows) {
            for (Object o : rows) {
                Map<String, Object> row = (Map<String, Object>) o;
                HttpLoad.Result st = (HttpLoad.Result) row.get("status");
                HttpLoad.Result noop = (HttpLoad.Result) row.get("noop");
                HttpLoad.Result p1 = (HttpLoad.Result) row.get("predict1");
                HttpLoad.Result p32 = (HttpLoad.Result) row.get("predict32");
                t.append(String.format(Locale.ROOT, "%-44s %-30s %-30s %s%n",
                        "serving " + row.get("engine") + ", " + row.get("connections") + " conn: predict 1 / 32",
                        String.format(Locale.ROOT, "%.0f / %.0f req/s", p1.requestsPerSecond(), p32.requestsPerSecond()),
                        String.format(Locale.ROOT, "no-op %.0f (%.0f%%), status %.0f", noop.requestsPerSecond(),
                                100 * p1.requestsPerSecond() / noop.requestsPerSecond(), st.requestsPerSecond()),
                        String.format(Locale.ROOT, "p50/p99 %.2f/%.2f ms (1 image)", p1.p50Millis(), p1.p99Millis())));
            }
            if (s.get("slowClients") instanceof Map<?, ?> slow && slow.get("predict1At8") instanceof HttpLoad.Result p) {
                t.append(String.format(Locale.ROOT, "%-44s %-30s %-30s %s%n",
                        "serving " + slow.get("engine") + ", 8 conn + " + slow.get("stalledConnections") + " stalled",
                        String.format(Locale.ROOT, "%.0f req/s", p.requestsPerSecond()), "-",
                        String.format(Locale.ROOT, "p50/p99 %.2f/%.2f ms, %d errors", p.p50Millis(), p.p99Millis(),
                                p.errors())));
            }
        }
        row(t, r, "reloads", m -> String.format(Locale.ROOT, "RSS %.0f -> max %.0f -> %.0f MB",
                m.get("rssStartMB"), m.get("rssMaxMB"), m.get("rssEndMB")), m -> String.format(Locale.ROOT,
                "%s failed of %s requests", m.get("failedRequests"), m.get("answers")),
                "serving: 30 (60) version reloads under load");
        row(t, r, "sftp", m -> String.format(Locale.ROOT, "%.1f MB/s", m.get("camelSftpMBps")),
                m -> m.containsKey("opensshMBps") ? String.format(Locale.ROOT, "OpenSSH %.1f MB/s (%.0f%%)",
                        m.get("opensshMBps"), 100 * num(m.get("ratio"))) : String.valueOf(m.get("openssh")),
                "SFTP deploy (Camel sftp, in-process SSHD)");
        return t.toString();
    }

    private interface Cell {
        String of(Map<String, Object> m);
    }

    @SuppressWarnings("unchecked")
    private static void row(StringBuilder t, Map<String, Object> r, String key, Cell value, Cell ref, String label) {
        Object o = r.get(key);
        if (!(o instanceof Map<?, ?>)) {
            return;
        }
        Map<String, Object> m = (Map<String, Object>) o;
        String goal = String.valueOf(m.getOrDefault("goal", ""));
        if (m.containsKey("error")) {
            t.append(String.format("%-44s %s%n", label, "FAILED: " + m.get("error")));
            return;
        }
        t.append(String.format("%-44s %-30s %-30s %s%n", label, value.of(m), ref.of(m), goal));
    }

    private static double num(Object o) {
        return o instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException ignored) {
            // temporary files
        }
    }
}
