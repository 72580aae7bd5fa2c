package dev.camelmlops.registry;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;
import java.util.stream.Stream;

/** Model versions are positive integers named by folders; the next is 1 + the highest present. */
public final class ModelVersions {
    private ModelVersions() {
    }

    /** The version a folder name stands for, if it is a positive integer (TF Serving also accepts leading zeros). */
    public static OptionalInt parse(String name) {
        if (name.isEmpty() || name.length() > 18 || !name.chars().allMatch(Character::isDigit)) {
            return OptionalInt.empty();
        }
        long v = Long.parseLong(name);
        return v > 0 && v <= Integer.MAX_VALUE ? OptionalInt.of((int) v) : OptionalInt.empty();
    }

    public static int highest(List<String> names) {
        return names.stream().map(ModelVersions::parse).filter(OptionalInt::isPresent)
                .mapToInt(OptionalInt::getAsInt).max().orElse(0);
    }

    /** Names of the entries of {@code dir} (empty when it does not exist). */
    public static List<String> list(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
    }

    /** Highest version folder under {@code dir}, if any. */
    public static OptionalInt newest(Path dir) {
        int h = highest(list(dir));
        return h == 0 ? OptionalInt.empty() : OptionalInt.of(h);
    }
}
