package dev.camelmlops.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.camelmlops.serving.ModelServer;
import dev.camelmlops.serving.ModelVersionWatcher;
import dev.camelmlops.testing.Cli;
import dev.camelmlops.testing.SftpTestServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `mlops check` against real peers (in-process SFTP server, a TF-Serving-compatible server) and
 * the SFTP preflight of a run: a wrong password or a closed port fails in seconds, before training.
 */
class CheckCommandTest {
    @TempDir
    Path tmp;
    private SftpTestServer sftp;
    private ModelVersionWatcher watcher;
    private ModelServer serving;
    private Cli cli;

    @BeforeEach
    void start() throws Exception {
        sftp = new SftpTestServer(tmp);
        watcher = new ModelVersionWatcher("my_model", sftp.root().resolve("models/prod"), Duration.ofMillis(200));
        watcher.start();
        serving = new ModelServer(watcher, "127.0.0.1", 0, 2, 1 << 20);
        serving.start();
        cli = sftp.deployTo(new Cli(tmp), tmp.resolve("known_hosts"))
                .env("DEPLOY_SERVER_PASSWORD", SftpTestServer.PASSWORD)
                .env("SERVING_URL", serving.baseUrl());
    }

    @AfterEach
    void stop() throws Exception {
        serving.close();
        watcher.close();
        sftp.close();
    }

    private String line(String name) {
        return cli.output().lines().filter(l -> l.matches("(OK|FAIL) +" + name + " .*")).findFirst()
                .orElseThrow(() -> new AssertionError("no line for " + name + " in:\n" + cli.output()));
    }

    private long filesUnder(Path dir) throws Exception {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).count();
        }
    }

    @Test
    void everythingReachableIsOkAndNothingIsLeftBehind() throws Exception {
        assertEquals(0, cli.run("check"), cli.output());
        assertTrue(line("data").startsWith("OK"), line("data"));
        assertTrue(line("data").contains("300 training and 100 test images"), line("data"));
        assertTrue(line("staging").contains("logged in, probe file written and removed in sftp://deployer@127.0.0.1:"
                + sftp.port() + "/~/models/staging"), line("staging"));
        assertTrue(line("prod").startsWith("OK"), line("prod"));
        assertTrue(line("labels").startsWith("OK") && line("labels").contains("no models.config in prod yet"),
                line("labels"));
        assertTrue(line("serving").startsWith("OK") && line("serving").contains("no version of 'my_model' served yet"),
                line("serving"));
        assertEquals(0, filesUnder(sftp.root()), "the probe files are removed");
        assertFalse(cli.output().contains(SftpTestServer.PASSWORD), "no secret in the output");
        assertEquals(0, cli.run("doctor"), "the alias");
    }

    /** prod/models.config over SFTP: read and summed up, or its defect named with line and column. */
    @Test
    void theLabelsInProdAreReadOverSftpAndABrokenConfigFails() throws Exception {
        Path config = Files.createDirectories(sftp.root().resolve("models/prod")).resolve("models.config");
        Files.writeString(config, "model_config_list { config { name: 'my_model' base_path: '/models/my_model'"
                + " model_version_policy { specific { versions: [3, 4] } }"
                + " version_labels { key: 'stable' value: 3 } version_labels { key: 'canary' value: 4 } } }");
        assertEquals(0, cli.run("check"), cli.output());
        assertTrue(line("labels").contains("labels canary=4, stable=3, loads [3, 4], base_path /models/my_model"),
                line("labels"));
        Files.writeString(config, "model_config_list {\n  config { name: 'my_model' base_pth: '/m' } }\n");
        assertEquals(1, cli.run("check"), cli.output());
        assertTrue(line("labels").startsWith("FAIL") && line("labels").contains("2:")
                && line("labels").contains("base_pth"), line("labels"));
    }

    @Test
    void aWrongPasswordFailsTheSftpChecksNamingTheReason() {
        cli.env("DEPLOY_SERVER_PASSWORD", "wrong");
        assertEquals(1, cli.run("check"), cli.output());
        assertTrue(line("staging").startsWith("FAIL") && line("staging").contains("Auth fail"), line("staging"));
        assertTrue(line("staging").contains("refused DEPLOY_SERVER_USERNAME"), line("staging"));
        assertTrue(line("data").startsWith("OK"), "the other checks still run: " + cli.output());
        assertTrue(line("serving").startsWith("OK"), line("serving"));
    }

    @Test
    void aClosedSftpPortAndAnUnreachableServingUrlFailTheirChecks() throws Exception {
        int closed = ConfigurationMistakesTest.closedPort();
        cli.env("DEPLOY_SERVER_PORT", Integer.toString(closed)).env("SERVING_URL", "http://127.0.0.1:" + closed);
        assertEquals(1, cli.run("check"), cli.output());
        assertTrue(line("prod").startsWith("FAIL") && line("prod").contains("Connection refused"), line("prod"));
        assertTrue(line("serving").startsWith("FAIL") && line("serving").contains("connection refused"),
                line("serving"));
    }

    @Test
    void aWebhookIsReachedWithoutPostingAndAnInvalidConfigurationIsExitTwo() throws Exception {
        int closed = ConfigurationMistakesTest.closedPort();
        cli.env("NOTIFY_WEBHOOK_URL", "http://127.0.0.1:" + closed + "/hook");
        assertEquals(1, cli.run("check"), cli.output());
        assertTrue(line("webhook").startsWith("FAIL") && line("webhook").contains("connection refused"),
                line("webhook"));
        assertEquals(2, cli.run("-Dverify.canary-size=many", "check"), cli.output());
        assertTrue(cli.output().contains("verify.canary-size: 'many' is not a number"), cli.output());
        assertFalse(cli.output().contains("OK   data"), "no check runs on an invalid configuration");
    }

    @Test
    void corruptDataFailsTheDataCheckFromItsHeaderAndSize() throws Exception {
        Path labels = cli.data().resolve("train-labels-idx1-ubyte.gz");
        byte[] b = Files.readAllBytes(labels);
        Files.write(labels, java.util.Arrays.copyOf(b, b.length - 8));
        assertEquals(1, cli.run("check"), cli.output());
        assertTrue(line("data").startsWith("FAIL") && line("data").contains(labels.toString()), line("data"));
    }

    @Test
    void aRunOverSftpWithAWrongPasswordFailsInSecondsBeforeTraining() {
        cli.env("DEPLOY_SERVER_PASSWORD", "wrong");
        long start = System.nanoTime();
        assertEquals(1, cli.run("run"), cli.output());
        double seconds = (System.nanoTime() - start) / 1e9;
        assertTrue(cli.output().contains("FAILED before any stage ran (deploy target check"), cli.output());
        assertTrue(cli.output().contains("Auth fail"), cli.output());
        assertFalse(cli.output().contains("Epoch 1/"), "no training: " + cli.output());
        assertFalse(Files.exists(cli.work().resolve("model")), "no checkpoint");
        assertTrue(seconds < 20, "failed after " + seconds + " s");
    }

    @Test
    void aRetrainOverAClosedSftpPortFailsBeforeTraining() throws Exception {
        cli.env("DEPLOY_SERVER_PORT", Integer.toString(ConfigurationMistakesTest.closedPort()));
        assertEquals(1, cli.run("retrain"), cli.output());
        assertTrue(cli.output().contains("FAILED before any stage ran (deploy target check"), cli.output());
        assertTrue(cli.output().contains("Connection refused"), cli.output());
    }
}
