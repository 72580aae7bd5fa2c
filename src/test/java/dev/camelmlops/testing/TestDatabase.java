package dev.camelmlops.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.UUID;

/**
 * A fresh PostgreSQL database for one test, on the server named by PGTEST_URL (a database
 * to connect to first, e.g. jdbc:postgresql://127.0.0.1:5432/postgres), PGTEST_USER and
 * PGTEST_PASSWORD; the role must be allowed to create databases. `.ci/run` starts
 * PostgreSQL and sets them; elsewhere a test that needs one is skipped with that reason.
 */
public final class TestDatabase implements AutoCloseable {
    private static final String URL = System.getenv("PGTEST_URL");
    private static final String USER = System.getenv("PGTEST_USER");
    private static final String PASSWORD = System.getenv("PGTEST_PASSWORD");
    private final String name;
    private final String url;

    private TestDatabase(String name, String url) {
        this.name = name;
        this.url = url;
    }

    /** A new empty database; skips the test when no PostgreSQL is configured. */
    public static TestDatabase create() {
        assumeTrue(URL != null && USER != null, "no PostgreSQL for tests: set PGTEST_URL, PGTEST_USER"
                + " and PGTEST_PASSWORD (.ci/run does)");
        String name = "mlops_it_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
        try (Connection c = DriverManager.getConnection(URL, USER, PASSWORD); Statement st = c.createStatement()) {
            st.execute("CREATE DATABASE " + name);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot create a test database on " + URL + ": " + e.getMessage(), e);
        }
        return new TestDatabase(name, URL.replaceFirst("/[^/?]*(\\?.*)?$", "/" + name));
    }

    public String url() {
        return url;
    }

    public String user() {
        return USER;
    }

    public String password() {
        return PASSWORD;
    }

    /** The -D options that point mlops at this database. */
    public List<String> options() {
        return List.of("-Ddb.url=" + url, "-Ddb.username=" + USER, "-Ddb.password=" + PASSWORD);
    }

    public Connection connect() throws SQLException {
        return DriverManager.getConnection(url, USER, PASSWORD);
    }

    @Override
    public void close() {
        try (Connection c = DriverManager.getConnection(URL, USER, PASSWORD); Statement st = c.createStatement()) {
            st.execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
        } catch (SQLException e) {
            System.err.println("cannot drop test database " + name + ": " + e.getMessage());
        }
    }
}
