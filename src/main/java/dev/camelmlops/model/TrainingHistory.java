package dev.camelmlops.model;

import java.util.ArrayList;
import java.util.List;

/**
 * Loss and accuracy per epoch (train, and test split when validated), with timings.
 * {@code epochs} is how many were run; fewer than planned, the last maybe partial, when the time
 * budget ({@code maxSeconds}, 0 for none) ended training ({@code stoppedByBudget}).
 */
public record TrainingHistory(String architecture, int epochs, int batchSize, float learningRate, String schedule,
                              long seed,
                              int trainImages, boolean warmStart, double seconds, double imagesPerSecond,
                              double maxSeconds, boolean stoppedByBudget, List<Epoch> history) {

    /** One epoch; the test figures are NaN when not validated that epoch; {@code images} trained on. */
    public record Epoch(int epoch, double loss, double accuracy, double testLoss, double testAccuracy,
                        double seconds, double imagesPerSecond, long images) {
    }

    public static List<Epoch> newList() {
        return new ArrayList<>();
    }
}
