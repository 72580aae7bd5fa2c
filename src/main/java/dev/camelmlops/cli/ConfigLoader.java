package dev.camelmlops.cli;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * Assembles the configuration, later sources overriding earlier ones:
 * <ol>
 *   <li>config/application.properties (every key, with its default);</li>
 *   <li>a {@code .env} file in the working folder (KEY=value lines, environment-variable names);</li>
 *   <li>environment variables;</li>
 *   <li>Java system properties and {@code -Dkey=value} options on the command line.</li>
 * </ol>
 * An environment variable (or .env entry) sets a key by the name camel-main uses: upper case,
 * with '.' and '-' turned into '_' ({@code quality.min-accuracy} from {@code QUALITY_MIN_ACCURACY}).
 * Entries of .env and the environment that match no key are kept under their own name too, so
 * settings such as {@code DEPLOY_SERVER_HOSTNAME} reach the routes.
 */
public final class ConfigLoader {
    private ConfigLoader() {
    }

    public static String envName(String key) {
        return key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
    }

    public static Properties load(Path applicationProperties, Path dotEnv, Map<String, String> environment,
                                  Map<String, String> overrides) {
        Properties props = new Properties();
        if (!Files.isRegularFile(applicationProperties)) {
            throw new IllegalArgumentException("configuration file not found: " + applicationProperties);
        }
        try (Reader r = Files.newBufferedReader(applicationProperties, StandardCharsets.UTF_8)) {
            props.load(r);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + applicationProperties, e);
        }
        Map<String, String> envLike = new LinkedHashMap<>();
        if (dotEnv != null && Files.isRegularFile(dotEnv)) {
            envLike.putAll(readDotEnv(dotEnv));
        }
        envLike.putAll(environment);
        for (String key : props.stringPropertyNames()) {
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
        overrides.forEach(props::setProperty);
        return props;
    }

    /** Variables of ours that are not keys of application.properties (deployment settings). */
    private static boolean isProjectVariable(String name) {
        return name.startsWith("DEPLOY_SERVER_") || name.startsWith("SERVING_") || name.startsWith("MLOPS_");
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
