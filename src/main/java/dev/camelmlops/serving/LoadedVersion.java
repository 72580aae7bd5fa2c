package dev.camelmlops.serving;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.SessionFunction;
import org.tensorflow.Signature;

/**
 * One loaded version of a SavedModel. Reference counted: the repository holds one reference while
 * the version is served, each request holds one while it runs; the bundle is closed when the
 * last reference goes, so a version switch never pulls a session from under a running request.
 */
final class LoadedVersion {
    private final long version;
    private final Path dir;
    private final SavedModelBundle bundle;
    private final Map<String, Signature> signatures = new LinkedHashMap<>();
    private final AtomicInteger references = new AtomicInteger(1);

    private LoadedVersion(long version, Path dir, SavedModelBundle bundle) {
        this.version = version;
        this.dir = dir;
        this.bundle = bundle;
        for (Signature s : bundle.signatures()) {
            signatures.put(s.key(), s);
        }
    }

    static LoadedVersion load(long version, Path dir) {
        return new LoadedVersion(version, dir, SavedModelBundle.load(dir.toString(), "serve"));
    }

    long version() {
        return version;
    }

    Map<String, Signature> signatures() {
        return signatures;
    }

    SessionFunction function(String key) {
        return bundle.function(key);
    }

    /** Takes a reference; false when the version is already closed (the caller looks again). */
    boolean acquire() {
        while (true) {
            int r = references.get();
            if (r == 0) {
                return false;
            }
            if (references.compareAndSet(r, r + 1)) {
                return true;
            }
        }
    }

    void release() {
        if (references.decrementAndGet() == 0) {
            bundle.close();
        }
    }
}
