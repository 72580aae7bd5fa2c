package dev.camelmlops.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.camelmlops.testing.Cli;
import dev.camelmlops.testing.WatchProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * README: with retrain.only-with-new-data=true (the default) a scheduled run with nothing new is
 * skipped: the service logs it, and no run, version or label comes of it.
 */
@Tag("slow")
class ScheduledRunWithoutNewDataTest {
    private static final Path HOME = Path.of("").toAbsolutePath();
    private static final String SKIPPED = "no new data since the last retrain, skipped (retrain.only-with-new-data)";

    @TempDir
    Path tmp;

    @Test
    void aScheduledRunWithNothingNewIsSkipped() throws Exception {
        Cli cli = new Cli(tmp);
        assertEquals(0, cli.run("run"), cli.output());
        List<String> ledgerBefore = Files.readAllLines(tmp.resolve("ledger.jsonl"));
        byte[] configBefore = Files.readAllBytes(tmp.resolve("prod/models.config"));

        List<String> args = new ArrayList<>(cli.defaults());
        args.add("-Dretrain.cron=0/1 * * * * ?");
        WatchProcess watch = new WatchProcess(HOME, tmp.resolve("watch.log"), args);
        try {
            // two slots fired and were skipped: the schedule runs, and keeps skipping
            WatchProcess.awaitTrue("two scheduled slots skipped", 30,
                    () -> watch.lines().stream().filter(l -> l.contains(SKIPPED)).count() >= 2);
        } finally {
            watch.sigterm();
            assertTrue(watch.awaitExit(60), "the service stopped");
        }
        String log = watch.output();
        assertTrue(log.lines().anyMatch(l -> l.contains("INFO") && l.contains("schedule") && l.contains(SKIPPED)), log);
        assertFalse(log.contains("retrain: warm start"), "no retrain began: " + log);
        assertEquals(ledgerBefore, Files.readAllLines(tmp.resolve("ledger.jsonl")), "no run recorded");
        try (Stream<Path> s = Files.list(tmp.resolve("prod"))) {
            assertEquals(List.of("1", "models.config"), s.map(p -> p.getFileName().toString()).sorted().toList());
        }
        assertEquals(new String(configBefore), Files.readString(tmp.resolve("prod/models.config")), "no label moved");
        assertFalse(Files.exists(cli.work().resolve("retrain.json")), "nothing fetched to warm-start from");
    }
}
