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
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import javax.imageio.ImageIO;

/**
 * Writes {@code report.html} (self-contained: inline SVG charts and PNG data URIs, no scripts, no
 * network) and {@code metrics.json} for a run from what its stages left in the work folder and
 * the run ledger. The report reads top-down like a dashboard: headline figures; the run's seed,
 * commit and the settings that differ from the defaults; quality gates; where the version was
 * deployed; accuracy across runs; learning curves; per-class precision, recall, F1 and support;
 * the most confident mistakes; stage times; then verification, data and model manifests as
 * summary tables (raw JSON folded away). Times are UTC, to the second.
 */
public final class ReportWriter {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final DateTimeFormatter WHEN = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss")
            .withZone(ZoneOffset.UTC);
    /** How many runs the trend chart shows at most (the newest). */
    static final int TREND_RUNS = 40;

    private ReportWriter() {
    }

    /** @param run the run's ledger record; @param previous the previous deployed model's metrics, if known */
    public static Path write(WorkDir work, Map<String, Object> run, Map<String, Object> previous) {
        return write(work, run, previous, List.of(run), null);
    }

    /**
     * @param run      the run's ledger record
     * @param previous the previous deployed model's metrics, if known
     * @param runs     the ledger's runs, oldest first, this one included (for the trend)
     * @param config   the settings that differ from the defaults (secrets masked); null if unknown
     */
    @SuppressWarnings("unchecked")
    public static Path write(WorkDir work, Map<String, Object> run, Map<String, Object> previous,
                             List<Map<String, Object>> runs, List<ConfigDiff.Row> config) {
        Map<String, Object> history = read(work.history());
        Map<String, Object> evaluation = read(work.evaluation());
        Map<String, Object> dataManifest = read(work.data().resolve(PreparedData.MANIFEST));
        OptionalInt version = ModelVersions.newest(work.packages());
        Map<String, Object> modelManifest = version.isPresent()
                ? read(work.packageDir(version.getAsInt()).resolve(ModelManifest.FILE_NAME)) : null;
        Map<String, Object> verify = read(work.root().resolve("verify.json"));
        Map<String, Object> deploy = read(work.root().resolve("deploy.json"));
        Map<String, Object> runInfo = read(work.runInfo());

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
                .append(CSS).append("</style></head><body>\n");
        boolean ok = "succeeded".equals(run.get("outcome"));
        h.append("<h1>camel-mlops run ").append(Html.esc(run.get("id"))).append(" <span class=\"badge ")
                .append(ok ? "ok\">succeeded" : "bad\">" + Html.esc(run.get("outcome"))).append("</span></h1>");
        h.append("<p class=\"sub\">").append(Html.esc(run.get("route"))).append(", started by ")
                .append(Html.esc(run.get("trigger"))).append(" at ").append(when(run.get("started")))
                .append(" (all times UTC), ").append(seconds(run.get("seconds"))).append(" in all");
        if (run.get("reason") != null) {
            h.append("<br><span class=\"bad\">")
                    .append(run.get("failedStage") != null ? "failed at stage " + Html.esc(run.get("failedStage"))
                            : "stopped at stage " + Html.esc(run.get("stoppedAtStage")))
                    .append(":</span> ").append(Html.esc(run.get("reason")));
        }
        h.append("</p>");

        cards(h, run, evaluation, previous, history, deploy, verify, metrics.get("version"));
        settings(h, run, history, runInfo, modelManifest, config);
        quality(h, evaluation, previous, metrics.get("version"));
        deployment(h, run, deploy, verify, modelManifest);
        trend(h, runs, String.valueOf(run.get("id")));
        if (history != null) {
            learningCurves(h, history);
        }
        if (evaluation != null) {
            perClass(h, work, evaluation);
        }
        stages(h, run, history);
        if (verify != null) {
            h.append("<h2>Verification</h2>");
            verification(h, verify);
            raw(h, "verify.json", verify);
        }
        if (dataManifest != null) {
            h.append("<h2>Data manifest</h2>");
            dataManifest(h, dataManifest);
            raw(h, "data-manifest.json", dataManifest);
        }
        if (modelManifest != null) {
            h.append("<h2>Model manifest</h2>");
            modelManifest(h, modelManifest);
            raw(h, "MANIFEST.json", modelManifest);
        }
        h.append("<p class=\"foot\">Generated by camel-mlops at ").append(when(Instant.now().toString()))
                .append(" UTC from the work folder and the run ledger.</p></body></html>\n");

        Path report = work.root().resolve("report.html");
        writeAtomically(report, h.toString());
        writeAtomically(work.root().resolve("metrics.json"), pretty(metrics));
        return report;
    }

