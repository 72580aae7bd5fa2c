package dev.camelmlops.model;

/** Hyper-parameters of one training run. */
public record TrainingParams(ModelArchitecture architecture, int epochs, int batchSize, float learningRate,
                             long seed, boolean validateEachEpoch) {
    public TrainingParams {
        if (epochs < 1) {
            throw new IllegalArgumentException("train.epochs must be at least 1, got " + epochs);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("train.batch-size must be at least 1, got " + batchSize);
        }
        if (!(learningRate > 0) || Float.isInfinite(learningRate)) {
            throw new IllegalArgumentException("train.learning-rate must be a positive number, got " + learningRate);
        }
    }
}
