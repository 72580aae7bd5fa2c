package dev.camelmlops.deploy;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Reaches an area (staging or prod) the way a delivery does, without changing what is there:
 * opens the area's {@link ModelStore} (for SFTP: connect, host key, log in), writes a small probe
 * file through the area's upload endpoint (the same URI the routes upload to), checks the store
 * sees it where versions are looked for, and removes it. The probe's name is hidden and not
 * numeric, so TF Serving never takes it for a version.
 */
public final class DeployProbe {
    public static final String PROBE_PREFIX = ".mlops-check-";
    private static final SecureRandom RANDOM = new SecureRandom();

    /** Writes {@code content} as {@code fileName} through the endpoint {@code endpointUri}. */
    @FunctionalInterface
    public interface Uploader {
        void upload(String endpointUri, String fileName, byte[] content);
    }

    private DeployProbe() {
    }

    /** Returns what was checked; throws {@link DeployException} naming the step that failed. */
    public static String probe(DeployTarget target, String area, Uploader uploader) {
        String name = PROBE_PREFIX + HexFormat.of().formatHex(randomBytes());
        try (ModelStore store = open(target, area)) {
            try {
                uploader.upload(target.endpointUri(area), target.uploadName(area, name),
                        "camel-mlops check: safe to delete\n".getBytes(StandardCharsets.UTF_8));
            } catch (RuntimeException e) {
                throw new DeployException("cannot write a probe file into " + target.describe(area) + ": "
                        + rootMessage(e), e);
            }
            if (!store.exists(name)) {
                throw new DeployException("a probe file written through the upload endpoint is not in "
                        + store.describe() + ": uploads and the version store use different folders");
            }
            store.deleteTree(name);
            if (store.exists(name)) {
                throw new DeployException("cannot remove the probe file " + name + " from " + store.describe());
            }
            return (target.remote() ? "connected, host key known, logged in, " : "")
                    + "probe file written and removed in " + store.describe();
        }
    }

    private static ModelStore open(DeployTarget target, String area) {
        try {
            return target.open(area);
        } catch (DeployException e) {
            String m = e.getMessage();
            if (m.contains("Auth fail") || m.contains("Auth cancel")) {
                throw new DeployException(m + " (the server refused DEPLOY_SERVER_USERNAME with the password or key"
                        + " given)", e);
            }
            throw e;
        }
    }

    private static byte[] randomBytes() {
        byte[] b = new byte[6];
        RANDOM.nextBytes(b);
        return b;
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        String msg = e.getMessage();
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
            if (t.getMessage() != null) {
                msg = t.getMessage();
            }
        }
        return msg == null ? e.getClass().getSimpleName() : msg;
    }
}
