package dev.camelmlops.model;

import java.util.Locale;

/** How the learning rate changes over a training run. */
public enum LearningRateSchedule {
    /** The configured rate throughout (the example's Adam). */
    CONSTANT {
        @Override
        public float rate(float base, double progress) {
            return base;
        }
    },
    /** Cosine decay from the configured rate towards zero at the last step. */
    COSINE {
        @Override
        public float rate(float base, double progress) {
            return (float) (base * 0.5 * (1 + Math.cos(Math.PI * Math.max(0, Math.min(1, progress)))));
        }
    };

    /** The rate at {@code progress} through the run: 0 at the first step, 1 at the last. */
    public abstract float rate(float base, double progress);

    /** The rate for {@code step} (0-based) of {@code totalSteps}. */
    public float rate(float base, long step, long totalSteps) {
        return rate(base, totalSteps <= 1 ? 0 : (double) step / (totalSteps - 1));
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static LearningRateSchedule parse(String s) {
        for (LearningRateSchedule v : values()) {
            if (v.id().equalsIgnoreCase(s.trim())) {
                return v;
            }
        }
        throw new IllegalArgumentException("unknown learning-rate schedule '" + s + "' (expected constant or cosine)");
    }
}
