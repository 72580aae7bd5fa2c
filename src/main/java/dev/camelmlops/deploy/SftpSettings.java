package dev.camelmlops.deploy;

import java.nio.file.Path;
import java.util.Optional;

/**
 * How to reach the deployment host over SFTP. The password is held here but never printed:
 * {@link #toString()} masks it.
 */
public record SftpSettings(String host, int port, String username, Optional<String> password,
                           Optional<Path> privateKeyFile, Optional<String> privateKeyPassphrase, Path knownHosts,
                           boolean strictHostKeyChecking, String basePath, int timeoutMillis) {

    public SftpSettings {
        if (password.isEmpty() && privateKeyFile.isEmpty()) {
            throw new IllegalArgumentException("DEPLOY_SERVER_PASSWORD or DEPLOY_SERVER_KEY_FILE must be set for "
                    + "SFTP deployment to " + host);
        }
        if (username == null || username.isBlank()) {
            throw new IllegalArgumentException("DEPLOY_SERVER_USERNAME must be set for SFTP deployment to " + host);
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("DEPLOY_SERVER_PORT must be 1-65535, got " + port);
        }
        if (privateKeyFile.isPresent() && !privateKeyFile.get().toFile().isFile()) {
            throw new IllegalArgumentException("DEPLOY_SERVER_KEY_FILE " + privateKeyFile.get() + " does not exist");
        }
        if (strictHostKeyChecking && !knownHosts.toFile().isFile()) {
            throw new IllegalArgumentException("known_hosts file " + knownHosts + " does not exist: add the server's"
                    + " host key to it (ssh-keyscan -p " + port + " " + host + ") or set DEPLOY_SERVER_KNOWN_HOSTS");
        }
        basePath = basePath == null ? "" : basePath.trim().replaceAll("/{2,}", "/");
        if (basePath.length() > 1) {
            basePath = basePath.replaceAll("/$", "");
        }
    }

    /**
     * Remote folder of staging or prod: {@code <base>/<name>}. An absolute base ({@code /srv/models})
     * is that folder on the server (inside the chroot for a ChrootDirectory'd user); a relative
     * one ({@code models}, or none) is relative to the folder the SFTP login starts in, usually the
     * user's home.
     */
    public String folder(String name) {
        if (basePath.isEmpty()) {
            return name;
        }
        return basePath.endsWith("/") ? basePath + name : basePath + "/" + name;
    }

    /**
     * A printable URL of a remote folder (no credentials), as curl writes them: {@code /~/} marks
     * a folder relative to the login folder, otherwise the path is absolute.
     */
    public String location(String remoteFolder) {
        String base = "sftp://" + username + "@" + host + ":" + port;
        if (remoteFolder.startsWith("/")) {
            return base + remoteFolder;
        }
        return base + "/~" + (remoteFolder.isEmpty() ? "" : "/" + remoteFolder);
    }

    @Override
    public String toString() {
        return location(basePath) + " (password "
                + (password.isPresent() ? "set" : "unset") + ", key " + privateKeyFile.map(Path::toString).orElse("none")
                + ", known_hosts " + knownHosts + ", strict host key checking " + strictHostKeyChecking + ")";
    }
}
