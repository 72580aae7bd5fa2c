package dev.camelmlops.cli;

import dev.camelmlops.data.BatchStore;
import dev.camelmlops.model.TrainingListener;
import dev.camelmlops.registry.RunLedger;
import dev.camelmlops.run.Notifier;
import dev.camelmlops.run.RetrainLock;
import dev.camelmlops.run.RetrainRequests;
import dev.camelmlops.run.RunMetrics;
import dev.camelmlops.run.RunRecorder;
import dev.camelmlops.run.ShutdownSignal;
import dev.camelmlops.settings.PipelineSettings;
import dev.camelmlops.stage.BuildStage;
import dev.camelmlops.stage.DeployStage;
import dev.camelmlops.stage.InboxIntake;
import dev.camelmlops.stage.PackageStage;
import dev.camelmlops.stage.RetrainStage;
import dev.camelmlops.stage.TestStage;
import dev.camelmlops.stage.TrainStage;
import dev.camelmlops.stage.VerifyStage;
import org.apache.camel.BindToRegistry;
import org.apache.camel.CamelConfiguration;

/**
 * Every bean the routes name, created once per application and bound under that name (camel-main
 * calls the {@code @BindToRegistry} methods once). The beans do the work and know nothing of routes.
 */
public final class MlopsBeans implements CamelConfiguration {
    private final BuildStage build;
    private final TrainStage train;
    private final TestStage test;
    private final PackageStage packager;
    private final DeployStage deploy;
    private final VerifyStage verify;
    private final RetrainStage retrain;
    private final InboxIntake intake;
    private final RunRecorder recorder;
    private final Notifier notifier;
    private final RetrainRequests requests;
    private final Storage storage;
    private final RunMetrics metrics;

    MlopsBeans(PipelineSettings settings, BuildStage build, TrainingListener listener, ShutdownSignal shutdown,
               Storage storage) {
        this.storage = storage;
        this.build = build;
        dev.camelmlops.stage.VersionLabels labels = new dev.camelmlops.stage.VersionLabels(settings, storage.ledger());
        this.train = new TrainStage(settings, shutdown.guard(listener));
        this.test = new TestStage(settings);
        this.packager = new PackageStage(settings);
        this.deploy = new DeployStage(settings, labels);
        this.verify = new VerifyStage(settings, labels);
        this.retrain = new RetrainStage(settings, build, storage.batches(), labels);
        this.intake = new InboxIntake(settings, storage.batches());
        this.notifier = new Notifier(settings.notifications());
        this.requests = new RetrainRequests(settings, storage.batches(), storage.ledger(), storage.lock());
        String instance = settings.cluster().instanceId();
        this.metrics = new RunMetrics(instance, storage.batches(), storage.ledger(),
                () -> instance.equals(storage.lock().holder().orElse(null)));
        this.recorder = new RunRecorder(settings, storage.ledger(), metrics);
    }

    @BindToRegistry("buildStage")
    public BuildStage buildStage() {
        return build;
    }

    @BindToRegistry("trainStage")
    public TrainStage trainStage() {
        return train;
    }

    @BindToRegistry("testStage")
    public TestStage testStage() {
        return test;
    }

    @BindToRegistry("packageStage")
    public PackageStage packageStage() {
        return packager;
    }

    @BindToRegistry("deployStage")
    public DeployStage deployStage() {
        return deploy;
    }

    @BindToRegistry("verifyStage")
    public VerifyStage verifyStage() {
        return verify;
    }

    @BindToRegistry("retrainStage")
    public RetrainStage retrainStage() {
        return retrain;
    }

    @BindToRegistry("inboxIntake")
    public InboxIntake inboxIntake() {
        return intake;
    }

    @BindToRegistry("runRecorder")
    public RunRecorder runRecorder() {
        return recorder;
    }

    @BindToRegistry("runMetrics")
    public RunMetrics runMetrics() {
        return metrics;
    }

    @BindToRegistry("notifier")
    public Notifier notifier() {
        return notifier;
    }

    @BindToRegistry("retrainRequests")
    public RetrainRequests retrainRequests() {
        return requests;
    }

    @BindToRegistry("retrainLock")
    public RetrainLock retrainLock() {
        return storage.lock();
    }

    @BindToRegistry("batchStore")
    public BatchStore batchStore() {
        return storage.batches();
    }

}
