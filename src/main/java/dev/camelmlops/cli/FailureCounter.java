package dev.camelmlops.cli;

import java.util.concurrent.atomic.AtomicInteger;
import org.apache.camel.spi.CamelEvent;
import org.apache.camel.support.EventNotifierSupport;

/** Counts failed exchanges: camel-main's run() returns normally after one, so the exit code comes from here. */
final class FailureCounter extends EventNotifierSupport {
    private final AtomicInteger failures = new AtomicInteger();

    @Override
    public boolean isEnabled(CamelEvent event) {
        return event instanceof CamelEvent.ExchangeFailedEvent;
    }

    @Override
    public void notify(CamelEvent event) {
        failures.incrementAndGet();
    }

    int failures() {
        return failures.get();
    }
}
