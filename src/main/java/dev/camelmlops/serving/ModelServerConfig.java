package dev.camelmlops.serving;

import com.google.protobuf.AnyProto;
import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.EnumDescriptorProto;
import com.google.protobuf.DescriptorProtos.EnumValueDescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.MessageOptions;
import com.google.protobuf.DescriptorProtos.OneofDescriptorProto;
import com.google.protobuf.Descriptors;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.Message;
import com.google.protobuf.TextFormat;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * TF Serving's model server config, the file given to {@code tensorflow_model_server
 * --model_config_file}: a {@code ModelServerConfig} protocol buffer in text format. Read and
 * written with protobuf's own text format parser and printer over the messages of TF Serving's
 * {@code model_server_config.proto}, {@code file_system_storage_path_source.proto} and
 * {@code logging_config.proto} (same names, field numbers and types), so what this class writes
 * is what TF Serving reads, and a file TF Serving accepts parses here: comments, either quote,
 * {@code <>} for {@code {}}, {@code [1, 2]} lists. Checked as TF Serving's ServerCore checks a
 * model list: names unique and not empty, base paths absolute, platform "tensorflow" (the only
 * one this server has), versions positive, labels on versions of the model.
 *
 * <p>Immutable. {@link #with(Model)} gives a copy with one model replaced or added; every other
 * model, and the fields of this one that are not modelled here (its logging config), stay as
 * they were.
 */
public final class ModelServerConfig {
    /** TF Serving's only platform for SavedModels (its default, when a config leaves it out). */
    public static final String TENSORFLOW = "tensorflow";

    private static final Descriptor SERVER_CONFIG;
    private static final Descriptor MODEL_CONFIG_LIST;
    private static final Descriptor MODEL_CONFIG;
    private static final Descriptor POLICY;
    private static final Descriptor LABEL_ENTRY;

    /**
     * Protobuf's printer logs "Invalid key for map field" at INFO (java.util.logging) when it
     * cannot sort the entries of a map of a dynamic message; this class writes them sorted itself.
     * Held here so that the level, set on this logger object, is not lost with it.
     */
    private static final java.util.logging.Logger PRINTER_LOG = java.util.logging.Logger.getLogger(TextFormat.class.getName());

    static {
        PRINTER_LOG.setLevel(java.util.logging.Level.WARNING);
        try {
            Descriptors.FileDescriptor file = Descriptors.FileDescriptor.buildFrom(schema(),
                    new Descriptors.FileDescriptor[] {AnyProto.getDescriptor().getFile()});
            SERVER_CONFIG = file.findMessageTypeByName("ModelServerConfig");
            MODEL_CONFIG_LIST = file.findMessageTypeByName("ModelConfigList");
            MODEL_CONFIG = file.findMessageTypeByName("ModelConfig");
            POLICY = file.findMessageTypeByName("FileSystemStoragePathSourceConfig")
                    .findNestedTypeByName("ServableVersionPolicy");
            LABEL_ENTRY = MODEL_CONFIG.findNestedTypeByName("VersionLabelsEntry");
        } catch (Descriptors.DescriptorValidationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Which versions of a model are served, TF Serving's {@code ServableVersionPolicy}. */
    public sealed interface VersionPolicy {
        /** The {@code numVersions} highest versions (TF Serving's default: 1). */
        record Latest(int numVersions) implements VersionPolicy {
            public Latest {
                if (numVersions < 1) {
                    numVersions = 1; // TF Serving: max(num_versions, 1)
                }
            }
        }

        /** Every version in the base path. */
        record All() implements VersionPolicy {
        }

        /** Exactly these versions (those that exist). */
        record Specific(SortedSet<Long> versions) implements VersionPolicy {
            public Specific {
                versions = Collections.unmodifiableSortedSet(new TreeSet<>(versions));
            }
        }

        /** The versions to serve out of those present (ascending). */
        default SortedSet<Long> select(SortedSet<Long> present) {
            if (this instanceof All) {
                return present;
            }
            if (this instanceof Specific s) {
                TreeSet<Long> chosen = new TreeSet<>(s.versions());
                chosen.retainAll(present);
                return chosen;
            }
            TreeSet<Long> chosen = new TreeSet<>();
            for (Long v : new TreeSet<>(present).descendingSet()) {
                if (chosen.size() == ((Latest) this).numVersions()) {
                    break;
                }
                chosen.add(v);
            }
            return chosen;
        }
    }

    /**
     * One {@code config} entry: the model's name in URLs, its base path (absolute, as the serving
     * host sees it), platform, version policy and version labels (label to version).
     */
    public record Model(String name, String basePath, String platform, VersionPolicy policy, Map<String, Long> labels) {
        public Model {
            labels = Collections.unmodifiableMap(new TreeMap<>(labels));
        }

        /** The version a label names, if any. */
        public Optional<Long> label(String label) {
            return Optional.ofNullable(labels.get(label));
        }
    }

    private final DynamicMessage message;
    private final List<Model> models;

    private ModelServerConfig(DynamicMessage message) {
        this.message = message;
        this.models = read(message);
    }

    /** A config with no model. */
    public static ModelServerConfig empty() {
        return new ModelServerConfig(DynamicMessage.newBuilder(SERVER_CONFIG)
                .setField(SERVER_CONFIG.findFieldByName("model_config_list"),
                        DynamicMessage.getDefaultInstance(MODEL_CONFIG_LIST))
                .build());
    }

    /**
     * Parses and checks a config in text format.
     *
     * @param source where the text comes from, for messages
     * @throws InvalidModelConfigException naming the source, and the line and column of a syntax error
     */
    public static ModelServerConfig parse(String text, String source) {
        DynamicMessage.Builder b = DynamicMessage.newBuilder(SERVER_CONFIG);
        try {
            TextFormat.Parser.newBuilder().build().merge(text, b);
        } catch (TextFormat.ParseException e) {
            // one line: protobuf lists unknown fields on lines of their own
            throw new InvalidModelConfigException(source + ": not a TF Serving ModelServerConfig in text format: "
                    + e.getMessage().replaceAll("\\s*\\n\\s*", " "));
        } catch (RuntimeException e) {
            throw new InvalidModelConfigException(source + ": cannot be parsed: " + e);
        }
        DynamicMessage m = b.build();
        if (m.hasField(SERVER_CONFIG.findFieldByName("custom_model_config"))) {
            throw new InvalidModelConfigException(source + ": custom_model_config is not supported; use model_config_list");
        }
        try {
            return new ModelServerConfig(m);
        } catch (InvalidModelConfigException e) {
            throw new InvalidModelConfigException(source + ": " + e.getMessage());
        }
    }

    /** The models, in file order. */
    public List<Model> models() {
        return models;
    }

    public Optional<Model> model(String name) {
        return models.stream().filter(m -> m.name().equals(name)).findFirst();
    }

    /**
     * A copy with {@code model} in place of the entry of the same name (keeping that entry's
     * other fields), or added at the end.
     */
    public ModelServerConfig with(Model model) {
        FieldDescriptor listField = SERVER_CONFIG.findFieldByName("model_config_list");
        FieldDescriptor configField = MODEL_CONFIG_LIST.findFieldByName("config");
        DynamicMessage list = (DynamicMessage) message.getField(listField);
        DynamicMessage.Builder newList = DynamicMessage.newBuilder(MODEL_CONFIG_LIST);
        boolean replaced = false;
        for (int i = 0; i < list.getRepeatedFieldCount(configField); i++) {
            DynamicMessage c = (DynamicMessage) list.getRepeatedField(configField, i);
            if (model.name().equals(c.getField(MODEL_CONFIG.findFieldByName("name")))) {
                newList.addRepeatedField(configField, write(model, c.toBuilder()));
                replaced = true;
            } else {
                newList.addRepeatedField(configField, c);
            }
        }
        if (!replaced) {
            newList.addRepeatedField(configField, write(model, DynamicMessage.newBuilder(MODEL_CONFIG)));
        }
        return new ModelServerConfig(message.toBuilder().setField(listField, newList.build()).build());
    }

    /** The config in TF Serving's text format (protobuf's printer), after a comment line per entry of {@code header}. */
    public String text(List<String> header) {
        StringBuilder b = new StringBuilder();
        for (String line : header) {
            b.append("# ").append(line.replace('\n', ' ')).append('\n');
        }
        return b.append(TextFormat.printer().printToString(message)).toString();
    }

    public String text() {
        return text(List.of());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ModelServerConfig c && c.message.equals(message);
    }

    @Override
    public int hashCode() {
        return message.hashCode();
    }

    @Override
    public String toString() {
        return models.toString();
    }

    private static Message write(Model model, DynamicMessage.Builder b) {
        check(model);
        b.setField(MODEL_CONFIG.findFieldByName("name"), model.name());
        b.setField(MODEL_CONFIG.findFieldByName("base_path"), model.basePath());
        b.setField(MODEL_CONFIG.findFieldByName("model_platform"), model.platform());
        DynamicMessage.Builder policy = DynamicMessage.newBuilder(POLICY);
        if (model.policy() instanceof VersionPolicy.Latest l) {
            Descriptor latest = POLICY.findNestedTypeByName("Latest");
            policy.setField(POLICY.findFieldByName("latest"), DynamicMessage.newBuilder(latest)
                    .setField(latest.findFieldByName("num_versions"), l.numVersions()).build());
        } else if (model.policy() instanceof VersionPolicy.All) {
            policy.setField(POLICY.findFieldByName("all"),
                    DynamicMessage.getDefaultInstance(POLICY.findNestedTypeByName("All")));
        } else if (model.policy() instanceof VersionPolicy.Specific s) {
            Descriptor specific = POLICY.findNestedTypeByName("Specific");
            DynamicMessage.Builder sb = DynamicMessage.newBuilder(specific);
            for (Long v : s.versions()) {
                sb.addRepeatedField(specific.findFieldByName("versions"), v);
            }
            policy.setField(POLICY.findFieldByName("specific"), sb.build());
        }
        b.setField(MODEL_CONFIG.findFieldByName("model_version_policy"), policy.build());
        FieldDescriptor labels = MODEL_CONFIG.findFieldByName("version_labels");
        b.clearField(labels);
        // protobuf's own map entries, which its printer sorts by key (it cannot sort dynamic ones)
        com.google.protobuf.MapEntry<String, Long> entry = com.google.protobuf.MapEntry.newDefaultInstance(LABEL_ENTRY,
                com.google.protobuf.WireFormat.FieldType.STRING, "", com.google.protobuf.WireFormat.FieldType.INT64, 0L);
        for (Map.Entry<String, Long> e : model.labels().entrySet()) {
            b.addRepeatedField(labels, entry.toBuilder().setKey(e.getKey()).setValue(e.getValue()).build());
        }
        return b.build();
    }

    private static List<Model> read(DynamicMessage m) {
        FieldDescriptor configField = MODEL_CONFIG_LIST.findFieldByName("config");
        DynamicMessage list = (DynamicMessage) m.getField(SERVER_CONFIG.findFieldByName("model_config_list"));
        List<Model> models = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < list.getRepeatedFieldCount(configField); i++) {
            DynamicMessage c = (DynamicMessage) list.getRepeatedField(configField, i);
            String name = (String) c.getField(MODEL_CONFIG.findFieldByName("name"));
            String basePath = (String) c.getField(MODEL_CONFIG.findFieldByName("base_path"));
            String platform = (String) c.getField(MODEL_CONFIG.findFieldByName("model_platform"));
            Map<String, Long> labels = new LinkedHashMap<>();
            FieldDescriptor labelField = MODEL_CONFIG.findFieldByName("version_labels");
            for (int k = 0; k < c.getRepeatedFieldCount(labelField); k++) {
                Message e = (Message) c.getRepeatedField(labelField, k);
                // as a protobuf map: a later entry for the same key wins
                labels.put((String) e.getField(LABEL_ENTRY.findFieldByName("key")),
                        (Long) e.getField(LABEL_ENTRY.findFieldByName("value")));
            }
            Model model = new Model(name, basePath, platform.isEmpty() ? TENSORFLOW : platform,
                    policy((DynamicMessage) c.getField(MODEL_CONFIG.findFieldByName("model_version_policy"))), labels);
            check(model);
            if (!names.add(name)) {
                // TF Serving's own words (ServerCore's ValidateModelConfigList)
                throw new InvalidModelConfigException("Illegal to list model " + name + " multiple times in config list");
            }
            models.add(model);
        }
        return List.copyOf(models);
    }

    private static VersionPolicy policy(DynamicMessage p) {
        FieldDescriptor latest = POLICY.findFieldByName("latest");
        FieldDescriptor specific = POLICY.findFieldByName("specific");
        if (p.hasField(POLICY.findFieldByName("all"))) {
            return new VersionPolicy.All();
        }
        if (p.hasField(specific)) {
            DynamicMessage s = (DynamicMessage) p.getField(specific);
            FieldDescriptor versions = s.getDescriptorForType().findFieldByName("versions");
            TreeSet<Long> set = new TreeSet<>();
            for (int i = 0; i < s.getRepeatedFieldCount(versions); i++) {
                set.add((Long) s.getRepeatedField(versions, i));
            }
            return new VersionPolicy.Specific(set);
        }
        if (p.hasField(latest)) {
            DynamicMessage l = (DynamicMessage) p.getField(latest);
            // uint32 arrives as an int; above 2^31 it is negative here, and as many as there are
            int n = (Integer) l.getField(l.getDescriptorForType().findFieldByName("num_versions"));
            return new VersionPolicy.Latest(n < 0 ? Integer.MAX_VALUE : n);
        }
        return new VersionPolicy.Latest(1);
    }

    private static void check(Model m) {
        if (m.name().isEmpty()) {
            throw new InvalidModelConfigException("a model config has no name");
        }
        if (!m.name().matches("[^/:\\s]+")) {
            throw new InvalidModelConfigException("model name '" + m.name()
                    + "' cannot appear in a REST path (no '/', ':' or white space)");
        }
        if (m.basePath().isEmpty() || !(m.basePath().startsWith("/") || m.basePath().matches("[A-Za-z][A-Za-z0-9+.-]*://.*"))) {
            // TF Serving's own words (ServerCore's ValidateModelConfigList)
            throw new InvalidModelConfigException("Expected model " + m.name()
                    + " to have an absolute path or URI; got base_path()=" + m.basePath());
        }
        if (!TENSORFLOW.equals(m.platform())) {
            throw new InvalidModelConfigException("model " + m.name() + " has model_platform '" + m.platform()
                    + "'; this server serves only '" + TENSORFLOW + "' (SavedModels)");
        }
        if (m.policy() instanceof VersionPolicy.Specific s) {
            if (s.versions().isEmpty()) {
                throw new InvalidModelConfigException("model " + m.name()
                        + " has a specific version policy with no versions");
            }
            for (Long v : s.versions()) {
                if (v < 1) {
                    throw new InvalidModelConfigException("model " + m.name() + ": version " + v
                            + " in the specific policy is not a positive integer");
                }
            }
        }
        for (Map.Entry<String, Long> e : m.labels().entrySet()) {
            if (!e.getKey().matches("[A-Za-z0-9_.-]{1,64}")) {
                throw new InvalidModelConfigException("model " + m.name() + ": version label '" + e.getKey()
                        + "' must be 1 to 64 letters, digits, '_', '.' or '-' (it appears in /labels/<label>)");
            }
            if (e.getKey().matches("[0-9]+")) {
                throw new InvalidModelConfigException("model " + m.name() + ": version label '" + e.getKey()
                        + "' is a number; a label must be a name");
            }
            if (e.getValue() < 1) {
                throw new InvalidModelConfigException("model " + m.name() + ": label '" + e.getKey() + "' names version "
                        + e.getValue() + ", not a positive integer");
            }
        }
    }

    /** A config that cannot be used; the message names the file and the defect. */
    public static final class InvalidModelConfigException extends RuntimeException {
        public InvalidModelConfigException(String message) {
            super(message);
        }
    }

    // ---- the schema: TF Serving's messages, field for field ----

    private static FileDescriptorProto schema() {
        DescriptorProto latest = message("Latest", field("num_versions", 1, FieldDescriptorProto.Type.TYPE_UINT32));
        DescriptorProto all = message("All");
        DescriptorProto specific = message("Specific",
                repeated(field("versions", 1, FieldDescriptorProto.Type.TYPE_INT64)));
        DescriptorProto policy = message("ServableVersionPolicy",
                        oneof(typed("latest", 100, ".tensorflow.serving.FileSystemStoragePathSourceConfig.ServableVersionPolicy.Latest")),
                        oneof(typed("all", 101, ".tensorflow.serving.FileSystemStoragePathSourceConfig.ServableVersionPolicy.All")),
                        oneof(typed("specific", 102, ".tensorflow.serving.FileSystemStoragePathSourceConfig.ServableVersionPolicy.Specific")))
                .toBuilder().addNestedType(latest).addNestedType(all).addNestedType(specific)
                .addOneofDecl(OneofDescriptorProto.newBuilder().setName("policy_choice")).build();
        DescriptorProto storageConfig = message("FileSystemStoragePathSourceConfig").toBuilder()
                .addNestedType(policy).build();
        DescriptorProto labelEntry = message("VersionLabelsEntry",
                field("key", 1, FieldDescriptorProto.Type.TYPE_STRING),
                field("value", 2, FieldDescriptorProto.Type.TYPE_INT64))
                .toBuilder().setOptions(MessageOptions.newBuilder().setMapEntry(true)).build();
        DescriptorProto modelConfig = message("ModelConfig",
                field("name", 1, FieldDescriptorProto.Type.TYPE_STRING),
                field("base_path", 2, FieldDescriptorProto.Type.TYPE_STRING),
                field("model_type", 3, FieldDescriptorProto.Type.TYPE_ENUM).toBuilder()
                        .setTypeName(".tensorflow.serving.ModelType").build(),
                field("model_platform", 4, FieldDescriptorProto.Type.TYPE_STRING),
                typed("model_version_policy", 7,
                        ".tensorflow.serving.FileSystemStoragePathSourceConfig.ServableVersionPolicy"),
                repeated(typed("version_labels", 8, ".tensorflow.serving.ModelConfig.VersionLabelsEntry")),
                typed("logging_config", 6, ".tensorflow.serving.LoggingConfig"))
                .toBuilder().addNestedType(labelEntry).build();
        DescriptorProto list = message("ModelConfigList",
                repeated(typed("config", 1, ".tensorflow.serving.ModelConfig")));
        DescriptorProto serverConfig = message("ModelServerConfig",
                        oneof(typed("model_config_list", 1, ".tensorflow.serving.ModelConfigList")),
                        oneof(typed("custom_model_config", 2, ".google.protobuf.Any")))
                .toBuilder().addOneofDecl(OneofDescriptorProto.newBuilder().setName("config")).build();
        DescriptorProto logCollector = message("LogCollectorConfig",
                field("type", 1, FieldDescriptorProto.Type.TYPE_STRING),
                field("filename_prefix", 2, FieldDescriptorProto.Type.TYPE_STRING));
        DescriptorProto perTask = message("PerTaskSamplingConfig",
                field("dc", 1, FieldDescriptorProto.Type.TYPE_STRING),
                field("task_index", 2, FieldDescriptorProto.Type.TYPE_INT32),
                field("sampling_rate", 3, FieldDescriptorProto.Type.TYPE_DOUBLE));
        DescriptorProto sampling = message("SamplingConfig",
                field("sampling_rate", 1, FieldDescriptorProto.Type.TYPE_DOUBLE),
                repeated(typed("per_task_sampling_configs", 3, ".tensorflow.serving.PerTaskSamplingConfig")),
                field("attributes", 2, FieldDescriptorProto.Type.TYPE_INT32));
        DescriptorProto logging = message("LoggingConfig",
                typed("log_collector_config", 1, ".tensorflow.serving.LogCollectorConfig"),
                typed("sampling_config", 2, ".tensorflow.serving.SamplingConfig"),
                typed("custom_logging_config", 3, ".google.protobuf.Any"));
        EnumDescriptorProto modelType = EnumDescriptorProto.newBuilder().setName("ModelType")
                .addValue(EnumValueDescriptorProto.newBuilder().setName("MODEL_TYPE_UNSPECIFIED").setNumber(0))
                .addValue(EnumValueDescriptorProto.newBuilder().setName("TENSORFLOW").setNumber(1))
                .addValue(EnumValueDescriptorProto.newBuilder().setName("OTHER").setNumber(2))
                .build();
        return FileDescriptorProto.newBuilder()
                .setName("tensorflow_serving/config/model_server_config.proto")
                .setPackage("tensorflow.serving")
                .setSyntax("proto3")
                .addDependency("google/protobuf/any.proto")
                .addEnumType(modelType)
                .addMessageType(storageConfig)
                .addMessageType(logCollector)
                .addMessageType(perTask)
                .addMessageType(sampling)
                .addMessageType(logging)
                .addMessageType(modelConfig)
                .addMessageType(list)
                .addMessageType(serverConfig)
                .build();
    }

    private static DescriptorProto message(String name, FieldDescriptorProto... fields) {
        DescriptorProto.Builder b = DescriptorProto.newBuilder().setName(name);
        for (FieldDescriptorProto f : fields) {
            b.addField(f);
        }
        return b.build();
    }

    private static FieldDescriptorProto field(String name, int number, FieldDescriptorProto.Type type) {
        return FieldDescriptorProto.newBuilder().setName(name).setNumber(number).setType(type)
                .setLabel(FieldDescriptorProto.Label.LABEL_OPTIONAL).setJsonName(jsonName(name)).build();
    }

    private static FieldDescriptorProto typed(String name, int number, String typeName) {
        return field(name, number, FieldDescriptorProto.Type.TYPE_MESSAGE).toBuilder().setTypeName(typeName).build();
    }

    private static FieldDescriptorProto repeated(FieldDescriptorProto f) {
        return f.toBuilder().setLabel(FieldDescriptorProto.Label.LABEL_REPEATED).build();
    }

    private static FieldDescriptorProto oneof(FieldDescriptorProto f) {
        return f.toBuilder().setOneofIndex(0).build();
    }

    private static String jsonName(String name) {
        StringBuilder b = new StringBuilder();
        boolean up = false;
        for (char c : name.toCharArray()) {
            if (c == '_') {
                up = true;
            } else {
                b.append(up ? Character.toUpperCase(c) : c);
                up = false;
            }
        }
        return b.toString();
    }
}
