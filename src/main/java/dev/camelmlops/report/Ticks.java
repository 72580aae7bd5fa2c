package dev.camelmlops.report;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Round axis ticks: steps of 1, 2 or 5 times a power of ten, the first tick at or below the
 * lowest value and the last at or above the highest ({@code 0..0.87} gives 0, 0.2, ..., 1.0;
 * {@code 0..2.3} gives 0, 0.5, ..., 2.5).
 */
public final class Ticks {
    private Ticks() {
    }

    /** At most about {@code target + 1} round ticks covering {@code [lo, hi]}. */
    public static List<Double> of(double lo, double hi, int target) {
        if (!(hi > lo)) { // one value (or none): a unit around it
            hi = lo + (lo == 0 ? 1 : Math.abs(lo) * 0.1);
        }
        double step = step((hi - lo) / Math.max(1, target));
        long first = (long) Math.floor(lo / step + 1e-9);
        long last = (long) Math.ceil(hi / step - 1e-9);
        List<Double> ticks = new ArrayList<>();
        for (long i = first; i <= last; i++) {
            ticks.add(BigDecimal.valueOf(i).multiply(BigDecimal.valueOf(step)).doubleValue());
        }
        return ticks;
    }

    /** The smallest of 1, 2, 5 x 10^k that is at least {@code rough}. */
    public static double step(double rough) {
        double pow = Math.pow(10, Math.floor(Math.log10(rough)));
        for (double m : new double[] {1, 2, 5, 10}) {
            if (m * pow >= rough * (1 - 1e-9)) {
                return BigDecimal.valueOf(m).multiply(BigDecimal.valueOf(pow)).doubleValue();
            }
        }
        return 10 * pow;
    }

    /** A tick's label with as many decimals as the step needs (0.2 -> "0.4", 0.05 -> "0.85", 5 -> "10"). */
    public static String label(double value, List<Double> ticks) {
        double step = ticks.size() > 1 ? ticks.get(1) - ticks.get(0) : 1;
        int decimals = Math.max(0, (int) -Math.floor(Math.log10(step) + 1e-9));
        return String.format(Locale.ROOT, "%." + decimals + "f", value);
    }
}
