package dev.camelmlops.cluster;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.camelmlops.settings.PipelineSettings;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;

/**
 * The cluster's PostgreSQL: a connection pool whose sessions carry the instance id as their
 * application_name (so any instance can see which instances are alive and which one holds the
 * retrain lock), and the schema, created on first start by whichever instance gets there first.
 */
public final class Database {
    /** Advisory lock serialising schema creation between instances starting together. */
    private static final long SCHEMA_LOCK = 7_000_002L;
    /** The project's tables (db/cluster-schema.sql); Quartz's come from Quartz's own script. */
    static final String SCHEMA = "/db/cluster-schema.sql";
    static final String QUARTZ_SCHEMA = "/org/quartz/impl/jdbcjobstore/tables_postgres.sql";

    private Database() {
    }

    /** A pool on db.url; {@code applicationName} names this process's sessions. */
    public static HikariDataSource pool(PipelineSettings.Cluster cluster, String applicationName, int size) {
        HikariConfig c = new HikariConfig();
        c.setJdbcUrl(cluster.dbUrl().orElseThrow());
        c.setUsername(cluster.dbUsername());
        cluster.dbPassword().ifPresent(c::setPassword);
        c.setMaximumPoolSize(size);
        c.setMinimumIdle(1);
        c.setPoolName("mlops-db");
        c.setConnectionTimeout(10_000);
        c.setInitializationFailTimeout(10_000);
        c.addDataSourceProperty("ApplicationName", applicationName);
        c.addDataSourceProperty("connectTimeout", "10");
        try {
            return new HikariDataSource(c);
        } catch (RuntimeException e) {
            throw new IllegalStateException("cannot connect to the database " + cluster.dbUrl().get() + " as "
                    + cluster.dbUsername() + " (db.url, db.username, db.password): " + rootMessage(e), e);
        }
    }

    /**
     * Creates what is missing of the schema (the project's tables, Quartz's tables), in one
     * transaction under an advisory lock: two instances starting at once do not collide, and a
     * schema is either all there or not at all.
     */
    public static void migrate(DataSource ds) {
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.execute("SELECT pg_advisory_xact_lock(" + SCHEMA_LOCK + ")");
                for (String sql : statements(resource(SCHEMA))) {
                    st.execute(sql);
                }
                boolean quartz;
                try (var rs = st.executeQuery("SELECT to_regclass('qrtz_locks') IS NOT NULL")) {
                    rs.next();
                    quartz = rs.getBoolean(1);
                }
                if (!quartz) {
                    for (String sql : statements(resource(QUARTZ_SCHEMA))) {
                        if (!sql.toUpperCase(java.util.Locale.ROOT).startsWith("DROP ")) {
                            st.execute(sql);
                        }
                    }
                }
            }
            c.commit();
        } catch (SQLException e) {
            throw new IllegalStateException("cannot create the cluster's tables: " + e.getMessage(), e);
        }
    }

    private static String resource(String name) {
        try (InputStream in = Database.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + name, e);
        }
    }

    /** The statements of a script: ';'-separated, '--' comments dropped (no ';' inside strings). */
    static List<String> statements(String script) {
        StringBuilder b = new StringBuilder();
        for (String line : script.split("\n")) {
            int comment = line.indexOf("--");
            b.append(comment >= 0 ? line.substring(0, comment) : line).append('\n');
        }
        List<String> out = new ArrayList<>();
        for (String s : b.toString().split(";")) {
            if (!s.isBlank()) {
                out.add(s.trim());
            }
        }
        return out;
    }

    static String rootMessage(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
        }
        return c.getMessage() == null ? c.toString() : c.getMessage();
    }
}
