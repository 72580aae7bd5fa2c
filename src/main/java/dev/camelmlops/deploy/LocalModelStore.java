package dev.camelmlops.deploy;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/** A model store in a local folder. */
public final class LocalModelStore implements ModelStore {
    private final Path root;

    public LocalModelStore(Path root) {
        this.root = root;
    }

    private Path resolve(String rel) {
        return rel.isEmpty() ? root : root.resolve(rel);
    }

    @Override
    public List<String> list(String dir) {
        Path d = resolve(dir);
        if (!Files.isDirectory(d)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new DeployException("cannot list " + d + ": " + e.getMessage(), e);
        }
    }

    @Override
    public Map<String, Long> fileSizes(String dir) {
        Path d = resolve(dir);
        Map<String, Long> sizes = new LinkedHashMap<>();
        if (!Files.isDirectory(d)) {
            return sizes;
        }
        try (Stream<Path> s = Files.walk(d)) {
            for (Path p : s.filter(Files::isRegularFile).sorted().toList()) {
                sizes.put(d.relativize(p).toString().replace('\\', '/'), Files.size(p));
            }
        } catch (IOException e) {
            throw new DeployException("cannot read " + d + ": " + e.getMessage(), e);
        }
        return sizes;
    }

    @Override
    public boolean exists(String path) {
        return Files.exists(resolve(path));
    }

    @Override
    public void rename(String from, String to) {
        Path target = resolve(to);
        if (Files.exists(target)) {
            throw new DeployException(target + " already exists: refusing to overwrite it");
        }
        try {
            Files.move(resolve(from), target, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            throw new DeployException("cannot rename " + resolve(from) + " atomically to " + target, e);
        } catch (IOException e) {
            throw new DeployException("cannot rename " + resolve(from) + " to " + target + ": " + e, e);
        }
    }

    @Override
    public void deleteTree(String dir) {
        Path d = resolve(dir);
        if (!Files.exists(d)) {
            return;
        }
        try (Stream<Path> s = Files.walk(d)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        } catch (IOException e) {
            throw new DeployException("cannot delete " + d + ": " + e, e);
        }
    }

    @Override
    public void download(String dir, Path target) {
        Path from = resolve(dir);
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path t = target.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        } catch (IOException e) {
            throw new DeployException("cannot copy " + from + " to " + target + ": " + e, e);
        }
    }

    @Override
    public java.util.Optional<byte[]> read(String path) {
        Path p = resolve(path);
        if (!Files.isRegularFile(p)) {
            return java.util.Optional.empty();
        }
        try {
            return java.util.Optional.of(Files.readAllBytes(p));
        } catch (IOException e) {
            throw new DeployException("cannot read " + p + ": " + e, e);
        }
    }

    @Override
    public void replaceAtomically(String path, byte[] content) {
        Path target = resolve(path);
        Path tmp = target.resolveSibling(ModelStore.temporaryName(target.getFileName().toString()));
        try {
            Files.createDirectories(target.toAbsolutePath().getParent());
            try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(tmp,
                    java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE)) {
                java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(content);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // the next write uses another name
            }
            throw new DeployException("cannot write " + target + ": " + e, e);
        }
    }

    @Override
    public String absoluteRoot() {
        return root.toAbsolutePath().normalize().toString();
    }

    @Override
    public String describe() {
        return root.toString();
    }

    @Override
    public void close() {
    }
}
