package dev.camelmlops.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.camelmlops.stage.PipelineSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
        assertTrue(e.getMessage().startsWith("train.epochs: invalid value 'five'"), e.getMessage());

        Properties arch = ConfigLoader.load(props(), null, Map.of("MODEL_ARCHITECTURE", "resnet"), Map.of());
        e = assertThrows(IllegalArgumentException.class, () -> PipelineSettings.from(arch::getProperty));
        assertTrue(e.getMessage().contains("unknown model.architecture 'resnet'"), e.getMessage());
    }
}
