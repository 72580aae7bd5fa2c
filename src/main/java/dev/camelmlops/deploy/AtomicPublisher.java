package dev.camelmlops.deploy;

import dev.camelmlops.registry.ModelVersions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes a model version so that it is never visible half-copied: the files go into a
 * non-numeric folder {@code .incoming-<version>-<run>}; once every file's size matches the
 * manifest, one rename makes {@code <version>} appear. Interrupted uploads leave only
 * {@code .incoming-*} folders, which the next publication removes. Removes a version the same way
 * (retention, rollback): one rename to {@code .removing-<version>-<nonce>}, then the deletion, so
 * a crash never leaves a numeric folder that lacks files; the next publication removes those too.
 */
public final class AtomicPublisher {
    private static final Logger LOG = LoggerFactory.getLogger(AtomicPublisher.class);
    public static final String INCOMING_PREFIX = ".incoming-";
    public static final String REMOVING_PREFIX = ".removing-";

    private AtomicPublisher() {
    }

    public static String incomingFolder(int version, String runId) {
        return INCOMING_PREFIX + version + "-" + (runId == null ? "run" : runId.replaceAll("[^A-Za-z0-9_.-]", "_"));
    }

    /**
     * Removes folders left by an interrupted upload ({@code .incoming-*}) or an interrupted
     * removal ({@code .removing-*}), and temporary files of an interrupted
     * {@link ModelStore#replaceAtomically} ({@code .models.config.tmp-*}); returns their names.
     */
    public static List<String> removeLeftovers(ModelStore store) {
        List<String> removed = new ArrayList<>();
        for (String name : store.list("")) {
            if (name.startsWith(INCOMING_PREFIX) || name.startsWith(REMOVING_PREFIX) || ModelStore.isTemporary(name)) {
                store.deleteTree(name);
                removed.add(name);
            }
        }
        if (!removed.isEmpty()) {
            LOG.warn("removed {} left by an interrupted upload or removal in {}", removed, store.describe());
        }
        return removed;
    }

    /**
     * Removes a published version: renames it to a non-numeric folder in one step (TF Serving
     * stops seeing it whole, never half), then deletes that folder. Nothing when it is not there.
     */
    public static void remove(ModelStore store, int version) {
        String name = Integer.toString(version);
        if (!store.exists(name)) {
            return;
        }
        String doomed = REMOVING_PREFIX + version + "-" + Long.toString(System.nanoTime() & 0xffffffffL, 36);
        store.rename(name, doomed);
        store.deleteTree(doomed);
    }

    /**
     * Checks the uploaded folder against {@code expectedSizes} (relative path to bytes) and renames
     * it to the version number. Fails, leaving no numeric folder, when a file is missing, has the
     * wrong size, or the version already exists.
     */
    public static void publish(ModelStore store, String incoming, int version, Map<String, Long> expectedSizes) {
        String target = Integer.toString(version);
        if (store.exists(target)) {
            throw new DeployException("version " + version + " already exists in " + store.describe()
                    + ": a published version is never overwritten");
        }
        Map<String, Long> actual = store.fileSizes(incoming);
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, Long> e : new TreeMap<>(expectedSizes).entrySet()) {
            Long size = actual.get(e.getKey());
            if (size == null) {
                problems.add(e.getKey() + " is missing");
            } else if (size.longValue() != e.getValue()) {
                problems.add(e.getKey() + " has " + size + " bytes, expected " + e.getValue());
            }
        }
        for (String extra : actual.keySet()) {
            if (!expectedSizes.containsKey(extra)) {
                problems.add(extra + " is not in the manifest");
            }
        }
        if (!problems.isEmpty()) {
            throw new DeployException("upload of version " + version + " to " + store.describe() + "/" + incoming
                    + " is incomplete: " + String.join("; ", problems) + " (not published)");
        }
        store.rename(incoming, target);
        LOG.info("published version {} in {} ({} files verified)", version, store.describe(), expectedSizes.size());
    }

    /** Numeric version folders in the store, ascending. */
    public static List<Integer> versions(ModelStore store) {
        List<Integer> versions = new ArrayList<>();
        for (String name : store.list("")) {
            OptionalInt v = ModelVersions.parse(name);
            if (v.isPresent()) {
                versions.add(v.getAsInt());
            }
        }
        versions.sort(Integer::compareTo);
        return versions;
    }

    /**
     * Keeps the newest {@code keep} versions and every version in {@code protectedVersions} (the
     * one being served, the one just published); removes the rest ({@link #remove}). Returns the
     * removed versions.
     */
    public static List<Integer> retain(ModelStore store, int keep, Set<Integer> protectedVersions) {
        List<Integer> versions = versions(store);
        List<Integer> deleted = new ArrayList<>();
        int excess = versions.size() - keep;
        for (int i = 0; i < versions.size() && excess > 0; i++) {
            Integer v = versions.get(i);
            if (protectedVersions.contains(v)) {
                continue;
            }
            remove(store, v);
            deleted.add(v);
            excess--;
        }
        if (!deleted.isEmpty()) {
            LOG.info("retention: removed versions {} from {} (keeping {} and {})", deleted, store.describe(), keep,
                    protectedVersions);
        }
        return deleted;
    }
}
