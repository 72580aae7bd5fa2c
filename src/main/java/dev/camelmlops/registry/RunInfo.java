package dev.camelmlops.registry;

import java.nio.file.Files;
import java.nio.file.Path;

/** Identity of the run a work folder belongs to (written by build, read by later stages). */
public record RunInfo(String runId, String started, String gitCommit) {
    public static RunInfo readOr(Path file, RunInfo fallback) {
        return Files.isRegularFile(file) ? Json.read(file, RunInfo.class) : fallback;
    }
}
