package dev.camelmlops.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.camelmlops.testing.TinyFashion;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PreparedDataTest {
    @TempDir
    Path dir;

    @Test
    void writeReturnsTheHashAndSizeOfEachFileAsWrittenAndTheSplitsReadBack() throws Exception {
        Dataset train = TinyFashion.dataset(40, 3);
        Dataset test = TinyFashion.dataset(20, 4);
        PreparedData prepared = new PreparedData(dir.resolve("data"), dev.camelmlops.data.DatasetSpec.FASHION_MNIST);

        List<DataManifest.FileEntry> entries = prepared.write(train, test);

        assertEquals(PreparedData.SPLIT_FILES, entries.stream().map(DataManifest.FileEntry::name).toList());
        for (DataManifest.FileEntry e : entries) {
            Path f = prepared.file(e.name());
            assertEquals(Sha256.of(f), e.sha256(), e.name());
            assertEquals(Files.size(f), e.bytes(), e.name());
        }
        assertEquals(16 + 40 * 784, entries.get(0).bytes());
        assertArrayEquals(train.pixels(), prepared.readTrain().pixels());
        assertArrayEquals(test.labels(), prepared.readTest().labels());
    }

    @Test
    void aFailedWriteOnTheSecondThreadIsReportedWithItsFile() throws Exception {
        Path data = dir.resolve("data");
        Files.createDirectories(data.resolve(PreparedData.TRAIN_IMAGES)); // a folder where the file should go
        PreparedData prepared = new PreparedData(data, dev.camelmlops.data.DatasetSpec.FASHION_MNIST);
        UncheckedIOException e = assertThrows(UncheckedIOException.class,
                () -> prepared.write(TinyFashion.dataset(10, 1), TinyFashion.dataset(10, 2)));
        assertEquals("cannot write " + data.resolve(PreparedData.TRAIN_IMAGES), e.getMessage());
    }
}
