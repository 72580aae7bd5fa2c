package dev.camelmlops.report;

import java.util.List;
import java.util.Locale;

/** Small inline-SVG charts (no scripts, no external resources). */
final class Svg {
    private Svg() {
    }

    record Series(String name, String color, List<Double> values) {
    }

    /**
     * A line chart of per-epoch series (NaN values are skipped), the y axis on round ticks
     * ({@link Ticks}), from 0 when {@code fromZero} (loss), else from just below the lowest value.
     */
    static String lines(String title, List<Series> series, int epochs, boolean fromZero) {
        int w = 420;
        int h = 240;
        int left = 50;
        int right = 110;
        int top = 28;
        int bottom = 36;
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (Series s : series) {
            for (Double v : s.values()) {
                if (v != null && !v.isNaN()) {
                    min = Math.min(min, v);
                    max = Math.max(max, v);
                }
            }
        }
        if (min == Double.POSITIVE_INFINITY) {
            return "<p>No data for " + Html.esc(title) + ".</p>";
        }
        List<Double> ticks = Ticks.of(fromZero ? Math.min(0, min) : min, max, 5);
        double lo = ticks.get(0);
        double hi = ticks.get(ticks.size() - 1);
        int pw = w - left - right;
        int ph = h - top - bottom;
        StringBuilder b = frame("chart", title, w, h, left, top, pw, ph, ticks);
        int n = Math.max(1, epochs);
        List<Double> epochTicks = n == 1 ? List.of(1.0) : Ticks.of(1, n, 8);
        for (double t : epochTicks) {
            int e = (int) Math.round(t);
            if (e < 1 || e > n) {
                continue;
            }
            double x = left + (n == 1 ? pw / 2.0 : pw * (e - 1) / (double) (n - 1));
            b.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" class=\"tick\" text-anchor=\"middle\">%d</text>",
                    x, top + ph + 14, e));
        }
        b.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" class=\"tick\" text-anchor=\"middle\">epoch</text>",
                left + pw / 2.0, h - 4));
        int legend = 0;
        for (Series s : series) {
            StringBuilder pts = new StringBuilder();
            for (int i = 0; i < s.values().size(); i++) {
                Double v = s.values().get(i);
                if (v == null || v.isNaN()) {
                    continue;
                }
                double x = left + (n == 1 ? pw / 2.0 : pw * i / (double) (n - 1));
                double y = top + ph - ph * (v - lo) / (hi - lo);
                pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, y));
                b.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\">"
                        + "<title>%s, epoch %d: %.4f</title></circle>", x, y, s.color(), Html.esc(s.name()), i + 1, v));
            }
            b.append(String.format(Locale.ROOT, "<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"/>",
                    pts.toString().trim(), s.color()));
            b.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"3\" fill=\"%s\"/>"
                    + "<text x=\"%d\" y=\"%d\" class=\"tick\">%s</text>", left + pw + 10, top + 10 + legend * 16,
                    s.color(), left + pw + 26, top + 14 + legend * 16, Html.esc(s.name())));
            legend++;
        }
        return b.append("</svg>").toString();
    }

    /** A run on the trend chart: deployed, rejected by a quality gate, or failed after its test. */
    enum Kind { DEPLOYED, REJECTED, FAILED }

    /** One run with a test accuracy. */
    record Point(String runId, String when, double accuracy, Kind kind, Integer version, boolean current,
                 String note) {
    }

    /**
     * A chart's opening: the svg element, its title, the plot frame ({@code pw} x {@code ph} at
     * {@code left}, {@code top}) and a grid line with its label per value tick (the first tick at
     * the bottom, the last at the top). The caller draws into it and closes the svg.
     */
    private static StringBuilder frame(String cssClass, String title, int w, int h, int left, int top, int pw, int ph,
                                       List<Double> ticks) {
        double lo = ticks.get(0);
        double hi = ticks.get(ticks.size() - 1);
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "<svg class=\"%s\" viewBox=\"0 0 %d %d\" "
                + "width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"%s\" xmlns=\"http://www.w3.org/2000/svg\">",
                cssClass, w, h, w, h, Html.esc(title)));
        b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"16\" class=\"t\">%s</text>", left, Html.esc(title)));
        b.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" class=\"frame\"/>",
                left, top, pw, ph));
        for (double v : ticks) {
            double y = top + ph - ph * (v - lo) / (hi - lo);
            b.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>"
                    + "<text x=\"%d\" y=\"%.1f\" class=\"tick\" text-anchor=\"end\">%s</text>",
                    left, left + pw, y, y, left - 4, y + 4, Ticks.label(v, ticks)));
        }
        return b;
    }

    /**
     * Test accuracy of runs, oldest to newest (one column each): deployed versions as blue dots
     * joined by a line, candidates rejected by a quality gate as red crosses, other failed runs
     * as grey rings; the current run circled in orange. With a legend.
     */
    static String trend(List<Point> points) {
        int w = 640;
        int h = 250;
        int left = 50;
        int right = 190;
        int top = 28;
        int bottom = 40;
        int pw = w - left - right;
        int ph = h - top - bottom;
        double min = points.stream().mapToDouble(Point::accuracy).min().orElse(0);
        double max = points.stream().mapToDouble(Point::accuracy).max().orElse(1);
        List<Double> ticks = Ticks.of(Math.min(min, max - 0.02), Math.min(1, max), 4); // 0.02 at least: no drama from noise
        double lo = ticks.get(0);
        double hi = ticks.get(ticks.size() - 1);
        StringBuilder b = frame("chart trend", "Test accuracy across runs", w, h, left, top, pw, ph, ticks);
        int n = points.size();
        double[] xs = new double[n];
        double[] ys = new double[n];
        for (int i = 0; i < n; i++) {
            xs[i] = left + (n == 1 ? pw / 2.0 : 12 + (pw - 24) * i / (double) (n - 1));
            ys[i] = top + ph - ph * (points.get(i).accuracy() - lo) / (hi - lo);
        }
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < n; i++) {
            if (points.get(i).kind() == Kind.DEPLOYED) {
                line.append(String.format(Locale.ROOT, "%.1f,%.1f ", xs[i], ys[i]));
            }
        }
        b.append(String.format(Locale.ROOT, "<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\"/>",
                line.toString().trim(), DEPLOYED_COLOUR));
        for (int i = 0; i < n; i++) {
            Point p = points.get(i);
            String tip = String.format(Locale.ROOT, "<title>run %s, %s: accuracy %.4f%s%s</title>", Html.esc(p.runId()),
                    Html.esc(p.when()), p.accuracy(), p.version() != null && p.kind() == Kind.DEPLOYED
                            ? ", version " + p.version() : "", p.note() == null ? "" : "; " + Html.esc(p.note()));
            if (p.current()) {
                b.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"9\" fill=\"none\" stroke=\"%s\" "
                        + "stroke-width=\"2.5\" class=\"current\"/>", xs[i], ys[i], CURRENT_COLOUR));
            }
            b.append(marker(p.kind(), xs[i], ys[i], tip));
            if (p.kind() == Kind.DEPLOYED && p.version() != null && n <= 20) {
                b.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\" text-anchor=\"middle\">v%d</text>",
                        xs[i], ys[i] + (ys[i] < top + 20 ? 22 : -13), p.version()));
            }
        }
        if (n > 0) {
            b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" class=\"tick\">%s</text>", left, top + ph + 14,
                    Html.esc(points.get(0).when())));
            if (n > 1) {
                b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" class=\"tick\" text-anchor=\"end\">%s</text>",
                        left + pw, top + ph + 14, Html.esc(points.get(n - 1).when())));
            }
        }
        b.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" class=\"tick\" text-anchor=\"middle\">"
                + "runs with a test result, oldest to newest</text>", left + pw / 2.0, h - 6));
        int lx = left + pw + 16;
        String[][] legend = {{"DEPLOYED", "deployed version"}, {"REJECTED", "rejected by a quality gate"},
                {"FAILED", "failed after the test"}};
        for (int i = 0; i < legend.length; i++) {
            int y = top + 10 + i * 20;
            b.append(marker(Kind.valueOf(legend[i][0]), lx + 6, y, ""));
            b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" class=\"tick\">%s</text>", lx + 18, y + 4, legend[i][1]));
        }
        int y = top + 10 + legend.length * 20;
        b.append(String.format(Locale.ROOT, "<circle cx=\"%d\" cy=\"%d\" r=\"7\" fill=\"none\" stroke=\"%s\" "
                + "stroke-width=\"2.5\"/><text x=\"%d\" y=\"%d\" class=\"tick\">this run</text>",
                lx + 6, y, CURRENT_COLOUR, lx + 18, y + 4));
        return b.append("</svg>").toString();
    }

    static final String DEPLOYED_COLOUR = "#1f6feb";
    static final String REJECTED_COLOUR = "#d1242f";
    static final String FAILED_COLOUR = "#8c959f";
    static final String CURRENT_COLOUR = "#e16f24";

    private static String marker(Kind kind, double x, double y, String tip) {
        return switch (kind) {
            case DEPLOYED -> String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4.5\" fill=\"%s\" "
                    + "class=\"deployed\">%s</circle>", x, y, DEPLOYED_COLOUR, tip);
            case REJECTED -> String.format(Locale.ROOT, "<path d=\"M%.1f %.1fl10 10m0 -10l-10 10\" stroke=\"%s\" "
                    + "stroke-width=\"2.5\" class=\"rejected\">%s</path>", x - 5, y - 5, REJECTED_COLOUR, tip);
            case FAILED -> String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4.5\" fill=\"#fff\" "
                    + "stroke=\"%s\" stroke-width=\"2\" class=\"failed\">%s</circle>", x, y, FAILED_COLOUR, tip);
        };
    }

    /** Confusion matrix heat map, rows = true class, columns = predicted; colour by row share. */
    static String heatmap(int[][] m, List<String> names) {
        int k = m.length;
        int cell = 34;
        int left = 96;
        int top = 96;
        int w = left + k * cell + 40;
        int h = top + k * cell + 10;
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT,
                "<svg class=\"chart\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" "
                        + "aria-label=\"confusion matrix\" xmlns=\"http://www.w3.org/2000/svg\">", w, h, w, h));
        b.append("<text x=\"4\" y=\"14\" class=\"t\">Confusion matrix (rows: true, columns: predicted)</text>");
        for (int c = 0; c < k; c++) {
            double x = left + c * cell + cell / 2.0;
            b.append(String.format(Locale.ROOT, "<text transform=\"translate(%.1f,%d) rotate(-55)\" class=\"tick\">%s</text>",
                    x, top - 6, Html.esc(names.get(c))));
            b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" class=\"tick\" text-anchor=\"end\">%s</text>",
                    left - 6, top + c * cell + cell / 2.0 + 4, Html.esc(names.get(c))));
        }
        for (int t = 0; t < k; t++) {
            int rowSum = 0;
            for (int p = 0; p < k; p++) {
                rowSum += m[t][p];
            }
            for (int p = 0; p < k; p++) {
                double share = rowSum == 0 ? 0 : (double) m[t][p] / rowSum;
                String fill = t == p ? String.format(Locale.ROOT, "rgba(30,120,60,%.3f)", 0.08 + 0.92 * share)
                        : String.format(Locale.ROOT, "rgba(200,40,40,%.3f)", Math.min(1, 0.05 + 3 * share));
                b.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\" "
                        + "stroke=\"#fff\"><title>true %s, predicted %s: %d</title></rect>", left + p * cell,
                        top + t * cell, cell, cell, fill, Html.esc(names.get(t)), Html.esc(names.get(p)), m[t][p]));
                b.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" class=\"cell\" text-anchor=\"middle\""
                        + "%s>%d</text>", left + p * cell + cell / 2.0, top + t * cell + cell / 2.0 + 4,
                        t == p && share > 0.5 ? " fill=\"#fff\"" : "", m[t][p]));
            }
        }
        return b.append("</svg>").toString();
    }
}
