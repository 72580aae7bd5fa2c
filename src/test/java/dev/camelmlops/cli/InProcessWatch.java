package dev.camelmlops.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.camelmlops.model.TrainingListener;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;

/**
 * `mlops watch` with the given options on a thread of the test JVM (the real routes, triggers,
 * embedded server and health port), started once its retrain requests are taken and its start-up
 * trigger has been decided (the "Watching ..." line, printed after it), and stopped as SIGTERM
 * would stop it. What the command prints (training progress with --progress=plain) is kept.
 */
final class InProcessWatch implements AutoCloseable {
    private static final Path HOME = Path.of("").toAbsolutePath();
    final MlopsCli.WatchSetup setup;
    private final Thread thread;
    private final ByteArrayOutputStream printed = new ByteArrayOutputStream();

    InProcessWatch(List<String> args) throws Exception {
        this(args, TrainingListener.NONE);
    }

    /** With {@code training} told of the training progress of every run (on the training thread). */
    InProcessWatch(List<String> args, TrainingListener training) throws Exception {
        OutputStream kept = new OutputStream() {
            @Override
            public void write(int b) {
                synchronized (printed) {
                    printed.write(b);
                }
            }

            @Override
            public void write(byte[] b, int off, int len) {
                synchronized (printed) {
                    printed.write(b, off, len);
                }
            }
        };
        PrintStream out = new PrintStream(kept, true, StandardCharsets.UTF_8);
        MlopsCli mlops = new MlopsCli(HOME, Map.of(), out).observeTraining(training);
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
        // afterStart offers the start-up trigger (a missed slot, batches left pending), then prints this
        deadline = System.currentTimeMillis() + 30_000;
        while (!printed().contains("Watching ") && thread.isAlive() && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(printed().contains("Watching "), "start-up done within 30 s: " + printed());
    }

    PipelineApp app() {
        return setup.app();
    }

    /** Everything the command has printed so far. */
    String printed() {
        synchronized (printed) {
            return printed.toString(StandardCharsets.UTF_8);
        }
    }

    @Override
    public void close() throws Exception {
        setup.app().stopWatch();
        thread.join(60_000);
        setup.close();
    }
}
