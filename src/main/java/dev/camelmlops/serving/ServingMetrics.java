package dev.camelmlops.serving;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * The server's metrics in Prometheus' text exposition format 0.0.4, named as TF Serving's
 * Prometheus exporter names them (its metric {@code /tensorflow/serving/request_count} is printed
 * {@code :tensorflow:serving:request_count}), served at {@value #PATH}.
 *
 * <p>The request path records with {@link LongAdder}s in arrays fixed per model name, indexed by
 * small enums: no map look-up, no allocation, no lock. Label values come only from those enums,
 * the names of configured models ({@link #register}) and the version folders this server loaded,
 * so a client cannot create label values: a request for any other model name counts under
 * {@code model_name=""} (as TF Serving counts a request whose path it cannot parse).
 */
public final class ServingMetrics {
    /** TF Serving's path (PrometheusExporter::kPrometheusPath). */
    static final String PATH = "/monitoring/prometheus/metrics";
    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    /** The {@code API} label: TF Serving's REST method name ("predict", "classify", "regress"), else what was asked. */
    enum Api {
        PREDICT("predict"), CLASSIFY("classify"), REGRESS("regress"), STATUS("status"), METADATA("metadata"),
        NOOP("noop"), NONE("");

        final String label;

        Api(String label) {
            this.label = label;
        }
    }

    /** TF Serving's status codes (absl::StatusCode names), as its request_count labels them. */
    enum Code {
        OK, CANCELLED, UNKNOWN, INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED,
        RESOURCE_EXHAUSTED, FAILED_PRECONDITION, ABORTED, OUT_OF_RANGE, UNIMPLEMENTED, INTERNAL, UNAVAILABLE,
        DATA_LOSS, UNAUTHENTICATED;

        /** The code TF Serving answers with this HTTP status (the inverse of its ToHTTPStatusCode). */
        static Code ofHttp(int status) {
            return switch (status) {
                case 200 -> OK;
                case 400, 405, 413, 414, 431 -> INVALID_ARGUMENT;
                case 401 -> UNAUTHENTICATED;
                case 403 -> PERMISSION_DENIED;
                case 404 -> NOT_FOUND;
                case 409 -> ABORTED;
                case 429 -> RESOURCE_EXHAUSTED;
                case 499 -> CANCELLED;
                case 501 -> UNIMPLEMENTED;
                case 503 -> UNAVAILABLE;
                case 504 -> DEADLINE_EXCEEDED;
                case 500 -> INTERNAL;
                default -> status >= 200 && status < 300 ? OK : status < 500 ? INVALID_ARGUMENT : UNKNOWN;
            };
        }
    }

    /**
     * TF Serving's latency buckets in microseconds: monitoring::Buckets::Exponential(10, 1.8, 33),
     * 10 us up to about 24 minutes, then +Inf.
     */
    static final double[] LATENCY_BOUNDS = exponential(10, 1.8, 33);
    /** The bounds as TF Serving prints them (absl::StrCat of a double: 6 significant digits). */
    private static final String[] LATENCY_LE = Arrays.stream(LATENCY_BOUNDS).mapToObj(ServingMetrics::sixDigits)
            .toArray(String[]::new);

    private static final Api[] APIS = Api.values();
    private static final Code[] CODES = Code.values();

    /**
     * The counters of one model name (one {@code model_name} label value). {@link #OTHER} counts
     * every request whose path names no configured model.
     */
    static final class Counters {
        final String name;
        /** The version a request without version gets (the highest loaded), or a value below 1. */
        volatile LongSupplier servedVersion;
        /** [api][code] */
        final LongAdder[][] requests = new LongAdder[APIS.length][CODES.length];
        /** [api] */
        final Histogram[] latency = new Histogram[APIS.length];

        Counters(String name, LongSupplier servedVersion) {
            this.name = name;
            this.servedVersion = servedVersion;
            for (LongAdder[] byCode : requests) {
                for (int c = 0; c < byCode.length; c++) {
                    byCode[c] = new LongAdder();
                }
            }
            for (int a = 0; a < latency.length; a++) {
                latency[a] = new Histogram();
            }
        }
    }

    /** Requests for no configured model, counted under {@code model_name=""}. */
    final Counters other = new Counters("", () -> -1);
    /** Each model name configured since the start, in order of registration (copy on write). */
    private volatile Counters[] models = new Counters[0];
    /** By model_path, in the order printed. */
    private final Map<String, Load> loads = new ConcurrentHashMap<>();
    /** The model config file's reloads, by outcome (only when one is used). */
    private final Map<String, LongAdder> configReloads = new java.util.concurrent.ConcurrentSkipListMap<>();
    private volatile java.util.function.BooleanSupplier configPending;

    private static final class Histogram {
        /** One per bound, the last for +Inf; not cumulative (summed when printed). */
        final LongAdder[] buckets = new LongAdder[LATENCY_BOUNDS.length + 1];
        final LongAdder sum = new LongAdder();

        Histogram() {
            for (int i = 0; i < buckets.length; i++) {
                buckets[i] = new LongAdder();
            }
        }

        void add(long micros) {
            int i = Arrays.binarySearch(LATENCY_BOUNDS, (double) micros);
            // Prometheus' le is "less than or equal": an exact hit belongs to its own bucket.
            buckets[i >= 0 ? i : -i - 1].increment();
            sum.add(micros);
        }
    }

    private static final class Load {
        final LongAdder success = new LongAdder();
        final LongAdder fail = new LongAdder();
        final LongAdder successMicros = new LongAdder();
    }

    /** Metrics with no model yet ({@link #register}). */
    ServingMetrics() {
    }

    /**
     * @param modelName     the served model's name, the only {@code model_name} label value besides ""
     * @param servedVersion the version being served, or a value below 1 when none is
     */
    ServingMetrics(String modelName, LongSupplier servedVersion) {
        register(modelName, servedVersion);
    }

    /**
     * The counters of a configured model name, created on first registration; a later one (the
     * model's watcher replaced) only changes where the served version is read.
     */
    synchronized Counters register(String modelName, LongSupplier servedVersion) {
        for (Counters c : models) {
            if (c.name.equals(modelName)) {
                c.servedVersion = servedVersion;
                return c;
            }
        }
        Counters c = new Counters(modelName, servedVersion);
        Counters[] more = Arrays.copyOf(models, models.length + 1);
        more[models.length] = c;
        models = more;
        return c;
    }

    /** The counters registered under the name {@code path[start, end)}, or null; allocates nothing. */
    Counters counters(String path, int start, int end) {
        for (Counters c : models) {
            if (c.name.length() == end - start && path.regionMatches(start, c.name, 0, c.name.length())) {
                return c;
            }
        }
        return null;
    }

    /** The counters registered under {@code name}, or null. */
    Counters counters(String name) {
        for (Counters c : models) {
            if (c.name.equals(name)) {
                return c;
            }
        }
        return null;
    }

    /** One evaluation of a new model config file content: "applied", "refused" (labels) or "invalid". */
    void configReload(String outcome) {
        configReloads.computeIfAbsent(outcome, k -> new LongAdder()).increment();
    }

    /** Whether the config file differs from the config in force (it was refused, or is not read yet). */
    void configPending(java.util.function.BooleanSupplier pending) {
        this.configPending = pending;
    }

    /**
     * One answered REST request. As TF Serving does, every request is counted and only a
     * successful one's latency goes into the histogram.
     */
    void request(Counters model, Api api, int httpStatus, long nanos) {
        Code code = Code.ofHttp(httpStatus);
        model.requests[api.ordinal()][code.ordinal()].increment();
        if (code == Code.OK) {
            model.latency[api.ordinal()].add(Math.max(0, nanos / 1000));
        }
    }

    /** One attempt to load the SavedModel in {@code modelPath}; {@code nanos} counts only when it loaded. */
    void loadAttempt(Path modelPath, boolean loaded, long nanos) {
        Load l = loads.computeIfAbsent(modelPath.toString(), p -> new Load());
        if (loaded) {
            l.success.increment();
            l.successMicros.add(Math.max(0, nanos / 1000));
        } else {
            l.fail.increment();
        }
    }

    /** The whole exposition, every family with its HELP and TYPE once. */
    byte[] scrape() {
        StringBuilder b = new StringBuilder(8192);
        Counters[] registered = models;
        Counters[] all = Arrays.copyOf(registered, registered.length + 1);
        all[registered.length] = other;

        family(b, ":tensorflow:serving:request_count", "counter",
                "The total number of requests (REST API), by model_name, API and status.");
        for (Counters m : all) {
            for (Api a : APIS) {
                for (Code c : CODES) {
                    long n = m.requests[a.ordinal()][c.ordinal()].sum();
                    if (n > 0) {
                        b.append(":tensorflow:serving:request_count{").append(modelLabel(m))
                                .append(",API=\"").append(a.label).append("\",status=\"").append(c.name())
                                .append("\"} ").append(n).append('\n');
                    }
                }
            }
        }

        family(b, ":tensorflow:serving:request_latency", "histogram",
                "Distribution of wall time (in microseconds) for successful REST requests.");
        for (Counters m : all) {
            for (Api a : APIS) {
                Histogram h = m.latency[a.ordinal()];
                long[] counts = new long[h.buckets.length];
                long total = 0;
                for (int i = 0; i < counts.length; i++) {
                    counts[i] = h.buckets[i].sum();
                    total += counts[i];
                }
                if (total == 0) {
                    continue;
                }
                String labels = modelLabel(m) + ",API=\"" + a.label + "\",entrypoint=\"REST\"";
                long cumulative = 0;
                for (int i = 0; i < counts.length; i++) {
                    cumulative += counts[i];
                    b.append(":tensorflow:serving:request_latency_bucket{").append(labels).append(",le=\"")
                            .append(i < LATENCY_LE.length ? LATENCY_LE[i] : "+Inf").append("\"} ")
                            .append(cumulative).append('\n');
                }
                b.append(":tensorflow:serving:request_latency_sum{").append(labels).append("} ")
                        .append(h.sum.sum()).append('\n');
                b.append(":tensorflow:serving:request_latency_count{").append(labels).append("} ")
                        .append(cumulative).append('\n');
            }
        }

        TreeMap<String, Load> byPath = new TreeMap<>(loads);
        family(b, ":tensorflow:cc:saved_model:load_attempt_count", "counter",
                "The number of attempts to load a SavedModel, by model_path and status (success or fail).");
        for (Map.Entry<String, Load> e : byPath.entrySet()) {
            String path = escape(e.getKey());
            long ok = e.getValue().success.sum();
            long fail = e.getValue().fail.sum();
            if (ok > 0) {
                b.append(":tensorflow:cc:saved_model:load_attempt_count{model_path=\"").append(path)
                        .append("\",status=\"success\"} ").append(ok).append('\n');
            }
            if (fail > 0) {
                b.append(":tensorflow:cc:saved_model:load_attempt_count{model_path=\"").append(path)
                        .append("\",status=\"fail\"} ").append(fail).append('\n');
            }
        }
        family(b, ":tensorflow:cc:saved_model:load_latency", "counter",
                "Latency in microseconds for SavedModels that were successfully loaded (summed over loads).");
        for (Map.Entry<String, Load> e : byPath.entrySet()) {
            if (e.getValue().success.sum() > 0) {
                b.append(":tensorflow:cc:saved_model:load_latency{model_path=\"").append(escape(e.getKey()))
                        .append("\"} ").append(e.getValue().successMicros.sum()).append('\n');
            }
        }

        family(b, "camel_mlops_served_model_version", "gauge",
                "The version of the model being served (0 when none is).");
        for (Counters m : registered) {
            b.append("camel_mlops_served_model_version{").append(modelLabel(m)).append("} ")
                    .append(Math.max(0, m.servedVersion.getAsLong())).append('\n');
        }
        java.util.function.BooleanSupplier pending = configPending;
        if (pending != null) {
            family(b, "camel_mlops_model_config_reload_total", "counter",
                    "Model config file contents read, by outcome: applied, refused (a label on a version not"
                            + " available) or invalid (not parsed or not valid); each distinct content counted once.");
            for (Map.Entry<String, LongAdder> e : configReloads.entrySet()) {
                b.append("camel_mlops_model_config_reload_total{status=\"").append(e.getKey()).append("\"} ")
                        .append(e.getValue().sum()).append('\n');
            }
            family(b, "camel_mlops_model_config_pending", "gauge",
                    "1 while the model config file is not the config in force (refused, invalid or unread), else 0.");
            b.append("camel_mlops_model_config_pending ").append(pending.getAsBoolean() ? 1 : 0).append('\n');
        }

        MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        MemoryUsage nonHeap = ManagementFactory.getMemoryMXBean().getNonHeapMemoryUsage();
        family(b, "jvm_memory_used_bytes", "gauge", "Used bytes of the JVM's heap and non-heap memory.");
        b.append("jvm_memory_used_bytes{area=\"heap\"} ").append(heap.getUsed()).append('\n');
        b.append("jvm_memory_used_bytes{area=\"nonheap\"} ").append(nonHeap.getUsed()).append('\n');
        family(b, "jvm_memory_committed_bytes", "gauge", "Committed bytes of the JVM's heap and non-heap memory.");
        b.append("jvm_memory_committed_bytes{area=\"heap\"} ").append(heap.getCommitted()).append('\n');
        b.append("jvm_memory_committed_bytes{area=\"nonheap\"} ").append(nonHeap.getCommitted()).append('\n');
        long rss = residentBytes();
        if (rss >= 0) {
            family(b, "process_resident_memory_bytes", "gauge",
                    "Resident memory of the process (VmRSS), TensorFlow's native memory included.");
            b.append("process_resident_memory_bytes ").append(rss).append('\n');
        }
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static String modelLabel(Counters m) {
        return "model_name=\"" + escape(m.name) + "\"";
    }

    private static void family(StringBuilder b, String name, String type, String help) {
        b.append("# HELP ").append(name).append(' ').append(help).append('\n');
        b.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    /** VmRSS from /proc/self/status in bytes, or -1 where that cannot be read (not Linux). */
    public static long residentBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"), StandardCharsets.ISO_8859_1)) {
                if (line.startsWith("VmRSS:")) {
                    String[] f = line.substring(6).trim().split("\\s+");
                    long n = Long.parseLong(f[0]);
                    return f.length > 1 && f[1].equalsIgnoreCase("kB") ? n * 1024 : n;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    /** A label value as the exposition format wants it: backslash, quote and newline escaped. */
    static String escape(String v) {
        StringBuilder b = null;
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            String r = c == '\\' ? "\\\\" : c == '"' ? "\\\"" : c == '\n' ? "\\n" : null;
            if (r != null && b == null) {
                b = new StringBuilder(v.length() + 8).append(v, 0, i);
            }
            if (b != null) {
                if (r != null) {
                    b.append(r);
                } else {
                    b.append(c);
                }
            }
        }
        return b == null ? v : b.toString();
    }

    /** TensorFlow's monitoring::Buckets::Exponential bounds (scale, scale*g, ... bucketCount of them). */
    static double[] exponential(double scale, double growth, int bucketCount) {
        double[] bounds = new double[bucketCount];
        double bound = scale;
        for (int i = 0; i < bucketCount; i++) {
            bounds[i] = bound;
            bound *= growth;
        }
        return bounds;
    }

    /** A double as absl::StrCat prints it (%g with 6 significant digits): "104.976", "1.1019e+06". */
    static String sixDigits(double d) {
        BigDecimal r = new BigDecimal(d).round(new MathContext(6));
        int exponent = r.precision() - r.scale() - 1;
        if (exponent < -4 || exponent >= 6) {
            BigDecimal mantissa = r.movePointLeft(exponent).stripTrailingZeros();
            String e = Integer.toString(Math.abs(exponent));
            return mantissa.toPlainString() + (exponent < 0 ? "e-" : "e+") + (e.length() < 2 ? "0" + e : e);
        }
        return r.stripTrailingZeros().toPlainString();
    }
}
