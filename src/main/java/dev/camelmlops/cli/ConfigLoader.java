package dev.camelmlops.cli;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;

/**
 * Assembles the configuration, later sources overriding earlier ones:
 * <ol>
 *   <li>config/application.properties (every key, with its default);</li>
 *   <li>a {@code .env} file in the working folder (KEY=value lines, environment-variable names);</li>
 *   <li>environment variables;</li>
 *   <li>{@code -Dkey=value} options on the command line.</li>
 * </ol>
 * An environment variable (or .env entry) sets a key by the name camel-main uses: upper case,
 * with '.' and '-' turned into '_' ({@code quality.min-accuracy} from {@code QUALITY_MIN_ACCURACY}).
 * The project's own variables ({@link #PROJECT_VARIABLES}, e.g. {@code DEPLOY_SERVER_HOSTNAME})
 * are kept under their own name so they reach the routes.
 *
 * <p>A name in the project's namespaces that is no known key is a mistake ({@link Loaded#problems}):
 * {@code unknown key 'model.architeture' (did you mean 'model.architecture'?)}. The namespaces are
 * the first segments of the keys of application.properties ({@code model.}, {@code train.}, ...;
 * not {@code camel.}, which Camel checks itself), their environment forms ({@code MODEL_}, ...),
 * {@code DEPLOY_SERVER_} and {@code MLOPS_}. The properties file, .env and -D are checked
 * strictly; the process environment, which also holds other programs' variables (Kubernetes'
 * {@code SERVING_SERVICE_HOST}, TF Serving's {@code MODEL_BASE_PATH}), only for names within two
 * edits of a known one, i.e. typos.
 */
public final class ConfigLoader {
    /**
     * Variables of the project that are no key of application.properties: the SFTP settings (as
     * CircleCI's example names them), the two the CircleCI config turns into files
     * (DEPLOY_SERVER_KEY, DEPLOY_SERVER_HOST_KEY), and the launcher's (MLOPS_MAVEN, MLOPS_CDS).
     */
    public static final List<String> PROJECT_VARIABLES = List.of(
            "DEPLOY_SERVER_HOSTNAME", "DEPLOY_SERVER_PORT", "DEPLOY_SERVER_USERNAME", "DEPLOY_SERVER_PASSWORD",
            "DEPLOY_SERVER_KEY_FILE", "DEPLOY_SERVER_KEY_PASSPHRASE", "DEPLOY_SERVER_PATH",
            "DEPLOY_SERVER_KNOWN_HOSTS", "DEPLOY_SERVER_STRICT_HOST_KEY_CHECKING",
            "DEPLOY_SERVER_KEY", "DEPLOY_SERVER_HOST_KEY",
            "MLOPS_MAVEN", "MLOPS_CDS");
    private static final List<String> PROJECT_PREFIXES = List.of("DEPLOY_SERVER_", "MLOPS_");
    /** Namespaces left to their owners. */
    private static final Set<String> FOREIGN_NAMESPACES = Set.of("camel");

    private ConfigLoader() {
    }

    /** The configuration and the mistakes found in its sources (unknown keys). */
    public record Loaded(Properties properties, List<String> problems) {
    }

    public static String envName(String key) {
        return key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
    }

    /** {@link #read} with the keys of {@code applicationProperties} as the known keys. */
    public static Properties load(Path applicationProperties, Path dotEnv, Map<String, String> environment,
                                  Map<String, String> overrides) {
        return read(applicationProperties, null, dotEnv, environment, overrides).properties();
    }

    /**
     * Reads the configuration.
     *
     * @param configFile   the properties file to use (application.properties or --config)
     * @param defaultsFile the project's application.properties, whose keys are the known ones;
     *                     null or missing: the keys of {@code configFile}
     */
    public static Loaded read(Path configFile, Path defaultsFile, Path dotEnv, Map<String, String> environment,
                              Map<String, String> overrides) {
        Properties props = readProperties(configFile);
        Set<String> known = new TreeSet<>(props.stringPropertyNames());
        if (defaultsFile != null && Files.isRegularFile(defaultsFile)
                && !defaultsFile.toAbsolutePath().normalize().equals(configFile.toAbsolutePath().normalize())) {
            known = new TreeSet<>(readProperties(defaultsFile).stringPropertyNames());
        }
        KnownNames names = new KnownNames(known);
        List<String> problems = new ArrayList<>();
        for (String key : new TreeSet<>(props.stringPropertyNames())) {
            names.check(key, configFile.getFileName().toString(), true, problems);
        }
        Map<String, String> envLike = new LinkedHashMap<>();
        if (dotEnv != null && Files.isRegularFile(dotEnv)) {
            Map<String, String> fromFile = readDotEnv(dotEnv);
            for (Map.Entry<String, String> e : fromFile.entrySet()) {
                names.check(e.getKey(), ".env", true, problems);
                if (known.contains(e.getKey())) {
                    props.setProperty(e.getKey(), e.getValue()); // a key written as in the properties file
                }
            }
            envLike.putAll(fromFile);
        }
        for (String name : new TreeSet<>(environment.keySet())) {
            names.check(name, "the environment", false, problems);
        }
        envLike.putAll(environment);
        Set<String> keys = new LinkedHashSet<>(known);
        keys.addAll(props.stringPropertyNames());
        for (String key : keys) {
            String v = envLike.get(envName(key));
            if (v != null) {
                props.setProperty(key, v);
            }
        }
        for (Map.Entry<String, String> e : envLike.entrySet()) {
            if (e.getKey().matches("[A-Z][A-Z0-9_]*") && isProjectVariable(e.getKey())) {
                props.setProperty(e.getKey(), e.getValue());
            }
        }
        for (String key : new TreeSet<>(overrides.keySet())) {
            names.check(key, "-D", true, problems);
        }
        overrides.forEach(props::setProperty);
        return new Loaded(props, List.copyOf(new LinkedHashSet<>(problems)));
    }

