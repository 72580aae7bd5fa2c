package dev.camelmlops.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads labelled images from a CSV: a header {@code label,<pixel columns>} with one column per
 * value of an image (height x width x channels, row-major, channels interleaved; the common
 * Fashion-MNIST export names them pixel1..pixel784), then one image per line, values 0-255. A
 * label is a class name (as configured, exact or ignoring case) or a class index. Every defect
 * names the line and column.
 */
public final class CsvImages {
    private static final Pattern PIXEL_NAME = Pattern.compile("pixel(\\d+)");
    private final DatasetSpec spec;

    public CsvImages(DatasetSpec spec) {
        this.spec = spec;
    }

    /** Reads {@code file}; {@code name} is how messages call it (an inbox file's name, a base file's path). */
    public Dataset read(Path file, String name) {
        int values = spec.imageSize();
        List<byte[]> rows = new ArrayList<>();
        List<Byte> labels = new ArrayList<>();
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String header = in.readLine();
            if (header == null || header.isBlank()) {
                throw new InvalidDataException(name, "empty file", null);
            }
            header = header.strip();
            if (header.startsWith("\uFEFF")) {
                header = header.substring(1);
            }
            checkHeader(name, header);
            String line;
            int lineNo = 1;
            while ((line = in.readLine()) != null) {
                lineNo++;
                if (line.isBlank()) {
                    continue;
                }
                String[] cols = line.strip().split(",", -1);
                if (cols.length != values + 1) {
                    throw new InvalidDataException(name, "line " + lineNo + ": expected " + (values + 1)
                            + " columns (label + " + values + " pixel values of a " + spec.shapeText()
                            + " image), found " + cols.length, null);
                }
                int label = label(name, lineNo, cols[0]);
                byte[] px = new byte[values];
                for (int c = 1; c <= values; c++) {
                    int v = integer(name, lineNo, c + 1, "pixel" + c, cols[c]);
                    if (v < 0 || v > 255) {
                        throw new InvalidDataException(name, "line " + lineNo + ", column " + (c + 1) + " (pixel" + c
                                + "): " + v + " is outside 0-255", null);
                    }
                    px[c - 1] = (byte) v;
                }
                rows.add(px);
                labels.add((byte) label);
            }
        } catch (java.nio.charset.MalformedInputException e) {
            throw new InvalidDataException(name, "not a text file (invalid UTF-8)", e);
        } catch (IOException e) {
            throw new InvalidDataException(name, "cannot be read: " + e, e);
        }
        if (rows.isEmpty()) {
            throw new InvalidDataException(name, "no data rows after the header", null);
        }
        byte[] pixels = new byte[rows.size() * values];
        byte[] l = new byte[rows.size()];
        for (int i = 0; i < rows.size(); i++) {
            System.arraycopy(rows.get(i), 0, pixels, i * values, values);
            l[i] = labels.get(i);
        }
        return new Dataset(pixels, l, spec.height(), spec.width(), spec.channels());
    }

    /**
     * The header: 'label' then exactly one column per value; columns named pixel&lt;k&gt; must be
     * numbered 1, 2, ... in order (other names are the user's own and taken as they are).
     */
    private void checkHeader(String name, String header) {
        int values = spec.imageSize();
        String[] cols = header.split(",", -1);
        if (cols.length != values + 1) {
            throw new InvalidDataException(name, "line 1: wrong header: expected " + (values + 1)
                    + " columns 'label,pixel1,...,pixel" + values + "' (label + " + spec.shapeText()
                    + " values), found " + cols.length + " ('" + abbreviate(header) + "')", null);
        }
        if (!"label".equalsIgnoreCase(cols[0].strip())) {
            throw new InvalidDataException(name, "line 1, column 1: wrong header: expected 'label', found '"
                    + abbreviate(cols[0]) + "'", null);
        }
        for (int c = 1; c < cols.length; c++) {
            Matcher m = PIXEL_NAME.matcher(cols[c].strip());
            if (m.matches() && !m.group(1).equals(String.valueOf(c))) {
                throw new InvalidDataException(name, "line 1, column " + (c + 1) + ": wrong header: expected 'pixel"
                        + c + "', found '" + abbreviate(cols[c]) + "'", null);
            }
        }
    }

    /** A class name (exact first, then ignoring case) or a class index. */
    private int label(String name, int line, String text) {
        String t = text.strip();
        if (t.length() >= 2 && t.startsWith("\"") && t.endsWith("\"")) {
            t = t.substring(1, t.length() - 1);
        }
        int exact = spec.classes().indexOf(t);
        if (exact >= 0) {
            return exact;
        }
        try {
            int i = Integer.parseInt(t);
            if (i < 0 || i >= spec.classCount()) {
                throw new InvalidDataException(name, "line " + line + ", column 1 (label): " + i + " is outside 0-"
                        + (spec.classCount() - 1) + " (" + spec.classCount() + " classes)", null);
            }
            return i;
        } catch (NumberFormatException e) {
            int byName = spec.indexOf(t);
            if (byName >= 0) {
                return byName;
            }
            throw new InvalidDataException(name, "line " + line + ", column 1 (label): '" + abbreviate(t)
                    + "' is neither a class name (" + abbreviate(String.join(", ", spec.classes()), 120)
                    + ") nor a class index 0-" + (spec.classCount() - 1), null);
        }
    }

    private static int integer(String name, int line, int column, String what, String text) {
        String t = text.strip();
        try {
            return Integer.parseInt(t);
        } catch (NumberFormatException e) {
            throw new InvalidDataException(name, "line " + line + ", column " + column + " (" + what + "): '"
                    + abbreviate(t) + "' is not an integer", null);
        }
    }

    private static String abbreviate(String s) {
        return abbreviate(s, 30);
    }

    private static String abbreviate(String s, int max) {
        return s.length() > max ? s.substring(0, max) + "..." : s;
    }
}
