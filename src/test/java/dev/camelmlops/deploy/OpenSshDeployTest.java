package dev.camelmlops.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.camelmlops.data.Sha256;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.camelmlops.serving.ModelServerConfig;
import dev.camelmlops.testing.Cli;
import dev.camelmlops.testing.ConfigServer;
import dev.camelmlops.testing.FixedBatchModel;
import dev.camelmlops.testing.Http;
import dev.camelmlops.testing.OpenSshServer;
import dev.camelmlops.testing.OtherWeights;
import dev.camelmlops.testing.TinyModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Delivery's acceptance tests against OpenSSH's sshd (internal-sftp) on loopback, with a user whose
 * login folder is its home /home/mlops-it (not the SFTP root, unlike the in-process server of
 * {@link SftpDeployTest}) and a ChrootDirectory'd user whose login folder is the chroot's "/".
 * The data, training and test stages run once; each test packages or deploys over SFTP.
 */
class OpenSshDeployTest {
    @TempDir
    static Path tmp;

    private static OpenSshServer ssh;
    private static Cli trained;

    @BeforeAll
    static void start() throws Exception {
        OpenSshServer.assumeAvailable();
        ssh = new OpenSshServer(tmp.resolve("sshd"));
        trained = new Cli(tmp);
        assertEquals(0, trained.run("stage", "build"), trained.output());
        assertEquals(0, trained.run("stage", "train"), trained.output());
        assertEquals(0, trained.run("stage", "test"), trained.output());
    }

    @AfterAll
    static void stop() {
        if (ssh != null) {
            ssh.close();
        }
    }

    /** A CLI on the trained work folder, shipping to the sshd as {@code user} into {@code path}. */
    private static Cli cli(String user, String path) throws Exception {
        return new Cli(tmp)
                .env("DEPLOY_SERVER_HOSTNAME", "127.0.0.1")
                .env("DEPLOY_SERVER_PORT", Integer.toString(ssh.port()))
                .env("DEPLOY_SERVER_USERNAME", user)
                .env("DEPLOY_SERVER_PATH", path)
                .env("DEPLOY_SERVER_KNOWN_HOSTS", ssh.writeKnownHosts(tmp.resolve("known_hosts")).toString())
                .env("SERVING_URL", "http://127.0.0.1:9");
    }

    private static List<String> names(Path dir) throws Exception {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static void assertSameFiles(Path local, Path remote) throws Exception {
        try (Stream<Path> s = Files.walk(local)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                Path r = remote.resolve(local.relativize(p).toString());
                assertTrue(Files.isRegularFile(r), r + " was uploaded");
                assertEquals(Sha256.of(p), Sha256.of(r), "binary copy of " + r);
            }
        }
    }

    private static int newestPackage() throws Exception {
        return names(trained.work().resolve("package")).stream().mapToInt(Integer::parseInt).max().orElseThrow();
    }

    private static void assertNoAbsolutePathWarning(Cli cli) {
        assertFalse(cli.output().contains("absolute paths"), "no warning about absolute paths:\n" + cli.output());
    }

