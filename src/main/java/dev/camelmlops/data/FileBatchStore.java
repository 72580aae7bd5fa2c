package dev.camelmlops.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The batch store of one machine: accepted batches as plain IDX pairs in folders:
 * {@code pending/<sha256>/} until a run claims them ({@code claimed/<run>/<sha256>/}), then
 * {@code consumed/<run>/} once the run has ended, or back to pending if the run was abandoned
 * (a shutdown, a crash: {@link #recover()} at start-up). Every move is one rename, so a batch is
 * never lost and never used by two runs.
 */
public final class FileBatchStore implements BatchStore {
    private final Path root;

    public FileBatchStore(Path root) {
        this.root = root;
    }

    private static Batch batch(Path dir) {
        return new Batch(dir.getFileName().toString(),
                () -> IdxReader.selfDescribing().read(dir.resolve("images.idx"), dir.resolve("labels.idx")));
    }

    private Path pendingDir() {
        return root.resolve("pending");
    }

    private Path claimed(String run) {
        return root.resolve("claimed").resolve(run);
    }

    /** Stores a validated batch as pending; false when the same content is already known. */
    @Override
    public synchronized boolean add(String sha256, Dataset data, String source) {
        if (known(sha256)) {
            return false;
        }
        Path tmp = root.resolve("incoming").resolve(sha256);
        try {
            deleteTree(tmp);
            Files.createDirectories(tmp);
            IdxWriter.writeImages(tmp.resolve("images.idx"), data);
            IdxWriter.writeLabels(tmp.resolve("labels.idx"), data.labels());
            Files.writeString(tmp.resolve("batch.txt"), "source=" + source + "\nreceived=" + Instant.now()
                    + "\nimages=" + data.size() + "\n", StandardCharsets.UTF_8);
            // on disk before the rename makes it pending, and the rename on disk before the caller
            // lets the inbox file go (a power cut then loses neither the batch nor the file)
            for (String f : List.of("images.idx", "labels.idx", "batch.txt")) {
                force(tmp.resolve(f));
            }
            force(tmp);
            Files.createDirectories(pendingDir());
            Files.move(tmp, pendingDir().resolve(sha256), StandardCopyOption.ATOMIC_MOVE);
            force(pendingDir());
            return true;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot store batch " + sha256, e);
        }
    }

    /** True when a batch with this content is pending, claimed or consumed. */
    @Override
    public synchronized boolean known(String sha256) {
        if (Files.isDirectory(pendingDir().resolve(sha256))) {
            return true;
        }
        for (String area : List.of("claimed", "consumed")) {
            for (Path run : list(root.resolve(area))) {
                if (Files.isDirectory(run.resolve(sha256))) {
                    return true;
                }
            }
        }
        return false;
    }

    @Override
    public synchronized int pendingCount() {
        return list(pendingDir()).size();
    }

    @Override
    public synchronized int claimedCount() {
        int n = 0;
        for (Path run : list(root.resolve("claimed"))) {
            n += list(run).size();
        }
        return n;
    }

    @Override
    public String describe() {
        return root.toString();
    }

    /** Moves every pending batch to the run's claim and returns them. */
    @Override
    public synchronized List<Batch> claim(String run) {
        List<Batch> claimed = new ArrayList<>();
        try {
            Files.createDirectories(claimed(run));
            for (Path p : list(pendingDir())) {
                Path to = claimed(run).resolve(p.getFileName());
                Files.move(p, to, StandardCopyOption.ATOMIC_MOVE);
                claimed.add(batch(to));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot claim batches for run " + run, e);
        }
        return claimed;
    }

    /** The run has ended (either way): its batches are used up. */
    @Override
    public synchronized void consume(String run) {
        move(claimed(run), root.resolve("consumed").resolve(run));
    }

    /** The run was abandoned: its batches go back to pending for the next run. */
    @Override
    public synchronized void release(String run) {
        Path dir = claimed(run);
        try {
            Files.createDirectories(pendingDir());
            for (Path p : list(dir)) {
                Files.move(p, pendingDir().resolve(p.getFileName()), StandardCopyOption.ATOMIC_MOVE);
            }
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot release batches of run " + run, e);
        }
    }

    /** Releases batches claimed by runs that never ended (the process stopped); returns those runs. */
    @Override
    public synchronized List<String> recover() {
        List<String> runs = new ArrayList<>();
        for (Path run : list(root.resolve("claimed"))) {
            release(run.getFileName().toString());
            runs.add(run.getFileName().toString());
        }
        return runs;
    }

    private static void move(Path from, Path to) {
        if (!Files.isDirectory(from)) {
            return;
        }
        try {
            Files.createDirectories(to.getParent());
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot move " + from + " to " + to, e);
        }
    }

    private static List<Path> list(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isDirectory).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
    }

    /** fsync of a file or a folder (Linux opens a folder for reading; elsewhere this may be refused, then skipped). */
    private static void force(Path p) throws IOException {
        try (java.nio.channels.FileChannel c = java.nio.channels.FileChannel.open(p, java.nio.file.StandardOpenOption.READ)) {
            c.force(true);
        } catch (IOException e) {
            if (!Files.isDirectory(p)) {
                throw e;
            }
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(x);
            }
        }
    }
}
