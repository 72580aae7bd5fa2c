package dev.camelmlops.cli;

import dev.camelmlops.model.TrainingHistory;
import dev.camelmlops.model.TrainingListener;
import java.io.PrintStream;
import java.util.Locale;

/**
 * Training progress on the terminal: a progress bar redrawn in place on a TTY; plain lines at
 * every tenth of an epoch otherwise (CI logs). Both show running loss/accuracy, elapsed time and
 * an ETA for the whole training; every epoch ends with a summary line.
 */
public final class ConsoleProgress implements TrainingListener {
    private static final int BAR_WIDTH = 30;
    private static final long REDRAW_NANOS = 100_000_000L;

    private final PrintStream out;
    private final boolean tty;
    private long start;
    private long epochStart;
    private long lastDraw;
    private int lastDecile;
    private int epochs;

    public ConsoleProgress(PrintStream out, boolean tty) {
        this.out = out;
        this.tty = tty;
    }

    @Override
    public void epochStarted(int epoch, int epochs, int steps) {
        if (epoch == 1) {
            start = System.nanoTime();
        }
        this.epochs = epochs;
        epochStart = System.nanoTime();
        lastDraw = 0;
        lastDecile = 0;
    }

    @Override
    public void stepFinished(int epoch, int step, int steps, double meanLoss, double meanAccuracy) {
        long now = System.nanoTime();
        double fraction = (double) step / steps;
        double done = (epoch - 1 + fraction) / epochs;
        double elapsed = (now - start) / 1e9;
        double eta = done > 0 ? elapsed / done - elapsed : Double.NaN;
        if (tty) {
            if (now - lastDraw < REDRAW_NANOS && step != steps) {
                return;
            }
            lastDraw = now;
            int filled = (int) Math.round(fraction * BAR_WIDTH);
            String bar = "=".repeat(Math.max(0, filled - 1)) + (filled > 0 ? ">" : "") + " ".repeat(BAR_WIDTH - filled);
            out.printf(Locale.ROOT, "\rEpoch %d/%d [%s] %d/%d loss %.4f acc %.4f | %s elapsed, ETA %s   ",
                    epoch, epochs, bar, step, steps, meanLoss, meanAccuracy, clock(elapsed), clock(eta));
            out.flush();
        } else {
            int decile = (int) (fraction * 10);
            if (decile > lastDecile && decile < 10) {
                lastDecile = decile;
                out.printf(Locale.ROOT, "Epoch %d/%d %3d%% step %d/%d loss %.4f acc %.4f | %s elapsed, ETA %s%n",
                        epoch, epochs, decile * 10, step, steps, meanLoss, meanAccuracy, clock(elapsed), clock(eta));
            }
        }
    }

    @Override
    public void epochFinished(TrainingHistory.Epoch e, int epochs) {
        double elapsed = (System.nanoTime() - start) / 1e9;
        if (tty) {
            out.print("\r" + " ".repeat(110) + "\r");
        }
        String test = Double.isNaN(e.testAccuracy()) ? ""
                : String.format(Locale.ROOT, " - test loss %.4f acc %.4f", e.testLoss(), e.testAccuracy());
        out.printf(Locale.ROOT, "Epoch %d/%d - %.1f s (%.0f img/s) - loss %.4f acc %.4f%s | %s elapsed%n",
                e.epoch(), epochs, e.seconds(), e.imagesPerSecond(), e.loss(), e.accuracy(), test, clock(elapsed));
        out.flush();
    }

    static String clock(double seconds) {
        if (Double.isNaN(seconds) || Double.isInfinite(seconds)) {
            return "--:--";
        }
        long s = Math.round(seconds);
        return s >= 3600 ? String.format("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format("%02d:%02d", s / 60, s % 60);
    }
}
