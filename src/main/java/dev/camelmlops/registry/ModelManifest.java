package dev.camelmlops.registry;

import java.util.List;
import java.util.Map;

/**
 * MANIFEST.json of a packaged model version: what it is, how good it was, what data made it,
 * which code, the dataset it classifies (image shape and class names, in label order), and the SHA-256 and size of every file so a copy can be checked.
 */
public record ModelManifest(
        int version,
        String modelName,
        String architecture,
        String runId,
        String created,
        String gitCommit,
        String dataManifestSha256,
        Map<String, Object> metrics,
        Map<String, Object> signature,
        Map<String, Object> dataset,
        List<FileEntry> files) {

    public static final String FILE_NAME = "MANIFEST.json";

    public record FileEntry(String path, String sha256, long bytes) {
    }
}
