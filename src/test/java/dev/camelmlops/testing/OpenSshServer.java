package dev.camelmlops.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * OpenSSH's own sshd (Debian's openssh-server) on a free loopback port, started for a test with
 * its own host key and configuration ({@code internal-sftp}), and two throw-away system users:
 * {@link #USER} with a real home {@code /home/mlops-it} (password and key login), and
 * {@link #CHROOT_USER}, a ChrootDirectory'd internal-sftp user whose home inside the chroot is
 * {@code /} and who may write under {@code /upload}. Needs root (users, chroot) and
 * /usr/sbin/sshd: {@link #assumeAvailable()} skips the test otherwise. {@link #close()} stops
 * sshd and removes the users and folders; a JVM shutdown hook does the same if a test run is cut
 * short, and a leftover of an earlier run is removed before starting.
 */
public final class OpenSshServer implements AutoCloseable {
    public static final Path SSHD = Path.of("/usr/sbin/sshd");
    public static final String USER = "mlops-it";
    public static final String CHROOT_USER = "mlops-it-chroot";
    public static final String PASSWORD = "It-pa55-w0rd-never-logged";
    public static final Path HOME = Path.of("/home", USER);
    /** The chroot: root-owned, as sshd demands, with every parent root-owned and not writable by others. */
    public static final Path CHROOT = Path.of("/srv/mlops-it-chroot");

    private final Path dir;
    private final Path hostKey;
    private final Path clientKey;
    private final Path log;
    private final int port;
    private Process sshd;
    private final Thread cleanupHook = new Thread(this::cleanUp, "openssh-server-cleanup");

    /** Skips the calling test (with the reason) unless this machine can run the server. */
    public static void assumeAvailable() {
        assumeTrue(Files.isExecutable(SSHD), "OpenSSH's sshd is not installed at " + SSHD
                + " (apt-get install openssh-server): the OpenSSH acceptance tests are skipped");
        assumeTrue("root".equals(System.getProperty("user.name")),
                "not running as root (needed to add throw-away users and a chroot): the OpenSSH acceptance tests"
                        + " are skipped");
    }

    /** Starts sshd with its files in {@code dir}. */
    public OpenSshServer(Path dir) throws Exception {
        this.dir = Files.createDirectories(dir);
        this.hostKey = dir.resolve("ssh_host_ed25519_key");
        this.clientKey = dir.resolve("id_rsa");
        this.log = dir.resolve("sshd.log");
        Runtime.getRuntime().addShutdownHook(cleanupHook);
        removeUsers();
        keygen(hostKey, "ed25519");
        keygen(clientKey, "rsa");
        addUsers();
        this.port = freePort();
        Files.writeString(dir.resolve("sshd_config"), String.join("\n",
                "Port " + port,
                "ListenAddress 127.0.0.1",
                "HostKey " + hostKey,
                "PidFile " + dir.resolve("sshd.pid"),
                "AuthorizedKeysFile .ssh/authorized_keys",
                "PasswordAuthentication yes",
                "KbdInteractiveAuthentication no",
                "PubkeyAuthentication yes",
                "UsePAM no",
                "StrictModes no",
                "AllowUsers " + USER + " " + CHROOT_USER,
                "Subsystem sftp internal-sftp",
                "Match User " + CHROOT_USER,
                "  ChrootDirectory " + CHROOT,
                "  ForceCommand internal-sftp",
                "  AllowTcpForwarding no",
                ""));
        start();
    }

    private void start() throws Exception {
        // sshd's privilege separation folder (made by the service's start script, which we do not run)
        Path privsep = Path.of("/run/sshd");
        if (!Files.isDirectory(privsep)) {
            Files.createDirectories(privsep);
        }
        sshd = new ProcessBuilder(SSHD.toString(), "-D", "-e", "-f", dir.resolve("sshd_config").toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (true) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return;
            } catch (IOException notYet) {
                if (!sshd.isAlive() || System.nanoTime() > deadline) {
                    String out = Files.exists(log) ? Files.readString(log) : "";
                    close();
                    throw new IllegalStateException("sshd did not start on port " + port + ": " + out);
                }
                sshd.waitFor(50, TimeUnit.MILLISECONDS);
            }
        }
    }

    public int port() {
        return port;
    }

    /** The private key whose public half is in {@link #USER}'s and {@link #CHROOT_USER}'s authorized_keys. */
    public Path clientKey() {
        return clientKey;
    }

    /** Writes a known_hosts file with this server's host key. */
    public Path writeKnownHosts(Path file) throws IOException {
        String[] pub = Files.readString(Path.of(hostKey + ".pub")).trim().split("\\s+");
        Files.writeString(file, "[127.0.0.1]:" + port + " " + pub[0] + " " + pub[1] + "\n");
        return file;
    }

    /** Writes a known_hosts file that names another key for this server (an impostor's, or a changed key). */
    public Path writeWrongKnownHosts(Path file) throws Exception {
        Path other = dir.resolve("other_host_key");
        if (!Files.exists(other)) {
            keygen(other, "ed25519");
        }
        String[] pub = Files.readString(Path.of(other + ".pub")).trim().split("\\s+");
        Files.writeString(file, "[127.0.0.1]:" + port + " " + pub[0] + " " + pub[1] + "\n");
        return file;
    }

    /** Creates {@code folder} (and its missing parents) owned by {@link #USER}, as if the user had made it. */
    public static Path createFoldersOfUser(Path folder) throws IOException {
        java.nio.file.attribute.UserPrincipal owner = folder.getFileSystem().getUserPrincipalLookupService()
                .lookupPrincipalByName(USER);
        Path p = HOME;
        for (Path part : HOME.relativize(folder)) {
            p = p.resolve(part);
            if (!Files.exists(p)) {
                Files.createDirectory(p);
                Files.setOwner(p, owner);
            }
        }
        return folder;
    }

    /** What sshd logged so far (for failure messages). */
    public String log() throws IOException {
        return Files.exists(log) ? Files.readString(log) : "";
    }

    private void addUsers() throws Exception {
        run("useradd", "--create-home", "--home-dir", HOME.toString(), "--shell", "/bin/sh", USER);
        Files.createDirectories(CHROOT.resolve("upload"));
        run("chown", "root:root", CHROOT.toString());
        run("chmod", "755", CHROOT.toString());
        // home "/" inside the chroot: the login folder is the chroot's root, which the user cannot write
        run("useradd", "--no-create-home", "--home-dir", "/", "--shell", "/usr/sbin/nologin", CHROOT_USER);
        run("chown", CHROOT_USER, CHROOT.resolve("upload").toString());
        String hash = passwordHash(PASSWORD);
        for (String user : List.of(USER, CHROOT_USER)) {
            // usermod -p sets the crypt(3) hash without PAM (chpasswd needs a PAM stack)
            run("usermod", "-p", hash, user);
        }
        String pub = Files.readString(Path.of(clientKey + ".pub")).trim();
        Path ssh = Files.createDirectories(HOME.resolve(".ssh"));
        Files.writeString(ssh.resolve("authorized_keys"), pub + "\n");
        run("chown", "-R", USER + ":", ssh.toString());
        // the chrooted user's authorized_keys is read outside the chroot, from its home "/"; keep
        // key login to the main user (enough to prove key authentication)
    }

    /**
     * Removes the throw-away users (never with {@code userdel --remove}: the chrooted user's home is
     * "/", and userdel would delete the machine's root folder tree) and then exactly the two folders
     * this class creates.
     */
    private static void removeUsers() {
        for (String user : List.of(USER, CHROOT_USER)) {
            quietly("userdel", "--force", user);
        }
        deleteOwnFolder(HOME);
        deleteOwnFolder(CHROOT);
    }

    private static void deleteOwnFolder(Path folder) {
        if (!(folder.equals(HOME) || folder.equals(CHROOT)) || folder.getNameCount() < 2) {
            throw new IllegalArgumentException("refusing to delete " + folder);
        }
        if (!Files.exists(folder, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (java.util.stream.Stream<Path> s = Files.walk(folder)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot remove " + folder + ": " + e.getMessage(), e);
        }
    }

    private void cleanUp() {
        if (sshd != null && sshd.isAlive()) {
            sshd.destroy();
            try {
                if (!sshd.waitFor(10, TimeUnit.SECONDS)) {
                    sshd.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        removeUsers();
    }

    @Override
    public void close() {
        cleanUp();
        try {
            Runtime.getRuntime().removeShutdownHook(cleanupHook);
        } catch (IllegalStateException shuttingDown) {
            // the hook runs anyway
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void keygen(Path key, String type) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("ssh-keygen", "-q", "-N", "", "-t", type, "-f", key.toString()));
        if ("rsa".equals(type)) {
            cmd.addAll(List.of("-b", "2048", "-m", "PEM"));
        }
        run(cmd.toArray(String[]::new));
    }

    /** A SHA-512 crypt(3) hash of {@code password}, as /etc/shadow holds it. */
    private static String passwordHash(String password) throws Exception {
        Process p = new ProcessBuilder("openssl", "passwd", "-6", "-stdin").start();
        p.getOutputStream().write((password + "\n").getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0 || !out.startsWith("$6$")) {
            throw new IllegalStateException("openssl passwd failed: " + err);
        }
        return out;
    }

    private static void run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out);
        }
    }

    private static void quietly(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            p.waitFor(30, TimeUnit.SECONDS);
        } catch (IOException | InterruptedException e) {
            // best effort: nothing to remove
        }
    }
}
