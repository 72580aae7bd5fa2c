package dev.camelmlops.run;

import dev.camelmlops.camel.CamelHttpTransport;
import dev.camelmlops.settings.PipelineSettings;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.camelmlops.serving.ServingClient;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Run notifications for notify.webhook-url (Slack-compatible {@code text}, plus structured
 * fields): {@link #message} says what to send after a run (or nothing), {@link #post} makes one
 * delivery attempt through camel-http. The route {@code notify} calls it and retries with its
 * redelivery policy (notify.attempts, notify.backoff-ms doubling); a message that cannot be
 * delivered is logged and dropped, it never fails a run.
 */
public final class Notifier {
    private static final Logger LOG = LoggerFactory.getLogger(Notifier.class);
    private static final ObjectMapper MAPPER = new ObjectMapper();
    /** Header set by the route: true once the webhook has answered 2xx. */
    public static final String DELIVERED = "mlopsNotifyDelivered";
    private final PipelineSettings.Notify settings;

    public Notifier(PipelineSettings.Notify settings) {
        this.settings = settings;
    }

    public boolean enabled() {
        return settings.webhookUrl().isPresent();
    }

    /**
     * After a run: the message about it, or null when there is none to send. A failure always
     * (when a webhook is configured), a success if notify.on-success. A run abandoned because the
     * service is stopping is neither (and a shutdown should not wait for a webhook): it is in the
     * ledger and is retried at the next start.
     */
    public Map<String, Object> message(Map<String, Object> record) {
        boolean ok = RunRecorder.SUCCEEDED.equals(record.get("outcome"));
        if (!enabled() || (ok && !settings.onSuccess()) || RunRecorder.ABANDONED.equals(record.get("outcome"))) {
            return null;
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
        message.put("instance", record.get("instance"));
        return message;
    }

    /**
     * One attempt to post {@code message}; throws {@link NotDeliveredException} unless the webhook
     * answers 2xx (the route's redelivery policy retries). The URL is never logged.
     */
    public void post(Exchange exchange) {
        @SuppressWarnings("unchecked")
        Map<String, Object> message = exchange.getIn().getBody(Map.class);
        if (!enabled()) {
            throw new NotDeliveredException("no webhook configured (notify.webhook-url)");
        }
        String body;
        try {
            body = MAPPER.writeValueAsString(message);
        } catch (Exception e) {
            throw new NotDeliveredException("cannot encode the message: " + e);
        }
        try (CamelHttpTransport http = new CamelHttpTransport(exchange.getContext(), settings.timeoutMillis())) {
            ServingClient.Response r;
            try {
                r = http.call("POST", settings.webhookUrl().get(), body);
            } catch (RuntimeException e) {
                throw new NotDeliveredException(withoutUrl(e.getMessage()));
            }
            if (r.status() < 200 || r.status() >= 300) {
                throw new NotDeliveredException("HTTP " + r.status());
            }
        }
        exchange.getIn().setHeader(DELIVERED, true);
        LOG.info("notify: delivered to the webhook");
    }

    private String withoutUrl(String message) {
        String m = message == null ? "failed" : message;
        return settings.webhookUrl().map(u -> m.replace(u, "<notify.webhook-url>")).orElse(m);
    }

    /** The webhook did not take the message (this attempt). */
    public static final class NotDeliveredException extends RuntimeException {
        public NotDeliveredException(String message) {
            super(message);
        }
    }
}
