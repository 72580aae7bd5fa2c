package dev.camelmlops.model;

import java.util.Locale;

/** How the learning rate changes over a training run. */
public enum LearningRateSchedule {
    /** The configured rate throughout (the example's Adam). */
    CONSTANT {
        @Override
        public float rate(float base, long step, long totalSteps) {
            return base;
        }
    },
    /** Cosine decay from the configured rate towards zero at the last step. */
    COSINE {
        @Override
        public float rate(float base, long step, long totalSteps) {
            double progress = totalSteps <= 1 ? 0 : (double) step / (totalSteps - 1);
            return (float) (base * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress))));
        }
    };

    /** The rate for {@code step} (0-based) of {@code totalSteps}. */
    public abstract float rate(float base, long step, long totalSteps);

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
