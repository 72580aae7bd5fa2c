package dev.camelmlops.cli;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.camelmlops.testing.Cli;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.camel.CamelContext;
import org.apache.camel.main.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** One-shot commands load the pipeline routes without the service's triggers (inbox, Quartz). */
class RouteSelectionTest {
    @TempDir
    Path tmp;

    @Test
    void oneShotLeavesOutTheTriggersAndTheServiceHasThem() throws Exception {
        Cli cli = new Cli(tmp);
        MlopsCli mlops = new MlopsCli(Path.of("").toAbsolutePath(), Map.of(),
                new PrintStream(OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8));
        new CommandLine(mlops).parseArgs(cli.defaults().toArray(String[]::new));
        try (MlopsCli.WatchSetup setup = mlops.watchSetup()) {
            Main oneShot = setup.app().newMain(false);
            oneShot.start();
            try {
                CamelContext c = oneShot.getCamelContext();
                assertNotNull(c.getRoute("pipeline"));
                assertNotNull(c.getRoute("retrain"));
                assertNull(c.getRoute("inbox"));
                assertNull(c.getRoute("schedule"));
                assertNull(c.hasComponent("quartz"), "Quartz is not even created");
            } finally {
                oneShot.stop();
            }
            assertFalse(Files.exists(tmp.resolve("inbox")), "the inbox folder is not created by a one-shot run");

            Main service = setup.app().newMain(true);
            service.start();
            try {
                CamelContext c = service.getCamelContext();
                assertNotNull(c.getRoute("pipeline"));
                assertNotNull(c.getRoute("inbox"));
                assertNotNull(c.getRoute("schedule"));
            } finally {
                service.stop();
            }
        }
    }
}
