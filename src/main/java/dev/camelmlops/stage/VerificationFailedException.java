package dev.camelmlops.stage;

import java.util.Map;

/** The served version did not pass verification: the verify route rolls it back. */
public class VerificationFailedException extends RuntimeException {
    private final int version;
    private final String servingUrl;
    private final transient Map<String, Object> record;

    public VerificationFailedException(int version, String servingUrl, Map<String, Object> record, String reason) {
        super(reason);
        this.version = version;
        this.servingUrl = servingUrl;
        this.record = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(record));
    }

    public int version() {
        return version;
    }

    public String servingUrl() {
        return servingUrl;
    }

    /** What verify.json says so far (version, times, the reason). */
    public Map<String, Object> record() {
        return record;
    }
}
