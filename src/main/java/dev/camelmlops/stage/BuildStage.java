package dev.camelmlops.stage;

import dev.camelmlops.run.RunRecorder;
import dev.camelmlops.settings.PipelineSettings;

import dev.camelmlops.data.BatchStore;
import dev.camelmlops.data.Concurrent;
import dev.camelmlops.data.DataManifest;
import dev.camelmlops.data.DatasetDownloader;
import dev.camelmlops.data.Dataset;
import dev.camelmlops.data.BaseDataset;
import dev.camelmlops.data.BaseDatasets;
import dev.camelmlops.data.DatasetSpec;
import dev.camelmlops.data.FashionMnistLocator;
import dev.camelmlops.data.PreparedData;
import dev.camelmlops.registry.Json;
import dev.camelmlops.registry.RunInfo;
import dev.camelmlops.registry.WorkDir;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.camel.Header;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Build: finds the base dataset (Fashion-MNIST by default, or the user's IDX, CSV or image folder),
 * reads and validates it, adds the run's new batches, writes the prepared splits and the data
 * manifest into the work folder, and starts the run's record there.
 */
public class BuildStage {
    private static final Logger LOG = LoggerFactory.getLogger(BuildStage.class);
    private final PipelineSettings settings;

    public BuildStage(PipelineSettings settings) {
        this.settings = settings;
    }

    public String run(@Header(RunRecorder.RUN_ID) String runId) {
        return build(runId, List.of(), 1.0);
    }

    /**
     * Validates the base data and writes the prepared splits: the train split is {@code batches}
     * followed by a seeded sample of {@code replay} of the base train split; the test split is
     * the base test split (so models are always compared on the same images).
     */
    String build(String runId, List<BatchStore.Batch> batches, double replay) {
        WorkDir work = new WorkDir(settings.workDir());
        DatasetSpec spec = settings.dataset().spec();
        BaseDataset located = BaseDatasets.locate(settings.dataset(), locator());
        long t0 = System.nanoTime();
        BaseData base = takePrefetched(located);
        if (base == null) {
            base = readBase(located);
        }
        Dataset baseTrain = base.splits().train();
        Dataset test = base.splits().test();
        List<DataManifest.FileEntry> inputs = base.inputs();
        List<Dataset> fresh = new ArrayList<>();
        List<DataManifest.BatchEntry> batchEntries = new ArrayList<>();
        for (BatchStore.Batch b : batches) {
            Dataset d = spec.check(b.read(), "batch " + b.sha256());
            fresh.add(d);
            batchEntries.add(new DataManifest.BatchEntry(b.sha256(), d.size()));
        }
        Dataset newData = Dataset.concat(fresh, baseTrain);
        List<Dataset> parts = new ArrayList<>(fresh);
        parts.add(replay >= 1.0 ? baseTrain : baseTrain.sample(replay, settings.training().seed()));
        Dataset train = parts.size() == 1 ? parts.get(0) : Dataset.concat(parts, baseTrain);
        double readSeconds = base.prefetched() ? base.readSeconds() : (System.nanoTime() - t0) / 1e9;

        resetWorkDir(work);
        PreparedData prepared = new PreparedData(work.data(), spec);
        List<DataManifest.FileEntry> outputs = prepared.write(train, test);
        if (!batches.isEmpty()) {
            prepared.writeNew(newData);
        }
        DataManifest manifest = new DataManifest(Instant.now().toString(),
                located.location().toAbsolutePath().toString(), settings.dataset().format().id(), spec,
                base.splits().testSplit(), inputs, DataManifest.Split.of(train, spec.classCount()),
                DataManifest.Split.of(test, spec.classCount()), outputs, batchEntries, replay);
        Json.write(prepared.manifest(), manifest);
        Json.write(work.runInfo(), new RunInfo(runId != null ? runId : settings.runId(), Instant.now().toString(),
                settings.gitCommit()));
        String summary = String.format("build: %d train images (%d new in %d batches) + %d test images of %s,"
                        + " %d classes, validated in %.2f s%s from %s -> %s", train.size(), newData.size(),
                batches.size(), test.size(), spec.shapeText(), spec.classCount(), readSeconds,
                base.prefetched() ? " (read ahead while Camel started)" : "", manifest.source(), work.data());
        LOG.info(summary);
        return summary;
    }

    /** The base data read and validated, with its input hashes, and when each file was last modified. */
    private record BaseData(BaseDataset dataset, List<Path> files, List<String> stamps, BaseDataset.Splits splits,
                            List<DataManifest.FileEntry> inputs, double readSeconds, boolean prefetched) {
    }

    private volatile Future<BaseData> prefetch;

    /**
     * Starts reading the base data on a background thread, so that it overlaps Camel's start;
     * the build uses it if the same files, unchanged since, are the ones it locates. Only files
     * already on disk are read (no download); any failure is left for the build to meet and
     * report itself.
     */
    public void prefetch() {
        java.util.Optional<BaseDataset> located = BaseDatasets.present(settings.dataset(),
                new FashionMnistLocator(settings.dataDir(), settings.dataSystemDir(), settings.dataCacheDir(), null));
        if (located.isEmpty()) {
            return;
        }
        java.util.concurrent.FutureTask<BaseData> task = new java.util.concurrent.FutureTask<>(() -> {
            BaseData d = readBase(located.get());
            return new BaseData(d.dataset(), d.files(), d.stamps(), d.splits(), d.inputs(), d.readSeconds(), true);
        });
        Thread t = new Thread(task, "build-prefetch");
        t.setDaemon(true);
        t.start();
        prefetch = task;
    }

    /**
     * Waits up to {@code millis} until the read-ahead started by {@link #prefetch()} (if any) has
     * finished, read or failed; false when it is still reading (tests: to change a file after it).
     */
    boolean awaitPrefetch(long millis) throws InterruptedException {
        Future<BaseData> f = prefetch;
        if (f == null) {
            return true;
        }
        try {
            f.get(millis, java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            // finished, with a failure the build meets itself
        } catch (java.util.concurrent.TimeoutException e) {
            return false;
        }
        return true;
    }

    private BaseData takePrefetched(BaseDataset located) {
        Future<BaseData> f = prefetch;
        prefetch = null;
        if (f == null) {
            return null;
        }
        try {
            BaseData d = f.get();
            List<Path> files = located.files();
            return d.files().equals(files) && d.stamps().equals(stamps(files)) ? d : null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } catch (java.util.concurrent.ExecutionException e) {
            return null; // read again, and fail with the reader's own message
        }
    }

    private static List<String> stamps(List<Path> files) {
        List<String> stamps = new ArrayList<>();
        for (Path p : files) {
            try {
                stamps.add(Files.size(p) + "@" + Files.getLastModifiedTime(p).toMillis());
            } catch (IOException e) {
                stamps.add("unreadable");
            }
        }
        return stamps;
    }

    /**
     * Reads and validates the base data. Hashing the inputs runs on a second thread while this
     * one reads (the readers may use more threads of their own).
     */
    private BaseData readBase(BaseDataset located) {
        List<Path> files = located.files();
        List<String> stamps = stamps(files);
        long t0 = System.nanoTime();
        ExecutorService second = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "build-second");
            t.setDaemon(true);
            return t;
        });
        try {
            Future<List<DataManifest.FileEntry>> hashes = second.submit(located::inputs);
            BaseDataset.Splits splits = BaseDatasets.read(located, settings.dataset().spec());
            List<DataManifest.FileEntry> inputs = Concurrent.join(hashes);
            return new BaseData(located, files, stamps, splits, inputs, (System.nanoTime() - t0) / 1e9, false);
        } finally {
            second.shutdownNow();
        }
    }

    private FashionMnistLocator locator() {
        DatasetDownloader downloader = settings.dataDownload()
                ? new DatasetDownloader(settings.dataDownloadUrl(), settings.dataSha256(), settings.dataDownloadTimeout())
                : null;
        return new FashionMnistLocator(settings.dataDir(), settings.dataSystemDir(), settings.dataCacheDir(), downloader);
    }

    /** A new build starts a new run: outputs of an earlier run's later stages must not be mistaken for this one's. */
    private static void resetWorkDir(WorkDir work) {
        try {
            Files.createDirectories(work.root());
            for (Path p : List.of(work.data(), work.checkpoint().getParent(), work.evaluation().getParent(),
                    work.junitReport().getParent().getParent(), work.packages(), work.root().resolve("deploy.json"),
                    work.root().resolve("verify.json"), work.root().resolve("baseline"))) {
                FileTrees.deleteRecursively(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare work folder " + work.root(), e);
        }
    }
}