    @Test
    void theWholePipelineDeliversIntoAnAbsolutePathOutsideTheLoginFolderOfItsRoot() throws Exception {
        // the case: /home/<user>/models, an absolute path, and home is not "/"
        Path models = OpenSshServer.HOME.resolve("models");
        OpenSshServer.createFoldersOfUser(models.resolve("prod"));
        // the serving host as the README sets TF Serving up: on prod/models.config, which arrives over SFTP
        try (ConfigServer serving = new ConfigServer(models.resolve("prod"))) {
            Cli cli = cli(OpenSshServer.USER, models.toString())
                    .env("DEPLOY_SERVER_PASSWORD", OpenSshServer.PASSWORD)
                    .env("SERVING_URL", serving.url());
            assertEquals(0, cli.run("run"), cli.output());
            int v = newestPackage();
            assertEquals(List.of(Integer.toString(v)), names(models.resolve("staging")));
            assertEquals(List.of(Integer.toString(v)), versions(models.resolve("prod")));
            assertSameFiles(cli.work().resolve("package/" + v), models.resolve("staging/" + v));
            assertSameFiles(cli.work().resolve("package/" + v), models.resolve("prod/" + v));
            assertFalse(Files.exists(OpenSshServer.HOME.resolve("home")), "nothing under ~/home/...");
            assertTrue(Files.readString(cli.work().resolve("verify.json")).contains("\"passed\" : true"));
            assertEquals(Integer.toString(v), serving.labelled("stable"));
            String config = Files.readString(models.resolve("prod/models.config"));
            assertTrue(config.contains("base_path: \"" + models.resolve("prod") + "\""),
                    "the absolute path on the SFTP host, as realpath gives it:\n" + config);
            assertNoAbsolutePathWarning(cli);
            assertFalse(cli.output().contains(OpenSshServer.PASSWORD), "the password never appears");

            // labels over SFTP: a second version through deploy and verify, then versions and rollback
            assertEquals(0, cli.run("stage", "package"), cli.output());
            assertEquals(0, cli.run("stage", "deploy"), cli.output());
            assertEquals(Integer.toString(v + 1), serving.labelled("canary"));
            assertEquals(0, cli.run("stage", "verify"), cli.output());
            assertEquals(Integer.toString(v + 1), serving.labelled("stable"));
            assertEquals(0, cli.run("versions"), cli.output());
            assertTrue(cli.output().contains("Model my_model in sftp://" + OpenSshServer.USER + "@127.0.0.1:"
                    + ssh.port() + models.resolve("prod")), cli.output());
            assertTrue(cli.output().lines().anyMatch(l -> l.matches(" +" + (v + 1) + "  stable +yes .* by verify .*")),
                    cli.output());
            assertEquals(0, cli.run("rollback"), cli.output());
            assertEquals(Integer.toString(v), serving.labelled("stable"));
            assertTrue(cli.output().lines().anyMatch(l -> l.matches(" +" + v + "  stable +yes .* by rollback \\(mlops rollback\\)")),
                    cli.output());
            assertFalse(cli.output().contains(OpenSshServer.PASSWORD), "the password never appears");
            assertEquals(List.of("models.config"), names(models.resolve("prod")).stream()
                    .filter(n -> !n.matches("[0-9]+")).toList(), "no temporary file left beside the config");
        }
    }

