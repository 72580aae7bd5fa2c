package dev.camelmlops.model;

/**
 * Hyper-parameters of one training run. {@code maxSeconds} (0: none) caps the time spent in
 * training steps: the learning-rate schedule then follows whichever is further along, the steps
 * or the clock, so a run cut short by the budget still ends with its schedule completed.
 */
public record TrainingParams(ModelArchitecture architecture, int epochs, int batchSize, float learningRate,
                             long seed, boolean validateEachEpoch, int threads, LearningRateSchedule schedule,
                             double maxSeconds) {
    /** No time budget. */
    public TrainingParams(ModelArchitecture architecture, int epochs, int batchSize, float learningRate, long seed,
                          boolean validateEachEpoch, int threads, LearningRateSchedule schedule) {
        this(architecture, epochs, batchSize, learningRate, seed, validateEachEpoch, threads, schedule, 0);
    }

    /** Constant learning rate, TensorFlow's default thread pools (all cores). */
    public TrainingParams(ModelArchitecture architecture, int epochs, int batchSize, float learningRate, long seed,
                          boolean validateEachEpoch) {
        this(architecture, epochs, batchSize, learningRate, seed, validateEachEpoch, 0, LearningRateSchedule.CONSTANT, 0);
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
        if (!(maxSeconds >= 0) || Double.isInfinite(maxSeconds)) {
            throw new IllegalArgumentException("train.max-seconds must be 0 (no limit) or a positive number of seconds, got "
                    + maxSeconds);
        }
        if (!(learningRate > 0) || Float.isInfinite(learningRate)) {
            throw new IllegalArgumentException("train.learning-rate must be a positive number, got " + learningRate);
        }
    }
}
