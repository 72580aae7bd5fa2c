package dev.camelmlops.registry;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The run ledger of one machine: an append-only JSON Lines file. Each run appends a "started" record when it
 * begins and a "finished" record when it ends, each written in one append and forced to disk
 * (fsync), so a crash loses at most the line being written. A run with no "finished" record is
 * {@value #RUNNING} while the process that started it (its "pid") is alive, else {@value #ABANDONED}
 * (the process was killed or crashed). A torn last line is skipped when reading.
 */
public final class FileRunLedger implements RunLedger {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private final Path file;

    public FileRunLedger(Path file) {
        this.file = file;
    }

    public Path file() {
        return file;
    }

    @Override
    public String describe() {
        return file.toString();
    }

    @Override
    public synchronized void append(Map<String, Object> record) {
        try {
            byte[] line = (MAPPER.writeValueAsString(record) + "\n").getBytes(StandardCharsets.UTF_8);
            Files.createDirectories(file.toAbsolutePath().getParent());
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.APPEND)) {
                ByteBuffer b = ByteBuffer.wrap(line);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                ch.force(true);
            }
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("run record is not serialisable: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot append to the run ledger " + file, e);
        }
    }

    private List<Map<String, Object>> cached;
    private List<Integer> cachedUnfinished = List.of();
    private long cachedSize = -1;
    private long cachedModified = -1;

    /**
     * Every run, oldest first: its "finished" record over its "started" one; an unfinished run is
     * "running" or "abandoned" (see the class comment), judged anew on every call. The file is
     * parsed again only when it has changed (health checks ask often).
     */
    @Override
    public synchronized List<Map<String, Object>> runs() {
        if (!Files.isRegularFile(file)) {
            return List.of();
        }
        try {
            long size = Files.size(file);
            long modified = Files.getLastModifiedTime(file).toMillis();
            if (cached == null || size != cachedSize || modified != cachedModified) {
                parse(Files.readAllLines(file, StandardCharsets.UTF_8));
                cachedSize = size;
                cachedModified = modified;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the run ledger " + file, e);
        }
        if (cachedUnfinished.isEmpty()) {
            return cached;
        }
        List<Map<String, Object>> runs = new ArrayList<>(cached);
        for (int i : cachedUnfinished) {
            Map<String, Object> r = new LinkedHashMap<>(runs.get(i));
            if (stillRunning(r)) {
                r.put("outcome", RUNNING);
            } else {
                r.put("outcome", ABANDONED);
                r.put("reason", "no finished record: the process stopped during the run (killed or crashed)");
            }
            runs.set(i, java.util.Collections.unmodifiableMap(r));
        }
        return java.util.Collections.unmodifiableList(runs);
    }

    private void parse(List<String> lines) {
        Map<String, Map<String, Object>> byId = new LinkedHashMap<>();
        for (String line : lines) {
            if (line.isBlank()) {
                continue;
            }
            Map<String, Object> r;
            try {
                r = MAPPER.readValue(line, new TypeReference<LinkedHashMap<String, Object>>() { });
            } catch (JsonProcessingException e) {
                continue;
            }
            Object id = r.get("id");
            if (id == null) {
                continue;
            }
            Map<String, Object> merged = byId.computeIfAbsent(id.toString(), k -> new LinkedHashMap<>());
            merged.putAll(r);
        }
        List<Map<String, Object>> runs = new ArrayList<>();
        List<Integer> unfinished = new ArrayList<>();
        for (Map<String, Object> r : byId.values()) {
            if (!"finished".equals(r.get("event"))) {
                unfinished.add(runs.size());
            }
            r.remove("event");
            runs.add(java.util.Collections.unmodifiableMap(r));
        }
        cached = java.util.Collections.unmodifiableList(runs);
        cachedUnfinished = List.copyOf(unfinished);
    }

    /**
     * True when the process that started the run is alive and was started before the run (so
     * it is not a later process that got the same pid). Runs recorded without a pid (before the
     * ledger had one, or written by hand): false.
     */
    private static boolean stillRunning(Map<String, Object> run) {
        if (!(run.get("pid") instanceof Number pid)) {
            return false;
        }
        Optional<ProcessHandle> p = ProcessHandle.of(pid.longValue());
        if (p.isEmpty() || !p.get().isAlive()) {
            return false;
        }
        Optional<java.time.Instant> processStart = p.get().info().startInstant();
        try {
            java.time.Instant runStart = java.time.Instant.parse(String.valueOf(run.get("started")));
            // a process's start time is known to about a second (boot time has whole seconds)
            return processStart.isEmpty() || !processStart.get().isAfter(runStart.plusSeconds(5));
        } catch (java.time.format.DateTimeParseException e) {
            return false;
        }
    }
}
