package dev.camelmlops.testing;

import dev.camelmlops.cli.MlopsCli;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs the mlops command line in process (real Camel context, the project's routes) on tiny
 * generated data with a fast tutorial model, capturing everything it prints.
 */
public final class Cli {
    private static final Path HOME = Path.of("").toAbsolutePath();

    private final Path data;
    private final Path work;
    private final Map<String, String> env = new HashMap<>();
    private final List<String> defaults = new ArrayList<>();
    private String output = "";

    /** Generates tiny data under {@code tmp} and uses {@code tmp}/work, staging, prod. */
    public Cli(Path tmp) {
        this.data = tmp.resolve("data");
        this.work = tmp.resolve("work");
        TinyFashion.write(data, 300, 100);
        defaults.addAll(List.of(
                "-Ddata.dir=" + data, "-Dwork.dir=" + work, "-Ddata.download=false",
                "-Ddeploy.staging-dir=" + tmp.resolve("staging"), "-Ddeploy.prod-dir=" + tmp.resolve("prod"),
                "-Dserving.port=0", "-Dserving.poll-seconds=0.2", "-Dverify.timeout-seconds=20",
                "-Dledger.file=" + tmp.resolve("ledger.jsonl"), "-Dretrain.batch-dir=" + tmp.resolve("batches"),
                "-Dinbox.dir=" + tmp.resolve("inbox"), "-Dwatch.health-port=0",
                "-Dmodel.architecture=tutorial", "-Dtrain.epochs=2", "-Dtrain.batch-size=16",
                "-Dtrain.learning-rate=0.003", "-Dquality.min-accuracy=0.5", "--progress=plain"));
    }

    /** The options every run gets (for commands started another way). */
    public List<String> defaults() {
        return List.copyOf(defaults);
    }

    public Path data() {
        return data;
    }

    public Path work() {
        return work;
    }

    /** Sets an environment variable for the following runs. */
    public Cli env(String name, String value) {
        env.put(name, value);
        return this;
    }

    public int run(String... args) {
        List<String> all = new ArrayList<>(defaults);
        all.addAll(List.of(args));
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(buf, true, StandardCharsets.UTF_8);
        PrintStream err = System.err;
        PrintStream stdout = System.out;
        int code;
        try {
            System.setErr(out);
            System.setOut(out);
            code = MlopsCli.execute(HOME, Map.copyOf(env), out, all.toArray(String[]::new));
        } finally {
            System.setErr(err);
            System.setOut(stdout);
        }
        output = buf.toString(StandardCharsets.UTF_8);
        stdout.print(output);
        return code;
    }

    /** Everything the last run printed (its own output and the log). */
    public String output() {
        return output;
    }
}
