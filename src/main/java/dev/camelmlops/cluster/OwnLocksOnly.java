package dev.camelmlops.cluster;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.camel.spi.IdempotentRepository;
import org.apache.camel.support.service.ServiceHelper;
import org.apache.camel.support.service.ServiceSupport;

/**
 * The inbox's read locks as seen by one instance: it removes only the locks it took itself.
 * camel-file 4.22.0's idempotent read lock removes the key when it fails to get a lock, which
 * deletes the lock row of the instance that holds it, so the next poll takes the same file again
 * (CAMEL-24484, fixed after 4.22.0). Two instances on one inbox then read every file twice.
 */
final class OwnLocksOnly extends ServiceSupport implements IdempotentRepository {
    private final IdempotentRepository shared;
    private final Set<String> mine = ConcurrentHashMap.newKeySet();

    OwnLocksOnly(IdempotentRepository shared) {
        this.shared = shared;
    }

    @Override
    public boolean add(String key) {
        boolean taken = shared.add(key);
        if (taken) {
            mine.add(key);
        }
        return taken;
    }

    @Override
    public boolean contains(String key) {
        return shared.contains(key);
    }

    @Override
    public boolean remove(String key) {
        return mine.remove(key) && shared.remove(key);
    }

    @Override
    public boolean confirm(String key) {
        return shared.confirm(key);
    }

    @Override
    public void clear() {
        for (String key : mine) {
            shared.remove(key);
        }
        mine.clear();
    }

    @Override
    protected void doStart() throws Exception {
        ServiceHelper.startService(shared);
    }

    @Override
    protected void doStop() throws Exception {
        ServiceHelper.stopService(shared);
    }
}
