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
 * The run ledger: an append-only JSON Lines file. Each run appends a "started" record when it
 * begins and a "finished" record when it ends, each written in one append and forced to disk
 * (fsync), so a crash loses at most the line being written; a run with no "finished" record was
 * interrupted. A torn last line is skipped when reading.
 */
public final class RunLedger {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private final Path file;

    public RunLedger(Path file) {
        this.file = file;
    }

    public Path file() {
        return file;
    }

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
    private long cachedSize = -1;
    private long cachedModified = -1;

    /**
     * Every run, oldest first: its "finished" record over its "started" one; outcome "interrupted"
     * when unfinished. Parsed again only when the file has changed (health checks ask often).
     */
    public synchronized List<Map<String, Object>> runs() {
        if (!Files.isRegularFile(file)) {
            return List.of();
        }
        List<String> lines;
        try {
            long size = Files.size(file);
            long modified = Files.getLastModifiedTime(file).toMillis();
            if (cached != null && size == cachedSize && modified == cachedModified) {
                return cached;
            }
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            cachedSize = size;
            cachedModified = modified;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the run ledger " + file, e);
        }
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
        for (Map<String, Object> r : byId.values()) {
            if (!"finished".equals(r.get("event"))) {
                r.put("outcome", "interrupted");
                r.put("reason", "no finished record: the process stopped during the run");
            }
            r.remove("event");
            runs.add(java.util.Collections.unmodifiableMap(r));
        }
        cached = java.util.Collections.unmodifiableList(runs);
        return cached;
    }

    public Optional<Map<String, Object>> run(String id) {
        return runs().stream().filter(r -> id.equals(String.valueOf(r.get("id")))).findFirst();
    }
}
