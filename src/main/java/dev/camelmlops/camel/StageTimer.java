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
 * time to the exchange property {@value #STAGE_SECONDS}, which the run's record takes; the first
 * stage route to end with an exception is {@value #FAILED_STAGE}.
 */
public final class StageTimer implements RoutePolicyFactory {
    /** Exchange property: route id -> seconds. */
    public static final String STAGE_SECONDS = "mlopsStageSeconds";
    /** Exchange property: the innermost stage route the run failed in. */
    public static final String FAILED_STAGE = "mlopsFailedStage";
    private static final String STARTED = "mlopsStageStarted.";
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
                exchange.setProperty(STARTED + routeId, System.nanoTime());
            }

            @Override
            public void onExchangeDone(Route r, Exchange exchange) {
                if (exchange.getException() != null && exchange.getProperty(FAILED_STAGE) == null) {
                    exchange.setProperty(FAILED_STAGE, routeId); // the innermost stage is done first
                }
                Long t0 = exchange.getProperty(STARTED + routeId, Long.class);
                if (t0 != null) {
                    exchange.removeProperty(STARTED + routeId);
                    @SuppressWarnings("unchecked")
                    Map<String, Double> seconds = exchange.getProperty(STAGE_SECONDS, Map.class);
                    if (seconds == null) {
                        seconds = new LinkedHashMap<>();
                        exchange.setProperty(STAGE_SECONDS, seconds);
                    }
                    seconds.merge(routeId, (System.nanoTime() - t0) / 1e9, Double::sum);
                }
            }
        };
    }
}
