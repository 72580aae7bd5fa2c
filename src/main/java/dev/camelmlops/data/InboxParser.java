package dev.camelmlops.data;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipInputStream;

/**
 * Reads a batch of new labelled images dropped into the inbox, in the dataset's shape: a CSV
 * ({@link CsvImages}: header {@code label,pixel1,...}, one column per value, labels as class names
 * or indexes); a pair of IDX files (images + labels, plain or gzip) in a .zip or .tar.gz; or a
 * .zip or .tar.gz of class folders ({@code <class>/<image>}, any size, resized). Every defect is an
 * {@link InvalidDataException} saying exactly what is wrong (line and column for CSV, the member
 * for an archive).
 */
public final class InboxParser {
    private final DatasetSpec spec;
    private final long maxBytes;

    public InboxParser(DatasetSpec spec, long maxBytes) {
        this.spec = spec;
        this.maxBytes = maxBytes;
    }

    public Dataset parse(Path file) {
        String name = file.getFileName().toString();
        long size;
        try {
            size = Files.size(file);
        } catch (IOException e) {
            throw new InvalidDataException(file, "cannot be read: " + e);
        }
        if (size == 0) {
            throw new InvalidDataException(name, "empty file", null);
        }
        if (size > maxBytes) {
            throw new InvalidDataException(name, "file is " + size + " bytes, over the limit inbox.max-bytes = "
                    + maxBytes, null);
        }
        String lower = name.toLowerCase(Locale.ROOT);
        if (lower.endsWith(".csv")) {
            return parseCsv(file, name);
        }
        if (lower.endsWith(".zip")) {
            return parseArchive(file, name, false);
        }
        if (lower.endsWith(".tar.gz") || lower.endsWith(".tgz")) {
            return parseArchive(file, name, true);
        }
        throw new InvalidDataException(name, "unsupported file type: expected a .csv, a .zip or a .tar.gz", null);
    }

    // ---------------------------------------------------------------- CSV

    Dataset parseCsv(Path file, String name) {
        return new CsvImages(spec).read(file, name);
    }

    // ---------------------------------------------------------------- archives

    Dataset parseArchive(Path file, String name, boolean tar) {
        Path dir = null;
        try {
            dir = Files.createTempDirectory("mlops-inbox-");
            List<Member> members = tar ? untar(file, name, dir) : unzip(file, name, dir);
            if (members.stream().anyMatch(m -> m.name.replace('\\', '/').contains("/") && !isIdx(m))) {
                return imageFolders(dir.resolve("files"), name);
            }
            Member images = null;
            Member labels = null;
            for (Member m : members) {
                int magic = magic(m, name);
                if (IdxReader.isImagesMagic(magic) && images == null) {
                    images = m;
                } else if (magic == IdxReader.LABELS_MAGIC && labels == null) {
                    labels = m;
                } else {
                    throw new InvalidDataException(name + "!" + m.name, "unexpected member (IDX magic " + magic
                            + "): the archive must hold exactly one images file (magic 2051) and one labels file"
                            + " (magic 2049)", null);
                }
            }
            if (images == null || labels == null) {
                throw new InvalidDataException(name, "archive member missing: no " + (images == null
                        ? "images file (IDX magic 2051)" : "labels file (IDX magic 2049)") + " among "
                        + members.stream().map(m -> m.name).toList(), null);
            }
            try {
                return IdxReader.of(spec).read(images.path, labels.path);
            } catch (InvalidDataException e) {
                String member = e.file().equals(images.path.toString()) ? images.name
                        : e.file().equals(labels.path.toString()) ? labels.name : "?";
                String defect = e.defect().replace(images.path.getFileName().toString(), images.name)
                        .replace(labels.path.getFileName().toString(), labels.name);
                throw new InvalidDataException(name + "!" + member, defect, e);
            }
        } catch (IOException e) {
            throw new InvalidDataException(name, "cannot be read: " + e.getMessage(), e);
        } finally {
            if (dir != null) {
                deleteQuietly(dir);
            }
        }
    }

    private record Member(String name, Path path) {
    }

