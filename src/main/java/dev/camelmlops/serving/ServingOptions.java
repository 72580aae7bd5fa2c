package dev.camelmlops.serving;

import java.time.Duration;
import java.util.Locale;

/**
 * How the embedded server listens and protects itself.
 *
 * @param engine           the HTTP engine (see {@link Engine})
 * @param threads          threads that answer requests (the Netty engine's event loops; the JDK
 *                         engine's workers)
 * @param maxRequestBytes  largest request body (larger: 413)
 * @param requestTimeout   how long a client has to send a complete request, counted from the
 *                         connection's opening or the previous answer (a keep-alive connection
 *                         idle that long is closed too)
 * @param maxConnections   open connections beyond which new ones are closed at once
 * @param noop             answer the bench's {@code :noop} verb (never in a served process)
 */
public record ServingOptions(Engine engine, String host, int port, int threads, long maxRequestBytes,
                             Duration requestTimeout, int maxConnections, boolean noop) {
    public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(30);
    public static final int DEFAULT_MAX_CONNECTIONS = 1000;

    /** The engines; {@link #NETTY} is the default, {@link #JDK} the JDK's own server (the one before). */
    public enum Engine {
        NETTY, JDK;

        public static Engine parse(String s) {
            try {
                return valueOf(s.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("'" + s + "' is not an engine: netty or jdk");
            }
        }

        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public ServingOptions {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be 1 or more, got " + threads);
        }
        if (maxRequestBytes < 1) {
            throw new IllegalArgumentException("maxRequestBytes must be 1 or more, got " + maxRequestBytes);
        }
        if (requestTimeout.isNegative() || requestTimeout.isZero()) {
            throw new IllegalArgumentException("requestTimeout must be positive, got " + requestTimeout);
        }
        if (maxConnections < 1) {
            throw new IllegalArgumentException("maxConnections must be 1 or more, got " + maxConnections);
        }
    }

    /** The default engine and protections. */
    public static ServingOptions of(String host, int port, int threads, long maxRequestBytes) {
        return new ServingOptions(Engine.NETTY, host, port, threads, maxRequestBytes, DEFAULT_REQUEST_TIMEOUT,
                DEFAULT_MAX_CONNECTIONS, false);
    }

    public ServingOptions withEngine(Engine e) {
        return new ServingOptions(e, host, port, threads, maxRequestBytes, requestTimeout, maxConnections, noop);
    }

    public ServingOptions withNoop(boolean on) {
        return new ServingOptions(engine, host, port, threads, maxRequestBytes, requestTimeout, maxConnections, on);
    }

    public ServingOptions withRequestTimeout(Duration d) {
        return new ServingOptions(engine, host, port, threads, maxRequestBytes, d, maxConnections, noop);
    }

    public ServingOptions withMaxConnections(int n) {
        return new ServingOptions(engine, host, port, threads, maxRequestBytes, requestTimeout, n, noop);
    }
}
