package dev.camelmlops.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.camelmlops.data.Sha256;
import dev.camelmlops.testing.ConfigServer;
import dev.camelmlops.testing.Cli;
import dev.camelmlops.testing.SftpTestServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Deployment over SFTP to a real server (Apache MINA SSHD in process, loopback), with a
 * TF-Serving-compatible server watching the uploaded prod folder as the "remote" serving host.
 */
class SftpDeployTest {
    @TempDir
    Path tmp;

    private SftpTestServer sftp;
    private ConfigServer serving;
    private Cli cli;
    private Path prod;
    private Path staging;

    @BeforeEach
    void start() throws Exception {
        sftp = new SftpTestServer(tmp);
        prod = sftp.root().resolve("models/prod");
        staging = sftp.root().resolve("models/staging");
        // the serving host as the README sets TF Serving up: on prod/models.config
        serving = new ConfigServer(prod);
        // the SFTP server's "/" is its root folder, a chroot of sorts: the server sees prod elsewhere
        cli = sftp.deployTo(new Cli(tmp), tmp.resolve("known_hosts")).env("SERVING_URL", serving.url())
                .env("SERVING_MODEL_BASE_PATH", prod.toString());
    }

    @AfterEach
    void stop() throws Exception {
        serving.close();
        sftp.close();
    }

    private static List<String> names(Path dir) throws Exception {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private void assertSameFiles(Path local, Path remote) throws Exception {
        try (Stream<Path> s = Files.walk(local)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                Path r = remote.resolve(local.relativize(p).toString());
                assertEquals(Sha256.of(p), Sha256.of(r), "binary copy of " + r);
            }
        }
    }

    @Test
    void passwordLoginRunsTheWholePipelineAgainstSftpAndARemoteServingUrl() throws Exception {
        cli.env("DEPLOY_SERVER_PASSWORD", SftpTestServer.PASSWORD);
        assertEquals(0, cli.run("run"), cli.output());
        assertEquals(List.of("1"), names(staging));
        assertEquals(List.of("1", "models.config"), names(prod));
        assertSameFiles(cli.work().resolve("package/1"), staging.resolve("1"));
        assertSameFiles(cli.work().resolve("package/1"), prod.resolve("1"));
        assertTrue(Files.readString(cli.work().resolve("verify.json")).contains("\"passed\" : true"));
        assertEquals("1", serving.labelled("stable"), "verify moved stable, in the file the server reads");
        assertTrue(Files.readString(prod.resolve("models.config")).contains("base_path: \"" + prod + "\""),
                "SERVING_MODEL_BASE_PATH, where the server sees prod");
        assertFalse(cli.output().contains(SftpTestServer.PASSWORD), "the password never appears in the output");
    }

    @Test
    void keyLoginDeploysWithoutAPassword() throws Exception {
        cli.env("DEPLOY_SERVER_KEY_FILE", sftp.clientKey().toString());
        assertEquals(0, cli.run("run"), cli.output());
        assertEquals(List.of("1", "models.config"), names(prod));
    }

    @Test
    void anUnknownHostKeyIsRefused() throws Exception {
        cli.env("DEPLOY_SERVER_PASSWORD", SftpTestServer.PASSWORD);
        Files.writeString(tmp.resolve("known_hosts"), "");
        assertEquals(1, cli.run("run"), cli.output());
        assertTrue(cli.output().contains("FAILED before any stage ran"), "checked before training: " + cli.output());
        assertTrue(cli.output().toLowerCase().contains("hostkey") || cli.output().toLowerCase().contains("host key"),
                cli.output());
        assertEquals(List.of(), names(staging));
    }

    @Test
    void aChangedHostKeyIsRefused() throws Exception {
        cli.env("DEPLOY_SERVER_PASSWORD", SftpTestServer.PASSWORD);
        try (SftpTestServer impostor = new SftpTestServer(tmp.resolve("other"))) {
            String otherKey = impostor.knownHostsLine().substring(impostor.knownHostsLine().indexOf(' '));
            Files.writeString(tmp.resolve("known_hosts"), "[127.0.0.1]:" + sftp.port() + otherKey + "\n");
        }
        assertEquals(1, cli.run("run"), cli.output());
        // refused by the check that reaches staging and prod before anything runs: no training, no upload
        assertTrue(cli.output().contains("FAILED before any stage ran (deploy target check")
                && cli.output().contains("HostKey has been changed: [127.0.0.1]:" + sftp.port()), cli.output());
        assertFalse(Files.exists(cli.work().resolve("model")), "nothing was trained");
        assertEquals(List.of(), names(staging));
        assertEquals(List.of(), names(prod));
    }

