package dev.camelmlops.serving;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.tensorflow.Result;
import org.tensorflow.SessionFunction;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;

/**
 * Runs concurrent predict requests of one signature as one TensorFlow call. Nothing waits for a
 * batch to fill: a request that finds no call running runs at once, alone; requests that arrive
 * while a call runs queue up and the next call takes all of them (up to {@code maxRows} rows).
 * So a single client sees no added latency, and under load the fixed cost of a call (about
 * 50 us for a small model, most of a 1-image request's time in TensorFlow) is shared. Each request
 * gets its own rows of the outputs. A batch TensorFlow rejects is run again request by request,
 * so every request gets its own answer or error.
 */
final class RequestBatcher {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(RequestBatcher.class);
    private final SessionFunction function;
    private final String input;
    private final long[] rowShape;
    private final int rowSize;
    private final List<String> outputs;
    private final int maxRows;

    private final ArrayDeque<Pending> queue = new ArrayDeque<>();
    private boolean running;
    private long calls;
    private long requests;

    RequestBatcher(SessionFunction function, String input, long[] rowShape, List<String> outputs, int maxRows) {
        this.function = function;
        this.input = input;
        this.rowShape = rowShape.clone();
        long size = 1;
        for (long d : rowShape) {
            size *= d;
        }
        this.rowSize = Math.toIntExact(size);
        this.outputs = List.copyOf(outputs);
        this.maxRows = maxRows;
    }

    /** The output rows of one request; {@link #close()} when written. */
    static final class Answer implements AutoCloseable {
        private final Batch batch;
        final int from;
        final int rows;

        private Answer(Batch batch, int from, int rows) {
            this.batch = batch;
            this.from = from;
            this.rows = rows;
        }

        Tensor output(String name) {
            return batch.result.get(name).orElseThrow();
        }

        @Override
        public void close() {
            batch.release();
        }
    }

    /** One TensorFlow call's outputs, closed when every request has written its rows. */
    private static final class Batch {
        final Result result;
        final AtomicInteger references;

        Batch(Result result, int references) {
            this.result = result;
            this.references = new AtomicInteger(references);
        }

        void release() {
            if (references.decrementAndGet() == 0) {
                result.close();
            }
        }
    }

    /** What an asynchronous request is told: its rows, or the error (exactly one is null). */
    interface Callback {
        void done(Answer answer, RuntimeException error);
    }

    /**
     * The thread an asynchronous request came from (a connection's event loop), which makes the
     * calls when its request is the oldest waiting: so a loop that made a call goes back to its
     * own connections instead of making call after call for another loop's requests.
     */
    interface Owner {
        /** Whether the calling thread is this owner's. */
        boolean isCurrent();

        /** Runs {@code task} on this owner's thread (throws RejectedExecutionException when it has stopped). */
        void execute(Runnable task);
    }

    private static final class Pending {
        final float[] values;
        final int rows;
        /** The waiting thread of {@link #run}, or null for {@link #submit}. */
        final Thread thread;
        final Callback callback;
        final Owner owner;
        /** Set under the lock; read by the waiting thread under the lock. */
        boolean done;
        /** Handed the next call by the previous caller (or by {@link #hold()}'s release). */
        boolean leads;
        Answer answer;
        RuntimeException error;

        Pending(float[] values, int rows, Thread thread, Callback callback, Owner owner) {
            this.values = values;
            this.rows = rows;
            this.thread = thread;
            this.callback = callback;
            this.owner = owner;
        }
    }

    private void checkSize(float[] values, int rows) {
        if (values.length != (long) rows * rowSize) {
            throw new IllegalArgumentException(values.length + " values are not " + rows + " rows of " + rowSize);
        }
    }

