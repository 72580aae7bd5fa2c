package dev.camelmlops.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.camelmlops.model.TrainingHistory;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ConsoleProgressTest {
    private static String drive(boolean tty) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        ConsoleProgress p = new ConsoleProgress(new PrintStream(buf, true, StandardCharsets.UTF_8), tty);
        for (int epoch = 1; epoch <= 2; epoch++) {
            p.epochStarted(epoch, 2, 100);
            for (int step = 1; step <= 100; step++) {
                p.stepFinished(epoch, step, 100, 1.0 / step, 0.5);
            }
            p.epochFinished(new TrainingHistory.Epoch(epoch, 0.25, 0.9, 0.3, 0.88, 1.5, 1000, 1500), 2);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }

    @Test
    void plainModePrintsWholeLinesAtEveryTenthAndAnEpochSummary() {
        String out = drive(false);
        assertFalse(out.contains("\r"), "no carriage returns in CI logs");
        String[] lines = out.split("\n");
        assertEquals(2 * (9 + 1), lines.length, out);
        assertTrue(lines[0].startsWith("Epoch 1/2  10% step 10/100 loss 0.1000 acc 0.5000 | 00:00 elapsed, ETA "), lines[0]);
        assertTrue(lines[9].startsWith("Epoch 1/2 - 1.5 s (1000 img/s) - loss 0.2500 acc 0.9000 - test loss 0.3000 acc 0.8800"),
                lines[9]);
    }

    @Test
    void terminalModeRedrawsABarInPlace() {
        String out = drive(true);
        assertTrue(out.contains("\rEpoch 1/2 [" + "=".repeat(29) + ">] 100/100"), out);
        assertTrue(out.contains("ETA"), out);
        assertEquals(2, out.split("\n").length, "one finished line per epoch");
    }

    @Test
    void clockFormatsMinutesAndHours() {
        assertEquals("01:05", ConsoleProgress.clock(65));
        assertEquals("1:01:01", ConsoleProgress.clock(3661));
        assertEquals("--:--", ConsoleProgress.clock(Double.NaN));
    }
}