    private static final String CSS = "body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;"
            + "color:#1d2329;max-width:1150px}"
            + "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde;padding-bottom:4px}"
            + ".sub{color:#444;margin:0 0 12px}.foot{color:#777;margin-top:28px}"
            + ".ok{color:#17692f;font-weight:600}.bad{color:#b3261e;font-weight:600}.muted{color:#666}"
            + ".badge{font-size:13px;padding:2px 8px;border-radius:10px;vertical-align:middle}"
            + ".badge.ok{background:#dafbe1}.badge.bad{background:#ffebe9}"
            + ".cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}"
            + ".card{border:1px solid #dde;border-radius:8px;padding:8px 14px;min-width:150px;background:#fbfcfd}"
            + ".card .k{font-size:12px;color:#555}.card .v{font-size:22px;font-weight:600}.card .d{font-size:12px;color:#555}"
            + "table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #dde;padding:3px 8px;text-align:left;"
            + "vertical-align:top}th{background:#f3f5f8}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}"
            + "table.kv th{width:190px;font-weight:500}code{font-size:12px}"
            + ".cols{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}"
            + ".charts{display:flex;flex-wrap:wrap;gap:16px}.chart .t{font:600 13px sans-serif}"
            + ".chart .tick{font:11px sans-serif;fill:#555}.chart .cell{font:10px sans-serif}"
            + ".chart .frame{fill:none;stroke:#bbb}.chart .grid{stroke:#eee}"
            + ".bar{display:inline-block;height:9px;background:#8fb8f2;vertical-align:middle}"
            + ".grid24{display:flex;flex-wrap:wrap;gap:10px}.grid24 figure{margin:0;text-align:center;font-size:11px;width:96px}"
            + ".grid24 img{width:84px;height:84px;object-fit:contain;image-rendering:pixelated;border:1px solid #ccc}"
            + "details{margin:6px 0}summary{cursor:pointer;color:#555}"
            + "pre{background:#f6f8fa;padding:8px;overflow:auto;max-height:320px;font-size:12px}";

    /** The headline figures. */
    private static void cards(StringBuilder h, Map<String, Object> run, Map<String, Object> evaluation,
                              Map<String, Object> previous, Map<String, Object> history, Map<String, Object> deploy,
                              Map<String, Object> verify, Object version) {
        h.append("<div class=\"cards\">");
        if (evaluation != null) {
            String delta = "";
            if (previous != null && previous.get("accuracy") instanceof Number p) {
                double d = num(evaluation.get("accuracy")) - p.doubleValue();
                delta = String.format(Locale.ROOT, "%+.4f vs %s", d, previous.getOrDefault("label", "previous"));
            }
            card(h, "test accuracy", String.format(Locale.ROOT, "%.4f", num(evaluation.get("accuracy"))), delta);
            card(h, "test loss", String.format(Locale.ROOT, "%.4f", num(evaluation.get("loss"))), "");
        }
        boolean deployed = deploy != null && ("succeeded".equals(run.get("outcome")) || !failedBeforeDeploy(run));
        if (deployed) {
            boolean passed = verify != null && Boolean.TRUE.equals(verify.get("passed"));
            card(h, "deployed version", String.valueOf(deploy.get("version")), passed ? "verified"
                    + (verify.get("stable") != null ? ", labelled stable" : "") : verify != null ? "verification failed" : "");
        } else {
            card(h, "version", version == null ? "none" : String.valueOf(version), "not deployed by this run");
        }
        card(h, "whole run", seconds(run.get("seconds")), "all stages");
        if (history != null) {
            card(h, "training loop", seconds(history.get("seconds")), String.format(Locale.ROOT, "%.0f images/s",
                    num(history.get("imagesPerSecond"))));
        }
        h.append("</div>");
    }

