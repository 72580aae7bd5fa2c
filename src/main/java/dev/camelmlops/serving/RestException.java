package dev.camelmlops.serving;

/** A request the server refuses, with the HTTP status and TF Serving-style message to answer with. */
public class RestException extends RuntimeException {
    private final int status;

    public RestException(int status, String message) {
        super(message);
        this.status = status;
    }

    public int status() {
        return status;
    }

    static RestException badRequest(String message) {
        return new RestException(400, message);
    }

    static RestException notFound(String message) {
        return new RestException(404, message);
    }
}
