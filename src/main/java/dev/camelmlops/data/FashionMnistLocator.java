package dev.camelmlops.data;

import java.nio.file.Path;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the four Fashion-MNIST files: the configured folder (if set, it must be complete); the
 * Debian package's folder; a cache folder filled by an earlier download; else downloads them
 * (when allowed) into that cache.
 */
public final class FashionMnistLocator {
    private static final Logger LOG = LoggerFactory.getLogger(FashionMnistLocator.class);

    private final Optional<Path> configuredDir;
    private final Path systemDir;
    private final Path cacheDir;
    private final DatasetDownloader downloader;

    /** @param downloader null when downloading is disabled */
    public FashionMnistLocator(Optional<Path> configuredDir, Path systemDir, Path cacheDir,
                               DatasetDownloader downloader) {
        this.configuredDir = configuredDir;
        this.systemDir = systemDir;
        this.cacheDir = cacheDir;
        this.downloader = downloader;
    }

    /**
     * The files {@link #locate} would use without downloading, if they are all on disk; nothing
     * is logged or downloaded.
     */
    public Optional<FashionMnistFiles> present() {
        if (configuredDir.isPresent()) {
            FashionMnistFiles files = FashionMnistFiles.in(configuredDir.get());
            return files.complete() ? Optional.of(files) : Optional.empty();
        }
        for (Path dir : java.util.List.of(systemDir, cacheDir)) {
            FashionMnistFiles files = FashionMnistFiles.in(dir);
            if (files.complete()) {
                return Optional.of(files);
            }
        }
        return Optional.empty();
    }

    public FashionMnistFiles locate() {
        if (configuredDir.isPresent()) {
            FashionMnistFiles files = FashionMnistFiles.in(configuredDir.get());
            if (!files.complete()) {
                throw new InvalidDataException(files.missing().get(0),
                        "file not found in the configured data.dir (expected the four Fashion-MNIST IDX files)");
            }
            LOG.info("Fashion-MNIST from data.dir {}", configuredDir.get());
            return files;
        }
        FashionMnistFiles system = FashionMnistFiles.in(systemDir);
        if (system.complete()) {
            LOG.info("Fashion-MNIST from {}", systemDir);
            return system;
        }
        FashionMnistFiles cached = FashionMnistFiles.in(cacheDir);
        if (cached.complete()) {
            LOG.info("Fashion-MNIST from download cache {}", cacheDir);
            return cached;
        }
        if (downloader == null) {
            throw new InvalidDataException(systemDir, "Fashion-MNIST not found (also not in " + cacheDir
                    + ") and data.download is false: install the Debian package dataset-fashion-mnist"
                    + " or set data.dir");
        }
        downloader.downloadAll(FashionMnistFiles.NAMES, cacheDir);
        return FashionMnistFiles.in(cacheDir);
    }
}
