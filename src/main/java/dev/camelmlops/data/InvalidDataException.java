package dev.camelmlops.data;

import java.nio.file.Path;

/** A data file is missing or defective. The message names the file and the defect. */
public class InvalidDataException extends RuntimeException {
    private final String file;
    private final String defect;

    public InvalidDataException(Path file, String defect) {
        this(String.valueOf(file), defect, null);
    }

    public InvalidDataException(String file, String defect, Throwable cause) {
        super(file + ": " + defect, cause);
        this.file = file;
        this.defect = defect;
    }

    public String file() {
        return file;
    }

    public String defect() {
        return defect;
    }
}
