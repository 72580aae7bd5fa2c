package dev.camelmlops.cli;

import java.util.concurrent.atomic.AtomicInteger;
import org.apache.camel.spi.CamelEvent;
import org.apache.camel.support.EventNotifierSupport;

/**
 * Counts failed exchanges of routes: camel-main's run() returns normally after one, so the exit
 * code also comes from here. Exchanges that no route handled (an HTTP call the serving probe or
 * the notifier makes through a producer template, which handle their own failures) do not count.
 */
final class FailureCounter extends EventNotifierSupport {
    private final AtomicInteger failures = new AtomicInteger();

    @Override
    public boolean isEnabled(CamelEvent event) {
        return event instanceof CamelEvent.ExchangeFailedEvent;
    }

    @Override
    public void notify(CamelEvent event) {
        if (((CamelEvent.ExchangeFailedEvent) event).getExchange().getFromRouteId() != null) {
            failures.incrementAndGet();
        }
    }

    int failures() {
        return failures.get();
    }
}
