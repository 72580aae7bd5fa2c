package dev.camelmlops.serving;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.camelmlops.data.Dataset;
import dev.camelmlops.testing.TinyFashion;
import dev.camelmlops.testing.TinyModels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Signature;
import org.tensorflow.Tensor;
import org.tensorflow.types.TFloat32;

/** Concurrent requests share TensorFlow calls and each still gets exactly its own rows. */
class RequestBatcherTest {
    @TempDir
    static Path dir;
    private static LoadedVersion version;
    private static String input;
    private static String output;
    private static final Dataset IMAGES = TinyFashion.dataset(20, 11);

    @BeforeAll
    static void load() {
        TinyModels.export(dir.resolve("1"), 3);
        version = LoadedVersion.load(1, dir.resolve("1"), 1);
        Signature sig = version.signatures().get(Predictor.DEFAULT_SIGNATURE);
        input = sig.getInputs().keySet().iterator().next();
        output = sig.getOutputs().keySet().iterator().next();
    }

    @AfterAll
    static void close() {
        version.release();
    }

    private static RequestBatcher batcher(int maxRows) {
        return new RequestBatcher(version.function(Predictor.DEFAULT_SIGNATURE), input, new long[]{28, 28, 1},
                List.of(output), maxRows);
    }

    /** {@code rows} images starting at {@code first}, scaled as clients send them. */
    private static float[] images(int first, int rows) {
        float[] v = new float[rows * 784];
        for (int r = 0; r < rows; r++) {
            for (int p = 0; p < 784; p++) {
                v[r * 784 + p] = (IMAGES.pixels()[(first + r) * 784 + p] & 0xff) / 255f;
            }
        }
        return v;
    }

    private static float[][] rowsOf(RequestBatcher.Answer a) {
        Tensor t = a.output(output);
        float[][] out = new float[a.rows][10];
        for (int r = 0; r < a.rows; r++) {
            for (int c = 0; c < 10; c++) {
                out[r][c] = ((TFloat32) t).getFloat(a.from + r, c);
            }
        }
        return out;
    }

    private static float[][] alone(int first, int rows) throws Exception {
        try (RequestBatcher.Answer a = batcher(128).run(images(first, rows), rows)) {
            assertEquals(0, a.from);
            return rowsOf(a);
        }
    }

