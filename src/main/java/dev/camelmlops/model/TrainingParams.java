package dev.camelmlops.model;

/** Hyper-parameters of one training run. */
public record TrainingParams(ModelArchitecture architecture, int epochs, int batchSize, float learningRate,
                             long seed, boolean validateEachEpoch, int threads, LearningRateSchedule schedule) {
    /** Constant learning rate, TensorFlow's default thread pools (all cores). */
    public TrainingParams(ModelArchitecture architecture, int epochs, int batchSize, float learningRate, long seed,
                          boolean validateEachEpoch) {
        this(architecture, epochs, batchSize, learningRate, seed, validateEachEpoch, 0, LearningRateSchedule.CONSTANT);
    }

    public TrainingParams {
        if (threads < 0) {
            throw new IllegalArgumentException("train.threads must be 0 (all cores) or more, got " + threads);
        }
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
