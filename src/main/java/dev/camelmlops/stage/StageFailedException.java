package dev.camelmlops.stage;

/** A stage could not do its job for a reason the user can act on; the message says which. */
public class StageFailedException extends RuntimeException {
    public StageFailedException(String message) {
        super(message);
    }

    public StageFailedException(String message, Throwable cause) {
        super(message, cause);
    }
}
