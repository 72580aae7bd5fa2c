package dev.camelmlops.serving;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Netty's HTTP/1.1 codec on non-blocking sockets. A few event-loop threads own every connection
 * and answer each request on the thread that read it, without a hand-off: a predict is a few tens
 * of microseconds of parsing and a TensorFlow call, shorter than a wake-up of another thread.
 * Concurrent requests on different loops still share TensorFlow calls ({@link RequestBatcher}).
 * A slow or vanished client costs a socket and a few buffers, never a thread: each connection
 * has {@code requestTimeout} to deliver a complete request (from its opening or the previous
 * answer), and connections beyond {@code maxConnections} are closed as they arrive. Pipelined
 * requests are answered in order; {@code Expect: 100-continue}, chunked bodies and the body limit
 * (413) are Netty's aggregator's; a malformed request (a bad chunk size, an oversized header) is
 * answered 400 and its connection closed.
 */
final class NettyHttpEngine implements HttpEngine {
    private static final Logger LOG = LoggerFactory.getLogger(NettyHttpEngine.class);

    private final RestApi api;
    private final ServingOptions options;
    private final EventLoopGroup acceptor;
    private final EventLoopGroup loops;
    private final Channel server;
    private final AtomicInteger open = new AtomicInteger();
    private final AtomicInteger refused = new AtomicInteger();

