package dev.camelmlops.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.camelmlops.registry.Json;
import dev.camelmlops.registry.ModelManifest;
import dev.camelmlops.testing.Cli;
import dev.camelmlops.testing.OpenSshServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of a deploy in a child JVM (the real command line and routes) at random moments of an
 * upload and of retention: no numeric version folder may ever lack a file of its MANIFEST.json,
 * and the next deploy succeeds and removes the leftovers ({@code .incoming-*}, {@code .removing-*}).
 * The versions are synthetic (many files; deploy never loads a model).
 */
@Tag("slow")
class DeployCrashTest {
    private static final long SEED = System.nanoTime();

    @TempDir
    Path tmp;

    private final Random random = new Random(SEED);

    /** Writes a packaged-looking version with {@code files} files of {@code bytes} bytes each. */
    private static void writeVersion(Path dir, int version, int files, int bytes) throws IOException {
        List<ModelManifest.FileEntry> entries = new ArrayList<>();
        byte[] content = new byte[bytes];
        for (int i = 0; i < files; i++) {
            String rel = String.format("variables/part-%05d", i);
            Path f = dir.resolve(rel);
            Files.createDirectories(f.getParent());
            content[0] = (byte) i;
            Files.write(f, content);
            entries.add(new ModelManifest.FileEntry(rel, "-", bytes));
        }
        Files.write(dir.resolve("saved_model.pb"), content);
        entries.add(new ModelManifest.FileEntry("saved_model.pb", "-", bytes));
        Json.write(dir.resolve(ModelManifest.FILE_NAME), new ModelManifest(version, "my_model", "synthetic", "crash-test",
                "2026-01-01T00:00:00Z", null, "-", Map.of(), Map.of(), Map.of(), entries));
    }

    /** Fails when a numeric folder in {@code area} lacks MANIFEST.json or a file it lists. */
    private static void assertNoHalfVersion(Path area, String when) throws IOException {
        if (!Files.isDirectory(area)) {
            return;
        }
        try (Stream<Path> s = Files.list(area)) {
            for (Path v : s.filter(p -> p.getFileName().toString().matches("[0-9]+")).toList()) {
                Path m = v.resolve(ModelManifest.FILE_NAME);
                assertTrue(Files.isRegularFile(m), when + ": " + v + " has no MANIFEST.json (seed " + SEED + ")");
                for (ModelManifest.FileEntry e : Json.read(m, ModelManifest.class).files()) {
                    assertTrue(Files.isRegularFile(v.resolve(e.path())),
                            when + ": " + v + " lacks " + e.path() + " of its manifest (seed " + SEED + ")");
                }
            }
        }
    }

    private static List<String> names(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static long countFiles(Path dir) {
        if (!Files.isDirectory(dir)) {
            return -1;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).count();
        } catch (IOException | java.io.UncheckedIOException e) {
            return -1; // being deleted under our feet
        }
    }

    /** Files of version {@code v} in {@code area}, wherever they are (its folder or a folder on its way out). */
    private static long filesOfVersion(Path area, int v) throws IOException {
        long n = 0;
        for (String name : names(area)) {
            if (name.equals(Integer.toString(v)) || name.startsWith(AtomicPublisher.REMOVING_PREFIX + v + "-")) {
                n += Math.max(0, countFiles(area.resolve(name)));
            }
        }
        return n;
    }

    /**
     * Runs the command line in a child JVM and kills it (SIGKILL) as soon as {@code killWhen} holds;
     * returns true when it was killed, false when it ended first (its exit code must then be 0).
     */
    private static boolean runAndKill(Cli cli, Map<String, String> env, BooleanSupplier killWhen, String... args)
            throws Exception {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", cp, "dev.camelmlops.cli.MlopsCli"));
        cmd.addAll(cli.defaults());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(cli.work().getParent().resolve("child.log").toFile());
        pb.environment().putAll(env);
        Process p = pb.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        try {
            while (p.isAlive()) {
                if (killWhen.getAsBoolean()) {
                    p.destroyForcibly(); // SIGKILL
                    p.waitFor(30, TimeUnit.SECONDS);
                    return true;
                }
                if (System.nanoTime() > deadline) {
                    fail("the child deploy neither reached the kill point nor ended in 120 s");
                }
                p.waitFor(2, TimeUnit.MILLISECONDS);
            }
        } finally {
            if (p.isAlive()) {
                p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            }
        }
        assertEquals(0, p.exitValue(), Files.readString(cli.work().getParent().resolve("child.log")));
        return false;
    }

    private static Map<String, String> localEnv() {
        // a serving URL nobody answers: deploy only asks it which version it serves (and goes on)
        return Map.of("SERVING_URL", "http://127.0.0.1:9");
    }

