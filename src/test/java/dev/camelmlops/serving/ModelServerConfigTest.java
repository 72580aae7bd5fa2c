package dev.camelmlops.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.camelmlops.serving.ModelServerConfig.Model;
import dev.camelmlops.serving.ModelServerConfig.VersionPolicy;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** TF Serving's model config text format: parsing what TF Serving accepts, writing what it reads, refusing the rest. */
class ModelServerConfigTest {

    /** Written the way TF Serving's documentation writes it: comments, both quote kinds, `<>`, a list, map entries. */
    private static final String HAND_WRITTEN = """
            # two models, as in a TF Serving config written by hand
            model_config_list {
              config {
                name: 'my_model'
                base_path: "/models/my_model"
                model_platform: "tensorflow"
                model_version_policy { specific { versions: [3, 5] } }
                version_labels { key: 'stable' value: 3 }
                version_labels < key: "canary" value: 5 >
              }
              config: {
                name: "other"
                base_path: "/models/other"
                model_version_policy { latest { num_versions: 2 } }
                logging_config { sampling_config { sampling_rate: 0.5 } }
              }
              config { name: "every" base_path: "s3://bucket/every" model_version_policy { all {} } }
            }
            """;

    @Test
    void parsesWhatTfServingAccepts() {
        ModelServerConfig c = ModelServerConfig.parse(HAND_WRITTEN, "models.config");
        assertEquals(List.of("my_model", "other", "every"), c.models().stream().map(Model::name).toList());
        Model m = c.model("my_model").orElseThrow();
        assertEquals("/models/my_model", m.basePath());
        assertEquals(new VersionPolicy.Specific(new TreeSet<>(Set.of(3L, 5L))), m.policy());
        assertEquals(Map.of("stable", 3L, "canary", 5L), m.labels());
        Model other = c.model("other").orElseThrow();
        assertEquals(ModelServerConfig.TENSORFLOW, other.platform(), "platform defaults to tensorflow");
        assertEquals(new VersionPolicy.Latest(2), other.policy());
        assertEquals(new VersionPolicy.All(), c.model("every").orElseThrow().policy());
    }

    @Test
    void noPolicyMeansTheLatestVersionAndNoneMeansOne() {
        ModelServerConfig c = ModelServerConfig.parse("model_config_list { config { name: 'a' base_path: '/a' }"
                + " config { name: 'b' base_path: '/b' model_version_policy { latest { } } } }", "x");
        assertEquals(new VersionPolicy.Latest(1), c.model("a").orElseThrow().policy());
        assertEquals(new VersionPolicy.Latest(1), c.model("b").orElseThrow().policy());
        assertEquals(new TreeSet<>(Set.of(7L)), new VersionPolicy.Latest(1).select(new TreeSet<>(Set.of(2L, 7L, 4L))));
        assertEquals(new TreeSet<>(Set.of(4L, 7L)), new VersionPolicy.Latest(2).select(new TreeSet<>(Set.of(2L, 7L, 4L))));
        assertEquals(new TreeSet<>(Set.of(2L)),
                new VersionPolicy.Specific(new TreeSet<>(Set.of(2L, 9L))).select(new TreeSet<>(Set.of(2L, 7L, 4L))));
    }

    @Test
    void editingOneModelKeepsEverythingElse() {
        ModelServerConfig c = ModelServerConfig.parse(HAND_WRITTEN, "models.config");
        ModelServerConfig edited = c.with(new Model("other", "/models/other", "tensorflow",
                new VersionPolicy.Specific(new TreeSet<>(Set.of(8L))), Map.of("stable", 8L)));
        String text = edited.text();
        ModelServerConfig again = ModelServerConfig.parse(text, "rewritten");
        assertEquals(c.model("my_model"), again.model("my_model"));
        assertEquals(c.model("every"), again.model("every"));
        assertEquals(Map.of("stable", 8L), again.model("other").orElseThrow().labels());
        assertTrue(text.contains("sampling_rate: 0.5"), "the other fields of the edited entry stay:\n" + text);
        ModelServerConfig added = edited.with(new Model("new", "/n", "tensorflow", new VersionPolicy.Latest(1), Map.of()));
        assertEquals(List.of("my_model", "other", "every", "new"),
                added.models().stream().map(Model::name).toList());
        assertEquals(added, ModelServerConfig.parse(added.text(List.of("a header", "two lines")), "again"));
    }

