package dev.camelmlops.model;

/** The loss became NaN or infinite: training stopped, nothing was written. */
public class TrainingDivergedException extends RuntimeException {
    public TrainingDivergedException(String message) {
        super(message);
    }
}
