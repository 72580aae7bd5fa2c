package dev.camelmlops.run;

import java.util.Optional;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/** The retrain lock of one machine: a permit in this process. */
public final class LocalRetrainLock implements RetrainLock {
    private final Semaphore permit = new Semaphore(1);
    private final String instance;
    private final ShutdownSignal shutdown;
    private volatile boolean held;

    public LocalRetrainLock(String instance, ShutdownSignal shutdown) {
        this.instance = instance;
        this.shutdown = shutdown;
    }

    @Override
    public void acquire() {
        try {
            while (!permit.tryAcquire(200, TimeUnit.MILLISECONDS)) {
                if (shutdown.raised()) {
                    throw new RunAbandonedException();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RunAbandonedException();
        }
        held = true;
    }

    @Override
    public void release() {
        if (held) {
            held = false;
            permit.release();
        }
    }

    @Override
    public Optional<String> holder() {
        return held ? Optional.of(instance) : Optional.empty();
    }
}
