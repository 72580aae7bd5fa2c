package dev.camelmlops.settings;

import dev.camelmlops.data.DatasetSource;
import dev.camelmlops.data.DatasetSpec;
import dev.camelmlops.deploy.DeployTarget;
import dev.camelmlops.deploy.SftpSettings;
import dev.camelmlops.model.LearningRateSchedule;
import dev.camelmlops.model.ModelArchitecture;
import dev.camelmlops.model.TrainingParams;
import dev.camelmlops.serving.ServingOptions;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
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
        DatasetSource dataset,
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
        DeployTarget target,
        int keepVersions,
        Serving serving,
        Verify verify,
        Retrain retrain,
        Notify notifications,
        Path ledgerFile,
        Cluster cluster,
        String runId,
        String gitCommit) {

    /**
     * The TF Serving REST API the verify stage probes, or the embedded server's settings;
     * {@code tfThreads} is TensorFlow's intra-op thread count per served session.
     */
    public record Serving(Optional<String> url, String host, int port, Duration pollInterval, int threads,
                          long maxRequestBytes, int tfThreads, ServingOptions.Engine engine, Duration requestTimeout,
                          int maxConnections, Optional<String> modelBasePath) {
        /** The embedded server's options on {@code host}:{@code port}. */
        public ServingOptions options(String host, int port) {
            return new ServingOptions(engine, host, port, threads, maxRequestBytes, requestTimeout, maxConnections,
                    false);
        }
    }

    /** How retraining works and what triggers it. */
    public record Retrain(int epochs, float learningRate, double replayFraction, double maxRegression,
                          double minNewDataAgreement, String cron, boolean onlyWithNewData, Path inboxDir,
                          long inboxMaxBytes, Path batchDir) {
    }

    /** Where run notifications go (empty URL = none). The URL is a secret of sorts: never logged. */
    public record Notify(Optional<String> webhookUrl, boolean onSuccess, int attempts, long backoffMillis,
                         int timeoutMillis) {
    }

    /**
     * Cluster mode: with {@code dbUrl} set, every instance shares one PostgreSQL for the schedule,
     * the inbox's locks and hashes, the batches, the run ledger and the retrain lock. The password
     * is a secret: never logged.
     */
    public record Cluster(Optional<String> dbUrl, String dbUsername, Optional<String> dbPassword, int poolSize,
                          String instanceId, Duration takeoverCheck, Duration inboxLockMaxAge) {
        public boolean enabled() {
            return dbUrl.isPresent();
        }

        @Override
        public String toString() {
            return "Cluster[" + dbUrl.orElse("off") + ", user " + dbUsername + ", instance " + instanceId + "]";
        }
    }

    /** How the verify stage checks a deployed version. */
    public record Verify(Duration timeout, int canarySize, double tolerance) {
    }

    /** The same settings with the verify stage pointed at {@code url} (the embedded server). */
    public PipelineSettings withServingUrl(String url) {
        Serving s = new Serving(Optional.of(url), serving.host(), serving.port(), serving.pollInterval(),
                serving.threads(), serving.maxRequestBytes(), serving.tfThreads(), serving.engine(),
                serving.requestTimeout(), serving.maxConnections(), serving.modelBasePath());
        return new PipelineSettings(workDir, dataset, dataDir, dataSystemDir, dataCacheDir, dataDownload, dataDownloadUrl,
                dataDownloadTimeout, dataSha256, modelName, training, minAccuracy, target, keepVersions, s, verify,
                retrain, notifications, ledgerFile, cluster, runId, gitCommit);
    }

    /**
     * Reads the settings; {@code property} returns null for an unset key. Every invalid key is
     * reported, all in one {@link InvalidSettingsException}.
     */
    public static PipelineSettings from(Function<String, String> property) {
        Reader r = new Reader(property);
        ModelArchitecture arch = r.get("model.architecture", "default", ModelArchitecture::parse);
        int epochs = r.getOptional("train.epochs", s -> atLeast(wholeNumber(s), 1)).orElse(arch.defaultEpochs());
        int batch = r.getOptional("train.batch-size", s -> atLeast(wholeNumber(s), 1)).orElse(arch.defaultBatchSize());
        float lr = r.getOptional("train.learning-rate", s -> (float) positiveNumber(s)).orElse(arch.defaultLearningRate());
        long seed = r.get("train.seed", "42", PipelineSettings::longNumber);
        boolean validate = r.get("train.validate-each-epoch", "true", PipelineSettings::parseBoolean);
        int threads = r.getOptional("train.threads", s -> atLeast(wholeNumber(s), 0)).orElse(arch.defaultThreads());
        LearningRateSchedule schedule = r.getOptional("train.lr-schedule", LearningRateSchedule::parse)
                .orElse(arch.defaultSchedule());
        double maxSeconds = r.getOptional("train.max-seconds", s -> {
            double d = number(s);
            if (d < 0) {
                throw new IllegalArgumentException("must be 0 (no limit) or a positive number of seconds");
            }
            return d;
        }).orElse(0.0);
        TrainingParams training = r.check(() -> new TrainingParams(arch, epochs, batch, lr, seed, validate, threads,
                schedule, maxSeconds));
        double minAccuracy = r.get("quality.min-accuracy", "0.8", s -> {
            double d = number(s);
            if (!(d >= 0 && d <= 1)) {
                throw new IllegalArgumentException("quality.min-accuracy must be between 0 and 1, got " + d);
            }
            return d;
        });
        Map<String, String> sha = new LinkedHashMap<>();
        for (String name : dev.camelmlops.data.FashionMnistFiles.NAMES) {
            String key = "data.sha256." + name.substring(0, name.indexOf("-idx"));
            sha.put(name, r.get(key, "", s -> {
                if (!s.isEmpty() && !s.matches("[0-9a-fA-F]{64}")) {
                    throw new IllegalArgumentException("is not a SHA-256 hex digest");
                }
                return s.toLowerCase(Locale.ROOT);
            }));
        }
        DeployTarget target = deployTarget(r);
        int keep = r.get("deploy.keep-versions", "3", s -> {
            int k = wholeNumber(s);
            if (k < 1) {
                throw new IllegalArgumentException("deploy.keep-versions must be at least 1, got " + k);
            }
            return k;
        });
        Serving serving = new Serving(
                r.getOptional("serving.url", s -> {
                    if (!s.matches("https?://[^\\s]+")) {
                        throw new IllegalArgumentException("is not an http(s) URL");
                    }
                    return s;
                }),
                r.get("serving.host", "127.0.0.1", s -> s),
                r.get("serving.port", "8501", PipelineSettings::port),
                r.get("serving.poll-seconds", "1", s -> Duration.ofMillis((long) (positiveNumber(s) * 1000))),
                r.get("serving.threads", "0", s -> {
                    int n = atLeast(wholeNumber(s), 0);
                    return n == 0 ? Runtime.getRuntime().availableProcessors() : n;
                }),
                r.get("serving.max-request-bytes", "16777216", s -> atLeast(longNumber(s), 1)),
                r.get("serving.tf-threads", "1", PipelineSettings::positive),
                r.get("serving.engine", "netty", ServingOptions.Engine::parse),
                r.get("serving.request-timeout-seconds", "30",
                        s -> Duration.ofMillis((long) (positiveNumber(s) * 1000))),
                r.get("serving.max-connections", "1000", PipelineSettings::positive),
                r.getOptional("serving.model-base-path", s -> {
                    if (!s.startsWith("/") && !s.matches("[A-Za-z][A-Za-z0-9+.-]*://.+")) {
                        throw new IllegalArgumentException("must be an absolute path or a URI, as TF Serving requires"
                                + " of a base_path (e.g. /models/my_model), got '" + s + "'");
                    }
                    return s.replaceAll("(.)/+$", "$1");
                }));
        if (target != null && target.remote() && serving.url().isEmpty()) {
            r.problem("DEPLOY_SERVER_HOSTNAME is set but serving.url (SERVING_URL) is not: "
                    + "the verify stage needs the remote TF Serving REST URL, e.g. http://host:8501");
        }
        Verify verify = new Verify(
                r.get("verify.timeout-seconds", "60", s -> Duration.ofSeconds(atLeast(longNumber(s), 1))),
                r.get("verify.canary-size", "32", PipelineSettings::positive),
                r.get("verify.tolerance", "1e-4", PipelineSettings::number));
        // Keys only the routes and the service read: checked here so every mistake shows at once.
        r.get("watch.health-port", "8502", PipelineSettings::port);
        r.get("inbox.poll-ms", "1000", s -> atLeast(longNumber(s), 1));
        r.get("inbox.read-lock-min-age-ms", "1000", s -> atLeast(longNumber(s), 0));
        r.get("inbox.read-lock-check-ms", "500", s -> atLeast(longNumber(s), 1));
        PipelineSettings settings = new PipelineSettings(
                r.get("work.dir", "work", Path::of),
                dataset(r),
                r.getOptional("data.dir", Path::of),
                r.get("data.system-dir", "/usr/share/datasets/fashion-mnist", Path::of),
                r.get("data.cache-dir", "var/cache/fashion-mnist", Path::of),
                r.get("data.download", "true", PipelineSettings::parseBoolean),
                r.get("data.download-url", "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", s -> {
                    if (!s.matches("https?://\\S+")) {
                        throw new IllegalArgumentException("is not an http(s) URL");
                    }
                    return URI.create(s);
                }),
                r.get("data.download-timeout-seconds", "120", s -> Duration.ofSeconds(atLeast(longNumber(s), 1))),
                sha,
                r.get("model.name", "my_model", PipelineSettings::checkModelName),
                training,
                minAccuracy,
                target,
                keep,
                serving,
                verify,
                new Retrain(
                        r.get("retrain.epochs", "2", PipelineSettings::positive),
                        r.get("retrain.learning-rate", "0.0005", s -> (float) positiveNumber(s)),
                        r.get("retrain.replay-fraction", "0.25", PipelineSettings::fraction),
                        r.get("quality.max-regression", "0.0", PipelineSettings::fraction),
                        r.get("quality.min-new-data-agreement", "0.3", PipelineSettings::fraction),
                        r.get("retrain.cron", "", s -> {
                            if (!s.isBlank() && !org.quartz.CronExpression.isValidExpression(s.trim())) {
                                throw new IllegalArgumentException("is not a valid Quartz cron expression");
                            }
                            return s.trim();
                        }),
                        r.get("retrain.only-with-new-data", "true", PipelineSettings::parseBoolean),
                        r.get("inbox.dir", "inbox", Path::of),
                        r.get("inbox.max-bytes", "104857600", s -> atLeast(longNumber(s), 1)),
                        r.get("retrain.batch-dir", "var/batches", Path::of)),
                new Notify(
                        r.getOptional("notify.webhook-url", s -> {
                            if (!s.matches("https?://\\S+")) {
                                throw new IllegalArgumentException("is not an http(s) URL");
                            }
                            return s;
                        }),
                        r.get("notify.on-success", "false", PipelineSettings::parseBoolean),
                        r.get("notify.attempts", "4", PipelineSettings::positive),
                        r.get("notify.backoff-ms", "1000", s -> atLeast(longNumber(s), 0)),
                        r.get("notify.timeout-seconds", "10", s -> positive(s) * 1000)),
                r.get("ledger.file", "var/ledger/runs.jsonl", Path::of),
                new Cluster(
                        r.getOptional("db.url", s -> {
                            if (!s.startsWith("jdbc:postgresql:")) {
                                throw new IllegalArgumentException("must be a PostgreSQL JDBC URL "
                                        + "(jdbc:postgresql://host:5432/database)");
                            }
                            return s;
                        }),
                        r.get("db.username", "mlops", s -> s),
                        r.getOptional("db.password", s -> s),
                        r.get("db.pool-size", "4", s -> atLeast(positive(s), 3)),
                        r.getOptional("cluster.instance-id", s -> {
                            if (!s.matches("[A-Za-z0-9._-]{1,60}")) {
                                throw new IllegalArgumentException("must be 1-60 letters, digits, '.', '_' or '-'");
                            }
                            return s;
                        }).orElseGet(PipelineSettings::defaultInstanceId),
                        r.get("cluster.takeover-check-seconds", "5", s -> Duration.ofMillis(
                                Math.round(positiveNumber(s) * 1000))),
                        r.get("cluster.inbox-lock-max-age-seconds", "30", s -> Duration.ofSeconds(
                                atLeast(positive(s), 2)))),
                r.getOptional("run.id", s -> s).orElse(null),
                r.getOptional("run.git-commit", s -> s).orElse(null));
        if (!r.problems.isEmpty()) {
            throw new InvalidSettingsException(r.problems);
        }
        return settings;
    }

    /**
     * The dataset: Fashion-MNIST unless dataset.format says otherwise; then dataset.path,
     * dataset.classes (their order gives the labels) and the image shape are the user's.
     */
    private static DatasetSource dataset(Reader r) {
        DatasetSource.Format format = r.get("dataset.format", "fashion-mnist", DatasetSource.Format::parse);
        Optional<Path> path = r.getOptional("dataset.path", Path::of);
        DatasetSpec fm = DatasetSpec.FASHION_MNIST;
        boolean fashion = format == DatasetSource.Format.FASHION_MNIST;
        int height = r.get("dataset.height", String.valueOf(fm.height()), s -> between(wholeNumber(s), 1,
                DatasetSpec.MAX_SIDE));
        int width = r.get("dataset.width", String.valueOf(fm.width()), s -> between(wholeNumber(s), 1,
                DatasetSpec.MAX_SIDE));
        int channels = r.get("dataset.channels", "1", s -> {
            int c = wholeNumber(s);
            if (c != 1 && c != 3) {
                throw new IllegalArgumentException("must be 1 (grey) or 3 (RGB)");
            }
            return c;
        });
        Optional<List<String>> classes = r.getOptional("dataset.classes", PipelineSettings::classNames);
        double testFraction = r.get("dataset.test-fraction", "0.2", s -> {
            double d = number(s);
            if (!(d > 0 && d < 1)) {
                throw new IllegalArgumentException("must be between 0 and 1 (exclusive)");
            }
            return d;
        });
        long splitSeed = r.get("dataset.split-seed", "42", PipelineSettings::longNumber);
        String name = r.getOptional("dataset.name", s -> {
            if (!s.matches("[A-Za-z0-9._ -]{1,80}")) {
                throw new IllegalArgumentException("must be 1-80 letters, digits, spaces, '.', '_' or '-'");
            }
            return s;
        }).orElseGet(() -> fashion ? fm.name() : path.map(p -> String.valueOf(p.toAbsolutePath().normalize()
                .getFileName())).orElse("dataset"));
        if (fashion) {
            if (path.isPresent()) {
                r.problem("dataset.path is set but dataset.format is fashion-mnist: set dataset.format (idx, csv or"
                        + " image-folder) to read your own data, or data.dir to point at a copy of Fashion-MNIST");
            }
            if (height != fm.height() || width != fm.width() || channels != fm.channels()) {
                r.problem("dataset.height/width/channels are " + height + "x" + width + "x" + channels
                        + " but Fashion-MNIST is 28x28x1: set dataset.format for your own data");
            }
            if (classes.isPresent() && classes.get().size() != fm.classCount()) {
                r.problem("dataset.classes names " + classes.get().size() + " classes but Fashion-MNIST has 10");
            }
        } else {
            if (path.isEmpty()) {
                r.problem("dataset.path must be set for dataset.format=" + format.id() + ": the folder holding the data");
            }
            String raw = r.property.apply("dataset.classes");
            if (classes.isEmpty() && (raw == null || raw.isBlank())) {
                r.problem("dataset.classes must be set for dataset.format=" + format.id()
                        + ": the class names, comma-separated, in label order" + folderHint(format, path));
            }
        }
        // every part was checked above (a bad value falls back to its default), so this cannot throw
        return new DatasetSource(new DatasetSpec(name, height, width, channels, classes.orElse(fm.classes())),
                format, path, testFraction, splitSeed);
    }

    /** "a,b , c" -> [a, b, c]; each name checked by {@link DatasetSpec}. */
    private static List<String> classNames(String s) {
        List<String> names = new ArrayList<>();
        for (String part : s.split(",", -1)) {
            names.add(part.strip());
        }
        new DatasetSpec("check", 1, 1, 1, names);
        return names;
    }

    /** For an image folder whose classes are not configured: the sub-folders found, to copy. */
    private static String folderHint(DatasetSource.Format format, Optional<Path> path) {
        if (format != DatasetSource.Format.IMAGE_FOLDER || path.isEmpty()) {
            return "";
        }
        Path dir = path.get();
        if (java.nio.file.Files.isDirectory(dir.resolve("train"))) {
            dir = dir.resolve("train");
        }
        try (var list = java.nio.file.Files.list(dir)) {
            List<String> found = list.filter(java.nio.file.Files::isDirectory)
                    .map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).sorted().toList();
            return found.isEmpty() ? "" : " (the class folders in " + dir + " are: " + String.join(",", found) + ")";
        } catch (java.io.IOException e) {
            return "";
        }
    }

    private static int between(int v, int min, int max) {
        if (v < min || v > max) {
            throw new IllegalArgumentException("must be between " + min + " and " + max + ", got " + v);
        }
        return v;
    }

    /**
     * Local folders by default; SFTP when DEPLOY_SERVER_HOSTNAME is set (environment, .env or -D),
     * with the example's variable names.
     */
    private static DeployTarget deployTarget(Reader r) {
        Optional<String> host = r.getOptional("DEPLOY_SERVER_HOSTNAME", s -> s);
        if (host.isEmpty()) {
            return DeployTarget.local(r.get("deploy.staging-dir", "var/staging", Path::of),
                    r.get("deploy.prod-dir", "var/prod", Path::of));
        }
        boolean strict = r.get("DEPLOY_SERVER_STRICT_HOST_KEY_CHECKING", "yes", PipelineSettings::parseBoolean);
        int port = r.get("DEPLOY_SERVER_PORT", "22", PipelineSettings::port);
        String user = r.getOptional("DEPLOY_SERVER_USERNAME", s -> s).orElse(null);
        Optional<String> password = r.getOptional("DEPLOY_SERVER_PASSWORD", s -> s);
        Optional<Path> keyFile = r.getOptional("DEPLOY_SERVER_KEY_FILE", Path::of);
        Optional<String> passphrase = r.getOptional("DEPLOY_SERVER_KEY_PASSPHRASE", s -> s);
        Path knownHosts = r.get("DEPLOY_SERVER_KNOWN_HOSTS", System.getProperty("user.home") + "/.ssh/known_hosts",
                Path::of);
        String path = r.get("DEPLOY_SERVER_PATH", "", s -> s);
        int timeout = r.get("deploy.timeout-seconds", "30", s -> positive(s) * 1000);
        SftpSettings sftp = r.check(() -> new SftpSettings(host.get(), port, user, password, keyFile,
                passphrase, knownHosts, strict, path, timeout));
        if (sftp == null) {
            return DeployTarget.local(Path.of("var/staging"), Path.of("var/prod")); // not used: settings are invalid
        }
        r.check(() -> dev.camelmlops.deploy.SftpKeyCheck.check(sftp));
        return DeployTarget.sftp(sftp);
    }

    /** {@code <host>-<pid>}: unique among running instances, readable in the ledger and /health. */
    static String defaultInstanceId() {
        String host;
        try {
            host = java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            host = "host";
        }
        host = host.replaceAll("[^A-Za-z0-9._-]", "");
        if (host.length() > 40) {
            host = host.substring(0, 40);
        }
        return (host.isEmpty() ? "host" : host) + "-" + ProcessHandle.current().pid();
    }

    /** A finite decimal number, e.g. 0.8 or 1e-4 (not NaN, Infinity or hexadecimal). */
    static double number(String s) {
        try {
            double d = Double.parseDouble(s);
            if (Double.isFinite(d) && s.matches("[+-]?[0-9.]+([eE][+-]?[0-9]+)?")) {
                return d;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new IllegalArgumentException("is not a number");
    }

    static double positiveNumber(String s) {
        double d = number(s);
        if (d <= 0) {
            throw new IllegalArgumentException("must be a positive number");
        }
        return d;
    }

    static long longNumber(String s) {
        if (!s.matches("[+-]?[0-9]+")) {
            number(s); // "is not a number" for text
            throw new IllegalArgumentException("is not a whole number");
        }
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("is too large");
        }
    }

    static int wholeNumber(String s) {
        long n = longNumber(s);
        if (n != (int) n) {
            throw new IllegalArgumentException("is too large");
        }
        return (int) n;
    }

    static <N extends Number & Comparable<N>> N atLeast(N n, long min) {
        if (n.longValue() < min) {
            throw new IllegalArgumentException(min == 0 ? "must be 0 or more" : "must be " + min + " or more");
        }
        return n;
    }

    static double fraction(String s) {
        double d = number(s);
        if (!(d >= 0 && d <= 1)) {
            throw new IllegalArgumentException("must be between 0 and 1");
        }
        return d;
    }

    static int positive(String s) {
        int n = wholeNumber(s.trim());
        if (n < 1) {
            throw new IllegalArgumentException("must be 1 or more");
        }
        return n;
    }

    static int port(String s) {
        int p = wholeNumber(s);
        if (p < 0 || p > 65535) {
            throw new IllegalArgumentException("is not a TCP port (0-65535)");
        }
        return p;
    }

    static boolean parseBoolean(String s) {
        return switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "true", "yes", "1", "on" -> true;
            case "false", "no", "0", "off" -> false;
            default -> throw new IllegalArgumentException("is not a boolean (true or false)");
        };
    }

    static String checkModelName(String s) {
        if (!s.matches("[A-Za-z0-9_.\\-]+")) {
            throw new IllegalArgumentException("may hold letters, digits, '_', '.', '-' only");
        }
        return s;
    }

    /** Reads keys, collecting every problem instead of stopping at the first. */
    private static final class Reader {
        private final Function<String, String> property;
        private final List<String> problems = new ArrayList<>();

        Reader(Function<String, String> property) {
            this.property = property;
        }

        void problem(String message) {
            problems.add(message);
        }

        /** Runs a check that throws IllegalArgumentException with a full message; null when it failed. */
        <T> T check(java.util.function.Supplier<T> check) {
            try {
                return check.get();
            } catch (IllegalArgumentException e) {
                problems.add(e.getMessage());
                return null;
            }
        }

        /** The key's value parsed, else (recorded as a problem) the default's. */
        <T> T get(String key, String def, Function<String, T> parse) {
            String raw = property.apply(key);
            String v = raw == null || raw.isBlank() ? def : raw.trim();
            try {
                return parse.apply(v);
            } catch (RuntimeException e) {
                problems.add(message(key, v, e));
                try {
                    return parse.apply(def);
                } catch (RuntimeException again) {
                    return null;
                }
            }
        }

        <T> Optional<T> getOptional(String key, Function<String, T> parse) {
            String raw = property.apply(key);
            if (raw == null || raw.isBlank()) {
                return Optional.empty();
            }
            try {
                return Optional.of(parse.apply(raw.trim()));
            } catch (RuntimeException e) {
                problems.add(message(key, raw.trim(), e));
                return Optional.empty();
            }
        }

        private static String message(String key, String v, RuntimeException e) {
            String msg = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            if (msg.contains(key)) {
                return msg;
            }
            if (e instanceof IllegalArgumentException && !(e instanceof NumberFormatException)
                    && (msg.startsWith("is ") || msg.startsWith("must ") || msg.startsWith("may "))) {
                return key + ": '" + v + "' " + msg;
            }
            return key + ": invalid value '" + v + "': " + msg;
        }
    }
}
