package dev.camelmlops.data;

import java.util.List;

/**
 * What the build stage read and wrote: the dataset (format, image shape, class names), every input
 * file with its SHA-256, how the test split was made, image counts and the per-class histogram of
 * each split, and the prepared files handed to the next stages.
 */
public record DataManifest(
        String created,
        String source,
        String format,
        DatasetSpec dataset,
        String testSplit,
        List<FileEntry> inputs,
        Split train,
        Split test,
        List<FileEntry> prepared,
        List<BatchEntry> batches,
        double replayFraction) {

    /** A new batch in a retrain's training data. */
    public record BatchEntry(String sha256, int images) {
    }

    public record FileEntry(String name, String sha256, long bytes) {
    }

    public record Split(int count, int rows, int cols, int channels, int[] classHistogram) {
        public static Split of(Dataset d, int classes) {
            return new Split(d.size(), d.rows(), d.cols(), d.channels(), d.classHistogram(classes));
        }
    }
}
