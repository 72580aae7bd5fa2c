package dev.camelmlops.stage;

import dev.camelmlops.model.LearningRateSchedule;
import dev.camelmlops.model.ModelArchitecture;
import dev.camelmlops.model.TrainingParams;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * Typed, validated configuration of the stages, read from Camel properties (which the launcher
 * fills from config/application.properties, .env, the environment and -D options). Every problem
 * is reported with the key's name, so bad configuration fails before any stage runs.
 */
public record PipelineSettings(
        Path workDir,
        Optional<Path> dataDir,
        Path dataSystemDir,
        Path dataCacheDir,
        boolean dataDownload,
        URI dataDownloadUrl,
        Duration dataDownloadTimeout,
        Map<String, String> dataSha256,
        String modelName,
        TrainingParams training,
        double minAccuracy,
        String stagingUri,
        String runId,
        String gitCommit) {

    /** Reads the settings; {@code property} returns null for an unset key. */
    public static PipelineSettings from(Function<String, String> property) {
        Reader r = new Reader(property);
        ModelArchitecture arch = r.get("model.architecture", "default", ModelArchitecture::parse);
        int epochs = r.getOptional("train.epochs", Integer::parseInt).orElse(arch.defaultEpochs());
        int batch = r.getOptional("train.batch-size", Integer::parseInt).orElse(arch.defaultBatchSize());
        float lr = r.getOptional("train.learning-rate", Float::parseFloat).orElse(arch.defaultLearningRate());
        long seed = r.get("train.seed", "42", Long::parseLong);
        boolean validate = r.get("train.validate-each-epoch", "true", PipelineSettings::parseBoolean);
        int threads = r.get("train.threads", "0", Integer::parseInt);
        LearningRateSchedule schedule = r.getOptional("train.lr-schedule", LearningRateSchedule::parse)
                .orElse(arch.defaultSchedule());
        TrainingParams training = new TrainingParams(arch, epochs, batch, lr, seed, validate, threads, schedule);
        double minAccuracy = r.get("quality.min-accuracy", "0.8", Double::parseDouble);
        if (!(minAccuracy >= 0 && minAccuracy <= 1)) {
            throw new IllegalArgumentException("quality.min-accuracy must be between 0 and 1, got " + minAccuracy);
        }
        Map<String, String> sha = new LinkedHashMap<>();
        for (String name : dev.camelmlops.data.FashionMnistFiles.NAMES) {
            String key = "data.sha256." + name.substring(0, name.indexOf("-idx"));
            sha.put(name, r.get(key, "", s -> {
                if (!s.isEmpty() && !s.matches("[0-9a-fA-F]{64}")) {
                    throw new IllegalArgumentException("not a SHA-256 hex digest");
                }
                return s.toLowerCase(Locale.ROOT);
            }));
        }
        String stagingUri = r.get("package.staging-uri", "file:var/staging", s -> s);
        if (!stagingUri.startsWith("file:")) {
            throw new IllegalArgumentException("package.staging-uri: only file: endpoints are supported so far, got "
                    + stagingUri);
        }
        return new PipelineSettings(
                r.get("work.dir", "work", Path::of),
                r.getOptional("data.dir", Path::of),
                r.get("data.system-dir", "/usr/share/datasets/fashion-mnist", Path::of),
                r.get("data.cache-dir", "var/cache/fashion-mnist", Path::of),
                r.get("data.download", "true", PipelineSettings::parseBoolean),
                r.get("data.download-url", "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", URI::create),
                r.get("data.download-timeout-seconds", "120", s -> Duration.ofSeconds(Long.parseLong(s))),
                sha,
                r.get("model.name", "my_model", PipelineSettings::checkModelName),
                training,
                minAccuracy,
                stagingUri,
                r.getOptional("run.id", s -> s).orElse(null),
                r.getOptional("run.git-commit", s -> s).orElse(null));
    }

    /** The staging folder of a {@code file:} staging URI (options stripped). */
    public Path stagingDir() {
        String s = stagingUri.substring("file:".length());
        int q = s.indexOf('?');
        return Path.of(q >= 0 ? s.substring(0, q) : s);
    }

    static boolean parseBoolean(String s) {
        return switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "true", "yes", "1", "on" -> true;
            case "false", "no", "0", "off" -> false;
            default -> throw new IllegalArgumentException("not a boolean");
        };
    }

    static String checkModelName(String s) {
        if (!s.matches("[A-Za-z0-9_.\\-]+")) {
            throw new IllegalArgumentException("letters, digits, '_', '.', '-' only");
        }
        return s;
    }

    private record Reader(Function<String, String> property) {
        <T> T get(String key, String def, Function<String, T> parse) {
            String raw = property.apply(key);
            String v = raw == null || raw.isBlank() ? def : raw.trim();
            return parse(key, v, parse);
        }

        <T> Optional<T> getOptional(String key, Function<String, T> parse) {
            String raw = property.apply(key);
            if (raw == null || raw.isBlank()) {
                return Optional.empty();
            }
            return Optional.of(parse(key, raw.trim(), parse));
        }

        private static <T> T parse(String key, String v, Function<String, T> parse) {
            try {
                return parse.apply(v);
            } catch (RuntimeException e) {
                String msg = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
                if (msg.contains(key)) {
                    throw new IllegalArgumentException(msg, e);
                }
                throw new IllegalArgumentException(key + ": invalid value '" + v + "': " + msg, e);
            }
        }
    }
}
