package dev.camelmlops.run;

import dev.camelmlops.data.BatchStore;
import dev.camelmlops.registry.RunLedger;
import dev.camelmlops.settings.PipelineSettings;
import java.text.ParseException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import org.apache.camel.Exchange;
import org.quartz.CronExpression;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bookkeeping behind "one retrain at a time, triggers coalesce" (routes/triggers.yaml and
 * routes/retrain.yaml do the flow: every trigger goes to {@code direct:request-retrain}, one seda
 * consumer runs the retrains). A trigger that arrives while a retrain is queued or running is
 * noted here and wakes no one: the next run takes every trigger noted so far, so any number of
 * triggers during a run become one follow-up run, which claims every batch that arrived meanwhile.
 * A run about new data is skipped when there is none left (the run before took it).
 */
public class RetrainRequests {
    private static final Logger LOG = LoggerFactory.getLogger(RetrainRequests.class);
    /** Header: true when the run is about new data (skipped when none is pending). */
    public static final String NEEDS_NEW_DATA = "mlopsNeedsNewData";
    /** The trigger of a run for batches found pending at start-up. */
    public static final String START_UP = "start-up";
    /** The trigger of a run for batches no instance is retraining (cluster mode, e.g. a dead instance's). */
    public static final String TAKE_OVER = "take-over";

    private final PipelineSettings settings;
    private final BatchStore batches;
    private final RunLedger ledger;
    private final RetrainLock lock;
    private final List<String> waiting = new ArrayList<>();
    private boolean queued;
    private boolean running;
    private boolean followUp;
    private boolean started;

    public RetrainRequests(PipelineSettings settings, BatchStore batches, RunLedger ledger, RetrainLock lock) {
        this.settings = settings;
        this.batches = batches;
        this.ledger = ledger;
        this.lock = lock;
    }

    /**
     * A trigger: true when the retrain worker must be woken (nothing is queued yet); false when
     * a queued run will take it.
     */
    public synchronized boolean offer(String trigger) {
        waiting.add(trigger);
        if (running) {
            followUp = true;
            LOG.info("retrain requested by {} while a run is in progress: a follow-up run will take it", trigger);
        }
        if (queued) {
            return false;
        }
        queued = true;
        return true;
    }

    /** The worker starts a run: every trigger noted so far, as the headers of the run. */
    public synchronized void take(Exchange exchange) {
        List<String> triggers = waiting.isEmpty() ? List.of("request") : waiting.stream().distinct().toList();
        waiting.clear();
        queued = false;
        running = true;
        // a follow-up names every trigger it takes; a first run is named by the trigger that
        // started it (others noted before it began are taken by it too, and logged)
        String trigger = followUp ? "follow-up:" + String.join(",", triggers) : triggers.get(0);
        if (!followUp && triggers.size() > 1) {
            LOG.info("retrain ({}) also takes the requests of {}", trigger, triggers.subList(1, triggers.size()));
        }
        followUp = false;
        // an inbox, start-up or take-over trigger is about data; only a schedule may ask for a run
        // regardless (retrain.only-with-new-data=false)
        boolean needsNewData = triggers.stream()
                .allMatch(t -> !t.startsWith("schedule") || settings.retrain().onlyWithNewData());
        exchange.getIn().setHeader(RunRecorder.TRIGGER, trigger);
        exchange.getIn().setHeader(NEEDS_NEW_DATA, needsNewData);
        exchange.getIn().setHeader(RunRecorder.ROUTE, "retrain");
    }

    /** With the retrain lock held: is there anything to train on? Logs why not. */
    public boolean worthRunning(Exchange exchange) {
        String trigger = exchange.getIn().getHeader(RunRecorder.TRIGGER, String.class);
        boolean needsNewData = exchange.getIn().getHeader(NEEDS_NEW_DATA, false, Boolean.class);
        if (!needsNewData || batches.pendingCount() > 0) {
            return true;
        }
        if (trigger.startsWith("schedule")) {
            LOG.info("{}: no new data since the last retrain, skipped (retrain.only-with-new-data)", trigger);
        } else if (trigger.startsWith("follow-up:")) {
            LOG.info("follow-up run ({}) skipped: no new data pending (the run before took it)", trigger);
        } else {
            LOG.info("retrain ({}) skipped: no new data pending", trigger);
        }
        return false;
    }

    /**
     * With the retrain lock held in cluster mode: batches claimed by a run that holds no lock
     * belong to an instance that died mid-run; they are pending again. (On one machine this
     * happens at start-up.)
     */
    public void recoverOrphans() {
        if (!settings.cluster().enabled()) {
            return;
        }
        List<String> runs = batches.recover();
        if (!runs.isEmpty()) {
            LOG.warn("batches claimed by runs of an instance that stopped mid-run ({}) are pending again", runs);
        }
    }

    /** The worker's run has ended (or was skipped). */
    public synchronized void done() {
        running = false;
        notifyAll();
    }

    /**
     * Periodically in cluster mode: true when batches wait that no run will take (pending or
     * claimed by a dead instance's run), no retrain runs anywhere and none is queued here.
     */
    public boolean unclaimedWork() {
        synchronized (this) {
            if (running || queued) {
                return false;
            }
        }
        return lock.holder().isEmpty() && batches.pendingCount() + batches.claimedCount() > 0;
    }

    /** The service has started: triggers may run. */
    public synchronized void started() {
        started = true;
        notifyAll();
    }

    /** Waits until the service has started (tests). */
    public synchronized boolean awaitStarted(long millis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + millis;
        while (!started) {
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) {
                return false;
            }
            wait(left);
        }
        return true;
    }

    /**
     * At start-up: the trigger of a scheduled run missed while the service was down (one machine:
     * judged from the ledger; a cluster's job store fires a missed slot itself), else of a run for
     * batches already pending (left by a run that was stopped or crashed, or stored while no
     * service ran), so data never waits for an unrelated trigger; null when neither.
     */
    public String startUpTrigger() {
        return startUpTriggerAt(Instant.now());
    }

    String startUpTriggerAt(Instant now) {
        if (!settings.cluster().enabled() && catchUpDue(now)) {
            return "schedule-catch-up";
        }
        int pending = batches.pendingCount();
        if (pending > 0) {
            LOG.info("{} batch(es) pending at start-up: retraining", pending);
            return START_UP;
        }
        return null;
    }

    private boolean catchUpDue(Instant now) {
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
                return true;
            }
        } catch (ParseException e) {
            throw new IllegalArgumentException("retrain.cron: " + e.getMessage(), e);
        }
        return false;
    }

    /** True while a run is queued or in progress. */
    public synchronized boolean busy() {
        return running || queued;
    }

    /** Waits until no run is in progress or queued. */
    public synchronized boolean awaitIdle(long millis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + millis;
        while (running || queued) {
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) {
                return false;
            }
            wait(left);
        }
        return true;
    }
}
