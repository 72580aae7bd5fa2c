package dev.camelmlops.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.camelmlops.data.BaseDataset;
import dev.camelmlops.data.BaseDatasets;
import dev.camelmlops.data.DatasetSpec;
import dev.camelmlops.data.FashionMnistFiles;
import dev.camelmlops.data.IdxDataset;
import dev.camelmlops.data.FashionMnistLocator;
import dev.camelmlops.data.IdxReader;
import dev.camelmlops.data.InvalidDataException;
import dev.camelmlops.deploy.DeployException;
import dev.camelmlops.deploy.DeployProbe;
import dev.camelmlops.deploy.DeployTarget;
import dev.camelmlops.settings.PipelineSettings;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.impl.DefaultCamelContext;

/**
 * What is checked before a command starts anything, and what `mlops check` reaches: the data
 * files, the deploy target (staging and prod, through the same endpoints as a delivery), the
 * serving REST API, the webhook, the ports the service binds. Nothing is changed, except a probe
 * file written and removed in staging and prod.
 */
final class Preflight {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration NETWORK_TIMEOUT = Duration.ofSeconds(10);

    private Preflight() {
    }

    /** One line of `mlops check`. */
    record Check(String name, boolean ok, String detail) {
        String line() {
            return String.format("%-4s %-15s %s", ok ? "OK" : "FAIL", name, detail);
        }
    }

    // ---- before a command starts (exit 2) ---------------------------------------------------

    /**
     * Mistakes that would surface only after something started: missing data, a port in use.
     *
     * @param healthPort the health endpoint's port, or null when the command has none
     */
    static List<String> startProblems(PipelineSettings s, boolean readsData, boolean embeddedServing,
                                      Integer healthPort) {
        List<String> problems = new ArrayList<>();
        if (readsData) {
            dataProblem(s).ifPresent(problems::add);
        }
        if (embeddedServing) {
            portProblem("serving.port", s.serving().host(), s.serving().port()).ifPresent(problems::add);
        }
        if (healthPort != null) {
            portProblem("watch.health-port", s.serving().host(), healthPort).ifPresent(problems::add);
        }
        return problems;
    }

    /** The data cannot be found where the configuration says (data.dir), or anywhere when not downloading. */
    static Optional<String> dataProblem(PipelineSettings s) {
        if (!s.dataset().isFashionMnist()) {
            Path path = s.dataset().path().orElseThrow();
            if (!Files.exists(path)) {
                return Optional.of("dataset.path " + path + " does not exist");
            }
            try {
                BaseDatasets.locate(s.dataset(), locator(s));
                return Optional.empty();
            } catch (InvalidDataException e) {
                return Optional.of("dataset.path: " + e.getMessage());
            }
        }
        if (s.dataDir().isPresent()) {
            Path dir = s.dataDir().get();
            if (!Files.exists(dir)) {
                return Optional.of("data.dir " + dir + " does not exist");
            }
            if (!Files.isDirectory(dir)) {
                return Optional.of("data.dir " + dir + " is not a folder");
            }
            FashionMnistFiles files = FashionMnistFiles.in(dir);
            if (!files.complete()) {
                return Optional.of("data.dir " + dir + " lacks " + String.join(", ",
                        files.missing().stream().map(p -> p.getFileName().toString()).toList())
                        + " (the four Fashion-MNIST IDX files, .gz or decompressed)");
            }
            for (Path f : files.all()) {
                if (!Files.isReadable(f)) {
                    return Optional.of("data.dir: " + f + " is not readable by this user");
                }
            }
            return Optional.empty();
        }
        if (!s.dataDownload() && locator(s).present().isEmpty()) {
            return Optional.of("Fashion-MNIST is neither in data.system-dir " + s.dataSystemDir() + " nor in data.cache-dir "
                    + s.dataCacheDir() + ", and data.download is false: install the Debian package"
                    + " dataset-fashion-mnist, set data.dir, or allow the download");
        }
        return Optional.empty();
    }

