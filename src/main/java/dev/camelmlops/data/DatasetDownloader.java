package dev.camelmlops.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Downloads files once into a cache folder, each checked against its expected SHA-256 before it
 * becomes visible there (written to a temporary name, then moved), so a partial or tampered
 * download is never used.
 */
public final class DatasetDownloader {
    private static final Logger LOG = LoggerFactory.getLogger(DatasetDownloader.class);

    private final URI baseUrl;
    private final Map<String, String> expectedSha256;
    private final Duration timeout;
    /** Created on the first download: building an HttpClient sets up TLS (about 0.2 s) and most runs never download. */
    private HttpClient http;

    public DatasetDownloader(URI baseUrl, Map<String, String> expectedSha256, Duration timeout) {
        this.baseUrl = baseUrl.toString().endsWith("/") ? baseUrl : URI.create(baseUrl + "/");
        this.expectedSha256 = Map.copyOf(expectedSha256);
        this.timeout = timeout;
    }

    private synchronized HttpClient http() {
        if (http == null) {
            http = HttpClient.newBuilder().connectTimeout(timeout).followRedirects(HttpClient.Redirect.NORMAL).build();
        }
        return http;
    }

    /** Downloads every named file missing from {@code cacheDir}; returns the folder. */
    public Path downloadAll(Iterable<String> names, Path cacheDir) {
        for (String name : names) {
            Path target = cacheDir.resolve(name);
            if (Files.isRegularFile(target) && matches(target, name)) {
                continue;
            }
            download(name, target);
        }
        return cacheDir;
    }

    private boolean matches(Path file, String name) {
        String expected = expectedSha256.get(name);
        return expected != null && expected.equalsIgnoreCase(Sha256.of(file));
    }

    void download(String name, Path target) {
        String expected = expectedSha256.get(name);
        if (expected == null || expected.isBlank()) {
            throw new InvalidDataException(name, "no expected SHA-256 configured, refusing to download it", null);
        }
        URI uri = baseUrl.resolve(name);
        LOG.info("Downloading {} from {}", name, uri);
        Path tmp = null;
        try {
            Files.createDirectories(target.getParent());
            tmp = Files.createTempFile(target.getParent(), "." + name, ".part");
            HttpRequest req = HttpRequest.newBuilder(uri).timeout(timeout).GET().build();
            HttpResponse<InputStream> resp = http().send(req, HttpResponse.BodyHandlers.ofInputStream());
            MessageDigest md = Sha256.newDigest();
            long size = 0;
            try (InputStream in = resp.body()) {
                if (resp.statusCode() != 200) {
                    throw new InvalidDataException(uri.toString(), "download failed: HTTP " + resp.statusCode(), null);
                }
                try (OutputStream out = Files.newOutputStream(tmp)) {
                    byte[] buf = new byte[1 << 16];
                    int n;
                    while ((n = in.read(buf)) > 0) {
                        md.update(buf, 0, n);
                        out.write(buf, 0, n);
                        size += n;
                    }
                }
            }
            String actual = Sha256.hex(md.digest());
            if (!actual.equalsIgnoreCase(expected.trim())) {
                throw new InvalidDataException(uri.toString(), "SHA-256 mismatch: expected "
                        + expected.toLowerCase(Locale.ROOT) + ", got " + actual + " (" + size + " bytes); not used", null);
            }
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            tmp = null;
            LOG.info("Downloaded {} ({} bytes, SHA-256 verified)", name, size);
        } catch (IOException e) {
            throw new InvalidDataException(uri.toString(), "download failed: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InvalidDataException(uri.toString(), "download interrupted", e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort
                }
            }
        }
    }
}
