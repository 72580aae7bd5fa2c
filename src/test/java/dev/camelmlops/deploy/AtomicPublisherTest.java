package dev.camelmlops.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicPublisherTest {
    @TempDir
    Path root;

    private final Map<String, Long> expected = Map.of("saved_model.pb", 5L, "variables/variables.index", 3L);

    private void upload(String folder, Map<String, String> files) throws Exception {
        for (Map.Entry<String, String> f : files.entrySet()) {
            Path p = root.resolve(folder).resolve(f.getKey());
            Files.createDirectories(p.getParent());
            Files.writeString(p, f.getValue());
        }
    }

    @Test
    void publishesOnlyAFolderThatMatchesTheManifest() throws Exception {
        LocalModelStore store = new LocalModelStore(root);
        upload(".incoming-7-r", Map.of("saved_model.pb", "12345", "variables/variables.index", "123"));
        AtomicPublisher.publish(store, ".incoming-7-r", 7, expected);
        assertEquals(List.of("7"), store.list(""));
        assertEquals(expected, store.fileSizes("7"));
    }

    @Test
    void aMissingShortOrExtraFileIsNotPublished() throws Exception {
        LocalModelStore store = new LocalModelStore(root);
        upload(".incoming-7-r", Map.of("saved_model.pb", "123", "extra.txt", "x"));
        DeployException e = assertThrows(DeployException.class,
                () -> AtomicPublisher.publish(store, ".incoming-7-r", 7, expected));
        assertTrue(e.getMessage().contains("saved_model.pb has 3 bytes, expected 5"), e.getMessage());
        assertTrue(e.getMessage().contains("variables/variables.index is missing"), e.getMessage());
        assertTrue(e.getMessage().contains("extra.txt is not in the manifest"), e.getMessage());
        assertFalse(store.exists("7"));
        assertEquals(List.of(".incoming-7-r"), AtomicPublisher.removeLeftovers(store));
        assertEquals(List.of(), store.list(""));
    }

    @Test
    void anExistingVersionIsNeverOverwritten() throws Exception {
        LocalModelStore store = new LocalModelStore(root);
        upload("7", Map.of("saved_model.pb", "old"));
        upload(".incoming-7-r", Map.of("saved_model.pb", "12345", "variables/variables.index", "123"));
        DeployException e = assertThrows(DeployException.class,
                () -> AtomicPublisher.publish(store, ".incoming-7-r", 7, expected));
        assertTrue(e.getMessage().contains("never overwritten"), e.getMessage());
        assertEquals("old", Files.readString(root.resolve("7/saved_model.pb")));
    }

    @Test
    void retentionKeepsTheNewestAndTheProtectedVersions() throws Exception {
        LocalModelStore store = new LocalModelStore(root);
        for (String v : List.of("1", "2", "3", "4", "5", "10")) {
            upload(v, Map.of("saved_model.pb", v));
        }
        upload(".incoming-11-r", Map.of("saved_model.pb", "x"));
        assertEquals(List.of(2, 3, 4), AtomicPublisher.retain(store, 3, Set.of(1)));
        assertEquals(List.of(".incoming-11-r", "1", "10", "5"), store.list(""));
        assertEquals(List.of(1, 5, 10), AtomicPublisher.versions(store));
    }

    @Test
    void aRemovedVersionLeavesNoNumericFolderAndTheLeftoversOfBothKindsAreRemoved() throws Exception {
        LocalModelStore store = new LocalModelStore(root);
        upload("4", Map.of("saved_model.pb", "4"));
        upload(".removing-3-x", Map.of("variables/variables.index", "3"));
        upload(".incoming-5-r", Map.of("saved_model.pb", "5"));
        AtomicPublisher.remove(store, 4);
        assertEquals(List.of(".incoming-5-r", ".removing-3-x"), store.list(""));
        assertEquals(List.of(".incoming-5-r", ".removing-3-x"), AtomicPublisher.removeLeftovers(store));
        assertEquals(List.of(), store.list(""));
    }
}
