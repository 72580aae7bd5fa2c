package dev.camelmlops.run;

import dev.camelmlops.model.TrainingHistory;
import dev.camelmlops.model.TrainingListener;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Raised when the service is asked to stop: training checks it after every step and abandons the
 * run ({@link RunAbandonedException}), so no later stage starts. A run already past training is
 * not stopped: Camel's graceful shutdown waits for it (camel.main.shutdown-timeout), and a publish
 * is atomic, so nothing is left half-done either way.
 */
public final class ShutdownSignal {
    private final AtomicBoolean raised = new AtomicBoolean();

    public void raise() {
        raised.set(true);
    }

    public boolean raised() {
        return raised.get();
    }

    /** A listener that forwards to {@code delegate} and stops training once the signal is raised. */
    public TrainingListener guard(TrainingListener delegate) {
        return new TrainingListener() {
            @Override
            public void epochStarted(int epoch, int epochs, int steps) {
                check();
                delegate.epochStarted(epoch, epochs, steps);
            }

            @Override
            public void stepFinished(int epoch, int step, int steps, double meanLoss, double meanAccuracy) {
                check();
                delegate.stepFinished(epoch, step, steps, meanLoss, meanAccuracy);
            }

            @Override
            public void epochFinished(TrainingHistory.Epoch result, int epochs) {
                delegate.epochFinished(result, epochs);
            }
        };
    }

    private void check() {
        if (raised.get()) {
            throw new RunAbandonedException();
        }
    }
}
