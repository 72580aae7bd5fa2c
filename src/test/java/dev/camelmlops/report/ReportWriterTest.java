package dev.camelmlops.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.camelmlops.data.Dataset;
import dev.camelmlops.data.PreparedData;
import dev.camelmlops.registry.Json;
import dev.camelmlops.registry.WorkDir;
import dev.camelmlops.testing.TinyFashion;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opentest4j.AssertionFailedError;

/** The report's sections from a tiny hand-made work folder and ledger (no training: fast). */
class ReportWriterTest {
    @TempDir
    Path tmp;

    private static final String RUN = "20261129-044202-287c";

    @Test
    void ticksAreRoundStepsOfOneTwoOrFive() {
        assertEquals(List.of(0.0, 0.2, 0.4, 0.6, 0.8, 1.0), Ticks.of(0, 0.87, 5));
        assertEquals(List.of(0.0, 0.5, 1.0, 1.5, 2.0, 2.5), Ticks.of(0, 2.3, 5));
        assertEquals(List.of(0.84, 0.85, 0.86, 0.87, 0.88), Ticks.of(0.8455, 0.8771, 5));
        assertEquals(List.of(0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0), Ticks.of(0, 27, 6));
        assertEquals(0.2, Ticks.step(0.174));
        assertEquals(0.5, Ticks.step(0.46));
        assertEquals(1.0, Ticks.step(1.0));
        assertEquals(0.001, Ticks.step(0.0008));
        assertEquals("0.4", Ticks.label(0.4, Ticks.of(0, 0.87, 5)));
        assertEquals("0.85", Ticks.label(0.85, Ticks.of(0.8455, 0.8771, 5)));
        assertEquals("15", Ticks.label(15, Ticks.of(0, 27, 6)));
    }

    @Test
    void timesInSecondsWithSensiblePrecisionAndInstantsToTheSecond() {
        assertEquals("0.42 s", ReportWriter.seconds(0.4213));
        assertEquals("7.4 s", ReportWriter.seconds(7.43));
        assertEquals("61 s", ReportWriter.seconds(61.3));
        assertEquals("0.009 s", ReportWriter.seconds(0.00931));
        assertEquals("2026-11-29 04:42:04", ReportWriter.when("2026-11-29T04:42:04.385658274Z"));
    }

    @Test
    void secretsAreMaskedAndOnlyChangedKeysListed() {
        Properties defaults = new Properties();
        defaults.setProperty("train.epochs", "");
        defaults.setProperty("quality.min-accuracy", "0.8");
        defaults.setProperty("notify.webhook-url", "");
        defaults.setProperty("db.password", "");
        defaults.setProperty("db.url", "");
        defaults.setProperty("serving.api-token", "");
        Properties run = new Properties();
        run.putAll(defaults);
        run.setProperty("train.epochs", "1");
        run.setProperty("notify.webhook-url", "https://hooks.example/T000/B000/xyzzy-webhook");
        run.setProperty("db.password", "hunter2-db");
        run.setProperty("db.url", "jdbc:postgresql://mlops:pw-in-url@db:5432/mlops?password=pw-in-query");
        run.setProperty("DEPLOY_SERVER_HOSTNAME", "serving.example");
        run.setProperty("DEPLOY_SERVER_KEY_PASSPHRASE", "open-sesame");
        run.setProperty("DEPLOY_SERVER_KEY_FILE", "/home/ci/.ssh/id_deploy");
        run.setProperty("DEPLOY_SERVER_KEY", "-----BEGIN OPENSSH PRIVATE KEY-----abc");
        run.setProperty("serving.api-token", "tok-123");
        run.setProperty("mlops.cluster", "false"); // the command line's own
        run.setProperty("run.id", RUN);
        List<ConfigDiff.Row> rows = ConfigDiff.differences(defaults, run);
        String all = rows.toString();
        for (String secret : List.of("xyzzy-webhook", "hunter2-db", "pw-in-url", "pw-in-query", "open-sesame",
                "id_deploy", "PRIVATE KEY", "tok-123")) {
            assertFalse(all.contains(secret), secret + " is hidden: " + all);
        }
        List<String> keys = rows.stream().map(ConfigDiff.Row::key).toList();
        assertEquals(List.of("DEPLOY_SERVER_HOSTNAME", "DEPLOY_SERVER_KEY", "DEPLOY_SERVER_KEY_FILE",
                "DEPLOY_SERVER_KEY_PASSPHRASE", "db.password", "db.url", "notify.webhook-url", "serving.api-token",
                "train.epochs"), keys);
        assertTrue(rows.contains(new ConfigDiff.Row("train.epochs", "1", "")));
        assertTrue(rows.contains(new ConfigDiff.Row("db.password", ConfigDiff.MASK, "(empty)")));
        assertTrue(rows.contains(new ConfigDiff.Row("DEPLOY_SERVER_HOSTNAME", "serving.example", null)));
        assertTrue(all.contains("jdbc:postgresql://mlops:******@db:5432/mlops?password=******"), all);
    }