    @Test
    void requestsThatQueueDuringACallRunAsOneCallAndGetTheirOwnRows() throws Exception {
        int[][] requests = {{0, 1}, {1, 2}, {3, 1}, {4, 3}, {7, 1}}; // first image, rows
        RequestBatcher b = batcher(128);
        ExecutorService pool = Executors.newFixedThreadPool(requests.length);
        try {
            List<Future<float[][]>> answers = new ArrayList<>();
            try (AutoCloseable held = b.hold()) {
                for (int[] r : requests) {
                    answers.add(pool.submit(() -> {
                        try (RequestBatcher.Answer a = b.run(images(r[0], r[1]), r[1])) {
                            return rowsOf(a);
                        }
                    }));
                }
                long deadline = System.currentTimeMillis() + 10_000;
                while (b.queued() < requests.length && System.currentTimeMillis() < deadline) {
                    Thread.sleep(5);
                }
                assertEquals(requests.length, b.queued(), "all requests wait while a call runs");
            }
            for (int k = 0; k < requests.length; k++) {
                float[][] got = answers.get(k).get(30, java.util.concurrent.TimeUnit.SECONDS);
                float[][] expected = alone(requests[k][0], requests[k][1]);
                assertEquals(expected.length, got.length);
                for (int r = 0; r < got.length; r++) {
                    assertArrayEquals(expected[r], got[r], 1e-5f, "request " + k + " row " + r);
                }
            }
            assertArrayEquals(new long[]{1, requests.length}, b.counts(), "one call for all five");
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aCallTakesAtMostMaxRowsAndTheRestRunInTheNextCall() throws Exception {
        RequestBatcher b = batcher(4);
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            List<Future<float[][]>> answers = new ArrayList<>();
            try (AutoCloseable held = b.hold()) {
                for (int k = 0; k < 3; k++) {
                    int first = 2 * k;
                    answers.add(pool.submit(() -> {
                        try (RequestBatcher.Answer a = b.run(images(first, 2), 2)) {
                            return rowsOf(a);
                        }
                    }));
                    long deadline = System.nanoTime() + 30_000_000_000L;
                    while (b.queued() < k + 1) {
                        assertTrue(System.nanoTime() < deadline, "request " + k + " queued within 30 s");
                        Thread.sleep(2); // queue in a known order
                    }
                }
            }
            for (int k = 0; k < 3; k++) {
                float[][] got = answers.get(k).get(30, java.util.concurrent.TimeUnit.SECONDS);
                float[][] expected = alone(2 * k, 2);
                for (int r = 0; r < 2; r++) {
                    assertArrayEquals(expected[r], got[r], 1e-5f, "request " + k + " row " + r);
                }
            }
            assertArrayEquals(new long[]{2, 3}, b.counts(), "4 rows, then the remaining 2");
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aRequestOfTheWrongSizeIsRefusedBeforeItCanDisturbOthers() {
        RequestBatcher b = batcher(128);
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> b.run(new float[783], 1));
        assertTrue(e.getMessage().contains("783 values"), e.getMessage());
    }

    /** An event loop as the batcher sees it: one thread, which runs the calls handed to it. */
    private static final class Loop implements RequestBatcher.Owner, AutoCloseable {
        final ExecutorService thread;
        final java.util.concurrent.atomic.AtomicReference<Thread> t = new java.util.concurrent.atomic.AtomicReference<>();

        Loop(String name) throws Exception {
            thread = Executors.newSingleThreadExecutor(r -> new Thread(r, name));
            thread.submit(() -> t.set(Thread.currentThread())).get(30, java.util.concurrent.TimeUnit.SECONDS);
        }

        @Override
        public boolean isCurrent() {
            return Thread.currentThread() == t.get();
        }

        @Override
        public void execute(Runnable task) {
            thread.execute(task);
        }

        @Override
        public void close() {
            thread.shutdownNow();
        }
    }

    /**
     * Submitted requests of two loops, queued while a call runs: the next call takes them all,
     * every callback gets exactly its own rows, on the thread of the loop whose request was the
     * oldest waiting; none is lost, none answered twice.
     */
    @Test
    void submittedRequestsShareCallsAndAreAnsweredOnTheOldestRequestsLoop() throws Exception {
        RequestBatcher b = batcher(128);
        float[][][] expected = new float[6][][];
        for (int k = 0; k < 6; k++) {
            expected[k] = alone(k, 1 + k % 2);
        }
        try (Loop a = new Loop("loop-a"); Loop c = new Loop("loop-c")) {
            java.util.concurrent.ConcurrentHashMap<Integer, float[][]> got = new java.util.concurrent.ConcurrentHashMap<>();
            java.util.concurrent.ConcurrentHashMap<Integer, String> on = new java.util.concurrent.ConcurrentHashMap<>();
            java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(6);
            java.util.concurrent.atomic.AtomicInteger twice = new java.util.concurrent.atomic.AtomicInteger();
            try (AutoCloseable held = b.hold()) {
                for (int k = 0; k < 6; k++) {
                    int id = k;
                    Loop owner = k == 0 ? c : k % 2 == 0 ? c : a; // the oldest request is loop-c's
                    owner.thread.submit(() -> b.submit(images(id, 1 + id % 2), 1 + id % 2, owner, (answer, error) -> {
                        if (error != null) {
                            throw error;
                        }
                        try (answer) {
                            if (got.put(id, rowsOf(answer)) != null) {
                                twice.incrementAndGet();
                            }
                        }
                        on.put(id, Thread.currentThread().getName());
                        done.countDown();
                    })).get(30, java.util.concurrent.TimeUnit.SECONDS);
                }
                assertEquals(6, b.queued());
            }
            assertTrue(done.await(30, java.util.concurrent.TimeUnit.SECONDS), "answers missing: " + got.keySet());
            assertEquals(0, twice.get());
            for (int k = 0; k < 6; k++) {
                float[][] g = got.get(k);
                assertEquals(expected[k].length, g.length, "request " + k);
                for (int r = 0; r < g.length; r++) {
                    assertArrayEquals(expected[k][r], g[r], 1e-6f, "request " + k + " row " + r);
                }
                // hold() released on the test thread: the call was handed to the oldest request's loop.
                assertEquals("loop-c", on.get(k), "request " + k);
            }
            long[] counts = b.counts();
            assertEquals(1, counts[0], "one call for the six requests");
            assertEquals(6, counts[1]);
        }
    }
}
