package dev.camelmlops.camel;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.NamedNode;
import org.apache.camel.Route;
import org.apache.camel.spi.RoutePolicy;
import org.apache.camel.spi.RoutePolicyFactory;
import org.apache.camel.support.RoutePolicySupport;

/**
 * Seconds spent in each stage route, per run: a route policy on every stage route notes when an
 * exchange enters and leaves it (Camel emits no per-step events for direct calls) and adds the
 * time to the exchange property {@value #STAGE_SECONDS}; {@link #timings} gives a run's record
 * the timings and the stage it failed in.
 */
public final class StageTimer implements RoutePolicyFactory {
    /** Exchange property: route id -> seconds. */
    public static final String STAGE_SECONDS = "mlopsStageSeconds";
    /** Exchange property: stage route id -> System.nanoTime() when the exchange entered it, while inside. */
    private static final String OPEN = "mlopsStagesOpen";
    /** Exchange property: stage routes that ended with an exception -> when they began. */
    private static final String FAILED = "mlopsStagesFailed";
    /** The route groups timed: the stages, and the retrain routes that compose them (not the whole pipeline). */
    static final Set<String> GROUPS = Set.of("stage", "pipeline");

    @Override
    public RoutePolicy createRoutePolicy(CamelContext context, String routeId, NamedNode route) {
        String group = route instanceof org.apache.camel.model.RouteDefinition d ? d.getGroup() : null;
        if (group == null || !GROUPS.contains(group) || "pipeline".equals(routeId)) {
            return null;
        }
        return new RoutePolicySupport() {
            @Override
            public void onExchangeBegin(Route r, Exchange exchange) {
                open(exchange).put(routeId, System.nanoTime());
            }

            @Override
            public void onExchangeDone(Route r, Exchange exchange) {
                Long t0 = open(exchange).remove(routeId);
                if (t0 != null && exchange.getException() != null) {
                    failed(exchange).put(routeId, t0);
                }
                if (t0 != null) {
                    seconds(exchange).merge(routeId, (System.nanoTime() - t0) / 1e9, Double::sum);
                }
            }
        };
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Long> failed(Exchange exchange) {
        Map<String, Long> failed = exchange.getProperty(FAILED, Map.class);
        if (failed == null) {
            failed = new java.util.concurrent.ConcurrentHashMap<>();
            exchange.setProperty(FAILED, failed);
        }
        return failed;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Long> open(Exchange exchange) {
        Map<String, Long> open = exchange.getProperty(OPEN, Map.class);
        if (open == null) {
            open = new java.util.concurrent.ConcurrentHashMap<>();
            exchange.setProperty(OPEN, open);
        }
        return open;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Double> seconds(Exchange exchange) {
        Map<String, Double> seconds = exchange.getProperty(STAGE_SECONDS, Map.class);
        if (seconds == null) {
            seconds = new LinkedHashMap<>();
            exchange.setProperty(STAGE_SECONDS, seconds);
        }
        return seconds;
    }

    /**
     * The stage timings of a run so far, read where the run ends (a finally block, before Camel
     * has closed the routes a failure left open): every stage that ended, and the open ones
     * (those the failure went through) up to now. {@code failedStage}: the innermost stage the
     * failure went through (open, or ended with the exception), the one that began last; null
     * when there is none.
     */
    public record Timings(Map<String, Double> seconds, String failedStage) {
    }

    public static Timings timings(Exchange exchange) {
        Map<String, Double> seconds = new LinkedHashMap<>(seconds(exchange));
        long now = System.nanoTime();
        String innermost = null;
        long latest = Long.MIN_VALUE;
        Map<String, Long> candidates = new LinkedHashMap<>(failed(exchange));
        for (Map.Entry<String, Long> e : open(exchange).entrySet()) {
            seconds.merge(e.getKey(), (now - e.getValue()) / 1e9, Double::sum);
            candidates.put(e.getKey(), e.getValue());
        }
        for (Map.Entry<String, Long> e : candidates.entrySet()) {
            if (e.getValue() > latest) {
                latest = e.getValue();
                innermost = e.getKey();
            }
        }
        return new Timings(seconds, innermost);
    }
}