    @Test
    void theReportIsADashboardOfItsInputs() throws Exception {
        WorkDir work = workFolder(true);
        List<Map<String, Object>> ledger = ledger();
        Properties defaults = new Properties();
        defaults.setProperty("train.epochs", "");
        defaults.setProperty("db.password", "");
        Properties effective = new Properties();
        effective.setProperty("train.epochs", "3");
        effective.setProperty("db.password", "s3cr3t-pass");
        Path report = ReportWriter.write(work, ledger.get(ledger.size() - 1), null, ledger,
                ConfigDiff.differences(defaults, effective));
        String html = Files.readString(report);

        // seed, commit, configuration in plain view, before the quality section
        int settings = html.indexOf("<h2>Run settings</h2>");
        assertTrue(settings > 0 && settings < html.indexOf("<h2>Quality</h2>"), "settings near the top");
        assertTrue(html.contains("<th>seed</th><td>7</td>"), "seed");
        assertTrue(html.contains("<code>0123456789abcdef0123456789abcdef01234567</code>"), "git commit");
        assertTrue(html.contains("<code>train.epochs</code></td><td><code>3</code>"), "changed key and value");
        assertFalse(html.contains("s3cr3t-pass"), "secret masked");
        // timestamps to the second, UTC said once
        assertTrue(html.contains("2026-11-29 04:42:04"));
        assertFalse(Pattern.compile("\\d\\d:\\d\\d:\\d\\d\\.\\d").matcher(strip(html)).find(), "no fractions of seconds outside raw JSON");
        assertEquals(1, count(html, "(all times UTC)"));
        // deployment
        String deploy = section(html, "Deployment");
        assertTrue(deploy.contains("/srv/prod") && deploy.contains("/srv/prod/models.config"), deploy);
        assertTrue(deploy.contains("http://127.0.0.1:8501/v1/models/my_model"), deploy);
        assertTrue(deploy.contains("<th>label stable</th><td>version 2</td>"), deploy);
        assertTrue(deploy.contains("<th>removed by retention</th><td>versions 1</td>"), deploy);
        // per class: F1 and support from the confusion matrix [[8,2,0],[1,6,3],[0,0,10]]
        String perClass = section(html, "Per class");
        assertTrue(perClass.contains("<td>0 a</td><td class=\"n\">0.889</td><td class=\"n\">0.800</td>"), perClass);
        assertTrue(perClass.contains("0.842</td><td class=\"n\">10</td>"), "F1 of a = 2*.889*.8/(1.689), support 10");
        assertTrue(perClass.contains("<td>1 b</td><td class=\"n\">0.750</td><td class=\"n\">0.600</td>"), perClass);
        assertTrue(perClass.contains("0.667</td><td class=\"n\">10</td>"), "F1 of b = 2*.75*.6/1.35");
        assertTrue(perClass.contains("<th class=\"n\">30</th>"), "total support");
        // most confident mistakes first
        List<Integer> order = new ArrayList<>();
        Matcher m = Pattern.compile("<img alt=\"test image (\\d+)\"").matcher(html);
        while (m.find()) {
            order.add(Integer.parseInt(m.group(1)));
        }
        assertEquals(List.of(4, 1, 3), order, "by confidence 0.97, 0.81, 0.55");
        // the loss axis starts at 0 on round ticks; one training time, each labelled
        String curves = section(html, "Learning curves");
        assertTrue(curves.contains(">0.0</text>") && curves.contains(">2.5</text>") && !curves.contains(">2.3"), curves);
        assertTrue(curves.contains("Training loop: 7.4 s"), curves);
        String stages = section(html, "Stages");
        assertTrue(stages.contains("train <span class=\"muted\">(whole stage: data loading, training loop 7.4 s, checkpoint)</span>"
                + "</td><td class=\"n\">9.1 s"), stages);
        // trend: two deployed versions, one rejected candidate, this run circled
        String trend = section(html, "Across runs");
        assertEquals(2, count(trend, "class=\"deployed\"><title>"), trend);
        assertEquals(1, count(trend, "class=\"rejected\"><title>run 20261128-100000-bbbb"), trend);
        assertEquals(1, count(trend, "class=\"current\""), trend);
        assertTrue(trend.contains("rejected by a quality gate</text>"), "legend");
        // summary tables with the raw JSON folded away
        for (String s : List.of("Verification", "Data manifest", "Model manifest")) {
            String sec = section(html, s);
            assertTrue(sec.contains("<table class=\"kv") && sec.contains("<details><summary>raw "), s + ": " + sec);
        }
        assertTrue(section(html, "Verification").contains("<th>available after</th><td>0.02 s</td>"));
    }

