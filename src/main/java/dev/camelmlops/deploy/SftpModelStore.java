package dev.camelmlops.deploy;

import com.jcraft.jsch.ChannelSftp;
import com.jcraft.jsch.JSch;
import com.jcraft.jsch.JSchException;
import com.jcraft.jsch.Session;
import com.jcraft.jsch.SftpException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Vector;

/**
 * A model store on an SFTP server (JSch, the library camel-ftp uses), with the same host key
 * checking and credentials as the Camel sftp endpoints: used for what an endpoint cannot do
 * (listing sizes, renaming a folder, deleting a tree).
 */
public final class SftpModelStore implements ModelStore {
    private final SftpSettings settings;
    private final String root;
    private final Session session;
    private final ChannelSftp sftp;

    public SftpModelStore(SftpSettings settings, String folder) {
        this.settings = settings;
        this.root = settings.folder(folder);
        try {
            JSch jsch = new JSch();
            jsch.setKnownHosts(settings.knownHosts().toString());
            if (settings.privateKeyFile().isPresent()) {
                if (settings.privateKeyPassphrase().isPresent()) {
                    jsch.addIdentity(settings.privateKeyFile().get().toString(), settings.privateKeyPassphrase().get());
                } else {
                    jsch.addIdentity(settings.privateKeyFile().get().toString());
                }
            }
            session = jsch.getSession(settings.username(), settings.host(), settings.port());
            settings.password().ifPresent(session::setPassword);
            session.setConfig("StrictHostKeyChecking", settings.strictHostKeyChecking() ? "yes" : "no");
            session.setConfig("PreferredAuthentications", settings.privateKeyFile().isPresent()
                    ? "publickey,password,keyboard-interactive" : "password,keyboard-interactive,publickey");
            session.connect(settings.timeoutMillis());
            sftp = (ChannelSftp) session.openChannel("sftp");
            sftp.connect(settings.timeoutMillis());
        } catch (JSchException e) {
            throw new DeployException("cannot open SFTP session to " + describe() + ": " + e.getMessage(), e);
        }
    }

    private String path(String rel) {
        return rel.isEmpty() ? root : root + "/" + rel;
    }

    @Override
    public List<String> list(String dir) {
        List<String> names = new ArrayList<>();
        for (ChannelSftp.LsEntry e : ls(path(dir))) {
            names.add(e.getFilename());
        }
        names.sort(String::compareTo);
        return names;
    }

    private List<ChannelSftp.LsEntry> ls(String p) {
        try {
            Vector<ChannelSftp.LsEntry> v = sftp.ls(p);
            List<ChannelSftp.LsEntry> out = new ArrayList<>();
            for (ChannelSftp.LsEntry e : v) {
                if (!".".equals(e.getFilename()) && !"..".equals(e.getFilename())) {
                    out.add(e);
                }
            }
            return out;
        } catch (SftpException e) {
            if (e.id == ChannelSftp.SSH_FX_NO_SUCH_FILE) {
                return List.of();
            }
            throw new DeployException("cannot list " + p + " on " + describe() + ": " + e.getMessage(), e);
        }
    }

    @Override
    public Map<String, Long> fileSizes(String dir) {
        Map<String, Long> sizes = new LinkedHashMap<>();
        collect(path(dir), "", sizes);
        return sizes;
    }

    private void collect(String abs, String rel, Map<String, Long> sizes) {
        for (ChannelSftp.LsEntry e : ls(abs)) {
            String r = rel.isEmpty() ? e.getFilename() : rel + "/" + e.getFilename();
            if (e.getAttrs().isDir()) {
                collect(abs + "/" + e.getFilename(), r, sizes);
            } else if (e.getAttrs().isReg()) {
                sizes.put(r, e.getAttrs().getSize());
            }
        }
    }

