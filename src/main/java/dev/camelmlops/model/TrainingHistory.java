package dev.camelmlops.model;

import java.util.ArrayList;
import java.util.List;

/** Loss and accuracy per epoch (train, and test split when validated), with timings. */
public record TrainingHistory(String architecture, int epochs, int batchSize, float learningRate, String schedule,
                              long seed,
                              int trainImages, boolean warmStart, double seconds, double imagesPerSecond,
                              List<Epoch> history) {

    /** One epoch; the test figures are NaN when not validated that epoch. */
    public record Epoch(int epoch, double loss, double accuracy, double testLoss, double testAccuracy,
                        double seconds, double imagesPerSecond) {
    }

    public static List<Epoch> newList() {
        return new ArrayList<>();
    }
}
