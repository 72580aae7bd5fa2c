package dev.camelmlops.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.camelmlops.testing.Cli;
import dev.camelmlops.testing.TestDatabase;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The one-shot commands in cluster mode, on a real PostgreSQL: run, history, check, and a database that refuses. */
class ClusterCommandsTest {
    @TempDir
    Path tmp;

    private static String[] with(List<String> options, String... args) {
        List<String> all = new ArrayList<>(options);
        all.addAll(List.of(args));
        return all.toArray(String[]::new);
    }

    @Test
    void aRunIsRecordedInTheDatabaseAndHistoryShowsItWithItsInstance() {
        try (TestDatabase db = TestDatabase.create()) {
            Cli cli = new Cli(tmp);
            assertEquals(0, cli.run(with(db.options(), "-Dcluster.instance-id=ci-node", "run")), cli.output());
            assertEquals(0, cli.run(with(db.options(), "history")), cli.output());
            String line = cli.output().lines().filter(l -> l.contains(" pipeline ")).findFirst().orElseThrow(
                    () -> new AssertionError(cli.output()));
            assertTrue(line.contains("succeeded") && line.contains("ci-node"), line);
            assertTrue(cli.output().contains("INSTANCE"), cli.output());

            assertEquals(0, cli.run(with(db.options(), "check")), cli.output());
            String check = cli.output().lines().filter(l -> l.matches("OK +database .*")).findFirst()
                    .orElseThrow(() -> new AssertionError(cli.output()));
            assertTrue(check.contains("tables present"), check);
        }
    }

    @Test
    void aDatabaseThatRefusesTheCredentialsStopsTheCommandBeforeAnythingRunsAndNeverShowsThePassword() {
        try (TestDatabase db = TestDatabase.create()) {
            Cli cli = new Cli(tmp);
            String secret = "not-the-password-42";
            List<String> wrong = List.of("-Ddb.url=" + db.url(), "-Ddb.username=" + db.user(), "-Ddb.password=" + secret);
            assertEquals(2, cli.run(with(wrong, "run")), cli.output());
            assertTrue(cli.output().contains("cannot connect to the database " + db.url()), cli.output());
            assertFalse(cli.output().contains(secret), "the password is never shown:\n" + cli.output());
            assertFalse(cli.output().contains("Epoch"), "nothing ran");

            assertEquals(1, cli.run(with(wrong, "check")), cli.output());
            assertTrue(cli.output().lines().anyMatch(l -> l.matches("FAIL +database .*")), cli.output());
            assertFalse(cli.output().contains(secret), cli.output());
        }
    }

    @Test
    void aUrlThatIsNotPostgresqlIsAConfigurationError() {
        Cli cli = new Cli(tmp);
        assertEquals(2, cli.run("-Ddb.url=jdbc:mysql://db/mlops", "run"), cli.output());
        assertTrue(cli.output().contains("db.url") && cli.output().contains("PostgreSQL JDBC URL"), cli.output());
    }
}
