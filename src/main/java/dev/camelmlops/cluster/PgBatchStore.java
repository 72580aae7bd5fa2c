package dev.camelmlops.cluster;

import dev.camelmlops.data.BatchStore;
import dev.camelmlops.data.Dataset;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import javax.sql.DataSource;

/**
 * The batch store of a cluster: table mlops_batches, pixels included (gzip), so every instance
 * reads the same batches without a second shared folder, and a batch's state changes in one
 * statement: claiming every pending batch for a run is one UPDATE, so two runs never share one.
 */
public final class PgBatchStore implements BatchStore {
    private final DataSource db;
    private final String instance;

    public PgBatchStore(DataSource db, String instance) {
        this.db = db;
        this.instance = instance;
    }

    @Override
    public boolean add(String sha256, Dataset data, String source) {
        return update("INSERT INTO mlops_batches (sha256, source, received_by, images, rows, cols, channels,"
                + " pixels_gz, labels) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING", ps -> {
                    ps.setString(1, sha256);
                    ps.setString(2, source);
                    ps.setString(3, instance);
                    ps.setInt(4, data.size());
                    ps.setInt(5, data.rows());
                    ps.setInt(6, data.cols());
                    ps.setInt(7, data.channels());
                    ps.setBytes(8, gzip(data.pixels()));
                    ps.setBytes(9, data.labels());
                }) == 1;
    }

    @Override
    public boolean known(String sha256) {
        return !strings("SELECT sha256 FROM mlops_batches WHERE sha256 = ?", sha256).isEmpty();
    }

    @Override
    public int pendingCount() {
        return count("SELECT count(*) FROM mlops_batches WHERE state = 'pending'");
    }

    @Override
    public int claimedCount() {
        return count("SELECT count(*) FROM mlops_batches WHERE state = 'claimed'");
    }

    @Override
    public List<Batch> claim(String run) {
        List<Batch> out = new ArrayList<>();
        for (String sha : strings("UPDATE mlops_batches SET state = 'claimed', run_id = ?, claimed_at = now()"
                + " WHERE state = 'pending' RETURNING sha256", run)) {
            out.add(new Batch(sha.trim(), () -> read(sha)));
        }
        out.sort(java.util.Comparator.comparing(Batch::sha256));
        return out;
    }

    @Override
    public void consume(String run) {
        update("UPDATE mlops_batches SET state = 'consumed', consumed_at = now() WHERE run_id = ? AND state = 'claimed'",
                ps -> ps.setString(1, run));
    }

    @Override
    public void release(String run) {
        update("UPDATE mlops_batches SET state = 'pending', run_id = NULL, claimed_at = NULL"
                + " WHERE run_id = ? AND state = 'claimed'", ps -> ps.setString(1, run));
    }

    @Override
    public List<String> recover() {
        return new ArrayList<>(new LinkedHashSet<>(strings("UPDATE mlops_batches b SET state = 'pending', run_id = NULL,"
                + " claimed_at = NULL FROM mlops_batches old WHERE b.sha256 = old.sha256 AND b.state = 'claimed'"
                + " RETURNING old.run_id")));
    }

    @Override
    public String describe() {
        return "table mlops_batches";
    }

    private Dataset read(String sha) {
        try (Connection c = db.getConnection();
             PreparedStatement ps = c.prepareStatement(
                     "SELECT rows, cols, pixels_gz, labels, channels FROM mlops_batches WHERE sha256 = ?")) {
            ps.setString(1, sha);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new IllegalStateException("batch " + sha + " is no longer in mlops_batches");
                }
                return new Dataset(gunzip(rs.getBytes(3)), rs.getBytes(4), rs.getInt(1), rs.getInt(2), rs.getInt(5));
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read batch " + sha + ": " + e.getMessage(), e);
        }
    }

    interface Binder {
        void bind(PreparedStatement ps) throws SQLException;
    }

    private int update(String sql, Binder binder) {
        try (Connection c = db.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            binder.bind(ps);
            return ps.executeUpdate();
        } catch (SQLException e) {
            throw new IllegalStateException("batch store: " + e.getMessage(), e);
        }
    }

    private List<String> strings(String sql, String... args) {
        try (Connection c = db.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                ps.setString(i + 1, args[i]);
            }
            List<String> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
            return out;
        } catch (SQLException e) {
            throw new IllegalStateException("batch store: " + e.getMessage(), e);
        }
    }

    private int count(String sql) {
        try (Connection c = db.getConnection(); PreparedStatement ps = c.prepareStatement(sql);
             ResultSet rs = ps.executeQuery()) {
            rs.next();
            return rs.getInt(1);
        } catch (SQLException e) {
            throw new IllegalStateException("batch store: " + e.getMessage(), e);
        }
    }

    private static byte[] gzip(byte[] b) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(b.length / 4 + 64);
        try (GZIPOutputStream z = new GZIPOutputStream(out)) {
            z.write(b);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static byte[] gunzip(byte[] b) {
        try (GZIPInputStream z = new GZIPInputStream(new ByteArrayInputStream(b))) {
            return z.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
