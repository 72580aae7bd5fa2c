package dev.camelmlops.report;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The configuration keys a run set differently from the defaults (config/application.properties),
 * and the project's variables it set (DEPLOY_SERVER_*; not the keys the command line adds for its
 * own use), with secrets masked: any key whose name contains password, passphrase, secret, token,
 * webhook-url or key-file, or ends in "key" (DEPLOY_SERVER_KEY holds a private key), shows only
 * whether it is set; a password inside a URL's user info or query is masked too.
 */
public final class ConfigDiff {
    /** What masked values show. */
    public static final String MASK = "****** (hidden)";
    private static final List<String> SECRET_WORDS = List.of("password", "passphrase", "secret", "token",
            "webhook-url", "key-file");
    /** Shown elsewhere in the report, or differ on every run. */
    private static final Set<String> NOT_LISTED = Set.of("run.id", "run.git-commit");
    private static final Pattern URL_PASSWORD = Pattern.compile("(://[^/:@\\s]*:)[^@/\\s]+@");
    private static final Pattern QUERY_PASSWORD = Pattern.compile("(?i)((?:password|secret|token)=)[^&\\s]+");

    private ConfigDiff() {
    }

    /** One key set differently: {@code defaultValue} null when the defaults do not have the key. */
    public record Row(String key, String value, String defaultValue) {
    }

    /** The keys of {@code effective} whose value differs from {@code defaults}, sorted, secrets masked. */
    public static List<Row> differences(Properties defaults, Properties effective) {
        Map<String, String> sorted = new TreeMap<>();
        if (effective != null) {
            for (String k : effective.stringPropertyNames()) {
                sorted.put(k, effective.getProperty(k));
            }
        }
        List<Row> rows = new ArrayList<>();
        for (Map.Entry<String, String> e : sorted.entrySet()) {
            String key = e.getKey();
            String def = defaults == null ? null : defaults.getProperty(key);
            String value = e.getValue() == null ? "" : e.getValue().trim();
            boolean variable = key.matches("[A-Z][A-Z0-9_]*"); // DEPLOY_SERVER_HOSTNAME and the like
            if (NOT_LISTED.contains(key) || value.equals(def == null ? null : def.trim())
                    || (def == null && (value.isEmpty() || !variable))) {
                continue;
            }
            rows.add(new Row(key, mask(key, value), def == null ? null : mask(key, def.trim())));
        }
        return rows;
    }

    /** Whether {@code key} names a secret (also in its environment form, DEPLOY_SERVER_KEY_FILE). */
    public static boolean secret(String key) {
        String k = key.toLowerCase(Locale.ROOT).replace('_', '-');
        return SECRET_WORDS.stream().anyMatch(k::contains) || k.endsWith("-key") || k.equals("key");
    }

    /** {@code value} as the report may show it. */
    public static String mask(String key, String value) {
        if (secret(key)) {
            return value == null || value.isBlank() ? "(empty)" : MASK;
        }
        String v = URL_PASSWORD.matcher(value).replaceAll("$1******@");
        return QUERY_PASSWORD.matcher(v).replaceAll("$1******");
    }

    /** The defaults file, or null when it cannot be read. */
    public static Properties read(Path file) {
        if (file == null || !Files.isRegularFile(file)) {
            return null;
        }
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
            return p;
        } catch (IOException e) {
            return null;
        }
    }
}
