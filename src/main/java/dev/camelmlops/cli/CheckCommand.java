package dev.camelmlops.cli;

import dev.camelmlops.settings.PipelineSettings;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

/** {@code mlops check} (alias {@code doctor}): the configuration and every peer, one line each, nothing changed. */
@Command(name = "check", aliases = "doctor", mixinStandardHelpOptions = true,
        description = {"Validate the configuration and reach every configured peer, changing nothing.",
                "Checks the data files (found, readable, IDX headers and sizes valid), the deploy "
                        + "target (for SFTP: connect, host key, log in; in staging and prod a probe file is "
                        + "written through the upload endpoint and removed), the serving REST URL (GET "
                        + "/v1/models/NAME), the health port, and the webhook if configured (a TCP connect, "
                        + "no message is sent). One line per check.",
                "Exit code 0 all OK, 1 a check failed, 2 the configuration is invalid."})
final class CheckCommand implements Callable<Integer> {
    @ParentCommand
    MlopsCli parent;

    @Override
    public Integer call() {
        Properties props = parent.configuration();
        PipelineSettings settings = parent.settings(props);
        parent.out().println(new Preflight.Check("configuration", true, "valid, no unknown keys").line());
        List<Preflight.Check> checks = Preflight.all(settings, MlopsCli.healthPort(props));
        boolean ok = true;
        for (Preflight.Check c : checks) {
            parent.out().println(c.line());
            ok &= c.ok();
        }
        parent.out().println(ok ? "All checks passed." : "Some checks FAILED (see above).");
        return ok ? ExitCodes.OK : ExitCodes.FAILED;
    }
}
