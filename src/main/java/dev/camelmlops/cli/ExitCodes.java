package dev.camelmlops.cli;

/** Process exit codes of every one-shot command. */
public final class ExitCodes {
    /** Every step succeeded. */
    public static final int OK = 0;
    /** A stage failed (bad data, diverged training, quality gate, export or copy error). */
    public static final int FAILED = 1;
    /** Bad usage or configuration: nothing was run. */
    public static final int USAGE = 2;

    private ExitCodes() {
    }
}
