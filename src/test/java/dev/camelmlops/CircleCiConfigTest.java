package dev.camelmlops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * .circleci/config.yml: valid against CircleCI's published schema (when ../shared has it), and
 * the checks the lenient schema misses: jobs, requires, steps and commands that exist, and no
 * secret printed.
 */
class CircleCiConfigTest {
    static final Path CONFIG = Path.of(".circleci", "config.yml");
    static final Path SCHEMA = Path.of("..", "shared", "fixtures", "circleci", "config.schema.json");
    static final Set<String> BUILT_IN_STEPS = Set.of("checkout", "run", "save_cache", "restore_cache",
            "store_artifacts", "store_test_results", "persist_to_workspace", "attach_workspace", "add_ssh_keys",
            "setup_remote_docker", "when", "unless");
    static final List<String> SECRETS = List.of("DEPLOY_SERVER_PASSWORD", "DEPLOY_SERVER_KEY", "NOTIFY_WEBHOOK_URL");
    static JsonNode config;

    static JsonNode compiled;

    @BeforeAll
    static void load() throws Exception {
        ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
        config = yaml.readTree(CONFIG.toFile());
        compiled = yaml.readTree(withParameterDefaults(Files.readString(CONFIG)));
    }

    /**
     * What CircleCI validates: the config after pipeline parameters are replaced by their values
     * (here the defaults), as its config compilation does before checking the schema.
     */
    static String withParameterDefaults(String text) {
        Matcher m = Pattern.compile("<<\\s*pipeline\\.parameters\\.([\\w-]+)\\s*>>").matcher(text);
        StringBuilder b = new StringBuilder();
        while (m.find()) {
            JsonNode p = config.get("parameters").get(m.group(1));
            assertTrue(p != null, "undeclared pipeline parameter " + m.group(1));
            m.appendReplacement(b, Matcher.quoteReplacement(p.get("default").asText()));
        }
        m.appendTail(b);
        return b.toString();
    }