    /**
     * Over SFTP into ~/{@code folder}/prod, served by a {@link ConfigServer} on it: a first version
     * deployed and verified (stable), the next one packaged and deployed (canary). The serving host
     * then stops (it has loaded the good copy, which it would keep answering with), {@code alter}
     * changes the delivered copy of the new version on the SFTP host, the host starts again on what
     * is there (with --allow_version_labels_for_unavailable_models, as the README starts a
     * container on a models.config with labels), and `stage verify` must fail: the version is
     * removed from prod over SFTP, stable stays on the previous one in models.config and on the
     * server, which answers the example's request again. The record of verify.json.
     */
    private static JsonNode rolledBackOverSftp(String folder, Consumer<Path> alter) throws Exception {
        Path models = OpenSshServer.HOME.resolve(folder);
        Path prod = OpenSshServer.createFoldersOfUser(models.resolve("prod"));
        Cli cli = cli(OpenSshServer.USER, models.toString()).env("DEPLOY_SERVER_PASSWORD", OpenSshServer.PASSWORD);
        int v;
        try (ConfigServer serving = new ConfigServer(prod)) {
            cli.env("SERVING_URL", serving.url());
            assertEquals(0, cli.run("stage", "package"), cli.output());
            assertEquals(0, cli.run("stage", "deploy"), cli.output());
            assertEquals(0, cli.run("stage", "verify"), cli.output());
            assertEquals(Integer.toString(newestPackage()), serving.labelled("stable"));
            assertEquals(0, cli.run("stage", "package"), cli.output());
            assertEquals(0, cli.run("stage", "deploy"), cli.output());
            v = newestPackage();
            assertEquals(List.of(Integer.toString(v - 1), Integer.toString(v)), versions(prod));
            assertEquals(Integer.toString(v), serving.labelled("canary"));
        }
        alter.accept(prod.resolve(Integer.toString(v)));

        try (ConfigServer serving = new ConfigServer(prod, true)) {
            cli.env("SERVING_URL", serving.url());
            assertEquals(1, cli.run("stage", "verify"), cli.output());
            assertTrue(cli.output().contains("FAILED at stage verify"), cli.output());
            assertTrue(cli.output().contains("version " + v + " rolled back (removed from sftp://" + OpenSshServer.USER
                    + "@127.0.0.1:" + ssh.port() + prod + ")"), cli.output());
            assertTrue(cli.output().contains("version " + (v - 1) + " serves again"), cli.output());
            assertFalse(cli.output().contains(OpenSshServer.PASSWORD), "the password never appears");
            assertEquals(List.of(Integer.toString(v - 1)), versions(prod), "removed on the SFTP host");
            assertEquals(List.of("models.config"), names(prod).stream().filter(n -> !n.matches("[0-9]+")).toList(),
                    "no temporary file left beside the config");
            ModelServerConfig.Model config = ModelServerConfig.parse(Files.readString(prod.resolve("models.config")),
                    "models.config").model("my_model").orElseThrow();
            assertEquals(Map.of("stable", (long) (v - 1)), config.labels(), "stable stays, the canary label goes");
            assertEquals(new ModelServerConfig.VersionPolicy.Specific(new TreeSet<>(Set.of((long) (v - 1)))),
                    config.policy(), "only the stable version loads");
            assertEquals(Integer.toString(v - 1), serving.labelled("stable"));
            assertFalse(serving.labelled("canary").equals(Integer.toString(v)), serving.labelled("canary"));
            // the example's request (1 image, no version) is answered, by the stable version
            Http.Response r = Http.post(serving.url() + "/v1/models/my_model:predict",
                    Files.readString(cli.work().resolve("example-request.json")));
            assertEquals(200, r.status(), r.body());
            assertEquals(Integer.toString(v - 1), Http.get(serving.url() + "/v1/models/my_model").json()
                    .at("/model_version_status/0/version").asText());
        }
        JsonNode record = new ObjectMapper().readTree(cli.work().resolve("verify.json").toFile());
        assertEquals(false, record.get("passed").asBoolean(), record.toString());
        assertEquals(v, record.get("version").asInt(), record.toString());
        assertTrue(record.has("secondsUntilAvailable"), "it loaded: the failure is in its answers " + record);
        return record;
    }

    @Test
    void overSftpAVersionThatAnswersUnlikeThePackagedModelIsRolledBackAndStableStays() throws Exception {
        // the delivered copy gets the weights of a model trained otherwise: it loads and answers, but not like its package
        Path other = tmp.resolve("other-weights");
        TinyModels.export(other, 7);
        String reason = rolledBackOverSftp("canary-mismatch", delivered -> OtherWeights.copyVariables(other, delivered))
                .get("reason").asText();
        assertTrue(reason.matches("image [0-9]+ is classified .* by the served model but .* by the packaged model")
                || reason.startsWith("served probabilities differ from the packaged model's by up to"), reason);
    }

    @Test
    void overSftpAVersionWhoseBatchSizeIsFixedFailsTheExampleRequestAndIsRolledBack() throws Exception {
        // the delivered copy as exported with Input(batch_size=32): the canary's 32 images pass, the example's 3 do not
        JsonNode record = rolledBackOverSftp("fixed-batch", delivered -> FixedBatchModel.fixBatch(delivered, 32));
        assertEquals(32, record.get("canaryImages").asInt(), "the canary batch was compared " + record);
        assertTrue(record.get("maxAbsDiff").asDouble() <= 1e-4, "and answered like the packaged model " + record);
        String reason = record.get("reason").asText();
        assertTrue(reason.matches("the example's request to http://127\\.0\\.0\\.1:[0-9]+/v1/models/my_model:predict"
                + " failed: .*input 'images' expects shape \\[32,28,28,1\\], got \\[3,28,28,1\\].*"), reason);
    }

