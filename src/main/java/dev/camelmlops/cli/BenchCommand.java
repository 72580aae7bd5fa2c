package dev.camelmlops.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.camelmlops.bench.BenchRun;
import dev.camelmlops.data.FashionMnistFiles;
import dev.camelmlops.data.InvalidDataException;
import dev.camelmlops.settings.PipelineSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code mlops bench [--quick]}: the figures users feel, each beside its reference. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Measure what users feel, each figure beside a reference.",
                "Training, data loading, pipeline overhead, peak memory, the embedded server and "
                        + "SFTP deploy throughput, each beside a reference measured in the same run; write "
                        + "bench.json and print a table. --quick (under 2 minutes) is a smoke test for CI."})
final class BenchCommand implements Callable<Integer> {
    @ParentCommand
    MlopsCli parent;

    @Option(names = "--quick", description = "Smaller measurements; skips the 60-second default-model run.")
    boolean quick;

    @Option(names = "--only", paramLabel = "STEPS", split = ",",
            description = "Run only these steps (comma-separated): ${COMPLETION-CANDIDATES}. serving and reloads"
                    + " also train the tutorial model they serve.")
    java.util.Set<BenchRun.Step> only;

    @Option(names = "--output", paramLabel = "FILE", defaultValue = "var/bench/bench.json",
            description = "Where to write the results (default: var/bench/bench.json).")
    Path output;

    @Override
    public Integer call() throws Exception {
        PipelineSettings settings = parent.settings(parent.configuration());
        FashionMnistFiles files = settings.dataDir().map(FashionMnistFiles::in)
                .orElse(FashionMnistFiles.in(settings.dataSystemDir()));
        if (!files.complete()) {
            throw new InvalidDataException(files.missing().get(0), "Fashion-MNIST is needed for the benchmark "
                    + "(apt-get install dataset-fashion-mnist, or set data.dir)");
        }
        Path scratch = Files.createTempDirectory("mlops-bench-");
        Map<String, Object> results = BenchRun.all(files, quick, only, parent.out(), scratch, parent.home(),
                MlopsCli.gitCommit(parent.home()));
        Files.createDirectories(output.toAbsolutePath().getParent());
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(output.toFile(), results);
        parent.out().println(BenchRun.table(results));
        parent.out().println("Written to " + output);
        return ExitCodes.OK;
    }
}