    @Test
    void aRunThatDidNotDeploySaysSo() throws Exception {
        WorkDir work = workFolder(false);
        Map<String, Object> run = record(RUN, "2026-11-29T04:42:04Z", "failed", null, 0.61,
                "quality gate failed: accuracy 0.6100 below quality.min-accuracy 0.8000");
        run.put("failedStage", "test");
        String html = Files.readString(ReportWriter.write(work, run, null, List.of(run), List.of()));
        assertTrue(section(html, "Deployment").contains("This run did not deploy a version</b>: the run failed at stage test"),
                section(html, "Deployment"));
        assertTrue(html.contains("not deployed by this run"));
    }

    @Test
    void trendKindsFromTheLedger() {
        List<Svg.Point> points = ReportWriter.trendPoints(ledger(), RUN);
        assertEquals(List.of(Svg.Kind.DEPLOYED, Svg.Kind.REJECTED, Svg.Kind.FAILED, Svg.Kind.DEPLOYED),
                points.stream().map(Svg.Point::kind).toList());
        assertEquals(List.of(false, false, false, true), points.stream().map(Svg.Point::current).toList());
    }

    @Test
    void theGeneratedReportRendersInChromiumWithoutConsoleErrors() throws Exception {
        Path chromium = ReportRenderTest.chromium();
        assumeTrue(chromium != null, "Chromium is not installed: skipping the render test");
        List<Map<String, Object>> ledger = ledger();
        Path report = ReportWriter.write(workFolder(true), ledger.get(ledger.size() - 1), null, ledger, List.of());
        ReportRenderTest.assertRendersInChromium(chromium, report, Files.createDirectories(tmp.resolve("render")));
    }

    @Test
    void theConsoleErrorCheckCatchesAScriptError() throws Exception {
        Path chromium = ReportRenderTest.chromium();
        assumeTrue(chromium != null, "Chromium is not installed: skipping the render test");
        Path page = tmp.resolve("broken.html");
        StringBuilder body = new StringBuilder("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>x</title></head><body>");
        for (int i = 0; i < 200; i++) { // enough content for the screenshot-size check to pass
            body.append("<p style=\"color:#").append(String.format("%06x", i * 83_341)).append("\">line ").append(i).append("</p>");
        }
        body.append("<script>noSuchFunction();</script></body></html>");
        Files.writeString(page, body);
        AssertionFailedError e = assertThrows(AssertionFailedError.class,
                () -> ReportRenderTest.assertRendersInChromium(chromium, page, Files.createDirectories(tmp.resolve("bad"))));
        assertTrue(e.getMessage().contains("console messages") && e.getMessage().contains("noSuchFunction"), e.getMessage());
    }

    // ---- a tiny work folder: 3 classes, 30 test images, version 2 deployed