    /** The port cannot be bound on host (0 = any free port: never a problem). */
    static Optional<String> portProblem(String key, String host, int port) {
        if (port == 0) {
            return Optional.empty();
        }
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(host, port));
            return Optional.empty();
        } catch (IOException e) {
            return Optional.of(key + ": cannot listen on " + host + ":" + port + " (" + e.getMessage()
                    + "): another process holds the port; stop it or choose another port");
        }
    }

    private static FashionMnistLocator locator(PipelineSettings s) {
        return new FashionMnistLocator(s.dataDir(), s.dataSystemDir(), s.dataCacheDir(), null);
    }

    // ---- mlops check -------------------------------------------------------------------------

    static List<Check> all(PipelineSettings s, int healthPort) {
        List<Check> checks = new ArrayList<>();
        checks.add(data(s));
        List<Check> areas = deploy(s, List.of(DeployTarget.STAGING, DeployTarget.PROD));
        checks.addAll(areas);
        if (areas.stream().allMatch(Check::ok)) {
            checks.add(labels(s));
        }
        checks.add(serving(s));
        portProblem("watch.health-port", s.serving().host(), healthPort).ifPresentOrElse(
                p -> checks.add(new Check("health port", false, p + " (is mlops watch running?)")),
                () -> checks.add(new Check("health port", true, healthPort == 0 ? "a free port is picked at start"
                        : s.serving().host() + ":" + healthPort + " is free")));
        checks.add(database(s));
        s.notifications().webhookUrl().ifPresentOrElse(url -> checks.add(webhook(url)),
                () -> checks.add(new Check("webhook", true, "not configured (notify.webhook-url)")));
        return checks;
    }

    /** The data files: found, readable, headers valid and consistent with the file sizes. */
    static Check data(PipelineSettings s) {
        Optional<String> problem = dataProblem(s);
        if (problem.isPresent()) {
            return new Check("data", false, problem.get());
        }
        if (!s.dataset().isFashionMnist()) {
            return ownData(s);
        }
        Optional<FashionMnistFiles> files = locator(s).present();
        if (files.isEmpty()) {
            return new Check("data", true, "not on disk: the build stage downloads it once from "
                    + s.dataDownloadUrl() + " into " + s.dataCacheDir());
        }
        FashionMnistFiles f = files.get();
        IdxReader reader = IdxReader.fashionMnist();
        try {
            int train = pair(reader, f.trainImages(), f.trainLabels());
            int test = pair(reader, f.testImages(), f.testLabels());
            return new Check("data", true, f.trainImages().getParent() + ": " + train + " training and " + test
                    + " test images, headers and sizes valid");
        } catch (InvalidDataException e) {
            return new Check("data", false, e.getMessage());
        }
    }

    /** The user's own dataset: found, its files listed; IDX headers checked against the configured shape. */
    private static Check ownData(PipelineSettings s) {
        DatasetSpec spec = s.dataset().spec();
        String what = s.dataset().format().id() + ", " + spec.shapeText() + ", " + spec.classCount() + " classes ("
                + String.join(", ", spec.classes().size() > 8 ? spec.classes().subList(0, 8) : spec.classes())
                + (spec.classes().size() > 8 ? ", ..." : "") + ")";
        try {
            BaseDataset base = BaseDatasets.locate(s.dataset(), locator(s));
            if (base instanceof IdxDataset idx) {
                IdxReader reader = IdxReader.of(spec);
                List<Path> f = idx.files();
                int train = pair(reader, f.get(0), f.get(1));
                String test = f.size() == 4 ? pair(reader, f.get(2), f.get(3)) + " test images"
                        : "a test split cut by dataset.test-fraction";
                return new Check("data", true, base.location() + " (" + what + "): " + train + " training images and "
                        + test + ", headers and sizes valid");
            }
            return new Check("data", true, base.location() + " (" + what + "): " + base.files().size()
                    + " files found; the build stage reads and validates every one");
        } catch (InvalidDataException e) {
            return new Check("data", false, e.getMessage());
        }
    }

    private static int pair(IdxReader reader, Path images, Path labels) {
        int n = reader.checkHeader(images, true).count();
        int m = reader.checkHeader(labels, false).count();
        if (n != m) {
            throw new InvalidDataException(images, "has " + n + " images but " + labels.getFileName() + " has " + m
                    + " labels");
        }
        return n;
    }

    /** prod/models.config: absent (the first deploy writes it), or parsed, with the labels it gives. */
    static Check labels(PipelineSettings s) {
        try (dev.camelmlops.deploy.ModelStore prod = s.target().open(DeployTarget.PROD)) {
            dev.camelmlops.stage.VersionLabels.State st = new dev.camelmlops.stage.VersionLabels(s, null).read(prod);
            if (!prod.exists(dev.camelmlops.stage.VersionLabels.CONFIG_FILE)) {
                return new Check("labels", true, "no " + dev.camelmlops.stage.VersionLabels.CONFIG_FILE
                        + " in prod yet (the first deploy writes it)");
            }
            return new Check("labels", true, st.model().map(m -> "model " + m.name() + ": labels "
                    + (m.labels().isEmpty() ? "none" : m.labels().toString().replaceAll("[{}]", "")) + ", loads "
                    + (st.policyVersions().isEmpty() ? "the newest version" : st.policyVersions()) + ", base_path "
                    + m.basePath()).orElse("the config has no entry for " + s.modelName() + " yet"));
        } catch (RuntimeException e) {
            return new Check("labels", false, e.getMessage());
        }
    }

    /** Each area reached as a delivery reaches it; a probe file written and removed. */
    static List<Check> deploy(PipelineSettings s, List<String> areas) {
        List<Check> checks = new ArrayList<>();
        DefaultCamelContext context = new DefaultCamelContext();
        try {
            context.getCamelContextExtension().setName("mlops-check");
            context.start();
            ProducerTemplate template = context.createProducerTemplate();
            DeployProbe.Uploader uploader = (uri, name, content) ->
                    template.sendBodyAndHeader(uri, content, Exchange.FILE_NAME, name);
            for (String area : areas) {
                try {
                    checks.add(new Check(area, true, DeployProbe.probe(s.target(), area, uploader)));
                } catch (DeployException e) {
                    checks.add(new Check(area, false, e.getMessage()));
                }
            }
        } finally {
            context.stop();
        }
        return checks;
    }

    /**
     * Cluster mode: the database answers with these credentials; says whether the tables exist
     * yet and which instances are connected. Nothing is created.
     */
    static Check database(PipelineSettings s) {
        PipelineSettings.Cluster c = s.cluster();
        if (!c.enabled()) {
            return new Check("database", true, "not configured (db.url): one machine, on files");
        }
        java.util.Properties props = new java.util.Properties();
        props.setProperty("user", c.dbUsername());
        c.dbPassword().ifPresent(p -> props.setProperty("password", p));
        props.setProperty("connectTimeout", "10");
        props.setProperty("ApplicationName", "mlops-check");
        try (java.sql.Connection conn = java.sql.DriverManager.getConnection(c.dbUrl().get(), props);
             java.sql.Statement st = conn.createStatement()) {
            String version;
            try (java.sql.ResultSet rs = st.executeQuery("SHOW server_version")) {
                rs.next();
                version = rs.getString(1);
            }
            boolean tables;
            try (java.sql.ResultSet rs = st.executeQuery("SELECT to_regclass('mlops_runs') IS NOT NULL")) {
                rs.next();
                tables = rs.getBoolean(1);
            }
            List<String> instances = new ArrayList<>();
            try (java.sql.ResultSet rs = st.executeQuery("SELECT DISTINCT application_name FROM pg_stat_activity"
                    + " WHERE datname = current_database() AND application_name NOT IN ('', 'mlops-check',"
                    + " 'mlops-history') ORDER BY 1")) {
                while (rs.next()) {
                    instances.add(rs.getString(1));
                }
            }
            return new Check("database", true, c.dbUrl().get() + " as " + c.dbUsername() + ": PostgreSQL " + version
                    + (tables ? ", tables present" : ", no tables yet (the first instance creates them)")
                    + (instances.isEmpty() ? ", no instance connected" : ", connected: " + instances));
        } catch (java.sql.SQLException e) {
            return new Check("database", false, c.dbUrl().get() + " as " + c.dbUsername() + ": " + e.getMessage());
        }
    }

    /** The serving REST API answers for the model (GET /v1/models/NAME); embedded: its port is free. */
    static Check serving(PipelineSettings s) {
        if (s.serving().url().isEmpty()) {
            return portProblem("serving.port", s.serving().host(), s.serving().port())
                    .map(p -> new Check("serving", false, p + " (is mlops watch or serve running?)"))
                    .orElseGet(() -> new Check("serving", true, "embedded server on " + s.serving().host() + ":"
                            + (s.serving().port() == 0 ? "a free port" : s.serving().port()) + " (serving.url not set)"));
        }
        String url = s.serving().url().get().replaceAll("/+$", "") + "/v1/models/" + s.modelName();
        try {
            HttpClient http = HttpClient.newBuilder().connectTimeout(NETWORK_TIMEOUT).build();
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(NETWORK_TIMEOUT)
                    .GET().build(), HttpResponse.BodyHandlers.ofString());
            JsonNode body = json(r.body());
            if (r.statusCode() == 200 && body != null && body.has("model_version_status")) {
                List<String> available = new ArrayList<>();
                for (JsonNode v : body.get("model_version_status")) {
                    if ("AVAILABLE".equals(v.path("state").asText())) {
                        available.add(v.path("version").asText());
                    }
                }
                return new Check("serving", true, url + ": " + (available.isEmpty() ? "no version AVAILABLE yet"
                        : "version " + String.join(", ", available) + " AVAILABLE"));
            }
            if (r.statusCode() == 404 && body != null && body.has("error")) {
                return new Check("serving", true, url + ": reachable, no version of '" + s.modelName()
                        + "' served yet (" + body.get("error").asText() + ")");
            }
            return new Check("serving", false, url + " answered HTTP " + r.statusCode()
                    + " without TF Serving's model status: is serving.url a TF Serving REST URL (port 8501)?");
        } catch (IOException e) {
            return new Check("serving", false, url + ": " + describe(e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Check("serving", false, url + ": interrupted");
        }
    }

    /**
     * The webhook's host accepts TCP connections. Nothing is posted (a POST would send a message,
     * and a HEAD or GET is not something every webhook answers sensibly): `mlops notify --test`
     * sends a real test message.
     */
    static Check webhook(String url) {
        URI u = URI.create(url);
        int port = u.getPort() > 0 ? u.getPort() : "https".equals(u.getScheme()) ? 443 : 80;
        String where = u.getHost() + ":" + port;
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(u.getHost(), port), (int) NETWORK_TIMEOUT.toMillis());
            return new Check("webhook", true, where + " accepts connections (TCP connect only, no message sent;"
                    + " mlops notify --test sends one)");
        } catch (IOException e) {
            return new Check("webhook", false, where + ": " + describe(e));
        }
    }

    /**
     * Before a run that delivers over SFTP trains: every area it writes to is reached as in
     * {@link #deploy}, so an unreachable server fails in seconds.
     */
    static Optional<String> deliveryProblem(PipelineSettings s, List<String> areas) {
        for (Check c : deploy(s, areas)) {
            if (!c.ok()) {
                return Optional.of(c.name() + ": " + c.detail());
            }
        }
        return Optional.empty();
    }

    private static JsonNode json(String body) {
        try {
            return JSON.readTree(body);
        } catch (IOException e) {
            return null;
        }
    }

    private static String describe(IOException e) {
        String m = e.getMessage();
        if (e instanceof java.net.ConnectException) {
            return "connection refused" + (m == null || m.isBlank() ? "" : " (" + m + ")");
        }
        if (e instanceof java.net.http.HttpTimeoutException || e instanceof java.net.SocketTimeoutException) {
            return "no answer within " + NETWORK_TIMEOUT.toSeconds() + " s";
        }
        if (e instanceof java.net.UnknownHostException) {
            return "unknown host " + m;
        }
        return m == null ? e.getClass().getSimpleName() : m;
    }
}
