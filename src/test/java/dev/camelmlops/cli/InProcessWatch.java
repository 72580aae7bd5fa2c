package dev.camelmlops.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;

/**
 * `mlops watch` with the given options on a thread of the test JVM (the real routes, triggers,
 * embedded server and health port), started once its retrain requests are taken, and stopped as
 * SIGTERM would stop it.
 */
final class InProcessWatch implements AutoCloseable {
    private static final Path HOME = Path.of("").toAbsolutePath();
    final MlopsCli.WatchSetup setup;
    private final Thread thread;

    InProcessWatch(List<String> args) throws Exception {
        PrintStream out = new PrintStream(OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8);
        MlopsCli mlops = new MlopsCli(HOME, Map.of(), out);
        new CommandLine(mlops).parseArgs(args.toArray(String[]::new));
        setup = mlops.watchSetup();
        thread = new Thread(() -> setup.app().watch(setup.healthPort()), "watch-under-test");
        thread.start();
        long deadline = System.currentTimeMillis() + 60_000;
        while (setup.app().requests() == null && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(setup.app().requests() != null && setup.app().requests().awaitStarted(30_000),
                "service started within 60 s");
    }

    PipelineApp app() {
        return setup.app();
    }

    @Override
    public void close() throws Exception {
        setup.app().stopWatch();
        thread.join(60_000);
        setup.close();
    }
}
