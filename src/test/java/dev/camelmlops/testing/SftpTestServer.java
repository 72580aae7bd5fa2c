package dev.camelmlops.testing;

import com.jcraft.jsch.JSch;
import com.jcraft.jsch.KeyPair;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.sshd.common.config.keys.AuthorizedKeyEntry;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.common.config.keys.PublicKeyEntryResolver;
import org.apache.sshd.common.file.virtualfs.VirtualFileSystemFactory;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.auth.pubkey.KeySetPublickeyAuthenticator;
import org.apache.sshd.server.keyprovider.SimpleGeneratorHostKeyProvider;
import org.apache.sshd.server.session.ServerSession;
import org.apache.sshd.sftp.server.FileHandle;
import org.apache.sshd.sftp.server.SftpEventListener;
import org.apache.sshd.sftp.server.SftpSubsystemFactory;

/**
 * A real SFTP server in-process (Apache MINA SSHD) on a loopback port, serving a folder, with a
 * host key kept in a file (so a restart keeps it), password and public-key login, and a switch
 * that stops the server after some bytes have been written (an interrupted upload).
 */
public final class SftpTestServer implements AutoCloseable {
    public static final String USER = "deployer";
    public static final String PASSWORD = "pa55-w0rd-never-logged";

    private final Path root;
    private final Path hostKey;
    private final Path clientKey;
    private final PublicKey clientPublicKey;
    private SshServer sshd;
    private int port;
    private volatile long stopAfterBytes = -1;
    private final AtomicInteger written = new AtomicInteger();

    public SftpTestServer(Path dir) throws Exception {
        this.root = Files.createDirectories(dir.resolve("sftp-root"));
        this.hostKey = dir.resolve("host-key.ser");
        this.clientKey = dir.resolve("id_rsa");
        JSch jsch = new JSch();
        KeyPair kp = KeyPair.genKeyPair(jsch, KeyPair.RSA, 2048);
        kp.writePrivateKey(clientKey.toString());
        ByteArrayOutputStream pub = new ByteArrayOutputStream();
        kp.writePublicKey(pub, "test");
        kp.dispose();
        this.clientPublicKey = AuthorizedKeyEntry.parseAuthorizedKeyEntry(pub.toString(StandardCharsets.US_ASCII).trim())
                .resolvePublicKey(null, PublicKeyEntryResolver.IGNORING);
        start(0);
    }

    private void start(int onPort) throws IOException {
        sshd = SshServer.setUpDefaultServer();
        sshd.setHost("127.0.0.1");
        sshd.setPort(onPort);
        sshd.setKeyPairProvider(new SimpleGeneratorHostKeyProvider(hostKey));
        sshd.setPasswordAuthenticator((user, password, session) -> USER.equals(user) && PASSWORD.equals(password));
        sshd.setPublickeyAuthenticator(new KeySetPublickeyAuthenticator("test", List.of(clientPublicKey)));
        SftpSubsystemFactory sftp = new SftpSubsystemFactory();
        sftp.addSftpEventListener(new SftpEventListener() {
            @Override
            public void written(ServerSession session, String remoteHandle, FileHandle localHandle, long offset,
                                byte[] data, int dataOffset, int dataLen, Throwable thrown) {
                long limit = stopAfterBytes;
                if (limit >= 0 && written.addAndGet(dataLen) > limit) {
                    stopAfterBytes = -1;
                    new Thread(() -> {
                        try {
                            sshd.stop(true);
                        } catch (IOException ignored) {
                            // stopping anyway
                        }
                    }).start();
                }
            }
        });
        sshd.setSubsystemFactories(List.of(sftp));
        sshd.setFileSystemFactory(new VirtualFileSystemFactory(root));
        sshd.start();
        port = sshd.getPort();
    }

    /** Starts again on the same port with the same host key. */
    public void restart() throws IOException {
        if (sshd.isStarted()) {
            sshd.stop(true);
        }
        start(port);
    }

    /** Stops the server once more than {@code bytes} have been written through it from now on. */
    public void stopAfterWriting(long bytes) {
        written.set(0);
        stopAfterBytes = bytes;
    }

    public boolean running() {
        return sshd.isStarted() && sshd.isOpen();
    }

    public int port() {
        return port;
    }

    /** The folder the SFTP user sees as its root. */
    public Path root() {
        return root;
    }

    public Path clientKey() {
        return clientKey;
    }

    /** A known_hosts line for this server's host key. */
    public String knownHostsLine() throws Exception {
        PublicKey key = sshd.getKeyPairProvider().loadKeys(null).iterator().next().getPublic();
        return "[127.0.0.1]:" + port + " " + PublicKeyEntry.toString(key);
    }

    public Path writeKnownHosts(Path file) throws Exception {
        Files.writeString(file, knownHostsLine() + "\n");
        return file;
    }

    @Override
    public void close() throws IOException {
        sshd.stop(true);
    }

    /**
     * Points {@code cli} at this server as a user's .env would (host, port, user, base path
     * {@code models}, a known_hosts file with this server's key written to {@code knownHosts});
     * the credentials and the serving URL are left to the test.
     */
    public Cli deployTo(Cli cli, Path knownHosts) throws Exception {
        return cli.env("DEPLOY_SERVER_HOSTNAME", "127.0.0.1")
                .env("DEPLOY_SERVER_PORT", Integer.toString(port()))
                .env("DEPLOY_SERVER_USERNAME", USER)
                .env("DEPLOY_SERVER_PATH", "models")
                .env("DEPLOY_SERVER_KNOWN_HOSTS", writeKnownHosts(knownHosts).toString());
    }
}
