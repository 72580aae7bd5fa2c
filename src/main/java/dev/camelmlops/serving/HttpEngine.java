package dev.camelmlops.serving;

import java.net.InetSocketAddress;

/**
 * What carries {@link RestApi}'s requests and answers over HTTP/1.1: keep-alive, pipelining,
 * {@code Expect: 100-continue}, chunked bodies, the body limit (413), and bounded waits on slow
 * or vanished clients. The engines differ only in how they move bytes and use threads.
 */
interface HttpEngine extends AutoCloseable {
    /** Binds and starts answering. */
    void start() throws java.io.IOException;

    /** The bound address (its port when 0 was asked). */
    InetSocketAddress address();

    @Override
    void close();
}