    @Override
    public boolean exists(String rel) {
        try {
            sftp.stat(path(rel));
            return true;
        } catch (SftpException e) {
            if (e.id == ChannelSftp.SSH_FX_NO_SUCH_FILE) {
                return false;
            }
            throw new DeployException("cannot stat " + path(rel) + " on " + describe() + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void rename(String from, String to) {
        if (exists(to)) {
            throw new DeployException(path(to) + " already exists on " + describe() + ": refusing to overwrite it");
        }
        try {
            sftp.rename(path(from), path(to));
        } catch (SftpException e) {
            throw new DeployException("cannot rename " + path(from) + " to " + path(to) + " on " + describe() + ": "
                    + e.getMessage(), e);
        }
    }

    @Override
    public void deleteTree(String rel) {
        if (!exists(rel)) {
            return;
        }
        delete(path(rel));
    }

    private void delete(String abs) {
        try {
            if (sftp.stat(abs).isDir()) {
                for (ChannelSftp.LsEntry e : ls(abs)) {
                    delete(abs + "/" + e.getFilename());
                }
                sftp.rmdir(abs);
            } else {
                sftp.rm(abs);
            }
        } catch (SftpException e) {
            throw new DeployException("cannot delete " + abs + " on " + describe() + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void download(String dir, java.nio.file.Path target) {
        for (Map.Entry<String, Long> f : fileSizes(dir).entrySet()) {
            java.nio.file.Path t = target.resolve(f.getKey());
            try {
                java.nio.file.Files.createDirectories(t.getParent());
                sftp.get(path(dir) + "/" + f.getKey(), t.toString());
            } catch (java.io.IOException | SftpException e) {
                throw new DeployException("cannot download " + path(dir) + "/" + f.getKey() + " from " + describe()
                        + ": " + e.getMessage(), e);
            }
        }
    }

    @Override
    public java.util.Optional<byte[]> read(String rel) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        try {
            if (!sftp.stat(path(rel)).isReg()) {
                return java.util.Optional.empty();
            }
            sftp.get(path(rel), out);
            return java.util.Optional.of(out.toByteArray());
        } catch (SftpException e) {
            if (e.id == ChannelSftp.SSH_FX_NO_SUCH_FILE) {
                return java.util.Optional.empty();
            }
            throw new DeployException("cannot read " + path(rel) + " on " + describe() + ": " + e.getMessage(), e);
        }
    }

    /**
     * Uploads to a temporary name beside {@code rel}, then renames it over {@code rel} with
     * OpenSSH's posix-rename extension (an atomic rename(2) on the server; JSch uses it when the
     * server offers it). A server without it cannot replace a file in one step: the old file is
     * renamed away first, so for a moment there is none (a reader keeps what it had).
     */
    @Override
    public void replaceAtomically(String rel, byte[] content) {
        String target = path(rel);
        int slash = target.lastIndexOf('/');
        String tmp = target.substring(0, slash + 1) + ModelStore.temporaryName(target.substring(slash + 1));
        try {
            sftp.put(new java.io.ByteArrayInputStream(content), tmp, ChannelSftp.OVERWRITE);
            if (replacesAtomically() || !existsAbsolute(target)) {
                sftp.rename(tmp, target);
            } else {
                String old = tmp + ".old";
                sftp.rename(target, old);
                sftp.rename(tmp, target);
                sftp.rm(old);
            }
        } catch (SftpException e) {
            try {
                sftp.rm(tmp);
            } catch (SftpException ignored) {
                // nothing was left, or the next write uses another name
            }
            throw new DeployException("cannot write " + target + " on " + describe() + ": " + e.getMessage(), e);
        }
    }

    /** True when the server offers OpenSSH's posix-rename (OpenSSH does; so does Apache MINA SSHD). */
    public boolean replacesAtomically() {
        return sftp.getExtension("posix-rename@openssh.com") != null;
    }

    private boolean existsAbsolute(String abs) throws SftpException {
        try {
            sftp.stat(abs);
            return true;
        } catch (SftpException e) {
            if (e.id == ChannelSftp.SSH_FX_NO_SUCH_FILE) {
                return false;
            }
            throw e;
        }
    }

    @Override
    public String absoluteRoot() {
        try {
            return sftp.realpath(root);
        } catch (SftpException e) {
            throw new DeployException("cannot resolve " + root + " on " + describe() + ": " + e.getMessage(), e);
        }
    }

    @Override
    public String describe() {
        return settings.location(root);
    }

    @Override
    public void close() {
        sftp.disconnect();
        session.disconnect();
    }
}
