package dev.camelmlops.stage;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.NamedNode;
import org.apache.camel.Route;
import org.apache.camel.spi.RoutePolicy;
import org.apache.camel.spi.RoutePolicyFactory;
import org.apache.camel.support.RoutePolicySupport;

/**
 * Seconds spent in each stage route, per exchange: a route policy on every route notes when an
 * exchange enters and leaves a stage route (Camel emits no per-step events for direct calls).
 */
public final class StageTimer implements RoutePolicyFactory {
    static final Set<String> STAGES = Set.of("build", "train", "test", "package", "deploy", "verify", "retrain",
            "retrain-candidate", "warm-train");
    private final Map<String, Map<String, Double>> byExchange = new ConcurrentHashMap<>();
    private final Map<String, Long> started = new ConcurrentHashMap<>();

    @Override
    public RoutePolicy createRoutePolicy(CamelContext context, String routeId, NamedNode route) {
        if (!STAGES.contains(routeId)) {
            return null;
        }
        return new RoutePolicySupport() {
            @Override
            public void onExchangeBegin(Route r, Exchange exchange) {
                started.put(exchange.getExchangeId() + "/" + routeId, System.nanoTime());
            }

            @Override
            public void onExchangeDone(Route r, Exchange exchange) {
                Long t0 = started.remove(exchange.getExchangeId() + "/" + routeId);
                if (t0 != null) {
                    byExchange.computeIfAbsent(exchange.getExchangeId(), k -> new LinkedHashMap<>())
                            .merge(routeId, (System.nanoTime() - t0) / 1e9, Double::sum);
                }
            }
        };
    }

    /** The timings of an exchange, removed from the timer. */
    public Map<String, Double> take(String exchangeId) {
        Map<String, Double> m = byExchange.remove(exchangeId);
        return m == null ? Map.of() : m;
    }
}
