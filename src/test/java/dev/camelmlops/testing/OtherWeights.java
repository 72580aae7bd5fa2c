package dev.camelmlops.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * A SavedModel that loads and answers, but not like the one it claims to be: its variables
 * replaced by those of another model of the same graph (trained otherwise).
 */
public final class OtherWeights {
    private OtherWeights() {
    }

    /** Replaces the variables of the SavedModel {@code to} with those of {@code from}. */
    public static void copyVariables(Path from, Path to) {
        try {
            try (Stream<Path> s = Files.list(to.resolve("variables"))) {
                for (Path p : s.toList()) {
                    Files.delete(p);
                }
            }
            try (Stream<Path> s = Files.list(from.resolve("variables"))) {
                for (Path p : s.toList()) {
                    Files.copy(p, to.resolve("variables").resolve(p.getFileName().toString()));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
