package dev.camelmlops.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.camelmlops.testing.OpenSshServer;
import dev.camelmlops.testing.SftpTestServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link ModelStore#replaceAtomically}: a reader of the file (TF Serving polling its config) sees
 * a whole old or a whole new content, never a part and never no file, while it is rewritten
 * locally, over SFTP to Apache MINA SSHD, and over SFTP to OpenSSH's sshd; no temporary file stays.
 */
class AtomicReplaceTest {
    @TempDir
    Path tmp;

    /** Content {@code n}: a length that varies with n, and a last line that says how long it is. */
    private static byte[] content(int n) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 200 + (n * 7919) % 6000; i++) {
            b.append((char) ('a' + (i + n) % 26));
        }
        int length = b.length();
        b.append("\nlength ").append(length).append('\n');
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static boolean whole(String s) {
        int at = s.lastIndexOf("\nlength ");
        return at > 0 && s.endsWith("\n") && Integer.parseInt(s.substring(at + 8, s.length() - 1)) == at;
    }

    /** Rewrites {@code file} (seen locally at {@code local}) 60 times while a reader checks every read. */
    private void rewriteWhileReading(ModelStore store, String file, Path local) throws Exception {
        store.replaceAtomically(file, content(0));
        AtomicBoolean done = new AtomicBoolean();
        ExecutorService reader = Executors.newSingleThreadExecutor();
        try {
            Future<Integer> reads = reader.submit(() -> {
                int n = 0;
                while (!done.get()) {
                    String s;
                    try {
                        s = Files.readString(local);
                    } catch (NoSuchFileException e) {
                        throw new AssertionError("the file was missing for a moment", e);
                    }
                    if (!whole(s)) {
                        throw new AssertionError("a partial file was seen: " + s.length() + " chars");
                    }
                    n++;
                }
                return n;
            });
            for (int i = 1; i <= 60; i++) {
                store.replaceAtomically(file, content(i));
            }
            done.set(true);
            assertTrue(reads.get(30, TimeUnit.SECONDS) > 0);
        } finally {
            done.set(true);
            reader.shutdownNow();
        }
        assertEquals(new String(content(60), StandardCharsets.UTF_8), Files.readString(local));
        assertEquals(Optional.of(new String(content(60), StandardCharsets.UTF_8)),
                store.read(file).map(b -> new String(b, StandardCharsets.UTF_8)));
        assertEquals(Optional.empty(), store.read("missing.config"));
        try (Stream<Path> s = Files.list(local.getParent())) {
            assertEquals(List.of(local.getFileName().toString()), s.map(p -> p.getFileName().toString()).toList(),
                    "no temporary file is left");
        }
    }

    @Test
    void locally() throws Exception {
        Path prod = Files.createDirectories(tmp.resolve("prod"));
        try (ModelStore store = new LocalModelStore(prod)) {
            rewriteWhileReading(store, "models.config", prod.resolve("models.config"));
            assertEquals(prod.toAbsolutePath().toString(), store.absoluteRoot());
            // what a crash between the write and the rename leaves is removed with the other leftovers
            Files.writeString(prod.resolve(".models.config.tmp-1x2y"), "half");
            Files.writeString(prod.resolve(".models.config.tmp-1x2y.old"), "old");
            Files.createDirectories(prod.resolve(".incoming-3-run"));
            assertEquals(List.of(".incoming-3-run", ".models.config.tmp-1x2y", ".models.config.tmp-1x2y.old"),
                    AtomicPublisher.removeLeftovers(store));
            try (Stream<Path> s = Files.list(prod)) {
                assertEquals(List.of("models.config"), s.map(p -> p.getFileName().toString()).toList());
            }
        }
    }

    @Test
    void overSftpToApacheMina() throws Exception {
        try (SftpTestServer server = new SftpTestServer(tmp.resolve("sftp"))) {
            Files.createDirectories(server.root().resolve("models/prod"));
            SftpSettings settings = new SftpSettings("127.0.0.1", server.port(), SftpTestServer.USER,
                    Optional.of(SftpTestServer.PASSWORD), Optional.empty(), Optional.empty(),
                    server.writeKnownHosts(tmp.resolve("known_hosts")), true, "models", 10_000);
            try (SftpModelStore store = new SftpModelStore(settings, "prod")) {
                assertTrue(store.replacesAtomically(), "MINA offers posix-rename");
                rewriteWhileReading(store, "models.config", server.root().resolve("models/prod/models.config"));
            }
        }
    }

    @Test
    void overSftpToOpenSsh() throws Exception {
        OpenSshServer.assumeAvailable();
        try (OpenSshServer ssh = new OpenSshServer(tmp.resolve("sshd"))) {
            Path prod = OpenSshServer.HOME.resolve("atomic-" + System.nanoTime() + "/prod");
            OpenSshServer.createFoldersOfUser(prod);
            SftpSettings settings = new SftpSettings("127.0.0.1", ssh.port(), OpenSshServer.USER,
                    Optional.of(OpenSshServer.PASSWORD), Optional.empty(), Optional.empty(),
                    ssh.writeKnownHosts(tmp.resolve("known_hosts")), true, prod.getParent().getFileName().toString(),
                    10_000);
            try (SftpModelStore store = new SftpModelStore(settings, "prod")) {
                assertTrue(store.replacesAtomically(), "OpenSSH offers posix-rename");
                assertEquals(prod.toString(), store.absoluteRoot(), "a folder relative to the login folder, resolved");
                rewriteWhileReading(store, "models.config", prod.resolve("models.config"));
            }
        }
    }
}