    @Test
    void validatesAgainstCircleCisSchema() throws Exception {
        assumeTrue(Files.isRegularFile(SCHEMA), "CircleCI schema not found at " + SCHEMA.toAbsolutePath() + ": skipping");
        JsonSchema schema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V7)
                .getSchema(Files.newInputStream(SCHEMA));
        Set<ValidationMessage> errors = schema.validate(compiled);
        assertEquals(Set.of(), errors);
    }

    @Test
    void theSchemaCheckCatchesABrokenConfig() throws Exception {
        assumeTrue(Files.isRegularFile(SCHEMA), "CircleCI schema not found: skipping");
        JsonSchema schema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V7)
                .getSchema(Files.newInputStream(SCHEMA));
        JsonNode broken = compiled.deepCopy();
        ((com.fasterxml.jackson.databind.node.ObjectNode) broken).put("version", "banana");
        assertTrue(!schema.validate(broken).isEmpty(), "a wrong version is reported");
    }

    private static List<String> names(JsonNode object) {
        List<String> n = new ArrayList<>();
        object.fieldNames().forEachRemaining(n::add);
        return n;
    }

    @Test
    void everyWorkflowJobIsDefinedAndEveryRequiresIsInTheSameWorkflow() {
        Set<String> jobs = new HashSet<>(names(config.get("jobs")));
        for (String wf : names(config.get("workflows"))) {
            Set<String> inWorkflow = new HashSet<>();
            List<JsonNode> entries = new ArrayList<>();
            config.get("workflows").get(wf).get("jobs").forEach(entries::add);
            for (JsonNode e : entries) {
                String name = e.isTextual() ? e.asText() : e.fieldNames().next();
                JsonNode opts = e.isTextual() ? null : e.get(name);
                boolean approval = opts != null && "approval".equals(opts.path("type").asText());
                assertTrue(approval || jobs.contains(name), wf + ": job '" + name + "' is not defined");
                inWorkflow.add(opts != null && opts.has("name") ? opts.get("name").asText() : name);
            }
            for (JsonNode e : entries) {
                if (e.isObject()) {
                    JsonNode opts = e.get(e.fieldNames().next());
                    for (JsonNode r : opts.path("requires")) {
                        assertTrue(inWorkflow.contains(r.asText()), wf + ": requires '" + r.asText()
                                + "' which is not a job of this workflow");
                    }
                }
            }
        }
    }

    /**
     * Every branch is tested: build-deploy runs on any branch (no branch condition on the
     * workflow), its unit-tests job has no filter, and every job of the delivery chain is filtered
     * to main, so a branch or pull request never deploys.
     */
    @Test
    void unitTestsRunOnEveryBranchAndDeliveryOnlyOnMain() {
        JsonNode wf = config.get("workflows").get("build-deploy");
        assertTrue(!wf.path("when").toString().contains("pipeline.git.branch"),
                "no branch condition on the whole workflow: " + wf.path("when"));
        int chained = 0;
        for (JsonNode e : wf.get("jobs")) {
            String name = e.isTextual() ? e.asText() : e.fieldNames().next();
            JsonNode only = e.isTextual() ? null : e.get(name).path("filters").path("branches").path("only");
            if ("unit-tests".equals(name)) {
                assertTrue(only == null || only.isMissingNode(), "unit-tests runs on every branch: " + e);
            } else {
                assertEquals("main", only == null ? null : only.asText(), name + " runs on main only");
                chained++;
            }
        }
        assertEquals(6, chained, "build, train, test, package, deploy, verify");
    }

    /** Every step is a built-in step or a command defined in the config. */
    @Test
    void everyStepExists() {
        Set<String> commands = new HashSet<>(names(config.get("commands")));
        List<JsonNode> stepLists = new ArrayList<>();
        config.get("commands").forEach(c -> stepLists.add(c.get("steps")));
        config.get("jobs").forEach(j -> stepLists.add(j.get("steps")));
        for (JsonNode steps : stepLists) {
            for (JsonNode s : steps) {
                String name = s.isTextual() ? s.asText() : s.fieldNames().next();
                assertTrue(BUILT_IN_STEPS.contains(name) || commands.contains(name), "unknown step '" + name + "'");
            }
        }
    }

    private static List<String> runCommands() {
        List<String> out = new ArrayList<>();
        collect(config, out);
        return out;
    }

    private static void collect(JsonNode n, List<String> out) {
        if (n.isObject()) {
            Iterator<Map.Entry<String, JsonNode>> it = n.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                if ("run".equals(e.getKey())) {
                    out.add(e.getValue().isTextual() ? e.getValue().asText() : e.getValue().path("command").asText());
                } else {
                    collect(e.getValue(), out);
                }
            }
        } else if (n.isArray()) {
            n.forEach(c -> collect(c, out));
        }
    }

    @Test
    void everyMlopsCommandTheJobsRunExists() throws Exception {
        Pattern mlops = Pattern.compile("\\./mlops((?:\\s+--?[A-Za-z][\\w.-]*(?:=\\S+)?)*)\\s+([a-z]+)(?:\\s+(\\S+))?");
        Set<String> stageNames = new HashSet<>();
        config.get("jobs").forEach(j -> j.get("steps").forEach(s -> {
            if (s.isObject() && s.has("stage")) {
                stageNames.add(s.get("stage").get("name").asText());
            }
        }));
        Set<String> used = new HashSet<>();
        for (String cmd : runCommands()) {
            Matcher m = mlops.matcher(cmd);
            while (m.find()) {
                String sub = m.group(2);
                assertTrue(help(sub).contains("Usage: mlops " + sub), "mlops has no command '" + sub + "'");
                if ("stage".equals(sub)) {
                    List<String> stages = m.group(3).contains("<<") ? List.copyOf(stageNames) : List.of(m.group(3));
                    for (String st : stages) {
                        assertTrue(help("stage").contains("  " + st + " "), "mlops stage has no stage '" + st + "'");
                    }
                }
                used.add(sub);
            }
        }
        assertEquals(Set.of("stage", "notify"), used, "the commands the jobs run");
        assertTrue(stageNames.containsAll(Set.of("build", "train", "test", "package", "deploy", "verify", "retrain")),
                stageNames.toString());
    }

    private static String help(String sub) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        dev.camelmlops.cli.MlopsCli.execute(Path.of("").toAbsolutePath(), Map.of(),
                new PrintStream(buf, true, StandardCharsets.UTF_8), sub, "--help");
        return buf.toString(StandardCharsets.UTF_8);
    }

    @Test
    void noSecretIsPrinted() {
        for (String cmd : runCommands()) {
            assertTrue(!cmd.matches("(?s).*\\bset\\s+-[a-z]*x.*"), "no shell tracing: " + cmd);
            assertTrue(!cmd.matches("(?s).*\\bcat\\s+\\.env.*"), ".env is never printed: " + cmd);
            for (String line : cmd.split("\n")) {
                boolean prints = line.matches(".*\\b(echo|printf)\\b.*");
                boolean secret = SECRETS.stream().anyMatch(line::contains) || line.contains("${!name}");
                if (prints && secret) {
                    assertTrue(line.matches(".*>>?\\s*\\S+.*") || line.contains("| base64 -d >"),
                            "a line that prints a secret must write it to a file: " + line);
                }
            }
        }
    }
}
