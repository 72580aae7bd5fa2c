package dev.camelmlops.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.camelmlops.registry.RunLedger;
import dev.camelmlops.settings.PipelineSettings;
import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code mlops history [ID]}: the run ledger, one line per run, or one run whole. */
@Command(name = "history", mixinStandardHelpOptions = true,
        description = {"List the runs in the run ledger (ledger.file), oldest first.",
                "Every run is there, whatever started it (cli, cli-stage, inbox, schedule, "
                        + "promote, rollback) and however it ended. With a run id: that run whole. With "
                        + "--compare A B: two runs' parameters, metrics and stage seconds side by side. "
                        + "Exit code 2 for an unknown run id."})
final class HistoryCommand implements Callable<Integer> {
    @ParentCommand
    MlopsCli parent;

    @Parameters(index = "0", arity = "0..1", paramLabel = "ID", description = "A run id: show that run.")
    String id;

    @Override
    public Integer call() throws Exception {
        PipelineSettings settings = parent.settings(parent.configuration());
        RunLedger ledger = Storage.ledgerOnly(settings);
        PrintStream out = parent.out();
        if (id != null) {
            Optional<Map<String, Object>> run = ledger.run(id);
            if (run.isEmpty()) {
                out.println("No run " + id + " in " + ledger.describe());
                return ExitCodes.FAILED;
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
        out.printf(Locale.ROOT, "%-21s %-10s %-9s %-20s %8s %-11s %7s %8s  %s%s%n", "RUN", "TRIGGER", "ROUTE",
                "STARTED", "SECONDS", "OUTCOME", "VERSION", "ACCURACY", cluster ? "INSTANCE  " : "", "REASON");
        for (Map<String, Object> r : runs) {
            Object accuracy = r.get("metrics") instanceof Map<?, ?> m ? m.get("accuracy") : null;
            Object version = r.containsKey("version") ? r.get("version") : r.get("packagedVersion");
            out.printf(Locale.ROOT, "%-21s %-10s %-9s %-20s %8s %-11s %7s %8s  %s%s%n", r.get("id"), r.get("trigger"),
                    r.get("route"), String.valueOf(r.get("started")).replaceFirst("\\.\\d+Z$", "Z"),
                    r.get("seconds") == null ? "-" : String.format(Locale.ROOT, "%.1f", ((Number) r.get("seconds")).doubleValue()),
                    r.get("outcome"), version == null ? "-" : version,
                    accuracy == null ? "-" : String.format(Locale.ROOT, "%.4f", ((Number) accuracy).doubleValue()),
                    cluster ? r.get("instance") + "  " : "", r.get("reason") == null ? "" : r.get("reason"));
        }
        return ExitCodes.OK;
    }
}
