package dev.camelmlops.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.camelmlops.deploy.DeployException;
import dev.camelmlops.deploy.DeployTarget;
import dev.camelmlops.deploy.ModelStore;
import dev.camelmlops.registry.RunLedger;
import dev.camelmlops.serving.ServingClient;
import dev.camelmlops.settings.PipelineSettings;
import dev.camelmlops.stage.StageFailedException;
import dev.camelmlops.stage.VersionLabels;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code mlops promote}, {@code mlops rollback} and {@code mlops versions}: the stable label of the
 * model in prod, moved and shown, on the deploy target (local, or over SFTP) through
 * {@link VersionLabels}. A move is a run in the ledger (route promote or rollback, trigger cli)
 * with its label events; it waits for the serving host when there is one to ask.
 */
final class LabelCommands {
    private LabelCommands() {
    }

    @Command(name = "promote", mixinStandardHelpOptions = true,
            description = {"Label VERSION stable.",
                "VERSION (a version in prod) is added to the versions models.config loads, and "
                        + "once the serving host reports it AVAILABLE the label moves to it and the others "
                        + "are unloaded. Exit code 1 when the version is not in prod or does not load."})
    static final class Promote implements Callable<Integer> {
        @ParentCommand
        MlopsCli parent;

        @Parameters(index = "0", paramLabel = "VERSION", description = "The version to label stable.")
        String version;

        @Override
        public Integer call() {
            long v = version(version);
            return move(parent, "promote", "mlops promote " + version, labels -> v);
        }
    }

    @Command(name = "rollback", mixinStandardHelpOptions = true,
            description = {"Move the stable label back.",
                "To the previous stable version (from the ledger's label history, skipping "
                        + "versions rolled back from), or to --to VERSION. The version rolled back from "
                        + "stays in prod, unloaded. Exit code 1 when there is nothing to roll back to."})
    static final class Rollback implements Callable<Integer> {
        @ParentCommand
        MlopsCli parent;

        @Option(names = "--to", paramLabel = "VERSION", description = "The version to make stable instead.")
        String to;

        @Override
        public Integer call() {
            Long v = to == null ? null : version(to);
            return move(parent, "rollback", "mlops rollback" + (to == null ? "" : " --to " + to),
                    (labels) -> v != null ? v : labels.target());
        }
    }

    @Command(name = "versions", mixinStandardHelpOptions = true,
            description = {"List the versions in prod, newest first.",
                "Labels, whether models.config loads them, accuracy, run, and when and by what "
                        + "each label was set (from the ledger)."})
    static final class Versions implements Callable<Integer> {
        @ParentCommand
        MlopsCli parent;

