package dev.camelmlops.model;

/** Receives training progress (the CLI prints it; tests record it). */
public interface TrainingListener {
    TrainingListener NONE = new TrainingListener() {
    };

    default void epochStarted(int epoch, int epochs, int steps) {
    }

    /** After each step, with the running mean loss and accuracy of the epoch so far. */
    default void stepFinished(int epoch, int step, int steps, double meanLoss, double meanAccuracy) {
    }

    default void epochFinished(TrainingHistory.Epoch result, int epochs) {
    }
}
