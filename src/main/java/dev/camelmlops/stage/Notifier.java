package dev.camelmlops.stage;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.camelmlops.serving.ServingClient;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.camel.CamelContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Posts a JSON message about a run to notify.webhook-url (Slack-compatible {@code text}, plus
 * structured fields) through camel-http, retrying with exponential backoff. Never fails the
 * pipeline: a message that cannot be delivered is logged and dropped.
 */
public final class Notifier {
    private static final Logger LOG = LoggerFactory.getLogger(Notifier.class);
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private final PipelineSettings.Notify settings;

    public Notifier(PipelineSettings.Notify settings) {
        this.settings = settings;
    }

    public boolean enabled() {
        return settings.webhookUrl().isPresent();
    }

    /**
     * After a run: a failure always (when configured), a success if notify.on-success. A run
     * abandoned because the service is stopping is neither (and a shutdown should not wait for
     * a webhook): it is in the ledger and is retried at the next start.
     */
    public void runFinished(CamelContext context, Map<String, Object> record) {
        boolean ok = RunExecutor.SUCCEEDED.equals(record.get("outcome"));
        if (!enabled() || (ok && !settings.onSuccess()) || RunExecutor.ABANDONED.equals(record.get("outcome"))) {
            return;
        }
        Map<String, Object> message = new LinkedHashMap<>();
        Object accuracy = record.get("metrics") instanceof Map<?, ?> m ? m.get("accuracy") : null;
        Object version = record.containsKey("version") ? record.get("version") : record.get("packagedVersion");
        message.put("text", (ok ? ":white_check_mark: camel-mlops " : ":x: camel-mlops ") + record.get("route") + " run "
                + record.get("id") + (ok ? " succeeded" + (version == null ? "" : ", version " + version + " served")
                : " failed at stage " + record.get("failedStage") + ": " + record.get("reason")));
        message.put("runId", record.get("id"));
        message.put("trigger", record.get("trigger"));
        message.put("route", record.get("route"));
        message.put("outcome", record.get("outcome"));
        message.put("stage", record.get("failedStage"));
        message.put("reason", record.get("reason"));
        message.put("version", version);
        message.put("accuracy", accuracy);
        send(context, message);
    }

    /** Posts {@code message}; true when the webhook answered 2xx (after retries). */
    public boolean send(CamelContext context, Map<String, Object> message) {
        if (!enabled()) {
            return false;
        }
        String url = settings.webhookUrl().get();
        String body;
        try {
            body = MAPPER.writeValueAsString(message);
        } catch (Exception e) {
            LOG.warn("notify: cannot encode the message: {}", e.toString());
            return false;
        }
        long backoff = settings.backoffMillis();
        try (CamelHttpTransport http = new CamelHttpTransport(context, settings.timeoutMillis())) {
            for (int attempt = 1; attempt <= settings.attempts(); attempt++) {
                String problem;
                try {
                    ServingClient.Response r = http.call("POST", url, body);
                    if (r.status() >= 200 && r.status() < 300) {
                        LOG.info("notify: delivered to the webhook (attempt {})", attempt);
                        return true;
                    }
                    problem = "HTTP " + r.status();
                } catch (RuntimeException e) {
                    problem = e.getMessage();
                }
                if (attempt == settings.attempts()) {
                    LOG.warn("notify: not delivered after {} attempts (last: {}); the run's outcome is unchanged",
                            attempt, problem);
                    return false;
                }
                LOG.info("notify: attempt {} failed ({}), retrying in {} ms", attempt, problem, backoff);
                try {
                    Thread.sleep(backoff);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
                backoff *= 2;
            }
        } catch (RuntimeException e) {
            LOG.warn("notify: failed: {}", e.toString());
        }
        return false;
    }
}