        @Option(names = "--json", description = "Print JSON instead of the table.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            PipelineSettings settings = parent.settings(parent.configuration());
            RunLedger ledger = Storage.ledgerOnly(settings);
            VersionLabels labels = new VersionLabels(settings, ledger);
            try (ModelStore prod = open(settings)) {
                List<VersionLabels.VersionRow> rows = labels.versions(prod);
                if (json) {
                    parent.out().println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                            .writeValueAsString(rows));
                } else {
                    print(parent.out(), settings, prod, labels, rows);
                }
                return ExitCodes.OK;
            } catch (StageFailedException | DeployException e) {
                parent.out().println("FAILED: " + e.getMessage());
                return ExitCodes.FAILED;
            }
        }
    }

    /** Chooses the version a move goes to, given the labels (rollback asks for its default target). */
    @FunctionalInterface
    private interface Choice {
        long version(Target labels);
    }

    /** What a choice can ask. */
    private interface Target {
        long target();
    }

    static long version(String text) {
        if (!text.matches("[0-9]{1,9}") || Long.parseLong(text) < 1) {
            throw new MlopsCli.ConfigurationException("VERSION must be a positive whole number (a folder of prod),"
                    + " got '" + text + "'");
        }
        return Long.parseLong(text);
    }

    private static ModelStore open(PipelineSettings settings) {
        return settings.target().open(DeployTarget.PROD);
    }

    /**
     * A move of the stable label, recorded as a run: started, the move (its label events), finished
     * with the outcome; then the versions table.
     */
    private static int move(MlopsCli parent, String route, String command, Choice choice) {
        PipelineSettings settings = parent.settings(parent.configuration());
        PrintStream out = parent.out();
        ServingClient client = client(settings);
        RunLedger ledger = Storage.ledgerOnly(settings);
        VersionLabels labels = new VersionLabels(settings, ledger);
        // the pipeline writes models.config too: one writer at a time (the last would win)
        for (Map<String, Object> r : ledger.runs()) {
            if (RunLedger.RUNNING.equals(r.get("outcome"))
                    && List.of("pipeline", "retrain", "deploy", "verify", "promote", "rollback").contains(r.get("route"))) {
                out.println("FAILED: run " + r.get("id") + " (" + r.get("route") + ", started " + r.get("started")
                        + ") is in progress and may move labels itself: " + route + " when it has ended");
                return ExitCodes.FAILED;
            }
        }
        String runId = settings.runId();
        Instant start = Instant.now();
        Map<String, Object> started = new LinkedHashMap<>();
        started.put("event", "started");
        started.put("id", runId);
        started.put("trigger", "cli");
        started.put("route", route);
        started.put("started", start.toString());
        started.put("instance", settings.cluster().instanceId());
        started.put("pid", ProcessHandle.current().pid());
        started.put("command", command);
        ledger.append(started);
        String outcome = "failed";
        String reason = null;
        Long version = null;
        Long previous = null;
        try (ModelStore prod = open(settings)) {
            previous = labels.read(prod).label(VersionLabels.STABLE).orElse(null);
            long v = choice.version(() -> labels.rollbackTarget(prod));
            version = v;
            VersionLabels.Availability availability = client == null ? null
                    : VersionLabels.availability(client, settings.verify().timeout());
            labels.promote(prod, v, availability, new VersionLabels.Mover(route, runId, command));
            String served = "";
            if (client != null) {
                OptionalLong seen = VersionLabels.awaitLabel(client, VersionLabels.STABLE, v, settings.verify().timeout());
                if (seen.isEmpty() || seen.getAsLong() != v) {
                    throw new StageFailedException(VersionLabels.CONFIG_FILE + " labels version " + v + " "
                            + VersionLabels.STABLE + ", but " + client.modelUrl() + " still resolves the label to "
                            + (seen.isEmpty() ? "nothing" : "version " + seen.getAsLong()) + " after "
                            + settings.verify().timeout().toSeconds() + " s (its config poll interval may be longer)");
                }
                served = "; " + client.modelUrl() + "/labels/" + VersionLabels.STABLE + " answers version " + v;
            } else {
                served = "; no serving host answered at " + describe(settings) + ", so none was asked";
            }
            outcome = "succeeded";
            out.println("OK: version " + v + " is " + VersionLabels.STABLE
                    + (previous == null ? "" : previous == v ? " (it was already)" : " (was " + previous + ")") + served);
            print(out, settings, prod, labels, labels.versions(prod));
            return ExitCodes.OK;
        } catch (StageFailedException | DeployException e) {
            reason = e.getMessage();
            out.println("FAILED: " + e.getMessage());
            return ExitCodes.FAILED;
        } finally {
            Instant end = Instant.now();
            Map<String, Object> finished = new LinkedHashMap<>();
            finished.put("event", "finished");
            finished.put("id", runId);
            finished.put("trigger", "cli");
            finished.put("route", route);
            finished.put("started", start.toString());
            finished.put("ended", end.toString());
            finished.put("seconds", Duration.between(start, end).toMillis() / 1000.0);
            finished.put("instance", settings.cluster().instanceId());
            finished.put("outcome", outcome);
            finished.put("version", version);
            finished.put("previousStable", previous);
            if (reason != null) {
                finished.put("reason", reason);
            }
            try {
                ledger.append(finished);
            } catch (RuntimeException e) {
                out.println("WARNING: not recorded in the run ledger " + ledger.describe() + ": " + e.getMessage());
            }
        }
    }

    private static String describe(PipelineSettings settings) {
        return settings.serving().url().orElse("http://" + settings.serving().host() + ":" + settings.serving().port());
    }

    /**
     * The serving host to wait for: serving.url; else, for a local target, the embedded server's
     * address (serving.host:serving.port) when something answers there (mlops watch or serve);
     * else none (a config file with nobody reading it yet can be written in one step). Over SFTP
     * without serving.url a move cannot wait, and TF Serving refuses a label on a version it has
     * not loaded: a usage error.
     */
    private static ServingClient client(PipelineSettings settings) {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        ServingClient.Transport transport = (method, url, body) -> {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10));
            b = body == null ? b.method(method, HttpRequest.BodyPublishers.noBody())
                    : b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body));
            try {
                HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
                return new ServingClient.Response(r.statusCode(), r.body());
            } catch (java.io.IOException e) {
                throw new IllegalStateException(method + " " + url + " failed: " + e, e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
        };
        if (settings.serving().url().isPresent()) {
            return new ServingClient(settings.serving().url().get(), settings.modelName(), transport);
        }
        if (settings.target().remote()) {
            throw new MlopsCli.ConfigurationException("serving.url (SERVING_URL) is not set: over SFTP a label can move"
                    + " only once TF Serving reports the version AVAILABLE, and this command has no server to ask");
        }
        String url = "http://" + settings.serving().host() + ":" + settings.serving().port();
        try {
            http.send(HttpRequest.newBuilder(URI.create(url + "/v1/models/" + settings.modelName()))
                    .timeout(Duration.ofSeconds(5)).GET().build(), HttpResponse.BodyHandlers.discarding());
            return new ServingClient(url, settings.modelName(), transport);
        } catch (ConnectException e) {
            return null;
        } catch (java.io.IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** The versions table. */
    static void print(PrintStream out, PipelineSettings settings, ModelStore prod, VersionLabels labels,
                      List<VersionLabels.VersionRow> rows) {
        VersionLabels.State s = labels.read(prod);
        out.println("Model " + settings.modelName() + " in " + prod.describe() + "; " + VersionLabels.CONFIG_FILE + ": "
                + s.model().map(m -> "loads " + (s.policyVersions().isEmpty() ? "the newest version" : s.policyVersions())
                + ", labels " + (m.labels().isEmpty() ? "none" : m.labels().toString().replaceAll("[{}]", "")))
                .orElse("none yet (the server serves the newest version)"));
        if (rows.isEmpty()) {
            out.println("No versions in prod yet.");
            return;
        }
        out.printf(Locale.ROOT, "%7s  %-14s %-6s %8s  %-21s %-20s  %s%n", "VERSION", "LABELS", "LOADED", "ACCURACY",
                "RUN", "CREATED", "LABELLED");
        for (VersionLabels.VersionRow r : rows) {
            Object accuracy = r.manifest().get("metrics") instanceof Map<?, ?> m ? m.get("accuracy") : null;
            StringBuilder by = new StringBuilder();
            for (Map.Entry<String, Map<String, Object>> e : r.labelledBy().entrySet()) {
                Map<String, Object> ev = e.getValue();
                if (by.length() > 0) {
                    by.append("; ");
                }
                by.append(e.getKey()).append(' ').append(second(ev.get("at"))).append(" by ").append(ev.get("by"))
                        .append(ev.get("command") != null ? " (" + ev.get("command") + ")" : " (run " + ev.get("run") + ")");
            }
            out.printf(Locale.ROOT, "%7d  %-14s %-6s %8s  %-21s %-20s  %s%n", r.version(),
                    r.labels().isEmpty() ? "-" : String.join(",", r.labels()), r.loaded() ? "yes" : "no",
                    accuracy instanceof Number n ? String.format(Locale.ROOT, "%.4f", n.doubleValue()) : "-",
                    r.manifest().getOrDefault("runId", "-"), second(r.manifest().getOrDefault("created", "-")),
                    by.length() == 0 ? "-" : by);
        }
    }

    private static String second(Object instant) {
        return String.valueOf(instant).replaceFirst("\\.\\d+Z$", "Z");
    }
}