    /**
     * An archive of class folders ({@code <class>/<image>}, possibly inside one wrapping folder,
     * as zipping a folder makes): read by the {@link ImageFolderReader}, resized and colour
     * converted to the dataset's shape.
     */
    private Dataset imageFolders(Path root, String archive) {
        Path dir = root;
        while (true) {
            List<Path> entries;
            try (var list = Files.list(dir)) {
                entries = list.filter(p -> !p.getFileName().toString().startsWith(".")
                        && !p.getFileName().toString().equals("__MACOSX")).toList();
            } catch (IOException e) {
                throw new InvalidDataException(archive, "cannot be read: " + e.getMessage(), e);
            }
            if (entries.size() == 1 && Files.isDirectory(entries.get(0))
                    && spec.indexOf(entries.get(0).getFileName().toString()) < 0) {
                dir = entries.get(0);
                continue;
            }
            break;
        }
        String wrapper = root.equals(dir) ? "" : root.relativize(dir).toString().replace('\\', '/');
        return spec.check(new ImageFolderReader(spec).read(dir, archive + "!" + wrapper), archive);
    }

    private static boolean isIdx(Member m) {
        try (InputStream raw = Files.newInputStream(m.path)) {
            byte[] head = raw.readNBytes(4);
            if (head.length >= 2 && (head[0] & 0xFF) == 0x1f && (head[1] & 0xFF) == 0x8b) {
                return true; // gzip: an IDX file as published; the IDX path checks it
            }
            return head.length == 4 && head[0] == 0 && head[1] == 0 && head[2] == 8;
        } catch (IOException e) {
            return false;
        }
    }

    private int magic(Member m, String archive) {
        try (InputStream raw = Files.newInputStream(m.path)) {
            byte[] head = raw.readNBytes(2);
            InputStream in = Files.newInputStream(m.path);
            if (head.length == 2 && (head[0] & 0xFF) == 0x1f && (head[1] & 0xFF) == 0x8b) {
                in = new GZIPInputStream(in);
            }
            try (InputStream s = in) {
                byte[] b = s.readNBytes(4);
                if (b.length < 4) {
                    throw new InvalidDataException(archive + "!" + m.name, "truncated: shorter than an IDX header", null);
                }
                return ((b[0] & 0xFF) << 24) | ((b[1] & 0xFF) << 16) | ((b[2] & 0xFF) << 8) | (b[3] & 0xFF);
            }
        } catch (ZipException | EOFException e) {
            throw new InvalidDataException(archive + "!" + m.name, "truncated or corrupt gzip data: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new InvalidDataException(archive + "!" + m.name, "cannot be read: " + e.getMessage(), e);
        }
    }

    /** Where an (already checked) entry is unpacked: under {@code dir/files/}, keeping its folders; twice the same name is refused. */
    private static Path memberPath(Path dir, String archive, String entry) throws IOException {
        Path root = dir.resolve("files");
        Path out = root;
        for (String seg : entry.replace('\\', '/').split("/")) {
            if (!seg.isEmpty() && !seg.equals(".")) {
                out = out.resolve(seg);
            }
        }
        if (!out.startsWith(root) || out.equals(root)) {
            throw new InvalidDataException(archive, "archive entry '" + entry + "' has no file name (rejected)", null);
        }
        if (Files.exists(out)) {
            throw new InvalidDataException(archive, "archive holds two entries named '" + entry + "'", null);
        }
        Files.createDirectories(out.getParent());
        return out;
    }

    /** Rejects absolute names and any '..' segment: an archive must not reach outside itself. */
    static void checkEntryName(String archive, String entry) {
        String n = entry.replace('\\', '/');
        if (n.startsWith("/") || n.matches("^[A-Za-z]:.*")) {
            throw new InvalidDataException(archive, "archive entry '" + entry + "' has an absolute path (rejected)", null);
        }
        for (String seg : n.split("/")) {
            if (seg.equals("..")) {
                throw new InvalidDataException(archive, "archive entry '" + entry
                        + "' escapes the archive with '..' (path traversal, rejected)", null);
            }
        }
    }

    private List<Member> unzip(Path file, String name, Path dir) throws IOException {
        List<Member> members = new ArrayList<>();
        long total = 0;
        try (ZipInputStream zip = new ZipInputStream(Files.newInputStream(file))) {
            ZipEntry e;
            while ((e = zip.getNextEntry()) != null) {
                checkEntryName(name, e.getName());
                if (e.isDirectory()) {
                    continue;
                }
                Path out = memberPath(dir, name, e.getName());
                total += copyBounded(zip, out, maxBytes - total, name);
                members.add(new Member(e.getName(), out));
            }
        } catch (ZipException e) {
            throw new InvalidDataException(name, "corrupt zip archive: " + e.getMessage(), e);
        } catch (EOFException e) {
            throw new InvalidDataException(name, "truncated zip archive", e);
        } catch (IllegalArgumentException e) {
            // ZipInputStream's way of saying an entry name is not valid UTF-8 ("malformed input")
            throw new InvalidDataException(name, "corrupt zip archive: an entry name is not valid UTF-8", e);
        }
        if (members.isEmpty()) {
            throw new InvalidDataException(name, "not a zip archive, or an empty one", null);
        }
        return members;
    }

    private List<Member> untar(Path file, String name, Path dir) throws IOException {
        List<Member> members = new ArrayList<>();
        long total = 0;
        try (InputStream in = new GZIPInputStream(Files.newInputStream(file), 1 << 16)) {
            byte[] header = new byte[512];
            while (true) {
                int n = in.readNBytes(header, 0, 512);
                if (n == 0) {
                    break;
                }
                if (n < 512) {
                    throw new InvalidDataException(name, "truncated tar archive (partial header)", null);
                }
                if (allZero(header)) {
                    break;
                }
                String entry = cString(header, 0, 100);
                String prefix = cString(header, 345, 155);
                if (!prefix.isEmpty()) {
                    entry = prefix + "/" + entry;
                }
                long size = octal(header, 124, 12, name);
                char type = (char) header[156];
                checkEntryName(name, entry);
                long padded = (size + 511) / 512 * 512;
                if (type == '0' || type == '\0') {
                    Path out = memberPath(dir, name, entry);
                    long copied = copyBounded(new BoundedStream(in, size), out, maxBytes - total, name);
                    if (copied < size) {
                        throw new InvalidDataException(name, "truncated tar archive: member '" + entry + "' declares "
                                + size + " bytes, " + copied + " present", null);
                    }
                    total += copied;
                    in.skipNBytes(padded - size);
                    members.add(new Member(entry, out));
                } else if (type == '5') {
                    in.skipNBytes(padded);
                } else {
                    throw new InvalidDataException(name, "tar entry '" + entry + "' is not a regular file (type '"
                            + type + "'): links and special files are rejected", null);
                }
            }
        } catch (ZipException e) {
            throw new InvalidDataException(name, "corrupt gzip data: " + e.getMessage(), e);
        } catch (EOFException e) {
            throw new InvalidDataException(name, "truncated: the gzip stream ends early", e);
        }
        if (members.isEmpty()) {
            throw new InvalidDataException(name, "empty tar archive", null);
        }
        return members;
    }

    private static boolean allZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }

