package dev.camelmlops.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.camelmlops.testing.Cli;
import dev.camelmlops.testing.TinyModels;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Configuration mistakes stop a command with exit code 2 before anything starts, all of them at
 * once, in words: unknown keys from each source, unparsable numbers, a missing data.dir, a port in
 * use, an unreadable key file.
 */
class ConfigurationMistakesTest {
    private static final String SUGGESTION = "unknown key 'model.architeture' (did you mean 'model.architecture'?)";

    @TempDir
    Path tmp;
    private Cli cli;

    @BeforeEach
    void setUp() {
        cli = new Cli(tmp);
    }

    @Test
    void aTypoInADashDKeyStopsTheRunWithASuggestion() {
        assertEquals(2, cli.run("-Dmodel.architeture=tutorial", "run"), cli.output());
        assertTrue(cli.output().contains("Configuration error: " + SUGGESTION), cli.output());
        assertFalse(Files.exists(cli.work()), "nothing ran");
    }

    @Test
    void aTypoInThePropertiesFileStopsTheRun() throws IOException {
        Path file = tmp.resolve("my.properties");
        Files.writeString(file, Files.readString(Path.of("config/application.properties"))
                + "\nmodel.architeture=tutorial\n");
        assertEquals(2, cli.run("--config", file.toString(), "run"), cli.output());
        assertTrue(cli.output().contains(SUGGESTION + " in my.properties"), cli.output());
        assertFalse(Files.exists(cli.work()), "nothing ran");
    }

    @Test
    void aTypoInAnEnvironmentVariableStopsTheRun() {
        cli.env("MODEL_ARCHITETURE", "tutorial");
        assertEquals(2, cli.run("run"), cli.output());
        assertTrue(cli.output().contains(
                "unknown key 'MODEL_ARCHITETURE' (did you mean 'MODEL_ARCHITECTURE'?) in the environment"), cli.output());
        assertFalse(Files.exists(cli.work()), "nothing ran");
    }

    @Test
    void otherProgramsVariablesAndTheLaunchersAreNotMistakes() {
        cli.env("MLOPS_MAVEN", "mvn").env("MLOPS_CDS", "0").env("JAVA_OPTS", "-Xmx1g")
                .env("SERVING_SERVICE_HOST", "10.0.0.7").env("SERVING_PORT_8501_TCP", "tcp://10.0.0.7:8501")
                .env("MODEL_BASE_PATH", "/models").env("DEPLOY_SERVER_KEY", "LS0t").env("DEPLOY_SERVER_HOST_KEY", "h")
                .env("NOTIFY_WEBHOOK_URL", "");
        assertEquals(0, cli.run("history"), cli.output());
    }

    @Test
    void everyMistakeIsReportedInOneRunInWords() {
        assertEquals(2, cli.run("-Dmodel.architeture=tutorial", "-Dquality.min-accuracy=abc", "-Dtrain.epochs=2.5",
                "-Dserving.port=99999", "run"), cli.output());
        String out = cli.output();
        assertTrue(out.contains("Configuration errors (4):"), out);
        assertTrue(out.contains("  " + SUGGESTION), out);
        assertTrue(out.contains("  quality.min-accuracy: 'abc' is not a number"), out);
        assertTrue(out.contains("  train.epochs: '2.5' is not a whole number"), out);
        assertTrue(out.contains("  serving.port: '99999' is not a TCP port (0-65535)"), out);
        assertFalse(out.contains("NumberFormatException") || out.contains("For input string"), out);
    }

    @Test
    void aMissingDataDirStopsTheRunBeforeTheServerStartsOrAModelLoads() {
        TinyModels.export(tmp.resolve("prod/1"), 1);
        Path missing = tmp.resolve("no-such-data");
        assertEquals(2, cli.run("-Ddata.dir=" + missing, "run"), cli.output());
        String out = cli.output();
        assertTrue(out.contains("Configuration error: data.dir " + missing + " does not exist"), out);
        assertFalse(out.contains("serving model"), "no server started: " + out);
        assertFalse(out.contains("loaded from"), "no model loaded: " + out);
        assertFalse(Files.exists(cli.work()), "nothing ran");
    }

    @Test
    void anIncompleteDataDirIsNamedWithTheMissingFiles() throws IOException {
        Files.delete(cli.data().resolve("t10k-labels-idx1-ubyte.gz"));
        assertEquals(2, cli.run("stage", "build"), cli.output());
        assertTrue(cli.output().contains("data.dir " + cli.data() + " lacks t10k-labels-idx1-ubyte.gz"), cli.output());
    }

    @Test
    void watchStopsWithExitTwoWhenTheHealthOrServingPortIsTaken() throws IOException {
        try (ServerSocket health = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             ServerSocket serving = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int code = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> cli.run(
                    "-Dwatch.health-port=" + health.getLocalPort(), "-Dserving.port=" + serving.getLocalPort(), "watch"));
            String out = cli.output();
            assertEquals(2, code, out);
            assertTrue(out.contains("watch.health-port: cannot listen on 127.0.0.1:" + health.getLocalPort()), out);
            assertTrue(out.contains("serving.port: cannot listen on 127.0.0.1:" + serving.getLocalPort()), out);
            assertFalse(out.contains("serving model") || out.contains("Watching"), "nothing started: " + out);
        }
    }

    @Test
    void aKeyFileThatIsNoKeyStopsBeforeAnythingStarts() throws Exception {
        Path key = Files.writeString(tmp.resolve("id_broken"), "-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n");
        Path knownHosts = Files.writeString(tmp.resolve("known_hosts"), "");
        cli.env("DEPLOY_SERVER_HOSTNAME", "127.0.0.1").env("DEPLOY_SERVER_USERNAME", "deployer")
                .env("DEPLOY_SERVER_KEY_FILE", key.toString()).env("DEPLOY_SERVER_KNOWN_HOSTS", knownHosts.toString())
                .env("SERVING_URL", "http://127.0.0.1:9");
        assertEquals(2, cli.run("run"), cli.output());
        assertTrue(cli.output().contains("DEPLOY_SERVER_KEY_FILE " + key + " is not a private key that can be read"),
                cli.output());
        assertFalse(Files.exists(cli.work()), "nothing ran");

        Path folder = Files.createDirectories(tmp.resolve("id_folder"));
        cli.env("DEPLOY_SERVER_KEY_FILE", folder.toString());
        assertEquals(2, cli.run("stage", "package"), cli.output());
        assertTrue(cli.output().contains("DEPLOY_SERVER_KEY_FILE " + folder), cli.output());
    }

    static int closedPort() throws IOException {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            return s.getLocalPort();
        }
    }
}