    NettyHttpEngine(RestApi api, ServingOptions o) throws IOException {
        this.api = api;
        this.options = o;
        this.acceptor = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("serving-accept", true),
                NioIoHandler.newFactory());
        this.loops = new MultiThreadIoEventLoopGroup(o.threads(), new DefaultThreadFactory("serving", true),
                NioIoHandler.newFactory());
        ServerBootstrap b = new ServerBootstrap()
                .group(acceptor, loops)
                .channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 1024)
                // Bound now (so a port conflict shows at once), accepting from start().
                .option(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (open.incrementAndGet() > options.maxConnections()) {
                            open.decrementAndGet();
                            int n = refused.incrementAndGet();
                            if (n == 1 || n % 1000 == 0) {
                                LOG.warn("serving: {} open connections, the limit (serving.max-connections);"
                                        + " closing new ones ({} so far)", options.maxConnections(), n);
                            }
                            ch.close();
                            return;
                        }
                        ch.closeFuture().addListener(f -> open.decrementAndGet());
                        ch.pipeline()
                                .addLast("codec", new HttpServerCodec(8192, 16384, 65536))
                                .addLast("aggregate", new Aggregator(options.maxRequestBytes()))
                                .addLast("deadline", new Deadline(options.requestTimeout().toNanos()))
                                .addLast("api", new Answer());
                    }
                });
        try {
            this.server = b.bind(o.host(), o.port()).syncUninterruptibly().channel();
        } catch (Exception e) {
            // Netty rethrows the bind's IOException (a BindException) unchecked.
            shutdown();
            if (e instanceof IOException io) {
                throw io;
            }
            if (e instanceof RuntimeException r) {
                throw r;
            }
            throw new IOException(e);
        }
    }

    @Override
    public void start() {
        server.config().setAutoRead(true);
    }

    @Override
    public InetSocketAddress address() {
        return (InetSocketAddress) server.localAddress();
    }

    /** Open connections now (for tests and the bench). */
    int openConnections() {
        return open.get();
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
        shutdown();
    }

    private void shutdown() {
        acceptor.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        loops.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    /** The body limit answered in JSON, like every other error of the API. */
    private static final class Aggregator extends HttpObjectAggregator {
        private final long limit;

        Aggregator(long limit) {
            super((int) Math.min(limit, Integer.MAX_VALUE));
            this.limit = limit;
        }

        /**
         * A client that waits for 100-continue with a body over the limit gets our JSON 413, and
         * one that expects anything else a JSON 417 (Netty's own answers have no body).
         */
        @Override
        protected Object newContinueResponse(HttpMessage start, int maxContentLength,
                                             io.netty.channel.ChannelPipeline pipeline) {
            Object r = super.newContinueResponse(start, maxContentLength, pipeline);
            if (r instanceof FullHttpResponse res && res.status().code() == 413) {
                res.release();
                return response(RestApi.tooLarge(limit));
            }
            if (r instanceof FullHttpResponse res && res.status().code() == 417) {
                res.release();
                return response(RestApi.error(417, "Expect: '" + start.headers().get(HttpHeaderNames.EXPECT)
                        + "' is not supported (only 100-continue)"));
            }
            return r;
        }

        @Override
        protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
            RestApi.Reply r = RestApi.tooLarge(limit);
            FullHttpResponse res = response(r);
            // As Netty does: a keep-alive client that waits for 100-continue, or sends a chunked
            // body, keeps its connection (the rest of the body is discarded); others are closed.
            boolean keep = !(oversized instanceof io.netty.handler.codec.http.FullHttpMessage)
                    && (HttpUtil.is100ContinueExpected(oversized) || HttpUtil.isKeepAlive(oversized));
            if (!keep) {
                res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
                ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
            } else {
                ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
            }
        }
    }

    /**
     * Closes a connection that has not delivered a complete request within the timeout, counted
     * from its opening or from the previous answer: covers slow senders (a byte at a time),
     * stalled bodies and idle keep-alive connections alike.
     */
    private static final class Deadline extends ChannelDuplexHandler {
        private final long nanos;
        private ScheduledFuture<?> timer;

        Deadline(long nanos) {
            this.nanos = nanos;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            arm(ctx);
        }

        private void arm(ChannelHandlerContext ctx) {
            disarm();
            if (ctx.channel().isOpen()) {
                timer = ctx.executor().schedule(() -> {
                    LOG.debug("serving: closing {}: no complete request within {} ms", ctx.channel().remoteAddress(),
                            nanos / 1_000_000);
                    ctx.close();
                }, nanos, TimeUnit.NANOSECONDS);
            }
        }

        private void disarm() {
            if (timer != null) {
                timer.cancel(false);
                timer = null;
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof FullHttpRequest) {
                disarm();
            }
            ctx.fireChannelRead(msg);
        }

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            if (msg instanceof FullHttpResponse res && res.status().code() >= 200) {
                arm(ctx);
            }
            ctx.write(msg, promise);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            disarm();
            ctx.fireChannelInactive();
        }
    }

    private static FullHttpResponse response(RestApi.Reply r) {
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(r.status()),
                Unpooled.wrappedBuffer(r.body()));
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, r.contentType());
        res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, r.body().length);
        return res;
    }

    /**
     * Answers each complete request on the loop that read it. A batched predict does not block
     * the loop: it is started ({@link RequestBatcher#submit}) and answered when its call is done;
     * meanwhile this connection's later (pipelined) requests wait, unread, so that answers keep
     * their order, and the loop serves its other connections.
     */
    private final class Answer extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final java.util.ArrayDeque<FullHttpRequest> waiting = new java.util.ArrayDeque<>();
        private boolean busy;

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            if (busy) {
                waiting.add(req.retain());
                return;
            }
            answer(ctx, req);
        }

        private void answer(ChannelHandlerContext ctx, FullHttpRequest req) {
            DecoderResult d = req.decoderResult();
            if (d.isFailure()) {
                Throwable c = d.cause();
                FullHttpResponse res = response(RestApi.error(c instanceof TooLongFrameException ? 431 : 400,
                        "malformed HTTP request: " + c.getMessage()));
                res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
                ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
                busy = true; // nothing more is answered on this connection
                return;
            }
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            boolean http10 = req.protocolVersion().equals(HttpVersion.HTTP_1_0);
            String path;
            try {
                path = new QueryStringDecoder(req.uri()).path();
            } catch (IllegalArgumentException e) {
                path = null;
            }
            RestApi.Reply reply;
            if (path == null) {
                reply = RestApi.error(400, "malformed request path: " + req.uri());
            } else {
                byte[] body = ByteBufUtil.getBytes(req.content());
                // The later reply comes on the thread of the model call (this loop or another):
                // written by this loop, after this method has marked the connection busy.
                reply = api.handle(req.method().name(), path, body, later -> ctx.executor().execute(() -> {
                    write(ctx, later, keepAlive, http10);
                    ctx.flush();
                    resume(ctx);
                }), owner(ctx));
            }
            if (reply != null) {
                write(ctx, reply, keepAlive, http10);
            } else {
                busy = true;
                ctx.channel().config().setAutoRead(false);
            }
        }

        private RequestBatcher.Owner owner;

        /** This connection's event loop, as the batcher sees it. */
        private RequestBatcher.Owner owner(ChannelHandlerContext ctx) {
            if (owner == null) {
                io.netty.util.concurrent.EventExecutor loop = ctx.executor();
                owner = new RequestBatcher.Owner() {
                    @Override
                    public boolean isCurrent() {
                        return loop.inEventLoop();
                    }

                    @Override
                    public void execute(Runnable task) {
                        loop.execute(task);
                    }
                };
            }
            return owner;
        }

        private void resume(ChannelHandlerContext ctx) {
            busy = false;
            FullHttpRequest next;
            while (!busy && (next = waiting.poll()) != null) {
                try {
                    answer(ctx, next);
                } finally {
                    next.release();
                }
            }
            ctx.flush();
            if (!busy && ctx.channel().isActive()) {
                ctx.channel().config().setAutoRead(true);
            }
        }

        private void write(ChannelHandlerContext ctx, RestApi.Reply reply, boolean keepAlive, boolean http10) {
            FullHttpResponse res = response(reply);
            if (!keepAlive) {
                res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
                ctx.write(res).addListener(ChannelFutureListener.CLOSE);
            } else {
                if (http10) {
                    res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
                }
                ctx.write(res).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            FullHttpRequest r;
            while ((r = waiting.poll()) != null) {
                r.release();
            }
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // A reset connection or a client that went away: nothing to answer.
            LOG.debug("serving: connection {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
            ctx.close();
        }
    }
}
