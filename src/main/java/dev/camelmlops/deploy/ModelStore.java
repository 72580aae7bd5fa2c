package dev.camelmlops.deploy;

import java.util.List;
import java.util.Map;

/**
 * File operations on a folder tree where model versions live (staging or prod), locally or on a
 * remote host. Paths are relative to the store's root, '/'-separated.
 */
public interface ModelStore extends AutoCloseable {
    /** Names of the entries of {@code dir} ("" for the root); empty when it does not exist. */
    List<String> list(String dir);

    /** Relative path to size of every regular file under {@code dir}; empty when it does not exist. */
    Map<String, Long> fileSizes(String dir);

    boolean exists(String path);

    /** Renames {@code from} to {@code to}; fails when {@code to} exists. */
    void rename(String from, String to);

    /** Deletes {@code dir} and everything under it; nothing when it does not exist. */
    void deleteTree(String dir);

    /** Copies the tree {@code dir} of the store into the local folder {@code target} (created). */
    void download(String dir, java.nio.file.Path target);

    /** The content of the regular file {@code path}; empty when there is none. */
    java.util.Optional<byte[]> read(String path);

    /**
     * Writes the file {@code path} so that a reader sees the old content or the new one, never a
     * part: the bytes go to a temporary file beside it (a name starting with '.'), which is then
     * renamed over {@code path}.
     */
    void replaceAtomically(String path, byte[] content);

    /** The temporary name {@link #replaceAtomically} writes {@code name} under first. */
    static String temporaryName(String name) {
        return "." + name + TEMPORARY_MARK + Long.toString(System.nanoTime() & 0xffffffffL, 36);
    }

    /** Marks the temporary files of {@link #replaceAtomically}; one left by a crash is removed with the other leftovers. */
    String TEMPORARY_MARK = ".tmp-";

    /** True for a name {@link #temporaryName} makes (or its ".old" companion over SFTP). */
    static boolean isTemporary(String name) {
        return name.startsWith(".") && name.matches("\\..+\\.tmp-[0-9a-z]+(\\.old)?");
    }

    /** The store's root folder as an absolute path on its host (for a config that names it). */
    String absoluteRoot();

    /** Where this store is, for messages (never contains credentials). */
    String describe();

    @Override
    void close();
}