    private static String cString(byte[] b, int off, int len) {
        int end = off;
        while (end < off + len && b[end] != 0) {
            end++;
        }
        return new String(b, off, end - off, StandardCharsets.UTF_8).strip();
    }

    private static long octal(byte[] b, int off, int len, String archive) {
        String s = cString(b, off, len).strip();
        try {
            return s.isEmpty() ? 0 : Long.parseLong(s, 8);
        } catch (NumberFormatException e) {
            throw new InvalidDataException(archive, "corrupt tar header (size '" + s + "')", e);
        }
    }

    /** Copies at most {@code limit} bytes; more is a size violation. */
    private long copyBounded(InputStream in, Path out, long limit, String archive) throws IOException {
        long n = 0;
        byte[] buf = new byte[1 << 16];
        try (OutputStream os = Files.newOutputStream(out)) {
            int r;
            while ((r = in.read(buf)) > 0) {
                n += r;
                if (n > limit) {
                    throw new InvalidDataException(archive, "unpacks to more than inbox.max-bytes = " + maxBytes
                            + " bytes (rejected)", null);
                }
                os.write(buf, 0, r);
            }
        }
        return n;
    }

    private static final class BoundedStream extends InputStream {
        private final InputStream in;
        private long left;

        BoundedStream(InputStream in, long size) {
            this.in = in;
            this.left = size;
        }

        @Override
        public int read() throws IOException {
            if (left <= 0) {
                return -1;
            }
            int b = in.read();
            if (b >= 0) {
                left--;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (left <= 0) {
                return -1;
            }
            int r = in.read(b, off, (int) Math.min(len, left));
            if (r > 0) {
                left -= r;
            }
            return r;
        }
    }

    private static void deleteQuietly(Path dir) {
        try (var s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException ignored) {
            // temporary files; the OS cleans up eventually
        }
    }
}