    private static Properties readProperties(Path file) {
        Properties props = new Properties();
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("configuration file not found: " + file);
        }
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            props.load(r);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        return props;
    }

    /** Variables of ours that are not keys of application.properties (deployment settings). */
    private static boolean isProjectVariable(String name) {
        return name.startsWith("DEPLOY_SERVER_") || name.startsWith("SERVING_") || name.startsWith("MLOPS_");
    }

    /** The known keys and variable names, the namespaces they span, and the nearest one to a typo. */
    static final class KnownNames {
        private final Set<String> keys;
        private final Set<String> variables = new TreeSet<>(PROJECT_VARIABLES);
        private final Set<String> keyPrefixes = new TreeSet<>();
        private final Set<String> variablePrefixes = new TreeSet<>(PROJECT_PREFIXES);

        KnownNames(Collection<String> keys) {
            this.keys = new TreeSet<>(keys);
            for (String k : keys) {
                int dot = k.indexOf('.');
                if (dot > 0 && !FOREIGN_NAMESPACES.contains(k.substring(0, dot))) {
                    keyPrefixes.add(k.substring(0, dot + 1));
                    variablePrefixes.add(envName(k.substring(0, dot)) + "_");
                    variables.add(envName(k));
                }
            }
        }

        /** Adds a problem when {@code name} is in our namespaces but unknown. */
        void check(String name, String source, boolean strict, List<String> problems) {
            boolean variable = name.matches("[A-Z][A-Z0-9_]*");
            Set<String> pool = variable ? variables : keys;
            if (pool.contains(name) || !(variable ? variablePrefixes : keyPrefixes).stream().anyMatch(name::startsWith)) {
                return;
            }
            String nearest = nearest(name, pool);
            if (!strict && (nearest == null || distance(name, nearest) > 2)) {
                return; // another program's variable that happens to share a prefix
            }
            problems.add("unknown key '" + name + "'" + (nearest == null ? "" : " (did you mean '" + nearest + "'?)")
                    + ("-D".equals(source) ? "" : " in " + source));
        }

        /** The closest known name, if close enough to be a likely typo. */
        static String nearest(String name, Collection<String> pool) {
            String best = null;
            int bestScore = Integer.MAX_VALUE;
            for (String candidate : pool) {
                int d = distance(name, candidate);
                if (candidate.startsWith(name) && name.length() >= 6) {
                    d = Math.min(d, 1); // a name cut short
                }
                if (d < bestScore) {
                    best = candidate;
                    bestScore = d;
                }
            }
            return best != null && bestScore <= Math.max(2, name.length() / 4) ? best : null;
        }

        /** Levenshtein distance, with an adjacent swap counted as one edit. */
        static int distance(String a, String b) {
            int[][] d = new int[a.length() + 1][b.length() + 1];
            for (int i = 0; i <= a.length(); i++) {
                d[i][0] = i;
            }
            for (int j = 0; j <= b.length(); j++) {
                d[0][j] = j;
            }
            for (int i = 1; i <= a.length(); i++) {
                for (int j = 1; j <= b.length(); j++) {
                    int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                    d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                    if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                    }
                }
            }
            return d[a.length()][b.length()];
        }
    }

    /** Parses KEY=value lines; '#' comments, blank lines, optional 'export ' and quotes. */
    static Map<String, String> readDotEnv(Path file) {
        Map<String, String> map = new LinkedHashMap<>();
        try {
            int lineNo = 0;
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                lineNo++;
                String l = line.strip();
                if (l.isEmpty() || l.startsWith("#")) {
                    continue;
                }
                if (l.startsWith("export ")) {
                    l = l.substring(7).strip();
                }
                int eq = l.indexOf('=');
                if (eq <= 0) {
                    throw new IllegalArgumentException(file + " line " + lineNo + ": expected KEY=value");
                }
                String k = l.substring(0, eq).strip();
                String v = l.substring(eq + 1).strip();
                if (v.length() >= 2 && (v.startsWith("\"") && v.endsWith("\"") || v.startsWith("'") && v.endsWith("'"))) {
                    v = v.substring(1, v.length() - 1);
                }
                map.put(k, v);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        return map;
    }
}