    private static void card(StringBuilder h, String key, String value, String detail) {
        h.append("<div class=\"card\"><div class=\"k\">").append(Html.esc(key)).append("</div><div class=\"v\">")
                .append(Html.esc(value)).append("</div><div class=\"d\">").append(Html.esc(detail)).append("</div></div>");
    }

    private static boolean failedBeforeDeploy(Map<String, Object> run) {
        Object stage = run.get("failedStage") != null ? run.get("failedStage") : run.get("stoppedAtStage");
        return stage != null && List.of("build", "train", "test", "package", "prepare", "retrain").contains(String.valueOf(stage));
    }

    /** Seed, commit, training parameters and the settings that differ from the defaults, in plain view. */
    private static void settings(StringBuilder h, Map<String, Object> run, Map<String, Object> history,
                                 Map<String, Object> runInfo, Map<String, Object> modelManifest,
                                 List<ConfigDiff.Row> config) {
        Map<String, Object> params = history != null ? history
                : run.get("params") instanceof Map<?, ?> p ? (Map<String, Object>) p : null;
        Object commit = runInfo != null && runInfo.get("gitCommit") != null ? runInfo.get("gitCommit")
                : modelManifest != null ? modelManifest.get("gitCommit") : null;
        h.append("<h2>Run settings</h2><div class=\"cols\"><table class=\"kv\">");
        kv(h, "seed", params == null ? "(no training in this run)" : Html.esc(params.get("seed")));
        kv(h, "git commit", commit == null ? "<span class=\"muted\">unknown (not built from a git checkout)</span>"
                : "<code>" + Html.esc(commit) + "</code>");
        if (params != null) {
            kv(h, "model", Html.esc(params.get("architecture")) + ", " + Html.esc(params.get("epochs")) + " epochs, batch "
                    + Html.esc(params.get("batchSize")) + ", learning rate " + Html.esc(params.get("learningRate"))
                    + " (" + Html.esc(params.get("schedule")) + ")"
                    + (Boolean.TRUE.equals(params.get("warmStart")) ? ", warm start from the deployed model" : ""));
            kv(h, "training images", Html.esc(params.get("trainImages")));
        }
        h.append("</table><div>");
        if (config == null) {
            h.append("<p class=\"muted\">The configuration this run used is not known here.</p>");
        } else if (config.isEmpty()) {
            h.append("<p>Configuration: every key at its default (config/application.properties).</p>");
        } else {
            h.append("<table class=\"config\"><tr><th>configuration key</th><th>this run</th><th>default</th></tr>");
            for (ConfigDiff.Row r : config) {
                h.append("<tr><td><code>").append(Html.esc(r.key())).append("</code></td><td><code>")
                        .append(Html.esc(r.value())).append("</code></td><td>")
                        .append(r.defaultValue() == null ? "<span class=\"muted\">(no such key)</span>"
                                : r.defaultValue().isEmpty() ? "<span class=\"muted\">(empty)</span>"
                                : "<code>" + Html.esc(r.defaultValue()) + "</code>")
                        .append("</td></tr>");
            }
            h.append("</table><p class=\"muted\">Keys that differ from config/application.properties; secrets hidden.</p>");
        }
        h.append("</div></div>");
    }

    private static void kv(StringBuilder h, String key, String valueHtml) {
        h.append("<tr><th>").append(Html.esc(key)).append("</th><td>").append(valueHtml).append("</td></tr>");
    }

