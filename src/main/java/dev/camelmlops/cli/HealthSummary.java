package dev.camelmlops.cli;

import dev.camelmlops.data.BatchStore;
import dev.camelmlops.registry.RunLedger;
import dev.camelmlops.serving.ServingClient;
import dev.camelmlops.stage.VersionLabels;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * What {@code GET /health} of `mlops watch` answers by default, for a person or a dashboard: the
 * overall status and why (from the same health checks as the detail, so both agree), the last run
 * in the ledger, the version the serving host serves with its stable / canary labels, and the
 * batches waiting for a retrain. A part that cannot be read says so in place; it never hides the
 * status.
 */
final class HealthSummary {
    private static final Duration SERVING_TIMEOUT = Duration.ofSeconds(3);
    private final RunLedger ledger;
    private final BatchStore batches;
    private final String instance;
    private final String modelName;
    private final Optional<String> servingUrl;
    private final HttpClient http;

    /**
     * @param servingUrl the serving REST API to ask which version it serves (the embedded server's
     *                   address, or serving.url); empty when there is none
     */
    HealthSummary(RunLedger ledger, BatchStore batches, String instance, String modelName, Optional<String> servingUrl) {
        this.ledger = ledger;
        this.batches = batches;
        this.instance = instance;
        this.modelName = modelName;
        this.servingUrl = servingUrl;
        this.http = HttpClient.newBuilder().connectTimeout(SERVING_TIMEOUT).build();
    }

    /** The summary of {@code detail} (the body of {@link HealthEndpoint#report}) and of the ledger, batches, server. */
    Map<String, Object> summarize(Map<String, Object> detail) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("status", detail.get("status"));
        List<String> down = new ArrayList<>();
        int up = 0;
        Map<?, ?> lastRunCheck = Map.of();
        for (Object o : (List<?>) detail.get("checks")) {
            Map<?, ?> c = (Map<?, ?>) o;
            if ("DOWN".equals(c.get("state"))) {
                down.add(c.get("id") + ": " + (c.get("message") != null ? c.get("message") : why((Map<?, ?>) c.get("details"))));
            } else {
                up++;
            }
            if ("mlops/last-run".equals(c.get("id"))) {
                lastRunCheck = (Map<?, ?>) c.get("details");
            }
        }
        s.put("reason", down.isEmpty() ? "all " + up + " health checks are UP" : String.join("; ", down));
        s.put("instance", instance);
        s.put("lastRun", lastRun());
        s.put("served", served());
        s.put("pendingBatches", pendingBatches());
        Object on = lastRunCheck.get("retrain.running-on");
        s.put("retrainRunningOn", on == null ? "unknown" : on);
        s.put("detail", "/health?detail=true");
        return s;
    }

    /** Why a check without a message is DOWN: a route's state, else its details. */
    private static String why(Map<?, ?> details) {
        if (details == null || details.isEmpty()) {
            return "DOWN";
        }
        Object status = details.get("route.status");
        return status != null ? "route " + details.get("route.id") + " is " + status : "DOWN " + details;
    }

    /** The newest run in the ledger, whatever its outcome (running, abandoned included). */
    private Map<String, Object> lastRun() {
        Map<String, Object> out = new LinkedHashMap<>();
        List<Map<String, Object>> runs;
        try {
            runs = ledger.runs();
        } catch (RuntimeException e) {
            out.put("error", "cannot read the run ledger (" + ledger.describe() + "): " + e.getMessage());
            return out;
        }
        if (runs.isEmpty()) {
            out.put("outcome", "none");
            out.put("reason", "no run in the ledger yet");
            return out;
        }
        Map<String, Object> r = runs.get(runs.size() - 1);
        for (String k : List.of("id", "outcome", "route", "trigger", "started", "ended", "seconds", "version",
                "reason")) {
            if (r.get(k) != null) {
                out.put(k, r.get(k));
            }
        }
        if (r.get("metrics") instanceof Map<?, ?> m && m.get("accuracy") != null) {
            out.put("accuracy", m.get("accuracy"));
        }
        return out;
    }

    /** The version the serving host serves (what a request without a version gets) and the labels it knows. */
    private Map<String, Object> served() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("model", modelName);
        if (servingUrl.isEmpty()) {
            out.put("error", "no serving host to ask (serving.url is not set)");
            return out;
        }
        out.put("url", withoutUserInfo(servingUrl.get()));
        ServingClient client = new ServingClient(servingUrl.get(), modelName, this::call);
        try {
            OptionalLong v = client.servedVersion();
            out.put("version", v.isPresent() ? v.getAsLong() : null);
            if (v.isEmpty()) {
                out.put("error", "no version of " + modelName + " is AVAILABLE");
            }
            Map<String, Object> labels = new LinkedHashMap<>();
            for (String label : List.of(VersionLabels.STABLE, VersionLabels.CANARY)) {
                client.labelVersion(label).ifPresent(l -> labels.put(label, l));
            }
            if (!labels.isEmpty()) {
                out.put("labels", labels);
            }
        } catch (RuntimeException e) {
            out.put("error", e.getMessage());
        }
        return out;
    }

    private Object pendingBatches() {
        try {
            return batches.pendingCount();
        } catch (RuntimeException e) {
            return "unknown: cannot count them (" + batches.describe() + "): " + e.getMessage();
        }
    }

    private ServingClient.Response call(String method, String url, String body) {
        HttpRequest request = HttpRequest.newBuilder(URI.create(url)).timeout(SERVING_TIMEOUT)
                .method(method, HttpRequest.BodyPublishers.noBody()).build();
        try {
            HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
            return new ServingClient.Response(r.statusCode(), r.body());
        } catch (java.io.IOException e) {
            throw new IllegalStateException("serving host " + withoutUserInfo(url) + " does not answer: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while asking " + withoutUserInfo(url), e);
        }
    }

    /** A URL as it may be shown: no user or password in it. */
    static String withoutUserInfo(String url) {
        try {
            URI u = URI.create(url);
            return u.getUserInfo() == null ? url
                    : new URI(u.getScheme(), null, u.getHost(), u.getPort(), u.getPath(), u.getQuery(), null).toString();
        } catch (IllegalArgumentException | java.net.URISyntaxException e) {
            return "(serving.url)";
        }
    }
}
