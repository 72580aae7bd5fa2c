package dev.camelmlops.stage;

import dev.camelmlops.settings.PipelineSettings;

import dev.camelmlops.data.BatchStore;
import dev.camelmlops.data.Dataset;
import dev.camelmlops.data.InboxParser;
import dev.camelmlops.data.InvalidDataException;
import dev.camelmlops.data.Sha256;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes in one file from the inbox: checks its size, hashes its content, validates and stores it
 * as a pending batch. A defect is an expected outcome, not a failure: it writes
 * {@code .error/<name>.reason} with the exact problem, logs one WARN line and sets
 * {@link #ARCHIVE_DIR} to {@code .error} (the file consumer moves the file there); content seen
 * before (pending, in a run, or used) is not taken twice. A batch store that fails (a full disk, a
 * database down) sends the file to {@code .error/} too, with a reason saying so and how to hand it
 * in again: the file reaches {@code .done/} only once its batch is stored. Anything else fails the
 * exchange, and the consumer moves the file to {@code .error/} as well.
 */
public class InboxIntake {
    private static final Logger LOG = LoggerFactory.getLogger(InboxIntake.class);
    /** Header: the name the file gets in .done/ or .error/ (unique, keeps the original name). */
    public static final String ARCHIVE_NAME = "mlopsArchiveName";
    /** Header: the folder of the inbox the file moves to once handled, {@code .done} or {@code .error}. */
    public static final String ARCHIVE_DIR = "mlopsArchiveDir";
    /** Header: true when the file added a new pending batch. */
    public static final String NEW_BATCH = "mlopsNewBatch";

    private final PipelineSettings settings;
    private final BatchStore batches;

    public InboxIntake(PipelineSettings settings, BatchStore batches) {
        this.settings = settings;
        this.batches = batches;
    }

    public String receive(Exchange exchange) {
        File file = exchange.getIn().getBody(File.class);
        String name = file.getName();
        String archived = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss-SSS")) + "-" + name;
        exchange.getIn().setHeader(ARCHIVE_NAME, archived);
        exchange.getIn().setHeader(ARCHIVE_DIR, ".done");
        exchange.getIn().setHeader(NEW_BATCH, false);
        try {
            long size = file.length();
            if (size > settings.retrain().inboxMaxBytes()) {
                throw new InvalidDataException(name, "file is " + size + " bytes, over the limit inbox.max-bytes = "
                        + settings.retrain().inboxMaxBytes(), null);
            }
            String sha = Sha256.of(file.toPath());
            if (known(sha)) {
                LOG.info("inbox: {} has the same content as an earlier batch ({}): not taken again", name, sha);
                return "duplicate " + sha;
            }
            Dataset data = new InboxParser(settings.dataset().spec(), settings.retrain().inboxMaxBytes()).parse(file.toPath());
            if (store(sha, data, name)) {
                exchange.getIn().setHeader(NEW_BATCH, true);
            }
            LOG.info("inbox: {} accepted: {} labelled images, batch {}", name, data.size(), sha);
            return "accepted " + sha;
        } catch (InvalidDataException e) {
            writeReason(file.toPath().getParent(), archived, e.getMessage());
            LOG.warn("inbox: {} rejected (moved to .error/, see {}.reason): {}", name, archived, e.getMessage());
            exchange.getIn().setHeader(ARCHIVE_DIR, ".error");
            return "rejected";
        } catch (BatchNotStored e) {
            // not the file's fault: it goes to .error/ untouched (never to .done/, its data is not
            // kept anywhere else), and the reason says how to hand it in again
            String reason = "not stored, the file itself was not judged: " + e.getMessage()
                    + "; move it back into the inbox once the batch store (" + batches.describe() + ") works again";
            writeReason(file.toPath().getParent(), archived, reason);
            LOG.error("inbox: {} moved to .error/ (see {}.reason): {}", name, archived, reason);
            exchange.getIn().setHeader(ARCHIVE_DIR, ".error");
            return "not stored";
        }
    }

    private boolean known(String sha) {
        try {
            return batches.known(sha);
        } catch (RuntimeException e) {
            throw new BatchNotStored("cannot tell whether batch " + sha + " is known: " + describe(e), e);
        }
    }

    private boolean store(String sha, Dataset data, String name) {
        try {
            return batches.add(sha, data, name);
        } catch (RuntimeException e) {
            throw new BatchNotStored(describe(e), e);
        }
    }

    /** The message and, for a wrapped I/O error, its cause ("cannot store batch X: FileSystemException: ..."). */
    private static String describe(Throwable e) {
        String m = String.valueOf(e.getMessage());
        Throwable c = e.getCause();
        return c != null && c.getMessage() != null && !m.contains(c.getMessage())
                ? m + " (" + c.getClass().getSimpleName() + ": " + c.getMessage() + ")" : m;
    }

    /** The batch store failed (a full disk, an unreachable database): an outage, not bad data. */
    private static final class BatchNotStored extends RuntimeException {
        BatchNotStored(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private static void writeReason(Path inbox, String archived, String reason) {
        Path errors = inbox.resolve(".error");
        try {
            Files.createDirectories(errors);
            Files.writeString(errors.resolve(archived + ".reason"), reason + "\n(rejected " + Instant.now() + ")\n");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the reason file in " + errors, e);
        }
    }
}