    @SuppressWarnings("unchecked")
    private static void quality(StringBuilder h, Map<String, Object> evaluation, Map<String, Object> previous,
                                Object version) {
        h.append("<h2>Quality</h2>");
        if (evaluation == null) {
            h.append("<p>The run ended before the test stage.</p>");
            return;
        }
        h.append("<div class=\"cols\"><table><tr><th>model</th><th class=\"n\">test accuracy</th><th class=\"n\">test loss</th></tr>");
        h.append(row("this run" + (version == null ? "" : " (version " + version + ")"),
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
        h.append("</table></div>");
    }

    /** Where the version went: prod folder, serving config, labels, retention, serving URL; or why it did not. */
    @SuppressWarnings("unchecked")
    private static void deployment(StringBuilder h, Map<String, Object> run, Map<String, Object> deploy,
                                   Map<String, Object> verify, Map<String, Object> modelManifest) {
        h.append("<h2>Deployment</h2>");
        if (deploy == null) {
            String why = run.get("reason") != null ? "the run " + (run.get("failedStage") != null
                    ? "failed at stage " + run.get("failedStage") : "stopped") + " before deploying"
                    : "its route (" + run.get("route") + ") has no deploy stage, or it did not reach it";
            h.append("<p class=\"deploy-none\"><b>This run did not deploy a version</b>: ").append(Html.esc(why))
                    .append(". What was served before is still served.</p>");
            return;
        }
        boolean passed = verify != null && Boolean.TRUE.equals(verify.get("passed"));
        h.append("<table class=\"kv deploy\">");
        kv(h, "version", "<b>" + Html.esc(deploy.get("version")) + "</b>" + (verify == null ? ""
                : passed ? " <span class=\"ok\">verified</span>" : " <span class=\"bad\">verification failed, rolled back</span>"));
        kv(h, "published to", "<code>" + Html.esc(deploy.get("target")) + "</code> at " + when(deploy.get("published")));
        if (deploy.get("servingConfig") != null) {
            kv(h, "serving config", "<code>" + Html.esc(deploy.get("servingConfig")) + "</code>");
        }
        if (verify != null && verify.get("servingUrl") != null) {
            Object model = modelManifest != null ? modelManifest.get("modelName") : null;
            String url = verify.get("servingUrl") + (model != null ? "/v1/models/" + model : "");
            kv(h, "serving URL", "<code>" + Html.esc(url) + "</code>");
        }
        Object stable = verify != null && verify.containsKey("stable") ? verify.get("stable") : deploy.get("stable");
        Object canary = passed && verify.containsKey("stable") ? null : deploy.get("canary");
        kv(h, "label stable", stable == null ? "<span class=\"muted\">none</span>" : "version " + Html.esc(stable));
        kv(h, "label canary", canary == null ? "<span class=\"muted\">none</span>" : "version " + Html.esc(canary)
                + (deploy.get("canaryLeftToVerify") != null ? " (" + Html.esc(deploy.get("canaryLeftToVerify")) + ")" : ""));
        Object removed = deploy.get("removedByRetention");
        kv(h, "removed by retention", removed instanceof List<?> l && !l.isEmpty()
                ? "versions " + Html.esc(String.join(", ", l.stream().map(String::valueOf).toList())) : "none");
        if (verify != null && verify.get("rollback") != null) {
            kv(h, "rollback", Html.esc(verify.get("rollback")));
        }
        h.append("</table>");
    }

    /** Test accuracy across the ledger's runs: deployed versions, rejected candidates, this run. */
    @SuppressWarnings("unchecked")
    private static void trend(StringBuilder h, List<Map<String, Object>> runs, String currentId) {
        h.append("<h2>Across runs</h2>");
        List<Svg.Point> points = trendPoints(runs, currentId);
        if (points.isEmpty()) {
            h.append("<p>No run in the ledger has a test result yet.</p>");
            return;
        }
        long deployed = points.stream().filter(p -> p.kind() == Svg.Kind.DEPLOYED).count();
        long rejected = points.stream().filter(p -> p.kind() == Svg.Kind.REJECTED).count();
        h.append("<div class=\"charts\">").append(Svg.trend(points)).append("</div>");
        h.append(String.format(Locale.ROOT, "<p class=\"muted\">%d run(s) with a test result (newest %d at most): "
                + "%d deployed version(s), %d candidate(s) rejected by a quality gate.</p>", points.size(), TREND_RUNS,
                deployed, rejected));
    }

    /**
     * The ledger's runs with a test accuracy, oldest first: a succeeded run with a version is a
     * deployed version (each version once), a failed run whose reason is a quality gate a
     * rejected candidate, any other failed run with a test result "failed after the test".
     */
    @SuppressWarnings("unchecked")
    static List<Svg.Point> trendPoints(List<Map<String, Object>> runs, String currentId) {
        List<Svg.Point> points = new ArrayList<>();
        java.util.Set<Object> versions = new java.util.HashSet<>();
        for (Map<String, Object> r : runs == null ? List.<Map<String, Object>>of() : runs) {
            if (!(r.get("metrics") instanceof Map<?, ?> m) || !(m.get("accuracy") instanceof Number acc)) {
                continue;
            }
            String outcome = String.valueOf(r.get("outcome"));
            String reason = r.get("reason") == null ? null : String.valueOf(r.get("reason"));
            Integer version = r.get("version") instanceof Number v ? v.intValue() : null;
            Svg.Kind kind;
            if ("succeeded".equals(outcome) && version != null) {
                if (!versions.add(version)) {
                    continue;
                }
                kind = Svg.Kind.DEPLOYED;
            } else if ("failed".equals(outcome) && reason != null && reason.contains("quality gate")) {
                kind = Svg.Kind.REJECTED;
            } else if ("failed".equals(outcome)) {
                kind = Svg.Kind.FAILED;
            } else {
                continue;
            }
            String id = String.valueOf(r.get("id"));
            points.add(new Svg.Point(id, when(r.get("started")), acc.doubleValue(), kind, version,
                    id.equals(currentId), reason));
        }
        return points.size() > TREND_RUNS ? points.subList(points.size() - TREND_RUNS, points.size()) : points;
    }

    @SuppressWarnings("unchecked")
    private static void learningCurves(StringBuilder h, Map<String, Object> history) {
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
                .append(epochs.size()).append(epochs.size() == 1 ? " epoch" : " epochs").append(", batch ")
                .append(Html.esc(history.get("batchSize"))).append(", learning rate ")
                .append(Html.esc(history.get("learningRate"))).append(" (").append(Html.esc(history.get("schedule")))
                .append(")").append(Boolean.TRUE.equals(history.get("warmStart")) ? ", warm start from the deployed model" : "")
                .append(". <b>Training loop: ").append(seconds(history.get("seconds"))).append("</b>")
                .append(String.format(Locale.ROOT, " (%.0f images/s; the epochs only, without data loading and export:"
                        + " see the train stage below)", num(history.get("imagesPerSecond"))))
                .append(Boolean.TRUE.equals(history.get("stoppedByBudget")) ? "; stopped by train.max-seconds" : "")
                .append(".</p>");
        h.append("<div class=\"charts\">")
                .append(Svg.lines("Loss", List.of(new Svg.Series("train", "#1f6feb", loss),
                        new Svg.Series("test", "#d1242f", testLoss)), epochs.size(), true))
                .append(Svg.lines("Accuracy", List.of(new Svg.Series("train", "#1f6feb", acc),
                        new Svg.Series("test", "#d1242f", testAcc)), epochs.size(), false))
                .append("</div>");
    }

    /** One class's scores, from the confusion matrix. */
    record ClassScore(String name, double precision, double recall, double f1, int support) {
    }

    /** Precision, recall, F1 and support (true images) per class, from {@code confusion[true][predicted]}. */
    static List<ClassScore> scores(int[][] confusion, List<String> names) {
        List<ClassScore> out = new ArrayList<>();
        for (int c = 0; c < confusion.length; c++) {
            int support = 0;
            int predicted = 0;
            for (int o = 0; o < confusion.length; o++) {
                support += confusion[c][o];
                predicted += confusion[o][c];
            }
            double p = predicted == 0 ? 0 : (double) confusion[c][c] / predicted;
            double r = support == 0 ? 0 : (double) confusion[c][c] / support;
            double f1 = p + r == 0 ? 0 : 2 * p * r / (p + r);
            out.add(new ClassScore(name(names, c), p, r, f1, support));
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static void perClass(StringBuilder h, WorkDir work, Map<String, Object> evaluation) {
        List<List<Integer>> cm = (List<List<Integer>>) evaluation.get("confusionMatrix");
        int[][] m = new int[cm.size()][];
        for (int i = 0; i < m.length; i++) {
            m[i] = cm.get(i).stream().mapToInt(Integer::intValue).toArray();
        }
        List<String> names = new ArrayList<>();
        for (Map<String, Object> c : (List<Map<String, Object>>) evaluation.get("perClass")) {
            names.add(String.valueOf(c.get("name")));
        }
        List<ClassScore> scores = scores(m, names);
        h.append("<h2>Per class</h2><div class=\"charts\">").append(Svg.heatmap(m, names));
        h.append("<table class=\"perclass\"><tr><th>class</th><th class=\"n\">precision</th><th class=\"n\">recall</th>"
                + "<th class=\"n\">F1</th><th class=\"n\">support</th></tr>");
        double sp = 0;
        double sr = 0;
        double sf = 0;
        int total = 0;
        for (int c = 0; c < scores.size(); c++) {
            ClassScore s = scores.get(c);
            h.append("<tr><td>").append(c).append(" ").append(Html.esc(s.name()))
                    .append(String.format(Locale.ROOT, "</td><td class=\"n\">%.3f</td><td class=\"n\">%.3f</td>"
                            + "<td class=\"n\">%s</td><td class=\"n\">%d</td></tr>", s.precision(), s.recall(),
                            f1Cell(s.f1()), s.support()));
            sp += s.precision();
            sr += s.recall();
            sf += s.f1();
            total += s.support();
        }
        int k = Math.max(1, scores.size());
        h.append(String.format(Locale.ROOT, "<tr><th>macro average</th><th class=\"n\">%.3f</th><th class=\"n\">%.3f</th>"
                + "<th class=\"n\">%.3f</th><th class=\"n\">%d</th></tr>", sp / k, sr / k, sf / k, total));
        h.append("</table></div>");

        List<Map<String, Object>> wrong = mostConfidentFirst(
                (List<Map<String, Object>>) evaluation.getOrDefault("misclassified", List.of()));
        Dataset test = testImages(work);
        h.append("<h2>Misclassified test images, most confident first</h2>");
        if (wrong.isEmpty()) {
            h.append("<p>None among the test images checked: every one was classified correctly.</p>");
        }
        if (!wrong.isEmpty() && test != null) {
            h.append("<p class=\"muted\">The model's most confident mistakes (its probability for the wrong class "
                    + "in brackets).</p><div class=\"grid24\">");
            for (Map<String, Object> w : wrong) {
                int i = ((Number) w.get("index")).intValue();
                int t = ((Number) w.get("label")).intValue();
                int p = ((Number) w.get("predicted")).intValue();
                if (i < 0 || i >= test.size()) {
                    continue;
                }
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

    private static String f1Cell(double f1) {
        return String.format(Locale.ROOT, "<span class=\"bar\" style=\"width:%.0fpx\"></span> %.3f", 40 * f1, f1);
    }

    /** The misclassified entries sorted by confidence, highest first (entries without one last, by index). */
    static List<Map<String, Object>> mostConfidentFirst(List<Map<String, Object>> wrong) {
        List<Map<String, Object>> sorted = new ArrayList<>(wrong);
        sorted.sort(java.util.Comparator.comparingDouble((Map<String, Object> w) -> {
            double c = num(w.get("confidence"));
            return Double.isNaN(c) ? Double.NEGATIVE_INFINITY : -c;
        }));
        return sorted;
    }

    /** Stage times in pipeline order; the train stage's time includes reading the data and the export. */
    private static void stages(StringBuilder h, Map<String, Object> run, Map<String, Object> history) {
        h.append("<h2>Stages</h2><table class=\"stages\"><tr><th>stage</th><th class=\"n\">time</th><th></th></tr>");
        double whole = num(run.get("seconds"));
        if (run.get("stageSeconds") instanceof Map<?, ?> st) {
            for (Map.Entry<?, ?> e : st.entrySet()) {
                double s = num(e.getValue());
                String label = "train".equals(e.getKey()) && history != null
                        ? "train <span class=\"muted\">(whole stage: data loading, training loop "
                        + seconds(history.get("seconds")) + ", checkpoint)</span>" : Html.esc(e.getKey());
                h.append("<tr><td>").append(label).append("</td><td class=\"n\">").append(seconds(s))
                        .append(String.format(Locale.ROOT, "</td><td><span class=\"bar\" style=\"width:%.0fpx\"></span></td></tr>",
                                whole > 0 && !Double.isNaN(s) ? Math.max(1, 240 * s / whole) : 0));
            }
        }
        h.append("<tr><th>whole run</th><td class=\"n\">").append(seconds(whole)).append("</td><td></td></tr></table>");
    }

    private static void verification(StringBuilder h, Map<String, Object> v) {
        boolean passed = Boolean.TRUE.equals(v.get("passed"));
        h.append("<table class=\"kv verify\">");
        kv(h, "result", passed ? "<span class=\"ok\">passed</span>" : "<span class=\"bad\">failed</span>"
                + (v.get("reason") != null ? ": " + Html.esc(v.get("reason")) : ""));
        kv(h, "version", Html.esc(v.get("version")));
        kv(h, "serving URL", "<code>" + Html.esc(v.get("servingUrl")) + "</code>");
        kv(h, "started", when(v.get("started")));
        optional(h, "available after", v.get("secondsUntilAvailable"), true);
        optional(h, "labelled canary after", v.get("secondsUntilCanary"), true);
        if (v.get("canaryImages") != null) {
            kv(h, "canary batch", Html.esc(v.get("canaryImages")) + " images, max |difference| from the local model "
                    + String.format(Locale.ROOT, "%.2e", num(v.get("maxAbsDiff"))));
        }
        optional(h, "example request predictions", v.get("exampleRequestPredictions"), false);
        if (v.containsKey("stable")) {
            kv(h, "labelled stable", v.get("stable") == null ? "none" : "version " + Html.esc(v.get("stable")));
        }
        optional(h, "time", v.get("seconds"), true);
        h.append("</table>");
    }

    private static void optional(StringBuilder h, String key, Object value, boolean isSeconds) {
        if (value != null) {
            kv(h, key, isSeconds ? seconds(value) : Html.esc(value));
        }
    }

    @SuppressWarnings("unchecked")
    private static void dataManifest(StringBuilder h, Map<String, Object> d) {
        h.append("<table class=\"kv data\">");
        Map<String, Object> spec = d.get("dataset") instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
        kv(h, "dataset", Html.esc(spec.get("name")) + String.format(Locale.ROOT, ", %s x %s x %s images, %d classes",
                spec.get("height"), spec.get("width"), spec.get("channels"),
                spec.get("classes") instanceof List<?> l ? l.size() : 0));
        kv(h, "source", "<code>" + Html.esc(d.get("source")) + "</code> (" + Html.esc(d.get("format")) + ")");
        kv(h, "prepared", when(d.get("created")));
        if (d.get("train") instanceof Map<?, ?> t) {
            kv(h, "train images", Html.esc(t.get("count")));
        }
        if (d.get("test") instanceof Map<?, ?> t) {
            kv(h, "test images", Html.esc(t.get("count")) + " <span class=\"muted\">(" + Html.esc(d.get("testSplit")) + ")</span>");
        }
        List<Map<String, Object>> batches = d.get("batches") instanceof List<?> b ? (List<Map<String, Object>>) b : List.of();
        kv(h, "new batches", batches.isEmpty() ? "none" : batches.size() + " ("
                + batches.stream().mapToInt(b -> (int) num(b.get("images"))).sum() + " images)");
        h.append("</table>");
        files(h, "input", (List<Map<String, Object>>) d.get("inputs"));
    }

    private static void files(StringBuilder h, String what, List<Map<String, Object>> files) {
        if (files == null || files.isEmpty()) {
            return;
        }
        h.append("<table class=\"files\"><tr><th>").append(Html.esc(what)).append(" file</th><th class=\"n\">size</th>"
                + "<th>SHA-256</th></tr>");
        for (Map<String, Object> f : files) {
            Object name = f.containsKey("name") ? f.get("name") : f.get("path");
            String sha = String.valueOf(f.get("sha256"));
            h.append("<tr><td><code>").append(Html.esc(name)).append("</code></td><td class=\"n\">")
                    .append(bytes(num(f.get("bytes")))).append("</td><td><code title=\"").append(Html.esc(sha)).append("\">")
                    .append(Html.esc(sha.length() > 16 ? sha.substring(0, 16) + "…" : sha)).append("</code></td></tr>");
        }
        h.append("</table>");
    }

    @SuppressWarnings("unchecked")
    private static void modelManifest(StringBuilder h, Map<String, Object> m) {
        h.append("<table class=\"kv model\">");
        kv(h, "version", Html.esc(m.get("version")) + " of model <code>" + Html.esc(m.get("modelName")) + "</code>");
        kv(h, "architecture", Html.esc(m.get("architecture")));
        kv(h, "created", when(m.get("created")) + " by run " + Html.esc(m.get("runId")));
        kv(h, "git commit", m.get("gitCommit") == null ? "<span class=\"muted\">unknown</span>"
                : "<code>" + Html.esc(m.get("gitCommit")) + "</code>");
        if (m.get("metrics") instanceof Map<?, ?> mt) {
            kv(h, "metrics", String.format(Locale.ROOT, "accuracy %.4f, loss %.4f on %s test images",
                    num(mt.get("accuracy")), num(mt.get("loss")), mt.get("testImages")));
        }
        if (m.get("signature") instanceof Map<?, ?> sig) {
            kv(h, "signature", "<code>" + Html.esc(sig.get("key")) + "</code>: " + tensors(sig.get("inputs")) + " &rarr; "
                    + tensors(sig.get("outputs")));
        }
        Object dataSha = m.get("dataManifestSha256");
        if (dataSha != null) {
            kv(h, "data manifest", "<code>" + Html.esc(String.valueOf(dataSha).substring(0, Math.min(16,
                    String.valueOf(dataSha).length()))) + "…</code>");
        }
        List<Map<String, Object>> files = m.get("files") instanceof List<?> l ? (List<Map<String, Object>>) l : List.of();
        kv(h, "files", files.size() + ", " + bytes(files.stream().mapToDouble(f -> num(f.get("bytes"))).sum()));
        h.append("</table>");
        files(h, "SavedModel", files);
    }

    private static String tensors(Object o) {
        if (!(o instanceof Map<?, ?> m)) {
            return "";
        }
        List<String> parts = new ArrayList<>();
        for (Map.Entry<?, ?> e : m.entrySet()) {
            String shape = e.getValue() instanceof Map<?, ?> t ? String.valueOf(t.get("shape")) + " "
                    + t.get("dtype") : String.valueOf(e.getValue());
            parts.add("<code>" + Html.esc(e.getKey()) + "</code> " + Html.esc(shape));
        }
        return String.join(", ", parts);
    }

    private static void raw(StringBuilder h, String name, Object json) {
        h.append("<details><summary>raw ").append(Html.esc(name)).append("</summary><pre>")
                .append(Html.esc(pretty(json))).append("</pre></details>");
    }

    /** Seconds with sensible precision: 0.004 s, 0.42 s, 7.4 s, 61 s. */
    public static String seconds(Object value) {
        double s = num(value);
        if (Double.isNaN(s)) {
            return "?";
        }
        String f = s < 0.01 ? "%.3f s" : s < 1 ? "%.2f s" : s < 10 ? "%.1f s" : "%.0f s";
        return String.format(Locale.ROOT, f, s);
    }

    /** An ISO-8601 instant to the second, as {@code 2026-11-29 04:42:04} (UTC); other text as is. */
    public static String when(Object iso) {
        if (iso == null) {
            return "?";
        }
        try {
            return WHEN.format(Instant.parse(String.valueOf(iso)).truncatedTo(ChronoUnit.SECONDS));
        } catch (RuntimeException e) {
            return Html.esc(iso);
        }
    }

    private static String bytes(double b) {
        return b >= 1e6 ? String.format(Locale.ROOT, "%.1f MB", b / 1e6)
                : b >= 1e3 ? String.format(Locale.ROOT, "%.1f kB", b / 1e3) : String.format(Locale.ROOT, "%.0f B", b);
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
