package dev.camelmlops.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.camelmlops.testing.Cli;
import dev.camelmlops.testing.Http;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The run report: its content, and that it renders in headless Chromium without console errors. */
public class ReportRenderTest {
    @TempDir
    Path tmp;

    public static Path chromium() {
        for (String c : List.of("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")) {
            if (Files.isExecutable(Path.of(c))) {
                return Path.of(c);
            }
        }
        return null;
    }

    private Path runReport() {
        Cli cli = new Cli(tmp);
        assertEquals(0, cli.run("run"), cli.output());
        return cli.work().resolve("report.html");
    }

    @Test
    void theReportHoldsEverythingAndNeedsNothingFromTheNetwork() throws Exception {
        Path report = runReport();
        String html = Files.readString(report);
        for (String part : List.of("Learning curves", "Confusion matrix", "Per class", "precision", "recall",
                "Misclassified test images", "min-accuracy", "Stages", "Data manifest", "Model manifest",
                "Verification", "F1", "support", "Run settings", "Deployment", "Across runs", "Training loop:",
                "whole stage: data loading", "raw verify.json", "raw data-manifest.json", "raw MANIFEST.json")) {
            assertTrue(html.contains(part), "report has " + part);
        }
        // the run's settings reached the report through the run recorder: Cli sets train.epochs=2
        assertTrue(html.contains("<code>train.epochs</code></td><td><code>2</code>"), "configuration differences");
        assertTrue(!html.contains("<code>mlops.cluster</code>"), "not the command line's own keys");
        assertTrue(html.contains("<th>serving URL</th><td><code>http://127.0.0.1:"), "deployment: serving URL");
        assertTrue(html.contains("class=\"current\""), "this run on the trend chart");
        JsonNode evaluation = Http.JSON.readTree(report.resolveSibling("evaluation/evaluation.json").toFile());
        int wrong = evaluation.get("misclassified").size();
        assertEquals(wrong, count(html, "<img alt=\"test image "), "one picture per misclassified image");
        assertTrue(wrong > 0 ? html.contains("data:image/png;base64,") : html.contains("None among the test images"));
        assertTrue(count(html, "<svg") >= 3, "two learning curves and a heat map");
        assertTrue(!Pattern.compile("(src|href)=\"(https?:)?//").matcher(html).find(), "no external resources");
        assertTrue(!html.contains("<script"), "no scripts");
        JsonNode metrics = Http.JSON.readTree(report.resolveSibling("metrics.json").toFile());
        assertEquals("succeeded", metrics.get("outcome").asText());
        assertTrue(metrics.get("accuracy").asDouble() > 0.5);
        assertEquals(10, metrics.get("perClass").size());
        assertTrue(metrics.get("stageSeconds").has("train"));
    }

    @Test
    void misclassifiedImagesArePngDataOfTheTestImage() throws Exception {
        dev.camelmlops.data.Dataset d = dev.camelmlops.testing.TinyFashion.dataset(3, 5);
        byte[] png = java.util.Base64.getDecoder().decode(ReportWriter.png(d, 2));
        java.awt.image.BufferedImage img = javax.imageio.ImageIO.read(new java.io.ByteArrayInputStream(png));
        assertEquals(28, img.getWidth());
        assertEquals(28, img.getHeight());
        for (int p = 0; p < 784; p += 37) {
            int expected = 255 - (d.pixels()[2 * 784 + p] & 0xFF);
            assertEquals(expected, img.getRaster().getSample(p % 28, p / 28, 0), "pixel " + p + " (dark on light)");
        }
    }

    private static int count(String s, String what) {
        int n = 0;
        for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + 1)) {
            n++;
        }
        return n;
    }

    @Test
    void rendersInHeadlessChromiumWithoutConsoleErrors() throws Exception {
        Path chromium = chromium();
        assumeTrue(chromium != null, "Chromium is not installed (apt-get install chromium): skipping the render test");
        assertRendersInChromium(chromium, runReport(), tmp);
    }

    @Test
    void colourImagesArePngDataAsTheyAre() throws Exception {
        dev.camelmlops.data.Dataset d = dev.camelmlops.testing.ShapesDataset.dataset(1, 5);
        byte[] png = java.util.Base64.getDecoder().decode(ReportWriter.png(d, 3));
        java.awt.image.BufferedImage img = javax.imageio.ImageIO.read(new java.io.ByteArrayInputStream(png));
        assertEquals(32, img.getWidth());
        for (int p = 0; p < 1024; p += 41) {
            int at = 3 * 3072 + p * 3;
            int expected = (d.pixels()[at] & 0xFF) << 16 | (d.pixels()[at + 1] & 0xFF) << 8 | (d.pixels()[at + 2] & 0xFF);
            assertEquals(expected, img.getRGB(p % 32, p / 32) & 0xFFFFFF, "pixel " + p + " (colours not inverted)");
        }
    }

    /** Renders {@code report} in headless Chromium: a screenshot with content, no console message, nothing fetched. */
    public static void assertRendersInChromium(Path chromium, Path report, Path tmp) throws Exception {
        Path shot = tmp.resolve("report.png");
        List<String> cmd = new ArrayList<>(List.of(chromium.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                "--user-data-dir=" + Files.createDirectories(tmp.resolve("profile")), "--enable-logging=stderr",
                "--v=0", "--window-size=1150,2400", "--screenshot=" + shot, report.toUri().toString()));
        // the output goes to a file, so a Chromium that hangs with its pipe open cannot block the read:
        // the wait is bounded, and a hung browser is killed
        Path output = tmp.resolve("chromium-" + System.nanoTime() + ".log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(output.toFile()).start();
        boolean finished = p.waitFor(90, TimeUnit.SECONDS);
        if (!finished) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        String log = new String(Files.readAllBytes(output), StandardCharsets.UTF_8);
        assertTrue(finished, "chromium finished within 90 s\n" + log);
        assertTrue(Files.size(shot) > 20_000, "a screenshot with content was written\n" + log);
        List<String> consoleErrors = new ArrayList<>();
        Matcher m = Pattern.compile("(?m)^.*CONSOLE.*$").matcher(log);
        while (m.find()) {
            consoleErrors.add(m.group());
        }
        assertEquals(List.of(), consoleErrors, "console messages");
        assertTrue(!log.contains("Failed to load resource"), log);
    }
}
