package dev.camelmlops.stage;

import java.io.File;
import java.nio.file.Path;
import java.util.List;

/**
 * A packaged model version in the work folder and the files to ship, MANIFEST.json last, so a
 * copy that has its manifest is complete. JavaBean getters: routes read them with Simple.
 */
public final class PackagedModel {
    private final int version;
    private final Path dir;
    private final List<ShippedFile> files;

    PackagedModel(int version, Path dir, List<ShippedFile> files) {
        this.version = version;
        this.dir = dir;
        this.files = List.copyOf(files);
    }

    public int getVersion() {
        return version;
    }

    public Path getDir() {
        return dir;
    }

    public List<ShippedFile> getFiles() {
        return files;
    }

    /** One file of the bundle: where it is, and its name under the target ({@code <version>/<path>}). */
    public static final class ShippedFile {
        private final String fileName;
        private final File source;

        ShippedFile(String fileName, File source) {
            this.fileName = fileName;
            this.source = source;
        }

        public String getFileName() {
            return fileName;
        }

        public File getSource() {
            return source;
        }

        @Override
        public String toString() {
            return fileName;
        }
    }

    @Override
    public String toString() {
        return "model version " + version + " (" + files.size() + " files)";
    }
}
