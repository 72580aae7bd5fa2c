package dev.camelmlops.stage;

import dev.camelmlops.settings.PipelineSettings;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.camelmlops.data.Dataset;
import dev.camelmlops.data.FashionMnistFiles;
import dev.camelmlops.data.IdxWriter;
import dev.camelmlops.data.PreparedData;
import dev.camelmlops.data.Sha256;
import dev.camelmlops.testing.TinyFashion;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The build's read-ahead is used only for the very files the build then locates, unchanged. */
class BuildPrefetchTest {
    @TempDir
    Path tmp;

    private BuildStage stage(Path data, Path work) {
        Map<String, String> p = Map.of("data.dir", data.toString(), "work.dir", work.toString(),
                "data.download", "false", "ledger.file", tmp.resolve("ledger.jsonl").toString());
        return new BuildStage(PipelineSettings.from(p::get));
    }

    @Test
    void aPrefetchedBuildWritesWhatAPlainBuildWrites() throws Exception {
        Path data = tmp.resolve("data");
        TinyFashion.write(data, 120, 40);
        BuildStage plain = stage(data, tmp.resolve("plain"));
        String plainSummary = plain.build("r1", java.util.List.of(), 1.0);
        BuildStage ahead = stage(data, tmp.resolve("ahead"));
        ahead.prefetch();
        String aheadSummary = ahead.build("r1", java.util.List.of(), 1.0);

        assertFalse(plainSummary.contains("read ahead"), plainSummary);
        assertTrue(aheadSummary.contains("read ahead"), aheadSummary);
        for (String f : PreparedData.SPLIT_FILES) {
            assertEquals(Sha256.of(tmp.resolve("plain/data").resolve(f)), Sha256.of(tmp.resolve("ahead/data").resolve(f)), f);
        }
    }

    @Test
    void aFileChangedAfterTheReadAheadIsReadAgain() throws Exception {
        Path data = tmp.resolve("data");
        FashionMnistFiles files = TinyFashion.write(data, 120, 40);
        BuildStage ahead = stage(data, tmp.resolve("work"));
        ahead.prefetch();
        assertTrue(ahead.awaitPrefetch(30_000), "the read-ahead finished within 30 s");
        // the read-ahead now holds the old content: the build must notice the change and not use it
        Dataset replacement = TinyFashion.dataset(60, 99);
        IdxWriter.writeImages(files.trainImages(), replacement.pixels(), 28, 28);
        IdxWriter.writeLabels(files.trainLabels(), replacement.labels());
        Files.setLastModifiedTime(files.trainImages(), FileTime.fromMillis(System.currentTimeMillis() + 5000));

        String summary = ahead.build("r1", java.util.List.of(), 1.0);

        assertFalse(summary.contains("read ahead"), "the stale read-ahead was discarded: " + summary);
        Dataset built = new PreparedData(tmp.resolve("work/data"), dev.camelmlops.data.DatasetSpec.FASHION_MNIST).readTrain();
        assertEquals(60, built.size());
        assertArrayEquals(replacement.pixels(), built.pixels());
    }
}
