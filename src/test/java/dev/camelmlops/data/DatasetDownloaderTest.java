package dev.camelmlops.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.camelmlops.testing.TinyFashion;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Downloads from a real HTTP server on loopback serving generated files, never the internet. */
class DatasetDownloaderTest {
    @TempDir
    Path tmp;

    private HttpServer server;
    private final Map<String, byte[]> served = new ConcurrentHashMap<>();
    private final AtomicInteger requests = new AtomicInteger();
    private final Map<String, String> sha = new HashMap<>();

    @BeforeEach
    void serve() throws IOException {
        Path src = tmp.resolve("origin");
        TinyFashion.write(src, 40, 20);
        for (String name : FashionMnistFiles.NAMES) {
            byte[] b = Files.readAllBytes(src.resolve(name));
            served.put(name, b);
            sha.put(name, Sha256.of(b));
        }
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> {
            requests.incrementAndGet();
            String name = exchange.getRequestURI().getPath().substring("/data/".length());
            byte[] body = served.get(name);
            if (body == null) {
                exchange.sendResponseHeaders(404, -1);
            } else {
                exchange.sendResponseHeaders(200, body.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(body);
                }
            }
            exchange.close();
        });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private URI base() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/data/");
    }

    @Test
    void downloadsOnceIntoTheCacheAndTheLocatorThenUsesIt() {
        Path cache = tmp.resolve("cache");
        FashionMnistLocator locator = new FashionMnistLocator(Optional.empty(), tmp.resolve("no-system-copy"), cache,
                new DatasetDownloader(base(), sha, Duration.ofSeconds(10)));
        FashionMnistFiles files = locator.locate();
        assertTrue(files.complete());
        assertEquals(4, requests.get());
        Dataset train = IdxReader.fashionMnist().read(files.trainImages(), files.trainLabels());
        assertEquals(40, train.size());

        locator.locate();
        assertEquals(4, requests.get(), "a complete cache is not downloaded again");
    }

    @Test
    void aChecksumMismatchIsRejectedAndLeavesNothingInTheCache() throws IOException {
        Map<String, String> wrong = new HashMap<>(sha);
        wrong.put("train-labels-idx1-ubyte.gz", "0".repeat(64));
        Path cache = tmp.resolve("cache");
        DatasetDownloader d = new DatasetDownloader(base(), wrong, Duration.ofSeconds(10));
        InvalidDataException e = assertThrows(InvalidDataException.class,
                () -> d.downloadAll(FashionMnistFiles.NAMES, cache));
        assertTrue(e.getMessage().contains("train-labels-idx1-ubyte.gz"), e.getMessage());
        assertTrue(e.defect().startsWith("SHA-256 mismatch: expected " + "0".repeat(64) + ", got "
                + sha.get("train-labels-idx1-ubyte.gz")), e.defect());
        assertFalse(Files.exists(cache.resolve("train-labels-idx1-ubyte.gz")));
        try (Stream<Path> s = Files.list(cache)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().endsWith(".part")), "no partial file left");
        }
    }

    @Test
    void httpErrorsAreReported() {
        served.remove("t10k-images-idx3-ubyte.gz");
        DatasetDownloader d = new DatasetDownloader(base(), sha, Duration.ofSeconds(10));
        InvalidDataException e = assertThrows(InvalidDataException.class,
                () -> d.downloadAll(FashionMnistFiles.NAMES, tmp.resolve("cache")));
        assertEquals("download failed: HTTP 404", e.defect());
    }

    @Test
    void locatorPrefersTheConfiguredFolderThenTheSystemFolder() {
        Path configured = tmp.resolve("configured");
        Path system = tmp.resolve("system");
        TinyFashion.write(configured, 10, 10);
        TinyFashion.write(system, 10, 10);
        FashionMnistLocator withConfigured = new FashionMnistLocator(Optional.of(configured), system,
                tmp.resolve("cache"), null);
        assertEquals(configured, withConfigured.locate().trainImages().getParent());
        FashionMnistLocator withSystem = new FashionMnistLocator(Optional.empty(), system, tmp.resolve("cache"), null);
        assertEquals(system, withSystem.locate().trainImages().getParent());
        assertEquals(0, requests.get());
    }

    @Test
    void anIncompleteConfiguredFolderIsAnErrorNotASilentFallback() throws IOException {
        Path configured = tmp.resolve("configured");
        TinyFashion.write(configured, 10, 10);
        Files.delete(configured.resolve("t10k-labels-idx1-ubyte.gz"));
        FashionMnistLocator locator = new FashionMnistLocator(Optional.of(configured), tmp.resolve("system"),
                tmp.resolve("cache"), new DatasetDownloader(base(), sha, Duration.ofSeconds(10)));
        InvalidDataException e = assertThrows(InvalidDataException.class, locator::locate);
        assertTrue(e.getMessage().contains("t10k-labels-idx1-ubyte.gz"), e.getMessage());
        assertEquals(0, requests.get());
    }

    @Test
    void withDownloadDisabledTheErrorSaysHowToGetTheData() {
        FashionMnistLocator locator = new FashionMnistLocator(Optional.empty(), tmp.resolve("system"),
                tmp.resolve("cache"), null);
        InvalidDataException e = assertThrows(InvalidDataException.class, locator::locate);
        assertTrue(e.getMessage().contains("dataset-fashion-mnist"), e.getMessage());
        assertTrue(List.of(e.getMessage().split(" ")).contains("data.download"), e.getMessage());
    }
}