    private static List<String> versions(Path dir) throws Exception {
        return names(dir).stream().filter(n -> n.matches("[0-9]+")).toList();
    }

    @Test
    void keyLoginPackagesIntoAPathRelativeToTheHomeFolder() throws Exception {
        Cli cli = cli(OpenSshServer.USER, "rel/models").env("DEPLOY_SERVER_KEY_FILE", ssh.clientKey().toString());
        assertPackagedInto(cli, OpenSshServer.HOME.resolve("rel/models/staging"));
    }

    @Test
    void aChrootedUserWhoseHomeIsTheRootGetsAbsoluteAndRelativePathsRight() throws Exception {
        Cli abs = cli(OpenSshServer.CHROOT_USER, "/upload/abs/").env("DEPLOY_SERVER_PASSWORD", OpenSshServer.PASSWORD);
        assertPackagedInto(abs, OpenSshServer.CHROOT.resolve("upload/abs/staging"));
        assertNoAbsolutePathWarning(abs);

        Cli rel = cli(OpenSshServer.CHROOT_USER, "upload/rel").env("DEPLOY_SERVER_PASSWORD", OpenSshServer.PASSWORD);
        assertPackagedInto(rel, OpenSshServer.CHROOT.resolve("upload/rel/staging"));
    }

    /** `stage package` succeeds and its version lands, file for file, in {@code staging} (and only there). */
    private void assertPackagedInto(Cli cli, Path staging) throws Exception {
        assertEquals(0, cli.run("stage", "package"), cli.output() + ssh.log());
        int v = newestPackage();
        assertEquals(List.of(Integer.toString(v)), names(staging));
        assertSameFiles(cli.work().resolve("package/" + v), staging.resolve(Integer.toString(v)));
    }

    @Test
    void aWrongHostKeyIsRefusedAndNothingIsUploaded() throws Exception {
        Path models = OpenSshServer.HOME.resolve("wrong-key");
        Cli cli = cli(OpenSshServer.USER, models.toString()).env("DEPLOY_SERVER_PASSWORD", OpenSshServer.PASSWORD)
                .env("DEPLOY_SERVER_KNOWN_HOSTS", ssh.writeWrongKnownHosts(tmp.resolve("wrong_known_hosts")).toString());
        assertEquals(1, cli.run("stage", "package"), cli.output());
        assertTrue(cli.output().contains("HostKey has been changed"), cli.output());
        assertTrue(cli.output().contains("sftp://mlops-it@127.0.0.1:" + ssh.port() + models + "/staging"),
                "the message names the absolute folder:\n" + cli.output());
        assertFalse(Files.exists(models), "nothing was uploaded");
    }

    @Test
    void anUnknownHostIsRefusedUnlessHostKeyCheckingIsSwitchedOff() throws Exception {
        Path models = OpenSshServer.HOME.resolve("unknown-host");
        Path empty = Files.writeString(tmp.resolve("empty_known_hosts"), "");
        Cli cli = cli(OpenSshServer.USER, models.toString()).env("DEPLOY_SERVER_PASSWORD", OpenSshServer.PASSWORD)
                .env("DEPLOY_SERVER_KNOWN_HOSTS", empty.toString());
        assertEquals(1, cli.run("stage", "package"), cli.output());
        assertTrue(cli.output().contains("UnknownHostKey") || cli.output().contains("reject HostKey"), cli.output());
        assertFalse(Files.exists(models), "nothing was uploaded");

        cli.env("DEPLOY_SERVER_STRICT_HOST_KEY_CHECKING", "no");
        assertEquals(0, cli.run("stage", "package"), cli.output());
        assertTrue(cli.output().contains("SECURITY WARNING"), cli.output());
        assertEquals(List.of(Integer.toString(newestPackage())), names(models.resolve("staging")));
    }
}