    @Test
    void refusesWithTheLineAndTheDefect() {
        assertRefused("model_config_list { config { name: 'a' base_path: '/a' colour: 'red' } }",
                "1:", "colour");
        assertRefused("model_config_list {\n config {\n name: 'a'\n base_path: '/a'\n model_version_policy { specific { versions: 'x' } }\n } }",
                "5:", "integer");
        assertRefused("model_config_list { config { name: 'a' base_path: '/a' }", "", "");
        assertRefused("model_config_list { config { name: 'a' base_path: 'models/a' } }",
                "Expected model a to have an absolute path or URI; got base_path()=models/a");
        assertRefused("model_config_list { config { name: 'a' base_path: '/a' } config { name: 'a' base_path: '/b' } }",
                "Illegal to list model a multiple times in config list");
        assertRefused("model_config_list { config { base_path: '/a' } }", "has no name");
        assertRefused("model_config_list { config { name: 'a/b' base_path: '/a' } }", "cannot appear in a REST path");
        assertRefused("model_config_list { config { name: 'a' base_path: '/a' model_platform: 'pytorch' } }",
                "model_platform 'pytorch'");
        assertRefused("model_config_list { config { name: 'a' base_path: '/a' model_version_policy { specific { } } } }",
                "no versions");
        assertRefused("model_config_list { config { name: 'a' base_path: '/a' model_version_policy { specific { versions: -2 } } } }",
                "version -2");
        assertRefused("model_config_list { config { name: 'a' base_path: '/a' version_labels { key: 'st able' value: 1 } } }",
                "'st able'");
        assertRefused("model_config_list { config { name: 'a' base_path: '/a' version_labels { key: 'x' value: 0 } } }",
                "label 'x' names version 0");
        assertRefused("custom_model_config { }", "custom_model_config is not supported");
    }

    private static void assertRefused(String text, String... expected) {
        ModelServerConfig.InvalidModelConfigException e = assertThrows(
                ModelServerConfig.InvalidModelConfigException.class, () -> ModelServerConfig.parse(text, "cfg"));
        assertTrue(e.getMessage().startsWith("cfg"), e.getMessage());
        for (String s : expected) {
            assertTrue(e.getMessage().contains(s), "'" + s + "' in: " + e.getMessage());
        }
    }

    /** Mutated configs: each parses or is refused with InvalidModelConfigException, nothing else. */
    @Test
    void fuzzedTextIsParsedOrRefusedNeverAnythingElse() {
        Random r = new Random(14);
        String base = HAND_WRITTEN;
        String alphabet = "{}<>[]:;,'\"#\\\n 0123456789-.abcxyz_";
        int refused = 0;
        for (int i = 0; i < 3000; i++) {
            StringBuilder s = new StringBuilder(base);
            int edits = 1 + r.nextInt(4);
            for (int k = 0; k < edits; k++) {
                int at = r.nextInt(s.length());
                switch (r.nextInt(3)) {
                    case 0 -> s.deleteCharAt(at);
                    case 1 -> s.insert(at, alphabet.charAt(r.nextInt(alphabet.length())));
                    default -> s.setCharAt(at, alphabet.charAt(r.nextInt(alphabet.length())));
                }
            }
            try {
                ModelServerConfig c = ModelServerConfig.parse(s.toString(), "fuzz");
                assertEquals(c, ModelServerConfig.parse(c.text(), "fuzz again"), "what parses prints and parses the same");
            } catch (ModelServerConfig.InvalidModelConfigException e) {
                refused++;
                assertTrue(e.getMessage().startsWith("fuzz: "), e.getMessage());
            }
        }
        assertTrue(refused > 1000, "most mutations are refused: " + refused);
    }
}
