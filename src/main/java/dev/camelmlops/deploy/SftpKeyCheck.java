package dev.camelmlops.deploy;

import com.jcraft.jsch.JSch;
import com.jcraft.jsch.JSchException;
import com.jcraft.jsch.KeyPair;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Checks the SFTP private key before anything starts: readable, a key JSch can load, and, when
 * encrypted, opened by DEPLOY_SERVER_KEY_PASSPHRASE. Otherwise the mistake would surface only when
 * the first upload logs in, after training.
 */
public final class SftpKeyCheck {
    private SftpKeyCheck() {
    }

    /** Returns {@code settings}; throws IllegalArgumentException naming the key file and the defect. */
    public static SftpSettings check(SftpSettings settings) {
        if (settings.privateKeyFile().isEmpty()) {
            return settings;
        }
        Path file = settings.privateKeyFile().get();
        String name = "DEPLOY_SERVER_KEY_FILE " + file;
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(name + " is not a file");
        }
        if (!Files.isReadable(file)) {
            throw new IllegalArgumentException(name + " is not readable by this user");
        }
        KeyPair key;
        try {
            key = KeyPair.load(new JSch(), file.toString());
        } catch (JSchException e) {
            throw new IllegalArgumentException(name + " is not a private key that can be read (" + e.getMessage()
                    + ")");
        }
        try {
            if (key.isEncrypted()) {
                if (settings.privateKeyPassphrase().isEmpty()) {
                    throw new IllegalArgumentException(name + " is encrypted: set DEPLOY_SERVER_KEY_PASSPHRASE");
                }
                if (!key.decrypt(settings.privateKeyPassphrase().get())) {
                    throw new IllegalArgumentException(name + ": DEPLOY_SERVER_KEY_PASSPHRASE does not decrypt it");
                }
            }
        } finally {
            key.dispose();
        }
        return settings;
    }
}