    private WorkDir workFolder(boolean deployed) {
        WorkDir work = new WorkDir(tmp.resolve("work"));
        Dataset test = TinyFashion.dataset(30, 3);
        new PreparedData(work.data(), null).write(TinyFashion.dataset(10, 4), test);
        Json.write(work.runInfo(), Map.of("runId", RUN, "started", "2026-11-29T04:42:04.385658274Z",
                "gitCommit", "0123456789abcdef0123456789abcdef01234567"));
        Map<String, Object> history = new LinkedHashMap<>();
        history.put("architecture", "tutorial");
        history.put("epochs", 3);
        history.put("batchSize", 16);
        history.put("learningRate", 0.003);
        history.put("schedule", "cosine");
        history.put("seed", 7);
        history.put("trainImages", 10);
        history.put("warmStart", false);
        history.put("seconds", 7.43);
        history.put("imagesPerSecond", 4.0);
        history.put("history", List.of(epoch(1, 2.3, 0.4, 2.0, 0.45), epoch(2, 1.1, 0.7, 1.2, 0.7),
                epoch(3, 0.6, 0.85, 0.7, 0.8)));
        Json.write(work.history(), history);
        Map<String, Object> ev = new LinkedHashMap<>();
        ev.put("accuracy", 0.8);
        ev.put("loss", 0.7);
        ev.put("gates", List.of(Map.of("name", "min-accuracy", "passed", deployed, "message", "accuracy 0.8")));
        ev.put("perClass", List.of(Map.of("label", 0, "name", "a"), Map.of("label", 1, "name", "b"),
                Map.of("label", 2, "name", "c")));
        ev.put("confusionMatrix", List.of(List.of(8, 2, 0), List.of(1, 6, 3), List.of(0, 0, 10)));
        ev.put("misclassified", List.of(wrong(1, 0.81), wrong(3, 0.55), wrong(4, 0.97)));
        Json.write(work.evaluation(), ev);
        Json.write(work.data().resolve(PreparedData.MANIFEST), Map.of("created", "2026-11-29T04:42:04.3264Z",
                "source", "/data", "format", "fashion-mnist", "dataset", Map.of("name", "tiny", "height", 28,
                        "width", 28, "channels", 1, "classes", List.of("a", "b", "c")),
                "train", Map.of("count", 10), "test", Map.of("count", 30), "testSplit", "its own files",
                "inputs", List.of(Map.of("name", "train.gz", "sha256", "ab".repeat(32), "bytes", 1234)),
                "batches", List.of()));
        if (deployed) {
            Json.write(work.packageDir(2).resolve("MANIFEST.json"), Map.of("version", 2, "modelName", "my_model",
                    "architecture", "tutorial", "runId", RUN, "created", "2026-11-29T04:42:16.741214818Z",
                    "metrics", Map.of("accuracy", 0.8, "loss", 0.7, "testImages", 30),
                    "files", List.of(Map.of("path", "saved_model.pb", "sha256", "cd".repeat(32), "bytes", 33362))));
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("version", 2);
            d.put("target", "/srv/prod");
            d.put("published", "2026-11-29T04:42:17.470219467Z");
            d.put("servingConfig", "/srv/prod/models.config");
            d.put("stable", 1);
            d.put("canary", 2);
            d.put("removedByRetention", List.of(1));
            Json.write(work.root().resolve("deploy.json"), d);
            Map<String, Object> v = new LinkedHashMap<>();
            v.put("version", 2);
            v.put("servingUrl", "http://127.0.0.1:8501");
            v.put("started", "2026-11-29T04:42:17.484128126Z");
            v.put("secondsUntilAvailable", 0.018763059);
            v.put("passed", true);
            v.put("stable", 2);
            v.put("seconds", 1.02);
            Json.write(work.root().resolve("verify.json"), v);
        }
        return work;
    }

    private static Map<String, Object> epoch(int e, double loss, double acc, double testLoss, double testAcc) {
        return Map.of("epoch", e, "loss", loss, "accuracy", acc, "testLoss", testLoss, "testAccuracy", testAcc);
    }

    private static Map<String, Object> wrong(int index, double confidence) {
        return Map.of("index", index, "label", 0, "predicted", 1, "confidence", confidence);
    }

    /** Version 1 deployed, a rejected candidate, a run that failed at verify, then this run (version 2). */
    private static List<Map<String, Object>> ledger() {
        List<Map<String, Object>> runs = new ArrayList<>();
        runs.add(record("20261128-090000-aaaa", "2026-11-28T09:00:00.5Z", "succeeded", 1, 0.78, null));
        runs.add(record("20261128-100000-bbbb", "2026-11-28T10:00:00Z", "failed", 1, 0.70,
                "quality gate failed: candidate accuracy 0.7000 is worse than the deployed model's 0.7800"));
        runs.add(record("20261128-110000-cccc", "2026-11-28T11:00:00Z", "failed", null, 0.79,
                "verify failed for version 2: timed out"));
        runs.add(record("20261128-120000-dddd", "2026-11-28T12:00:00Z", "abandoned", null, 0.5, null));
        Map<String, Object> current = record(RUN, "2026-11-29T04:42:04.077634810Z", "succeeded", 2, 0.8, null);
        current.put("route", "pipeline");
        current.put("trigger", "cli");
        current.put("seconds", 14.43);
        Map<String, Object> stages = new LinkedHashMap<>();
        stages.put("build", 0.27);
        stages.put("train", 9.13);
        stages.put("test", 0.65);
        current.put("stageSeconds", stages);
        runs.add(current);
        return runs;
    }

    private static Map<String, Object> record(String id, String started, String outcome, Integer version,
                                              double accuracy, String reason) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("id", id);
        r.put("started", started);
        r.put("outcome", outcome);
        if (version != null) {
            r.put("version", version);
        }
        r.put("metrics", Map.of("accuracy", accuracy));
        if (reason != null) {
            r.put("reason", reason);
        }
        return r;
    }

    /** The HTML of section {@code title}: from its heading to the next. */
    private static String section(String html, String title) {
        int from = html.indexOf("<h2>" + title + "</h2>");
        assertTrue(from >= 0, "section " + title);
        int to = html.indexOf("<h2>", from + 4);
        return html.substring(from, to < 0 ? html.length() : to);
    }

    private static String strip(String html) {
        return html.replaceAll("(?s)<details>.*?</details>", "");
    }

    private static int count(String s, String what) {
        int n = 0;
        for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + 1)) {
            n++;
        }
        return n;
    }
}
