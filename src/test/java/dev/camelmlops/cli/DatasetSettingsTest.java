package dev.camelmlops.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.camelmlops.data.DatasetSource;
import dev.camelmlops.data.DatasetSpec;
import dev.camelmlops.settings.InvalidSettingsException;
import dev.camelmlops.settings.PipelineSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The dataset.* keys: Fashion-MNIST by default, the user's own data when set, every mistake named. */
class DatasetSettingsTest {
    @TempDir
    Path tmp;

    private static PipelineSettings settings(String... kv) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return PipelineSettings.from(m::get);
    }

    private static String problems(String... kv) {
        return assertThrows(InvalidSettingsException.class, () -> settings(kv)).getMessage();
    }

    @Test
    void fashionMnistIsTheDefault() {
        DatasetSource d = settings().dataset();
        assertEquals(DatasetSource.Format.FASHION_MNIST, d.format());
        assertEquals(DatasetSpec.FASHION_MNIST, d.spec());
    }

    @Test
    void ownDataTakesShapeClassesAndPath() {
        DatasetSource d = settings("dataset.format", "image-folder", "dataset.path", tmp.toString(),
                "dataset.height", "32", "dataset.width", "24", "dataset.channels", "3",
                "dataset.classes", " circle, square ,triangle", "dataset.test-fraction", "0.25").dataset();
        assertEquals(new DatasetSpec(tmp.getFileName().toString(), 32, 24, 3, List.of("circle", "square", "triangle")),
                d.spec());
        assertEquals(0.25, d.testFraction());
        assertEquals(tmp, d.path().orElseThrow());
    }

    @Test
    void mistakesAreNamedAllAtOnce() throws Exception {
        String m = problems("dataset.format", "csv");
        assertTrue(m.contains("dataset.path must be set for dataset.format=csv"), m);
        assertTrue(m.contains("dataset.classes must be set for dataset.format=csv"), m);
        m = problems("dataset.format", "parquet");
        assertTrue(m.contains("unknown dataset.format 'parquet' (expected one of: fashion-mnist, idx, csv,"
                + " image-folder)"), m);
        m = problems("dataset.format", "idx", "dataset.path", "x", "dataset.classes", "a,b,a", "dataset.channels", "4");
        assertTrue(m.contains("class name 'a' appears twice"), m);
        assertTrue(m.contains("dataset.channels: '4' must be 1 (grey) or 3 (RGB)"), m);
        assertTrue(!m.contains("dataset.classes must be set"), "a bad value is not also reported as missing: " + m);
        m = problems("dataset.height", "32");
        assertTrue(m.contains("Fashion-MNIST is 28x28x1"), m);
        m = problems("dataset.path", "/data");
        assertTrue(m.contains("dataset.path is set but dataset.format is fashion-mnist"), m);
        m = problems("dataset.format", "csv", "dataset.path", "x", "dataset.classes", "only-one");
        assertTrue(m.contains("2 to 256 class names"), m);
        m = problems("dataset.format", "csv", "dataset.path", "x", "dataset.classes", "a,b",
                "dataset.test-fraction", "1");
        assertTrue(m.contains("dataset.test-fraction"), m);
    }

    @Test
    void anImageFolderWithoutClassesShowsTheFoldersToCopy() throws Exception {
        Files.createDirectories(tmp.resolve("train/zebra"));
        Files.createDirectories(tmp.resolve("train/ant"));
        Files.createDirectories(tmp.resolve("train/.hidden"));
        String m = problems("dataset.format", "image-folder", "dataset.path", tmp.toString());
        assertTrue(m.contains("(the class folders in " + tmp.resolve("train") + " are: ant,zebra)"), m);
    }
}
