package dev.camelmlops.data;

import java.util.List;

/**
 * What the build stage read and wrote: every input file with its SHA-256, image counts and the
 * per-class histogram of each split, and the prepared files handed to the next stages.
 */
public record DataManifest(
        String created,
        String source,
        List<FileEntry> inputs,
        Split train,
        Split test,
        List<FileEntry> prepared) {

    public record FileEntry(String name, String sha256, long bytes) {
    }

    public record Split(int count, int rows, int cols, int[] classHistogram) {
        public static Split of(Dataset d) {
            return new Split(d.size(), d.rows(), d.cols(), d.classHistogram());
        }
    }
}
