package dev.camelmlops.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.camelmlops.data.Dataset;
import dev.camelmlops.data.PreparedData;
import dev.camelmlops.registry.ModelManifest;
import dev.camelmlops.registry.ModelVersions;
import dev.camelmlops.registry.WorkDir;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import javax.imageio.ImageIO;

/**
 * Writes {@code report.html} (self-contained: inline SVG charts and PNG data URIs, no scripts, no
 * network) and {@code metrics.json} for a run from what its stages left in the work folder:
 * learning curves, confusion heat map, per-class precision/recall, misclassified test images,
 * gates, data and model manifests, stage timings, and the comparison with the previous model.
 */
public final class ReportWriter {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private ReportWriter() {
    }

    /** @param run the run's ledger record; @param previous the previous deployed model's metrics, if known */
    @SuppressWarnings("unchecked")
    public static Path write(WorkDir work, Map<String, Object> run, Map<String, Object> previous) {
        Map<String, Object> history = read(work.history());
        Map<String, Object> evaluation = read(work.evaluation());
        Map<String, Object> dataManifest = read(work.data().resolve(PreparedData.MANIFEST));
        OptionalInt version = ModelVersions.newest(work.packages());
        Map<String, Object> modelManifest = version.isPresent()
                ? read(work.packageDir(version.getAsInt()).resolve(ModelManifest.FILE_NAME)) : null;
        Map<String, Object> verify = read(work.root().resolve("verify.json"));

        Map<String, Object> metrics = new LinkedHashMap<>();
        metrics.put("runId", run.get("id"));
        metrics.put("outcome", run.get("outcome"));
        metrics.put("reason", run.get("reason"));
        metrics.put("version", run.containsKey("version") ? run.get("version") : version.isPresent() ? version.getAsInt() : null);
        if (evaluation != null) {
            metrics.put("accuracy", evaluation.get("accuracy"));
            metrics.put("loss", evaluation.get("loss"));
            metrics.put("gates", evaluation.get("gates"));
            metrics.put("perClass", evaluation.get("perClass"));
        }
        metrics.put("previous", previous);
        metrics.put("stageSeconds", run.get("stageSeconds"));
        if (history != null) {
            metrics.put("trainingSeconds", history.get("seconds"));
            metrics.put("epochs", history.get("history"));
        }

        StringBuilder h = new StringBuilder(64 * 1024);
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
                .append("<title>camel-mlops run ").append(Html.esc(run.get("id"))).append("</title><style>")
                .append("body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1d2329;max-width:1100px}")
                .append("h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde;padding-bottom:4px}")
                .append(".ok{color:#17692f;font-weight:600}.bad{color:#b3261e;font-weight:600}")
                .append("table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #dde;padding:3px 8px;text-align:left}")
                .append("th{background:#f3f5f8}td.n{text-align:right;font-variant-numeric:tabular-nums}")
                .append(".charts{display:flex;flex-wrap:wrap;gap:16px}.chart .t{font:600 13px sans-serif}")
                .append(".chart .tick{font:11px sans-serif;fill:#555}.chart .cell{font:10px sans-serif}")
                .append(".chart .frame{fill:none;stroke:#bbb}.chart .grid{stroke:#eee}")
                .append(".grid24{display:flex;flex-wrap:wrap;gap:10px}.grid24 figure{margin:0;text-align:center;font-size:11px}")
                .append(".grid24 img{width:84px;height:84px;object-fit:contain;image-rendering:pixelated;border:1px solid #ccc}")
                .append("pre{background:#f6f8fa;padding:8px;overflow:auto;max-height:320px;font-size:12px}")
                .append("</style></head><body>\n");
        boolean ok = "succeeded".equals(run.get("outcome"));
        h.append("<h1>camel-mlops run ").append(Html.esc(run.get("id"))).append("</h1>");
        h.append("<p>").append(Html.esc(run.get("route"))).append(" started by ").append(Html.esc(run.get("trigger")))
                .append(" at ").append(Html.esc(run.get("started"))).append(": <span class=\"")
                .append(ok ? "ok\">succeeded" : "bad\">" + Html.esc(run.get("outcome"))).append("</span>");
        if (run.get("reason") != null) {
            h.append(" at stage ").append(Html.esc(run.get("failedStage"))).append(": ").append(Html.esc(run.get("reason")));
        }
        h.append("</p>");

        h.append("<h2>Quality</h2>");
        if (evaluation != null) {
            h.append("<table><tr><th>model</th><th>test accuracy</th><th>test loss</th></tr>");
            h.append(row("this run" + (metrics.get("version") == null ? "" : " (version " + metrics.get("version") + ")"),
                    evaluation.get("accuracy"), evaluation.get("loss")));
            if (previous != null) {
                h.append(row(String.valueOf(previous.getOrDefault("label", "previously deployed")), previous.get("accuracy"),
                        previous.get("loss")));
            }
            h.append("</table>");
            h.append("<table><tr><th>gate</th><th>result</th><th>detail</th></tr>");
            for (Map<String, Object> g : (List<Map<String, Object>>) evaluation.getOrDefault("gates", List.of())) {
                boolean passed = Boolean.TRUE.equals(g.get("passed"));
                h.append("<tr><td>").append(Html.esc(g.get("name"))).append("</td><td class=\"")
                        .append(passed ? "ok\">passed" : "bad\">failed").append("</td><td>")
                        .append(Html.esc(g.get("message"))).append("</td></tr>");
            }
            h.append("</table>");
        } else {
            h.append("<p>The run ended before the test stage.</p>");
        }

        if (history != null) {
            List<Map<String, Object>> epochs = (List<Map<String, Object>>) history.get("history");
            List<Double> loss = new ArrayList<>();
            List<Double> testLoss = new ArrayList<>();
            List<Double> acc = new ArrayList<>();
            List<Double> testAcc = new ArrayList<>();
            for (Map<String, Object> e : epochs) {
                loss.add(num(e.get("loss")));
                testLoss.add(num(e.get("testLoss")));
                acc.add(num(e.get("accuracy")));
                testAcc.add(num(e.get("testAccuracy")));
            }
            h.append("<h2>Learning curves</h2><p>").append(Html.esc(history.get("architecture"))).append(" model, ")
                    .append(epochs.size()).append(" epochs, batch ").append(Html.esc(history.get("batchSize")))
                    .append(", learning rate ").append(Html.esc(history.get("learningRate"))).append(" (")
                    .append(Html.esc(history.get("schedule"))).append(")")
                    .append(Boolean.TRUE.equals(history.get("warmStart")) ? ", warm start from the deployed model" : "")
                    .append(String.format(Locale.ROOT, ", %.1f s", num(history.get("seconds")))).append("</p>");
            h.append("<div class=\"charts\">")
                    .append(Svg.lines("Loss", List.of(new Svg.Series("train", "#1f6feb", loss),
                            new Svg.Series("test", "#d1242f", testLoss)), epochs.size()))
                    .append(Svg.lines("Accuracy", List.of(new Svg.Series("train", "#1f6feb", acc),
                            new Svg.Series("test", "#d1242f", testAcc)), epochs.size()))
                    .append("</div>");
        }

        if (evaluation != null) {
            List<List<Integer>> cm = (List<List<Integer>>) evaluation.get("confusionMatrix");
            int[][] m = new int[cm.size()][];
            for (int i = 0; i < m.length; i++) {
                m[i] = cm.get(i).stream().mapToInt(Integer::intValue).toArray();
            }
            List<String> names = new java.util.ArrayList<>();
            for (Map<String, Object> c : (List<Map<String, Object>>) evaluation.get("perClass")) {
                names.add(String.valueOf(c.get("name")));
            }
            h.append("<h2>Per class</h2><div class=\"charts\">").append(Svg.heatmap(m, names));
            h.append("<table><tr><th>class</th><th>precision</th><th>recall</th></tr>");
            for (Map<String, Object> c : (List<Map<String, Object>>) evaluation.get("perClass")) {
                h.append("<tr><td>").append(Html.esc(c.get("label"))).append(" ").append(Html.esc(c.get("name")))
                        .append(String.format(Locale.ROOT, "</td><td class=\"n\">%.4f</td><td class=\"n\">%.4f</td></tr>",
                                num(c.get("precision")), num(c.get("recall"))));
            }
            h.append("</table></div>");
            List<Map<String, Object>> wrong = (List<Map<String, Object>>) evaluation.getOrDefault("misclassified", List.of());
            Dataset test = testImages(work);
            h.append("<h2>Misclassified test images</h2>");
            if (wrong.isEmpty()) {
                h.append("<p>None among the test images checked: every one was classified correctly.</p>");
            }
            if (!wrong.isEmpty() && test != null) {
                h.append("<div class=\"grid24\">");
                for (Map<String, Object> w : wrong) {
                    int i = ((Number) w.get("index")).intValue();
                    int t = ((Number) w.get("label")).intValue();
                    int p = ((Number) w.get("predicted")).intValue();
                    h.append("<figure><img alt=\"test image ").append(i).append("\" src=\"data:image/png;base64,")
                            .append(png(test, i)).append("\"><figcaption>#").append(i).append("<br>true ")
                            .append(Html.esc(name(names, t))).append("<br>predicted <b>")
                            .append(Html.esc(name(names, p)))
                            .append(String.format(Locale.ROOT, "</b> (%.0f%%)", 100 * num(w.get("confidence"))))
                            .append("</figcaption></figure>");
                }
                h.append("</div>");
            }
        }

        h.append("<h2>Stages</h2><table><tr><th>stage</th><th>seconds</th></tr>");
        if (run.get("stageSeconds") instanceof Map<?, ?> st) {
            for (Map.Entry<?, ?> e : st.entrySet()) {
                h.append("<tr><td>").append(Html.esc(e.getKey())).append(String.format(Locale.ROOT,
                        "</td><td class=\"n\">%.2f</td></tr>", num(e.getValue())));
            }
        }
        h.append(String.format(Locale.ROOT, "<tr><th>whole run</th><td class=\"n\">%.2f</td></tr></table>",
                num(run.get("seconds"))));
        if (verify != null) {
            h.append("<h2>Verification</h2><pre>").append(Html.esc(pretty(verify))).append("</pre>");
        }
        if (dataManifest != null) {
            h.append("<h2>Data manifest</h2><pre>").append(Html.esc(pretty(dataManifest))).append("</pre>");
        }
        if (modelManifest != null) {
            h.append("<h2>Model manifest</h2><pre>").append(Html.esc(pretty(modelManifest))).append("</pre>");
        }
        h.append("<p style=\"color:#777\">Generated by camel-mlops.</p></body></html>\n");

        Path report = work.root().resolve("report.html");
        writeAtomically(report, h.toString());
        writeAtomically(work.root().resolve("metrics.json"), pretty(metrics));
        return report;
    }

