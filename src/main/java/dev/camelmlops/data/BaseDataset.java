package dev.camelmlops.data;

import java.nio.file.Path;
import java.util.List;

/**
 * The base dataset of a build, found on disk: the files it is made of and how to read them. One
 * implementation per {@link DatasetSource.Format}; {@link BaseDatasets#locate} picks it.
 */
public interface BaseDataset {

    /** Every file it reads, in a stable order: their sizes and times tell whether a read-ahead copy is current. */
    List<Path> files();

    /** The folder it is in, for the data manifest and messages. */
    Path location();

    /** Reads and validates both splits; every defect is an {@link InvalidDataException} naming the file. */
    Splits read();

    /**
     * Name, SHA-256 and size of each input for the data manifest. Files read one by one are
     * listed one by one; an image folder is one entry per split folder, hashed over its files'
     * relative paths and contents (so renaming, adding or changing any image changes it).
     */
    List<DataManifest.FileEntry> inputs();

    /** Both splits, and how the test split was made (its own files, or cut from the train data). */
    record Splits(Dataset train, Dataset test, String testSplit) {
    }
}
