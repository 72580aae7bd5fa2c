package dev.camelmlops.stage;

import java.io.File;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * One model version on its way into an area (staging or prod): the local folder it comes from,
 * the non-numeric folder it is uploaded into, and the files to ship (MANIFEST.json last). The
 * route ships the files through the area's Camel endpoint; the stage then publishes the folder.
 * JavaBean getters: routes read them with Simple.
 */
public final class Shipment {
    private final int version;
    private final String area;
    private final Path source;
    private final String incoming;
    private final List<ShippedFile> files;
    private final Map<String, Long> sizes;

    Shipment(int version, String area, Path source, String incoming, List<ShippedFile> files, Map<String, Long> sizes) {
        this.version = version;
        this.area = area;
        this.source = source;
        this.incoming = incoming;
        this.files = List.copyOf(files);
        this.sizes = Map.copyOf(sizes);
    }

    public int getVersion() {
        return version;
    }

    public String getArea() {
        return area;
    }

    public Path getSource() {
        return source;
    }

    public String getIncoming() {
        return incoming;
    }

    public List<ShippedFile> getFiles() {
        return files;
    }

    /** Relative path to expected size, for the check before publishing. */
    public Map<String, Long> getSizes() {
        return sizes;
    }

    /**
     * One file: where it is, and its name for the area's endpoint: {@code <incoming>/<path>}, over
     * SFTP prefixed with the area's remote folder ({@code DeployTarget.uploadName}).
     */
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
        return "version " + version + " to " + area + " (" + files.size() + " files)";
    }
}
