package dev.camelmlops.cluster;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.camelmlops.registry.RunLedger;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.sql.DataSource;

/**
 * The run ledger of a cluster: table mlops_runs, one row per run (its "started" record merged
 * with its "finished" one), written by every instance, so `mlops history` shows the whole
 * cluster's runs. A run without a "finished" record is running while its instance has a session
 * in the database (pg_stat_activity's application_name), else abandoned: the instance died.
 */
public final class PgRunLedger implements RunLedger {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private final DataSource db;
    private final String where;

    public PgRunLedger(DataSource db, String where) {
        this.db = db;
        this.where = where;
    }

    @Override
    public void append(Map<String, Object> record) {
        Object id = record.get("id");
        if (id == null) {
            throw new IllegalArgumentException("a run record needs an id");
        }
        boolean finished = "finished".equals(record.get("event"));
        String json;
        try {
            json = MAPPER.writeValueAsString(record);
        } catch (Exception e) {
            throw new IllegalArgumentException("run record is not serialisable: " + e.getMessage(), e);
        }
        String sql = "INSERT INTO mlops_runs (id, instance, started, finished, outcome, record)"
                + " VALUES (?, ?, now(), " + (finished ? "now()" : "NULL") + ", ?, ?::jsonb)"
                + " ON CONFLICT (id) DO UPDATE SET record = mlops_runs.record || EXCLUDED.record"
                + (finished ? ", finished = EXCLUDED.finished, outcome = EXCLUDED.outcome" : "");
        try (Connection c = db.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, id.toString());
            ps.setString(2, String.valueOf(record.getOrDefault("instance", "unknown")));
            ps.setString(3, finished ? String.valueOf(record.get("outcome")) : null);
            ps.setString(4, json);
            ps.executeUpdate();
        } catch (SQLException e) {
            throw new IllegalStateException("cannot write to the run ledger (" + where + "): " + e.getMessage(), e);
        }
    }

    @Override
    public List<Map<String, Object>> runs() {
        try (Connection c = db.getConnection()) {
            Set<String> alive = new HashSet<>();
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT DISTINCT application_name FROM pg_stat_activity WHERE datname = current_database()");
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    alive.add(rs.getString(1));
                }
            }
            List<Map<String, Object>> runs = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT record::text, finished IS NOT NULL, instance FROM mlops_runs ORDER BY seq");
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Map<String, Object> r = MAPPER.readValue(rs.getString(1),
                            new TypeReference<LinkedHashMap<String, Object>>() { });
                    r.remove("event");
                    if (!rs.getBoolean(2)) {
                        if (alive.contains(rs.getString(3))) {
                            r.put("outcome", RUNNING);
                        } else {
                            r.put("outcome", ABANDONED);
                            r.put("reason", "no finished record: instance " + rs.getString(3)
                                    + " stopped during the run (killed or crashed)");
                        }
                    }
                    runs.add(Collections.unmodifiableMap(r));
                }
            }
            return Collections.unmodifiableList(runs);
        } catch (SQLException | java.io.IOException e) {
            throw new IllegalStateException("cannot read the run ledger (" + where + "): " + e.getMessage(), e);
        }
    }

    @Override
    public String describe() {
        return where;
    }
}
