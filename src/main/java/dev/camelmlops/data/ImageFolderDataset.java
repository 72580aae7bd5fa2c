package dev.camelmlops.data;

import java.nio.file.Path;
import java.util.List;

/** Placeholder until the image-folder reader lands (same session): refuses clearly. */
public final class ImageFolderDataset implements BaseDataset {
    private final Path dir;

    public ImageFolderDataset(DatasetSpec spec, Path dir, double testFraction, long splitSeed) {
        this.dir = dir;
    }

    @Override
    public List<Path> files() {
        return List.of();
    }

    @Override
    public Path location() {
        return dir;
    }

    @Override
    public Splits read() {
        throw new InvalidDataException(dir.toString(), "image folders are not readable yet", null);
    }

    @Override
    public List<DataManifest.FileEntry> inputs() {
        return List.of();
    }
}
