package dev.camelmlops.cli;

import dev.camelmlops.registry.Json;
import dev.camelmlops.registry.WorkDir;
import dev.camelmlops.settings.PipelineSettings;
import dev.camelmlops.stage.VerifyStage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The lines under a run's OK or FAILED line: where the report is, which version went where
 * (deploy.json, verify.json of the work folder, when they are this run's version) and the
 * commands to serve and call it.
 */
final class RunSummary {
    /** serving.port's default; another port (0, a free port: this one) is named on the serve line. */
    static final int DEFAULT_PORT = 8501;

    private RunSummary() {
    }

    /**
     * @param record   the run's "finished" record from the ledger (its version), or null
     * @param embedded true when no serving.url is configured: `mlops serve` is the server to call
     */
    static List<String> lines(PipelineSettings settings, String route, Map<String, Object> record, boolean succeeded,
                              boolean embedded) {
        List<String> lines = new ArrayList<>();
        WorkDir work = new WorkDir(settings.workDir());
        Path report = work.root().resolve("report.html").toAbsolutePath().normalize();
        if (Files.isRegularFile(report)) {
            lines.add("  report   " + report);
        }
        if (!succeeded || !List.of("pipeline", "retrain", "deploy", "verify").contains(route)) {
            return lines;
        }
        Map<String, Object> deploy = read(work.root().resolve("deploy.json"));
        Object version = record != null && record.get("version") != null ? record.get("version")
                : deploy == null ? null : deploy.get("version");
        if (version == null || deploy == null || !same(version, deploy.get("version"))) {
            return lines;
        }
        lines.add("  version  " + version + " deployed to " + deploy.get("target"));
        Map<String, Object> verify = read(work.root().resolve("verify.json"));
        boolean verified = verify != null && same(version, verify.get("version"))
                && Boolean.TRUE.equals(verify.get("passed"));
        if ("deploy".equals(route)) {
            lines.add("  verify   not yet: ./mlops stage verify" + (same(version, deploy.get("canary"))
                    ? " (labelled canary; stable is " + deploy.get("stable") + ")" : ""));
            return lines;
        }
        if (!verified) {
            return lines;
        }
        lines.add("  verified passed, labelled " + (same(version, verify.get("stable")) ? "stable" : "- (stable is "
                + verify.get("stable") + ")") + (verify.get("stableWarning") != null ? " (" + verify.get("stableWarning")
                + ")" : ""));
        Path request = work.root().resolve(VerifyStage.EXAMPLE_REQUEST).toAbsolutePath().normalize();
        if (!Files.isRegularFile(request)) {
            return lines;
        }
        String base;
        if (embedded) {
            int port = settings.serving().port() == 0 ? DEFAULT_PORT : settings.serving().port();
            lines.add("  serve    ./mlops serve" + (port != settings.serving().port() || port != DEFAULT_PORT
                    ? " --port " + port : ""));
            base = "http://" + settings.serving().host() + ":" + port;
        } else if (settings.serving().url().isPresent()) {
            base = settings.serving().url().get();
        } else {
            return lines;
        }
        lines.add("  call     " + curl(request, base, settings.modelName(), version));
        return lines;
    }

    /** The predict request for {@code version}, its body the example request file. */
    static String curl(Path request, String base, String model, Object version) {
        return "curl -s -d " + shellWord("@" + request) + " " + base.replaceAll("/+$", "") + "/v1/models/" + model + "/versions/"
                + version + ":predict";
    }

    /** {@code word} as one shell word: as it is when it has no special characters, else single-quoted. */
    static String shellWord(String word) {
        return word.matches("[A-Za-z0-9_./:@%+=,-]+") ? word : "'" + word.replace("'", "'\\''") + "'";
    }

    private static boolean same(Object a, Object b) {
        return a != null && b != null && Objects.equals(a.toString(), b.toString());
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> read(Path file) {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            return Json.read(file, Map.class);
        } catch (RuntimeException e) {
            return null;
        }
    }
}
