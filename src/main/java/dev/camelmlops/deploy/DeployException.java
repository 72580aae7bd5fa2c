package dev.camelmlops.deploy;

/** A transfer or publication failed; the message says where and why (never credentials). */
public class DeployException extends RuntimeException {
    public DeployException(String message) {
        super(message);
    }

    public DeployException(String message, Throwable cause) {
        super(message, cause);
    }
}
