package dev.camelmlops.stage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import dev.camelmlops.report.Html;

/** Writes gate results as a JUnit XML test suite, the format CircleCI's store_test_results reads. */
final class JUnitReport {
    private JUnitReport() {
    }

    static void write(Path file, String suite, List<GateResult> gates, double seconds) {
        long failures = gates.stream().filter(g -> !g.passed()).count();
        StringBuilder xml = new StringBuilder("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        xml.append(String.format(Locale.ROOT, "<testsuite name=\"%s\" tests=\"%d\" failures=\"%d\" errors=\"0\" time=\"%.3f\">%n",
                escape(suite), gates.size(), failures, seconds));
        for (GateResult g : gates) {
            xml.append(String.format("  <testcase classname=\"%s\" name=\"%s\" time=\"0\"", escape(suite), escape(g.name())));
            if (g.passed()) {
                xml.append(">\n    <system-out>").append(escape(g.message())).append("</system-out>\n  </testcase>\n");
            } else {
                xml.append(">\n    <failure message=\"").append(escape(g.message())).append("\" type=\"QualityGate\">")
                        .append(escape(g.message())).append("</failure>\n  </testcase>\n");
            }
        }
        xml.append("</testsuite>\n");
        try {
            Files.createDirectories(file.getParent());
            Files.writeString(file, xml);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    static String escape(String s) {
        return Html.esc(s);
    }
}
