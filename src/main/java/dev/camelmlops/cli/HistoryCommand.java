package dev.camelmlops.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.camelmlops.registry.RunLedger;
import dev.camelmlops.settings.PipelineSettings;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code mlops history [ID | --compare A B]}: the run ledger, one line per run, one run whole, or two side by side. */
@Command(name = "history", mixinStandardHelpOptions = true,
        description = {"List the runs in the run ledger (ledger.file), oldest first.",
                "Every run is there, whatever started it (cli, cli-stage, inbox, schedule, "
                        + "promote, rollback) and however it ended. With a run id: that run whole. With "
                        + "--compare A B: two runs' parameters, metrics and stage seconds side by side. "
                        + "Exit code 2 for an unknown run id."})
final class HistoryCommand implements Callable<Integer> {
    /** The stages in the order a run goes through them (a retrain's candidate first). */
    static final List<String> STAGE_ORDER = List.of("retrain", "build", "train", "test", "package", "deploy", "verify");

    @ParentCommand
    MlopsCli parent;

    @Parameters(index = "0", arity = "0..1", paramLabel = "ID", description = "A run id: show that run.")
    String id;

    @Option(names = "--compare", arity = "2", paramLabel = "ID",
            description = "Two run ids: their parameters, metrics and stage seconds side by side, differences "
                    + "marked with *.")
    List<String> compare;