    @Test
    void hostKeyCheckingCanOnlyBeSwitchedOffExplicitlyAndLoudly() throws Exception {
        cli.env("DEPLOY_SERVER_PASSWORD", SftpTestServer.PASSWORD)
                .env("DEPLOY_SERVER_KNOWN_HOSTS", tmp.resolve("no-such-file").toString());
        assertEquals(2, cli.run("stage", "package"), cli.output());
        assertTrue(cli.output().contains("known_hosts file"), cli.output());

        cli.env("DEPLOY_SERVER_STRICT_HOST_KEY_CHECKING", "no");
        Files.writeString(tmp.resolve("no-such-file"), "");
        assertEquals(0, cli.run("run"), cli.output());
        assertTrue(cli.output().contains("SECURITY WARNING"), cli.output());
    }

    @Test
    void aServerThatDiesMidUploadLeavesNoVersionAndTheNextDeploySucceeds() throws Exception {
        cli.env("DEPLOY_SERVER_PASSWORD", SftpTestServer.PASSWORD);
        assertEquals(0, cli.run("stage", "build"), cli.output());
        assertEquals(0, cli.run("stage", "train"), cli.output());
        assertEquals(0, cli.run("stage", "test"), cli.output());
        assertEquals(0, cli.run("stage", "package"), cli.output());

        sftp.stopAfterWriting(1000);
        assertEquals(1, cli.run("stage", "deploy"), cli.output());
        assertTrue(cli.output().contains("FAILED at stage"), cli.output());
        assertFalse(sftp.running(), "the server was stopped during the upload");
        List<String> left = names(prod);
        assertTrue(left.stream().noneMatch(n -> n.matches("[0-9]+")), "no numeric version folder: " + left);
        assertTrue(left.stream().anyMatch(n -> n.startsWith(".incoming-1-")), "the partial upload is there: " + left);

        sftp.restart();
        assertEquals(0, cli.run("stage", "deploy"), cli.output());
        assertEquals(List.of("1", "models.config"), names(prod), "partial upload cleaned up, version published");
        assertEquals(0, cli.run("stage", "verify"), cli.output());
    }

    @Test
    void aRetrainOverSftpWarmStartsFromTheDeployedVersionFetchedFromStaging() throws Exception {
        cli.env("DEPLOY_SERVER_PASSWORD", SftpTestServer.PASSWORD);
        assertEquals(0, cli.run("run"), cli.output());
        assertEquals(0, cli.run("retrain"), cli.output());
        com.fasterxml.jackson.databind.JsonNode retrain = dev.camelmlops.testing.Http.JSON.readTree(
                cli.work().resolve("retrain.json").toFile());
        assertEquals(1, retrain.get("deployedVersion").asInt(), retrain.toString());
        // the baseline it warm-started from and compared with is staging's copy of version 1
        assertSameFiles(cli.work().resolve("baseline"), staging.resolve("1"));
        assertSameFiles(staging.resolve("1"), cli.work().resolve("baseline"));
        com.fasterxml.jackson.databind.JsonNode eval = dev.camelmlops.testing.Http.JSON.readTree(
                cli.work().resolve("evaluation/evaluation.json").toFile());
        assertTrue(eval.at("/baseline/accuracy").isNumber(), "compared with the deployed model: " + eval);
        assertEquals(List.of("1", "2"), names(staging));
        assertEquals("2", serving.labelled("stable"));

        // without version 1 in staging there is nothing to fetch: the retrain says so and stops
        sftpDelete(staging.resolve("2"));
        sftpDelete(staging.resolve("1"));
        assertEquals(1, cli.run("retrain"), cli.output());
        assertTrue(cli.output().contains("deployed version 2 is not in"), cli.output());
    }

    private static void sftpDelete(Path dir) throws Exception {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    @Test
    void retentionKeepsTheNewestVersionsAndTheServedOne() throws Exception {
        cli.env("DEPLOY_SERVER_PASSWORD", SftpTestServer.PASSWORD);
        for (int i = 1; i <= 4; i++) {
            assertEquals(0, cli.run("-Ddeploy.keep-versions=2", "run"), cli.output());
        }
        assertEquals(List.of("3", "4", "models.config"), names(prod));
        assertEquals(List.of("1", "2", "3", "4"), names(staging), "staging keeps every version");
    }
}
