package dev.camelmlops.cli;

import dev.camelmlops.run.Notifier;
import dev.camelmlops.settings.PipelineSettings;
import java.net.InetAddress;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code mlops notify}: a test message, or a failure report from outside a run (CircleCI on_fail). */
@Command(name = "notify", mixinStandardHelpOptions = true,
        description = {"Send a message to notify.webhook-url (NOTIFY_WEBHOOK_URL).",
                "Through the notify route, with its retries (notify.attempts, notify.backoff-ms "
                        + "doubling). Exit code 0 when delivered, 1 when not, 2 when no webhook is "
                        + "configured."})
final class NotifyCommand implements Callable<Integer> {
    @ParentCommand
    MlopsCli parent;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Kind kind;

    static final class Kind {
        @Option(names = "--test", required = true, description = "Send a test message.")
        boolean test;

        @Option(names = "--failed", required = true, description = "Report a failure (e.g. a CI job).")
        boolean failed;
    }

    @Option(names = "--stage", paramLabel = "NAME", description = "The failed stage or job.")
    String stage;

    @Option(names = "--message", paramLabel = "TEXT", description = "What happened.")
    String message;

    @Override
    public Integer call() throws Exception {
        PipelineSettings settings = parent.settings(parent.configuration());
        Notifier notifier = new Notifier(settings.notifications());
        if (!notifier.enabled()) {
            parent.out().println("No webhook configured: set notify.webhook-url (NOTIFY_WEBHOOK_URL).");
            return ExitCodes.USAGE;
        }
        Map<String, Object> m = new LinkedHashMap<>();
        if (kind.test) {
            m.put("text", "camel-mlops test notification from " + InetAddress.getLocalHost().getHostName());
            m.put("test", true);
        } else {
            m.put("text", ":x: camel-mlops: " + (stage == null ? "a job" : stage) + " failed"
                    + (message == null ? "" : ": " + message));
            m.put("outcome", "failed");
            m.put("stage", stage);
            m.put("reason", message);
        }
        boolean ok = parent.notify(m);
        parent.out().println(ok ? "Delivered." : "Not delivered (see the log).");
        return ok ? ExitCodes.OK : ExitCodes.FAILED;
    }
}