    @Override
    public Integer call() throws Exception {
        PipelineSettings settings = parent.settings(parent.configuration());
        RunLedger ledger = Storage.ledgerOnly(settings);
        PrintStream out = parent.out();
        if (compare != null) {
            if (id != null) {
                throw new MlopsCli.ConfigurationException("give either a run id or --compare A B, not both");
            }
            List<Map<String, Object>> runs = new ArrayList<>();
            for (String c : compare) {
                Optional<Map<String, Object>> run = ledger.run(c);
                if (run.isEmpty()) {
                    return unknown(out, c, ledger);
                }
                runs.add(run.get());
            }
            compare(out, runs.get(0), runs.get(1));
            return ExitCodes.OK;
        }
        if (id != null) {
            Optional<Map<String, Object>> run = ledger.run(id);
            if (run.isEmpty()) {
                return unknown(out, id, ledger);
            }
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(run.get()));
            return ExitCodes.OK;
        }
        List<Map<String, Object>> runs = ledger.runs();
        if (runs.isEmpty()) {
            out.println("No runs yet (" + ledger.describe() + ")");
            return ExitCodes.OK;
        }
        boolean cluster = settings.cluster().enabled();
        List<String> header = new ArrayList<>(List.of("RUN", "TRIGGER", "ROUTE", "ARCH", "STARTED", "SECONDS",
                "OUTCOME", "VERSION", "ACCURACY"));
        if (cluster) {
            header.add("INSTANCE");
        }
        header.addAll(List.of("STAGE SECONDS", "REASON"));
        List<List<String>> rows = new ArrayList<>();
        rows.add(header);
        for (Map<String, Object> r : runs) {
            Object accuracy = r.get("metrics") instanceof Map<?, ?> m ? m.get("accuracy") : null;
            Object version = r.containsKey("version") ? r.get("version") : r.get("packagedVersion");
            Object architecture = r.get("params") instanceof Map<?, ?> p ? p.get("architecture") : null;
            List<String> row = new ArrayList<>(List.of(str(r.get("id")), str(r.get("trigger")), str(r.get("route")),
                    str(architecture), str(r.get("started")).replaceFirst("\\.\\d+Z$", "Z"),
                    r.get("seconds") instanceof Number n ? String.format(Locale.ROOT, "%.2f", n.doubleValue()) : "-",
                    outcome(r), str(version),
                    accuracy instanceof Number a ? String.format(Locale.ROOT, "%.4f", a.doubleValue()) : "-"));
            if (cluster) {
                row.add(str(r.get("instance")));
            }
            row.add(stages(r));
            row.add(r.get("reason") == null ? "" : r.get("reason").toString());
            rows.add(row);
        }
        table(rows).forEach(out::println);
        return ExitCodes.OK;
    }

    private static int unknown(PrintStream out, String runId, RunLedger ledger) {
        out.println("No run " + runId + " in " + ledger.describe() + " (`mlops history` lists the runs)");
        return ExitCodes.USAGE;
    }

    private static String str(Object o) {
        return o == null ? "-" : o.toString();
    }

    /** succeeded, running, failed at STAGE, abandoned at STAGE. */
    static String outcome(Map<String, Object> r) {
        Object stage = r.get("failedStage") != null ? r.get("failedStage") : r.get("stoppedAtStage");
        return str(r.get("outcome")) + (stage == null ? "" : " at " + stage);
    }

    /**
     * "build 0.30 train 8.38 ...": the stages' seconds in pipeline order, two decimals; for a move
     * of the stable label (promote, rollback) that succeeded "stable 2 -> 1"; else "-".
     */
    @SuppressWarnings("unchecked")
    static String stages(Map<String, Object> r) {
        if (r.get("stageSeconds") instanceof Map<?, ?> m && !m.isEmpty()) {
            List<String> parts = new ArrayList<>();
            for (Map.Entry<String, Object> e : ordered((Map<String, Object>) m).entrySet()) {
                parts.add(e.getKey() + " " + (e.getValue() instanceof Number n
                        ? String.format(Locale.ROOT, "%.2f", n.doubleValue()) : str(e.getValue())));
            }
            return String.join(" ", parts);
        }
        if (List.of("promote", "rollback").contains(String.valueOf(r.get("route"))) && r.get("version") != null
                && "succeeded".equals(r.get("outcome"))) {
            return "stable " + (r.get("previousStable") == null ? "" : r.get("previousStable") + " ") + "-> "
                    + r.get("version");
        }
        return "-";
    }

    /** The stages of {@code seconds} in pipeline order, then any other in the record's order. */
    static Map<String, Object> ordered(Map<String, Object> seconds) {
        Map<String, Object> o = new LinkedHashMap<>();
        for (String s : STAGE_ORDER) {
            if (seconds.containsKey(s)) {
                o.put(s, seconds.get(s));
            }
        }
        seconds.forEach(o::putIfAbsent);
        return o;
    }

    /** Rows as columns two spaces apart, each as wide as its widest cell; the last column not padded. */
    static List<String> table(List<List<String>> rows) {
        int columns = rows.get(0).size();
        int[] width = new int[columns];
        for (List<String> row : rows) {
            for (int c = 0; c < columns; c++) {
                width[c] = Math.max(width[c], row.get(c).length());
            }
        }
        List<String> lines = new ArrayList<>();
        for (List<String> row : rows) {
            StringBuilder b = new StringBuilder();
            for (int c = 0; c < columns; c++) {
                String cell = row.get(c);
                b.append(c == columns - 1 ? cell : cell + " ".repeat(width[c] - cell.length() + 2));
            }
            lines.add(b.toString().stripTrailing());
        }
        return lines;
    }

    /** Two runs side by side: every key either has (flattened), a * where they differ. */
    static void compare(PrintStream out, Map<String, Object> a, Map<String, Object> b) {
        Map<String, String> fa = comparable(a);
        Map<String, String> fb = comparable(b);
        LinkedHashSet<String> union = new LinkedHashSet<>(fa.keySet());
        union.addAll(fb.keySet());
        List<String> keys = new ArrayList<>(union);
        keys.sort(java.util.Comparator.comparingInt(HistoryCommand::rank)); // stable: else as first seen
        List<List<String>> rows = new ArrayList<>();
        rows.add(List.of("", "KEY", str(a.get("id")), str(b.get("id"))));
        int differ = 0;
        for (String k : keys) {
            String va = fa.getOrDefault(k, "-");
            String vb = fb.getOrDefault(k, "-");
            boolean different = !va.equals(vb);
            differ += different ? 1 : 0;
            rows.add(List.of(different ? "*" : "", k, va, vb));
        }
        table(rows).forEach(out::println);
        out.println(differ + " of " + keys.size() + " differ (*)");
    }

    /** The run first, then parameters, metrics, data, and stage seconds in pipeline order. */
    private static int rank(String key) {
        List<String> sections = List.of("params.", "metrics.", "data.", "stageSeconds.");
        for (int i = 0; i < sections.size(); i++) {
            if (key.startsWith(sections.get(i))) {
                int stage = STAGE_ORDER.indexOf(key.substring(sections.get(i).length()));
                return (i + 1) * 100 + (i == 3 ? (stage < 0 ? 99 : stage) : 0);
            }
        }
        return 0;
    }

    /** What two runs are compared on: the run, its parameters, metrics, data and stage seconds, flat. */
    @SuppressWarnings("unchecked")
    static Map<String, String> comparable(Map<String, Object> r) {
        Map<String, String> f = new LinkedHashMap<>();
        if (r.get("started") != null) {
            f.put("started", r.get("started").toString().replaceFirst("\\.\\d+Z$", "Z"));
        }
        for (String k : List.of("trigger", "route", "outcome", "version", "packagedVersion",
                "previousStable", "failedStage", "stoppedAtStage")) {
            if (r.get(k) != null) {
                f.put(k, r.get(k).toString());
            }
        }
        if (r.get("seconds") instanceof Number n) {
            f.put("seconds", String.format(Locale.ROOT, "%.2f", n.doubleValue()));
        }
        if (r.get("params") instanceof Map<?, ?> p) {
            ((Map<String, Object>) p).forEach((k, v) -> f.put("params." + k, number(v)));
        }
        if (r.get("metrics") instanceof Map<?, ?> m) {
            ((Map<String, Object>) m).forEach((k, v) -> {
                if (v instanceof Map<?, ?> nested) {
                    ((Map<String, Object>) nested).forEach((k2, v2) -> {
                        if (!(v2 instanceof Map) && !(v2 instanceof List)) {
                            f.put("metrics." + k + "." + k2, number(v2));
                        }
                    });
                } else if (v instanceof List<?> gates) {
                    for (Object g : gates) {
                        if (g instanceof Map<?, ?> gate && gate.get("name") != null) {
                            f.put("metrics." + k + "." + gate.get("name"),
                                    Boolean.TRUE.equals(gate.get("passed")) ? "passed" : "failed");
                        }
                    }
                } else {
                    f.put("metrics." + k, number(v));
                }
            });
        }
        if (r.get("data") instanceof Map<?, ?> d) {
            if (d.get("trainImages") != null) {
                f.put("data.trainImages", d.get("trainImages").toString());
            }
            if (d.get("batches") instanceof List<?> batches) {
                f.put("data.batches", Integer.toString(batches.size()));
            }
        }
        if (r.get("stageSeconds") instanceof Map<?, ?> s) {
            ordered((Map<String, Object>) s).forEach((k, v) -> f.put("stageSeconds." + k,
                    v instanceof Number n ? String.format(Locale.ROOT, "%.2f", n.doubleValue()) : str(v)));
        }
        return f;
    }

    /** Doubles to at most 6 significant digits (0.8771, 0.341140), the rest as they are. */
    private static String number(Object v) {
        if (v instanceof Double || v instanceof Float) {
            double d = ((Number) v).doubleValue();
            return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d)
                    : new java.math.BigDecimal(d).round(new java.math.MathContext(6)).stripTrailingZeros().toPlainString();
        }
        return str(v);
    }
}
