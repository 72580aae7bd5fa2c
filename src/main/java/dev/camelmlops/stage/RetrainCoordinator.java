package dev.camelmlops.stage;

import dev.camelmlops.data.BatchStore;
import dev.camelmlops.registry.RunLedger;
import java.text.ParseException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.camel.CamelContext;
import org.quartz.CronExpression;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One retrain at a time. A trigger (a new inbox batch, the schedule, batches found pending at
 * start-up) starts a run when none is running; triggers that arrive during a run coalesce into a
 * single follow-up run, which claims every batch that arrived meanwhile (and is skipped when
 * nothing is pending and no trigger asks for a run without new data). Runs happen on one worker
 * thread, so triggers never wait.
 */
public class RetrainCoordinator implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RetrainCoordinator.class);

    private final PipelineSettings settings;
    private final BatchStore batches;
    private final RunLedger ledger;
    private final RetrainRunner runner;
    private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "retrain-worker");
        t.setDaemon(true);
        return t;
    });
    private CamelContext context;
    private boolean running;
    private final List<String> waiting = new ArrayList<>();

    public RetrainCoordinator(PipelineSettings settings, BatchStore batches, RunLedger ledger, RetrainRunner runner) {
        this.settings = settings;
        this.batches = batches;
        this.ledger = ledger;
        this.runner = runner;
    }

    public synchronized void start(CamelContext camelContext) {
        this.context = camelContext;
        notifyAll();
    }

    /** Waits until the service has started (tests). */
    public synchronized boolean awaitStarted(long millis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + millis;
        while (context == null) {
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) {
                return false;
            }
            wait(left);
        }
        return true;
    }

    /** A trigger: run now, or once more after the current run. */
    public synchronized void request(String trigger) {
        if (running) {
            waiting.add(trigger);
            LOG.info("retrain requested by {} while a run is in progress: a follow-up run will take it", trigger);
            return;
        }
        running = true;
        worker.submit(() -> loop(trigger));
    }

    /**
     * At start-up, once the context has started: a scheduled run missed while the service was down
     * ({@link #catchUp}), else a run for batches already pending (left by a run that was stopped or
     * crashed, or stored while no service ran), so data never waits for an unrelated trigger.
     * Either is one ordinary trigger, coalesced with anything else arriving (an inbox file).
     */
    public void startUp(Instant now) {
        if (catchUp(now)) {
            return;
        }
        int pending = batches.pendingBatches().size();
        if (pending > 0) {
            LOG.info("{} batch(es) pending at start-up: retraining", pending);
            request(START_UP);
        }
    }

    /** The trigger of a run for batches found pending at start-up. */
    public static final String START_UP = "start-up";

    /** The schedule fired: retrain, unless there is nothing new and retrain.only-with-new-data is set. */
    public void scheduled() {
        scheduledBy("schedule");
    }

    void scheduledBy(String trigger) {
        if (settings.retrain().onlyWithNewData() && batches.pendingBatches().isEmpty()) {
            synchronized (this) {
                if (!running) {
                    LOG.info("{}: no new data since the last retrain, skipped (retrain.only-with-new-data)", trigger);
                    return;
                }
            }
        }
        request(trigger);
    }

    /**
     * At start-up: if a scheduled run fell due while the service was down (judged from the last
     * scheduled run in the ledger), run once now, not once per missed slot.
     */
    public boolean catchUp(Instant now) {
        String cron = settings.retrain().cron();
        if (cron.isBlank()) {
            return false;
        }
        Instant last = null;
        for (Map<String, Object> r : ledger.runs()) {
            Object trigger = r.get("trigger");
            if (trigger != null && trigger.toString().startsWith("schedule") && r.get("started") != null) {
                Instant s = Instant.parse(r.get("started").toString());
                if (last == null || s.isAfter(last)) {
                    last = s;
                }
            }
        }
        if (last == null) {
            return false;
        }
        try {
            Date next = new CronExpression(cron).getNextValidTimeAfter(Date.from(last));
            if (next != null && !next.toInstant().isAfter(now)) {
                LOG.info("a scheduled retrain was due at {} while the service was down: running it once now", next);
                scheduledBy("schedule-catch-up");
                return true;
            }
        } catch (ParseException e) {
            throw new IllegalArgumentException("retrain.cron: " + e.getMessage(), e);
        }
        return false;
    }

    private void loop(String firstTrigger) {
        String trigger = firstTrigger;
        try {
            if (!awaitStarted(60_000)) {
                throw new IllegalStateException("the service did not start within 60 s");
            }
        } catch (InterruptedException | IllegalStateException e) {
            LOG.error("retrain ({}) not run: {}", trigger, e.toString());
            synchronized (this) {
                running = false;
                notifyAll();
            }
            return;
        }
        while (true) {
            try {
                runner.run(context, trigger);
            } catch (RuntimeException e) {
                LOG.error("retrain run failed to start: {}", e.toString());
            }
            synchronized (this) {
                if (waiting.isEmpty() || context.isStopping() || context.isStopped()) {
                    running = false;
                    notifyAll();
                    return;
                }
                // an inbox or start-up trigger is about data; a run after a run that already took
                // that data would train on nothing new. Only a schedule may ask for a run regardless.
                boolean wantsNewData = waiting.stream()
                        .allMatch(t -> !t.startsWith("schedule") || settings.retrain().onlyWithNewData());
                trigger = "follow-up:" + String.join(",", waiting.stream().distinct().toList());
                waiting.clear();
                if (wantsNewData && batches.pendingBatches().isEmpty()) {
                    LOG.info("follow-up run ({}) skipped: no new data pending (the run before took it)", trigger);
                    running = false;
                    notifyAll();
                    return;
                }
            }
        }
    }

    public synchronized boolean busy() {
        return running;
    }

    /** Waits until no run is in progress or queued. */
    public synchronized boolean awaitIdle(long millis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + millis;
        while (running) {
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) {
                return false;
            }
            wait(left);
        }
        return true;
    }

    @Override
    public void close() {
        worker.shutdown();
        try {
            worker.awaitTermination(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