    @Test
    void aKillDuringRetentionLeavesNoHalfDeletedVersionLocally() throws Exception {
        Cli cli = new Cli(tmp).env("SERVING_URL", "http://127.0.0.1:9");
        Path prod = tmp.resolve("prod");
        int kills = 0;
        for (int round = 1; round <= 3; round++) {
            int old = 2 * round - 1;
            int fresh = 2 * round;
            int total = 6002; // 6000 variables, saved_model.pb, MANIFEST.json
            writeVersion(prod.resolve(Integer.toString(old)), old, 6000, 16);
            writeVersion(cli.work().resolve("package/" + fresh), fresh, 3, 16);
            long removedBeforeKill = 1 + random.nextInt(total / 2);
            boolean killed = runAndKill(cli, localEnv(), () -> {
                try {
                    return filesOfVersion(prod, old) <= total - removedBeforeKill;
                } catch (IOException e) {
                    return false;
                }
            }, "-Ddeploy.keep-versions=1", "stage", "deploy");
            kills += killed ? 1 : 0;
            assertNoHalfVersion(prod, "killed during retention, round " + round);
        }
        assertTrue(kills >= 1, "at least one deploy was killed during retention");
        writeVersion(cli.work().resolve("package/7"), 7, 3, 16);
        assertEquals(0, cli.run("-Ddeploy.keep-versions=1", "stage", "deploy"), cli.output());
        assertEquals(List.of("7", "models.config"), names(prod), "leftovers removed, only the newest version kept");
        assertNoHalfVersion(prod, "after the next deploy");
    }

    @Test
    void aKillDuringAnUploadOrRetentionOverSftpLeavesNoHalfVersionAndTheNextDeployCleansUp() throws Exception {
        OpenSshServer.assumeAvailable();
        try (OpenSshServer ssh = new OpenSshServer(tmp.resolve("sshd"))) {
            Path models = OpenSshServer.createFoldersOfUser(OpenSshServer.HOME.resolve("models"));
            Path prod = models.resolve("prod");
            Cli cli = new Cli(tmp);
            Map<String, String> env = Map.of(
                    "DEPLOY_SERVER_HOSTNAME", "127.0.0.1",
                    "DEPLOY_SERVER_PORT", Integer.toString(ssh.port()),
                    "DEPLOY_SERVER_USERNAME", OpenSshServer.USER,
                    "DEPLOY_SERVER_PASSWORD", OpenSshServer.PASSWORD,
                    "DEPLOY_SERVER_PATH", models.toString(),
                    "DEPLOY_SERVER_KNOWN_HOSTS", ssh.writeKnownHosts(tmp.resolve("known_hosts")).toString(),
                    "SERVING_URL", "http://127.0.0.1:9");
            env.forEach(cli::env);
            // version 1: 120 files of 256 KiB (30 MiB), killed at random moments of its upload
            writeVersion(cli.work().resolve("package/1"), 1, 120, 256 * 1024);
            int uploadKills = 0;
            for (int round = 1; round <= 4; round++) {
                int filesBeforeKill = random.nextInt(121);
                boolean killed = runAndKill(cli, env, () -> incomingFiles(prod) >= filesBeforeKill
                        && incomingFiles(prod) >= 0, "stage", "deploy");
                uploadKills += killed ? 1 : 0;
                assertNoHalfVersion(prod, "killed after " + filesBeforeKill + " files of the upload, round " + round);
                if (!killed || names(prod).contains("1")) {
                    break;
                }
            }
            assertTrue(uploadKills >= 1, "at least one upload was killed");
            if (!names(prod).contains("1")) {
                assertEquals(0, cli.run("stage", "deploy"), "the next deploy succeeds\n" + cli.output());
            }
            assertTrue(names(prod).stream().noneMatch(n -> n.startsWith(AtomicPublisher.INCOMING_PREFIX)),
                    "upload leftovers removed: " + names(prod));
            assertTrue(names(prod).contains("1"), "version 1 published: " + names(prod));
            // version 2 (small) published with keep-versions=1: retention removes 1 (122 files), killed on the way
            writeVersion(cli.work().resolve("package/2"), 2, 3, 16);
            runAndKill(cli, env, () -> {
                try {
                    return filesOfVersion(prod, 1) < 122;
                } catch (IOException e) {
                    return false;
                }
            }, "-Ddeploy.keep-versions=1", "stage", "deploy");
            assertNoHalfVersion(prod, "killed during retention over SFTP");

            writeVersion(cli.work().resolve("package/9"), 9, 3, 16);
            assertEquals(0, cli.run("-Ddeploy.keep-versions=1", "stage", "deploy"), cli.output());
            assertEquals(List.of("9", "models.config"), names(prod), "every leftover removed, the newest version kept");
            assertNoHalfVersion(prod, "after the next deploy");
        }
    }

    /** Files uploaded so far into an {@code .incoming-*} folder of {@code area}; -1 while there is none. */
    private static long incomingFiles(Path area) {
        try {
            long n = -1;
            for (String name : names(area)) {
                if (name.startsWith(AtomicPublisher.INCOMING_PREFIX)) {
                    n = Math.max(n, countFiles(area.resolve(name)));
                }
            }
            return n;
        } catch (IOException | java.io.UncheckedIOException e) {
            return -1;
        }
    }
}
