package dev.camelmlops.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.camelmlops.testing.Cli;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Every command's help wraps once, at the width, and lists only the options that act on it. */
class HelpTest {
    @TempDir
    Path tmp;

    /** "mlops", "mlops run", ... -> the help at {@code width} (as on a terminal that wide). */
    private static Map<String, String> helps(int width) {
        CommandLine root = MlopsCli.commandLine(Path.of(""), Map.of(), new PrintStream(new ByteArrayOutputStream()));
        assertTrue(root.isUsageHelpAutoWidth(), "the terminal's width");
        Map<String, String> helps = new LinkedHashMap<>();
        List<CommandLine> all = new ArrayList<>(List.of(root));
        all.addAll(root.getSubcommands().values());
        for (CommandLine c : all) {
            c.setUsageHelpAutoWidth(false);
            c.setUsageHelpWidth(width);
            helps.put(c.getCommandSpec().qualifiedName(), c.getUsageMessage(CommandLine.Help.Ansi.OFF));
        }
        return helps;
    }

    @Test
    void everyHelpFitsEightyColumnsAndNoSentenceIsCutByTheSource() {
        Map<String, String> narrow = helps(80);
        assertTrue(narrow.keySet().containsAll(List.of("mlops", "mlops run", "mlops stage", "mlops history",
                "mlops serve", "mlops check", "mlops versions", "mlops bench")), narrow.keySet().toString());
        narrow.forEach((name, help) -> help.lines().forEach(l ->
                assertTrue(l.length() <= 80, name + ": " + l.length() + " columns: " + l)));
        // on a wide terminal a paragraph is one line: the only breaks are the terminal's
        Map<String, String> wide = helps(400);
        assertTrue(wide.get("mlops run").lines().anyMatch(l -> l.startsWith(
                "build -> train -> test -> package -> deploy -> verify. Without serving.url")), wide.get("mlops run"));
        assertTrue(wide.get("mlops retrain").lines().anyMatch(l -> l.startsWith("Warm start from the deployed model "
                + "with the pending new batches (from the inbox) plus a replay")), wide.get("mlops retrain"));
        assertTrue(wide.get("mlops").lines().anyMatch(l -> l.startsWith("Exit codes: 0 every step succeeded; 1 a "
                + "stage failed (bad data, diverged training, quality gate")), wide.get("mlops"));
        wide.forEach((name, help) -> help.lines().filter(l -> !l.startsWith(" ") && !l.startsWith("Usage:")
                && !l.isEmpty()).forEach(l -> assertTrue(l.matches(".*[.:)]$"),
                        name + ": a description line that does not end a sentence: " + l)));
        // the command list shows each command's first sentence whole
        assertTrue(narrow.get("mlops").contains("  retrain        Retrain once from the deployed model, then exit.\n"),
                narrow.get("mlops"));
        // the stage table keeps its columns within 80
        assertTrue(narrow.get("mlops stage").contains(
                "  verify   wait until serving reports the version AVAILABLE, compare its\n"
                        + "           predictions on a canary batch"), narrow.get("mlops stage"));
    }

    @Test
    void progressIsOfferedOnlyByTheCommandsThatTrain() {
        Map<String, String> helps = helps(80);
        for (String c : List.of("mlops run", "mlops retrain", "mlops stage", "mlops watch")) {
            assertTrue(helps.get(c).contains("--progress=MODE"), c);
        }
        for (String c : List.of("mlops history", "mlops versions", "mlops check", "mlops notify", "mlops serve",
                "mlops promote", "mlops rollback", "mlops bench", "mlops help")) {
            assertFalse(helps.get(c).contains("--progress"), c + " lists --progress:\n" + helps.get(c));
        }
        assertFalse(helps.get("mlops help").contains("--config"), helps.get("mlops help"));
        assertTrue(helps.get("mlops history").contains("--config=FILE"), helps.get("mlops history"));
    }

    @Test
    void progressWorksBeforeAndAfterTheCommand() {
        Cli cli = new Cli(tmp);
        assertEquals(0, cli.run("stage", "build"), cli.output());
        assertEquals(0, cli.run("stage", "train", "--progress=off"), cli.output());
        assertFalse(cli.output().contains("Epoch 1/2"), "off after the command wins over plain before it");
        assertEquals(0, cli.run("stage", "train"), cli.output());
        assertTrue(cli.output().contains("Epoch 1/2"), cli.output());
        assertEquals(2, cli.run("stage", "train", "--progress=loud"), cli.output());
        assertEquals(2, cli.run("history", "--progress=off"), "history has no --progress");
        assertTrue(cli.output().contains("Unknown option: '--progress=off'"), cli.output());
        assertEquals(0, cli.run("history", "-Dmodel.architecture=tutorial"), "-D after any command");
    }
}