    private static String row(String name, Object accuracy, Object loss) {
        return String.format(Locale.ROOT, "<tr><td>%s</td><td class=\"n\">%.4f</td><td class=\"n\">%.4f</td></tr>",
                Html.esc(name), num(accuracy), num(loss));
    }

    private static String name(List<String> names, int label) {
        return label >= 0 && label < names.size() ? names.get(label) : String.valueOf(label);
    }

    private static Dataset testImages(WorkDir work) {
        try {
            return new PreparedData(work.data(), null).readTest();
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** Image {@code i} as a PNG: grey images inverted (dark on white, as Fashion-MNIST is usually shown), colour as is. */
    static String png(Dataset d, int i) {
        int ch = d.channels();
        BufferedImage img = new BufferedImage(d.cols(), d.rows(),
                ch == 1 ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < d.rows(); y++) {
            for (int x = 0; x < d.cols(); x++) {
                int at = i * d.imageSize() + (y * d.cols() + x) * ch;
                if (ch == 1) {
                    img.getRaster().setSample(x, y, 0, 255 - (d.pixels()[at] & 0xFF));
                } else {
                    img.setRGB(x, y, (d.pixels()[at] & 0xFF) << 16 | (d.pixels()[at + 1] & 0xFF) << 8
                            | (d.pixels()[at + 2] & 0xFF));
                }
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ImageIO.write(img, "png", out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Base64.getEncoder().encodeToString(out.toByteArray());
    }

    private static double num(Object o) {
        return o instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> read(Path file) {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            return JSON.readValue(file.toFile(), Map.class);
        } catch (IOException e) {
            return null;
        }
    }

    private static String pretty(Object o) {
        try {
            return JSON.writeValueAsString(o);
        } catch (IOException e) {
            return String.valueOf(o);
        }
    }

    private static void writeAtomically(Path file, String content) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
            Files.writeString(tmp, content, StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }
}