    /**
     * Runs {@code values} ({@code rows} rows of this batcher's row shape) and returns its rows of
     * the outputs. A caller that finds no call running makes the call itself; the others wait
     * (parked) until their call is done, or until the finishing caller hands them the next call.
     * Only the threads concerned are woken.
     */
    Answer run(float[] values, int rows) {
        checkSize(values, rows);
        Pending p = new Pending(values, rows, Thread.currentThread(), null, null);
        boolean interrupted = false;
        synchronized (this) {
            queue.add(p);
            if (!running) {
                running = true;
                p.leads = true;
            }
        }
        while (true) {
            boolean lead;
            synchronized (this) {
                if (p.done) {
                    break;
                }
                lead = p.leads;
                p.leads = false;
            }
            if (!lead) {
                java.util.concurrent.locks.LockSupport.park(this);
                // An interrupted request still queued or in a running call waits for it (others
                // may be in the same call); the interruption is kept for the caller.
                interrupted |= Thread.interrupted();
                continue;
            }
            runCalls(p);
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (p.error != null) {
            throw p.error;
        }
        return p.answer;
    }

    /**
     * The same without waiting: {@code callback} gets the rows (or the error) on the thread that
     * makes the call. A caller that finds no call running makes it at once on its own thread; the
     * others return at once. After a call, the next one (all requests queued meanwhile) is made
     * on the thread of the oldest of them: here when it is this thread's, else handed to its
     * {@code owner} (null: any thread may make it). So an event loop never parks, and no loop
     * makes call after call for the others while its own connections wait: at 8 connections on
     * two loops, that starvation took p99 to 15 ms.
     */
    void submit(float[] values, int rows, Owner owner, Callback callback) {
        checkSize(values, rows);
        Pending p = new Pending(values, rows, null, callback, owner);
        synchronized (this) {
            queue.add(p);
            if (running) {
                return;
            }
            running = true;
        }
        runCalls(null);
    }

    /**
     * Makes calls while this thread leads: until the queue is empty, or, for a waiting caller of
     * {@link #run} whose own request is done, until the next call can be handed to another
     * waiting caller (who is woken to make it).
     */
    private void runCalls(Pending own) {
        while (true) {
            List<Pending> batch;
            synchronized (this) {
                batch = drain();
                if (batch.isEmpty()) {
                    running = false;
                    return;
                }
            }
            try {
                execute(batch);
            } catch (RuntimeException | Error e) {
                // Every request of the call is told; the batcher goes on with the next.
                LOG.error("a model call failed", e);
                for (Pending q : batch) {
                    if (q.answer == null && q.error == null) {
                        q.error = new IllegalStateException("the model call failed: " + e, e);
                    }
                }
            }
            Owner handTo = finish(batch, own);
            if (handTo == STOP) {
                return;
            }
            if (handTo != null) {
                try {
                    handTo.execute(() -> runCalls(null));
                    return;
                } catch (java.util.concurrent.RejectedExecutionException e) {
                    // that loop has stopped: make the call here
                }
            }
        }
    }

    /** {@link #finish}'s answer when this thread makes no further call. */
    private static final Owner STOP = new Owner() {
        @Override
        public boolean isCurrent() {
            return false;
        }

        @Override
        public void execute(Runnable task) {
            throw new UnsupportedOperationException();
        }
    };

    /**
     * Marks a call's requests done and wakes or tells them. Returns who makes the next call:
     * null for this thread; {@link #STOP} when the queue is empty, or when the caller's own
     * request is done and the oldest waiting request has a thread of its own (woken to make it);
     * else the owner of the oldest waiting request, when that is another thread.
     */
    private Owner finish(List<Pending> batch, Pending own) {
        Pending handTo = null;
        Owner result;
        synchronized (this) {
            for (Pending q : batch) {
                if (q.answer == null && q.error == null) {
                    q.error = new IllegalStateException("the model call failed");
                }
                q.done = true;
            }
            Pending next = queue.peek();
            if (next == null) {
                running = false;
                result = STOP;
            } else if (own != null && own.done && next.thread != null) {
                next.leads = true;
                handTo = next;
                result = STOP;
            } else if (own == null && next.owner != null && !next.owner.isCurrent()) {
                result = next.owner; // still running: that thread makes the next call
            } else {
                result = null;
            }
        }
        for (Pending q : batch) {
            if (q.callback != null) {
                try {
                    q.callback.done(q.answer, q.error);
                } catch (RuntimeException | Error e) {
                    LOG.error("a predict callback failed", e);
                }
            } else if (q.thread != Thread.currentThread()) {
                java.util.concurrent.locks.LockSupport.unpark(q.thread);
            }
        }
        if (handTo != null) {
            java.util.concurrent.locks.LockSupport.unpark(handTo.thread);
        }
        return result;
    }

    /**
     * For tests: behaves as if a call were running until closed, so that requests queue up and
     * the next call takes them together.
     */
    AutoCloseable hold() {
        synchronized (this) {
            if (running) {
                throw new IllegalStateException("a call is running");
            }
            running = true;
        }
        return () -> {
            Pending next;
            synchronized (this) {
                next = queue.peek();
                if (next == null) {
                    running = false;
                    return;
                }
                if (next.thread != null) {
                    next.leads = true;
                }
            }
            if (next.thread != null) {
                java.util.concurrent.locks.LockSupport.unpark(next.thread);
            } else if (next.owner != null && !next.owner.isCurrent()) {
                try {
                    next.owner.execute(() -> runCalls(null));
                } catch (java.util.concurrent.RejectedExecutionException e) {
                    runCalls(null);
                }
            } else {
                runCalls(null);
            }
        };
    }

    /** Requests waiting for a call. */
    synchronized int queued() {
        return queue.size();
    }

    /** Calls and requests so far (their ratio is the mean batch size). */
    synchronized long[] counts() {
        return new long[]{calls, requests};
    }

    private List<Pending> drain() {
        List<Pending> batch = new ArrayList<>();
        int rows = 0;
        while (!queue.isEmpty() && (batch.isEmpty() || rows + queue.peek().rows <= maxRows)) {
            Pending q = queue.poll();
            batch.add(q);
            rows += q.rows;
        }
        return batch;
    }

    private void execute(List<Pending> batch) {
        synchronized (this) {
            calls++;
            requests += batch.size();
        }
        if (batch.size() == 1) {
            runAlone(batch.get(0));
            return;
        }
        int rows = 0;
        for (Pending q : batch) {
            rows += q.rows;
        }
        float[] all = new float[rows * rowSize];
        int at = 0;
        for (Pending q : batch) {
            System.arraycopy(q.values, 0, all, at, q.values.length);
            at += q.values.length;
        }
        Result result;
        try {
            result = call(all, rows);
        } catch (RuntimeException e) {
            batch.forEach(this::runAlone);
            return;
        }
        if (!everyOutputHasRows(result, rows)) {
            result.close();
            batch.forEach(this::runAlone);
            return;
        }
        Batch b = new Batch(result, batch.size());
        int from = 0;
        for (Pending q : batch) {
            q.answer = new Answer(b, from, q.rows);
            from += q.rows;
        }
    }

    private void runAlone(Pending q) {
        try {
            Result result = call(q.values, q.rows);
            if (!everyOutputHasRows(result, q.rows)) {
                result.close();
                q.error = RestException.badRequest("the outputs do not have one row per input row: use a"
                        + " request the general path answers");
                return;
            }
            q.answer = new Answer(new Batch(result, 1), 0, q.rows);
        } catch (RuntimeException e) {
            q.error = e;
        }
    }

    private Result call(float[] values, int rows) {
        long[] shape = new long[rowShape.length + 1];
        shape[0] = rows;
        System.arraycopy(rowShape, 0, shape, 1, rowShape.length);
        try (Tensor t = TFloat32.tensorOf(Shape.of(shape), DataBuffers.of(values, true, false))) {
            return Predictor.call(function, Map.of(input, t));
        }
    }

    private boolean everyOutputHasRows(Result result, int rows) {
        for (String name : outputs) {
            Tensor t = result.get(name).orElse(null);
            if (t == null || t.shape().numDimensions() == 0 || t.shape().size(0) != rows) {
                return false;
            }
        }
        return true;
    }
}
