package dev.camelmlops.stage;

/** The candidate model did not pass a quality gate; it must not be packaged or deployed. */
public class QualityGateFailedException extends StageFailedException {
    public QualityGateFailedException(String message) {
        super(message);
    }
}
