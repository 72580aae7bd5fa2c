package dev.camelmlops.run;

/** The service is shutting down: the run stops where it is (nothing half-published). */
public class RunAbandonedException extends RuntimeException {
    static final String MESSAGE = "run abandoned: the service is shutting down";

    public RunAbandonedException() {
        super(MESSAGE);
    }
}
