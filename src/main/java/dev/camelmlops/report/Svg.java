package dev.camelmlops.report;

import java.util.List;
import java.util.Locale;

/** Small inline-SVG charts (no scripts, no external resources). */
final class Svg {
    private Svg() {
    }

    record Series(String name, String color, List<Double> values) {
    }

    /** A line chart of per-epoch series (NaN values are skipped). */
    static String lines(String title, List<Series> series, int epochs) {
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
        if (max - min < 1e-9) {
            max = min + 1;
        }
        double pad = (max - min) * 0.08;
        min -= pad;
        max += pad;
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "<svg class=\"chart\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
                + "role=\"img\" aria-label=\"%s\" xmlns=\"http://www.w3.org/2000/svg\">", w, h, w, h, Html.esc(title)));
        b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"16\" class=\"t\">%s</text>", left, Html.esc(title)));
        int pw = w - left - right;
        int ph = h - top - bottom;
        b.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" class=\"frame\"/>",
                left, top, pw, ph));
        for (int i = 0; i <= 4; i++) {
            double v = min + (max - min) * i / 4;
            double y = top + ph - ph * (double) i / 4;
            b.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>"
                    + "<text x=\"%d\" y=\"%.1f\" class=\"tick\" text-anchor=\"end\">%.3f</text>",
                    left, left + pw, y, y, left - 4, y + 4, v));
        }
        int n = Math.max(1, epochs);
        for (int e = 1; e <= n; e++) {
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
                double y = top + ph - ph * (v - min) / (max - min);
                pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, y));
                b.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>", x, y,
                        s.color()));
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
