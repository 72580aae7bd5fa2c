package dev.camelmlops.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.camelmlops.settings.PipelineSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
    @TempDir
    Path dir;

    private Path props() throws IOException {
        Path p = dir.resolve("application.properties");
        Files.writeString(p, "model.architecture=default\nquality.min-accuracy=0.8\ntrain.epochs=\nwork.dir=work\n");
        return p;
    }

    @Test
    void environmentNamesFollowCamelMain() {
        assertEquals("QUALITY_MIN_ACCURACY", ConfigLoader.envName("quality.min-accuracy"));
        assertEquals("MODEL_ARCHITECTURE", ConfigLoader.envName("model.architecture"));
    }

    @Test
    void precedenceIsFileThenDotEnvThenEnvironmentThenOverrides() throws IOException {
        Path env = dir.resolve(".env");
        Files.writeString(env, "# comment\nexport MODEL_ARCHITECTURE=tutorial\nQUALITY_MIN_ACCURACY=\"0.5\"\n"
                + "TRAIN_EPOCHS=4\nDEPLOY_SERVER_HOSTNAME=example.test\nUNRELATED=1\n");
        Properties p = ConfigLoader.load(props(), env,
                Map.of("QUALITY_MIN_ACCURACY", "0.6", "TRAIN_EPOCHS", "7", "PATH", "/bin"),
                Map.of("train.epochs", "9"));
        assertEquals("tutorial", p.getProperty("model.architecture"), ".env over the file");
        assertEquals("0.6", p.getProperty("quality.min-accuracy"), "environment over .env");
        assertEquals("9", p.getProperty("train.epochs"), "-D over the environment");
        assertEquals("work", p.getProperty("work.dir"));
        assertEquals("example.test", p.getProperty("DEPLOY_SERVER_HOSTNAME"), "deployment variables pass through");
        assertNull(p.getProperty("UNRELATED"));
        assertNull(p.getProperty("PATH"));
    }

    @Test
    void aMalformedDotEnvLineIsNamed() throws IOException {
        Path env = dir.resolve(".env");
        Files.writeString(env, "A=1\nthis is not an assignment\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ConfigLoader.load(props(), env, Map.of(), Map.of()));
        assertTrue(e.getMessage().endsWith(".env line 2: expected KEY=value"), e.getMessage());
    }

    @Test
    void settingsUseArchitectureDefaultsAndNameBadKeys() throws IOException {
        Properties p = ConfigLoader.load(props(), null, Map.of(), Map.of("model.architecture", "tutorial"));
        PipelineSettings s = PipelineSettings.from(p::getProperty);
        assertEquals(5, s.training().epochs());
        assertEquals(32, s.training().batchSize());
        assertEquals(0.001f, s.training().learningRate());

        Properties bad = ConfigLoader.load(props(), null, Map.of("TRAIN_EPOCHS", "five"), Map.of());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PipelineSettings.from(bad::getProperty));
        assertEquals("train.epochs: 'five' is not a number", e.getMessage());

        Properties arch = ConfigLoader.load(props(), null, Map.of("MODEL_ARCHITECTURE", "resnet"), Map.of());
        e = assertThrows(IllegalArgumentException.class, () -> PipelineSettings.from(arch::getProperty));
        assertTrue(e.getMessage().contains("unknown model.architecture 'resnet'"), e.getMessage());
    }

    @Test
    void unknownKeysAreReportedWithTheNearestKnownName() throws IOException {
        Path env = dir.resolve(".env");
        Files.writeString(env, "MODEL_ARCHITECURE=tutorial\nDEPLOY_SERVER_HOSTNAME=x\n");
        Files.writeString(props(), "model.architecture=default\nquality.min-accuracy=0.8\ntrain.epochs=\n"
                + "work.dir=work\nquality.min-acuracy=0.5\n");
        ConfigLoader.Loaded l = ConfigLoader.read(dir.resolve("application.properties"),
                Path.of("config/application.properties"), env,
                Map.of("TRAIN_EPOHS", "3", "SERVING_SERVICE_HOST", "10.0.0.1", "MODEL_BASE_PATH", "/models",
                        "MLOPS_MAVEN", "mvn", "DEPLOY_SERVER_KEY", "base64", "PATH", "/bin"),
                Map.of("model.architeture", "tutorial", "camel.main.name", "x", "mlops.home", "/h"));
        assertEquals(List.of(
                "unknown key 'quality.min-acuracy' (did you mean 'quality.min-accuracy'?) in application.properties",
                "unknown key 'MODEL_ARCHITECURE' (did you mean 'MODEL_ARCHITECTURE'?) in .env",
                "unknown key 'TRAIN_EPOHS' (did you mean 'TRAIN_EPOCHS'?) in the environment",
                "unknown key 'model.architeture' (did you mean 'model.architecture'?)"), l.problems());
    }

    @Test
    void aDotEnvIsCheckedStrictlyTheEnvironmentOnlyForTypos() throws IOException {
        Path env = dir.resolve(".env");
        Files.writeString(env, "MODEL_BASE_PATH=/models\n");
        assertEquals(List.of("unknown key 'MODEL_BASE_PATH' in .env"),
                ConfigLoader.read(props(), null, env, Map.of(), Map.of()).problems());
        assertEquals(List.of(), ConfigLoader.read(props(), null, null, Map.of("MODEL_BASE_PATH", "/m"), Map.of())
                .problems(), "another program's variable in the environment");
    }

    /** Every project variable the launcher, the CircleCI config, the README or .env.example name is known. */
    @Test
    void everyVariableTheProjectUsesIsKnown() throws IOException {
        Path home = Path.of("").toAbsolutePath();
        java.util.Set<String> used = new java.util.TreeSet<>();
        for (String f : List.of("mlops", ".circleci/config.yml", "README.md", "config/.env.example", ".ci/run")) {
            Path p = home.resolve(f);
            if (Files.isRegularFile(p)) {
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\b(DEPLOY_SERVER|MLOPS|SERVING)_[A-Z0-9_]*[A-Z0-9]\\b")
                        .matcher(Files.readString(p));
                while (m.find()) {
                    used.add(m.group());
                }
            }
        }
        assertTrue(used.contains("DEPLOY_SERVER_HOST_KEY") && used.contains("MLOPS_MAVEN"), used.toString());
        // the README names Kubernetes' variables as examples of what is not ours
        used.remove("SERVING_SERVICE_HOST");
        Map<String, String> environment = new java.util.HashMap<>();
        used.forEach(n -> environment.put(n, "1"));
        ConfigLoader.Loaded l = ConfigLoader.read(home.resolve("config/application.properties"), null, null,
                Map.of(), environment.entrySet().stream().collect(java.util.stream.Collectors.toMap(
                        Map.Entry::getKey, Map.Entry::getValue)));
        assertEquals(List.of(), l.problems(), "checked as strictly as -D");
    }

    @Test
    void numbersThatDoNotParseSaySoInWordsAndEveryProblemIsListed() throws IOException {
        Properties p = ConfigLoader.load(props(), null, Map.of(), Map.of("quality.min-accuracy", "abc",
                "train.epochs", "2.5", "serving.port", "http", "verify.tolerance", "0x10", "retrain.cron", "often"));
        dev.camelmlops.settings.InvalidSettingsException e = assertThrows(
                dev.camelmlops.settings.InvalidSettingsException.class, () -> PipelineSettings.from(p::getProperty));
        assertEquals(List.of(
                "train.epochs: '2.5' is not a whole number",
                "quality.min-accuracy: 'abc' is not a number",
                "serving.port: 'http' is not a number",
                "verify.tolerance: '0x10' is not a number",
                "retrain.cron: 'often' is not a valid Quartz cron expression"), e.problems());
    }
}
