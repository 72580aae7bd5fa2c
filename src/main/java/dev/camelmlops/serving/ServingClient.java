package dev.camelmlops.serving;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.OptionalLong;

/**
 * Probes a TF Serving REST API (the real one or ours) for the model of DESIGN.md's contract:
 * version status, and predictions for images sent as TF Serving's row format. HTTP goes through
 * a {@link Transport} (the pipeline uses camel-http).
 */
public final class ServingClient {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    /** Makes one HTTP call; a connection failure throws. */
    @FunctionalInterface
    public interface Transport {
        Response call(String method, String url, String body);
    }

    public record Response(int status, String body) {
        JsonNode json() {
            try {
                return MAPPER.readTree(body);
            } catch (IOException e) {
                throw new IllegalStateException("serving answered HTTP " + status + " with a body that is not JSON: "
                        + abbreviate(body));
            }
        }
    }

    /** State of one version as the status API reports it. */
    public record VersionState(long version, String state, String errorCode, String errorMessage) {
        public boolean available() {
            return "AVAILABLE".equals(state);
        }
    }

    private final String baseUrl;
    private final String modelName;
    private final Transport transport;

    public ServingClient(String baseUrl, String modelName, Transport transport) {
        this.baseUrl = baseUrl.replaceAll("/+$", "");
        this.modelName = modelName;
        this.transport = transport;
    }

    public String modelUrl() {
        return baseUrl + "/v1/models/" + modelName;
    }

    /** The state of {@code version}, or null when the server does not know it (404). */
    public VersionState versionState(long version) {
        Response r = transport.call("GET", modelUrl() + "/versions/" + version, null);
        if (r.status() == 404) {
            return null;
        }
        if (r.status() != 200) {
            throw new IllegalStateException("status of version " + version + ": HTTP " + r.status() + " "
                    + abbreviate(r.body()));
        }
        for (JsonNode s : r.json().path("model_version_status")) {
            if (Long.toString(version).equals(s.path("version").asText())) {
                return new VersionState(version, s.path("state").asText(), s.at("/status/error_code").asText(),
                        s.at("/status/error_message").asText());
            }
        }
        return null;
    }

    /** The highest AVAILABLE version, if the model is served. */
    public OptionalLong servedVersion() {
        Response r = transport.call("GET", modelUrl(), null);
        if (r.status() != 200) {
            return OptionalLong.empty();
        }
        long best = -1;
        for (JsonNode s : r.json().path("model_version_status")) {
            if ("AVAILABLE".equals(s.path("state").asText())) {
                try {
                    best = Math.max(best, Long.parseLong(s.path("version").asText()));
                } catch (NumberFormatException ignored) {
                    // not a version we can use
                }
            }
        }
        return best > 0 ? OptionalLong.of(best) : OptionalLong.empty();
    }

    /**
     * The version a label names, asked through the metadata API (TF Serving resolves a label
     * there and answers the version in model_spec; its status API ignores labels); empty when
     * the server does not know the label (TF Serving: 400 "Unrecognized servable version label")
     * or the labelled version is not loaded (404).
     */
    public OptionalLong labelVersion(String label) {
        Response r = transport.call("GET", modelUrl() + "/labels/" + label + "/metadata", null);
        if (r.status() == 400 || r.status() == 404) {
            return OptionalLong.empty();
        }
        if (r.status() != 200) {
            throw new IllegalStateException("metadata of label " + label + ": HTTP " + r.status() + " "
                    + abbreviate(r.body()));
        }
        String v = r.json().at("/model_spec/version").asText();
        try {
            return OptionalLong.of(Long.parseLong(v));
        } catch (NumberFormatException e) {
            throw new IllegalStateException("metadata of label " + label + " names version '" + v + "'");
        }
    }

    /**
     * Predicts {@code images} (each height x width x channels values scaled to [0,1], sent as
     * [height][width][channels] lists) with the row format, at {@code version} or (null) the
     * latest, with an optional signature name.
     */
    public float[][] predict(Long version, float[][] images, int height, int width, int channels,
                             String signatureName) {
        return predictAt(version == null ? "" : "/versions/" + version, images, height, width, channels, signatureName);
    }

    /** The same through a version label: {@code .../labels/<label>:predict}. */
    public float[][] predictLabelled(String label, float[][] images, int height, int width, int channels,
                                     String signatureName) {
        return predictAt("/labels/" + label, images, height, width, channels, signatureName);
    }

    private float[][] predictAt(String where, float[][] images, int height, int width, int channels,
                                String signatureName) {
        String url = modelUrl() + where + ":predict";
        Response r = transport.call("POST", url, requestBody(images, height, width, channels, signatureName));
        if (r.status() != 200) {
            throw new IllegalStateException("predict at " + url + ": HTTP " + r.status() + " " + abbreviate(r.body()));
        }
        JsonNode p = r.json().path("predictions");
        if (!p.isArray() || p.size() != images.length) {
            throw new IllegalStateException("predict at " + url + " answered " + p.size() + " predictions for "
                    + images.length + " images");
        }
        float[][] out = new float[p.size()][];
        for (int i = 0; i < p.size(); i++) {
            JsonNode row = p.get(i);
            out[i] = new float[row.size()];
            for (int c = 0; c < row.size(); c++) {
                out[i][c] = row.get(c).floatValue();
            }
        }
        return out;
    }

    /** The example's request: {"signature_name": ..., "instances": [[28][28][1] lists]}. */
    public static String requestBody(float[][] images, String signatureName) {
        return requestBody(images, 28, 28, 1, signatureName);
    }

    /** The example's request for images of any shape: {"signature_name": ..., "instances": [[h][w][c] lists]}. */
    public static String requestBody(float[][] images, int height, int width, int channels, String signatureName) {
        for (float[] image : images) {
            if (image.length != height * width * channels) {
                throw new IllegalArgumentException("an image has " + image.length + " values, not " + height + "x"
                        + width + "x" + channels);
            }
        }
        StringBuilder b = new StringBuilder(images.length * height * width * channels * 8 + 64);
        b.append('{');
        if (signatureName != null) {
            b.append("\"signature_name\": \"").append(signatureName).append("\", ");
        }
        b.append("\"instances\": [");
        for (int i = 0; i < images.length; i++) {
            b.append(i == 0 ? "[" : ",[");
            for (int y = 0; y < height; y++) {
                b.append(y == 0 ? "[" : ",[");
                for (int x = 0; x < width; x++) {
                    b.append(x == 0 ? "[" : ",[");
                    int at = (y * width + x) * channels;
                    for (int c = 0; c < channels; c++) {
                        if (c > 0) {
                            b.append(',');
                        }
                        b.append(images[i][at + c]);
                    }
                    b.append(']');
                }
                b.append(']');
            }
            b.append(']');
        }
        return b.append("]}").toString();
    }

    static String abbreviate(String s) {
        if (s == null) {
            return "";
        }
        return s.length() > 300 ? s.substring(0, 300) + "..." : s;
    }
}
