package dev.camelmlops.registry;

import java.nio.file.Path;

/**
 * Layout of a run's work folder, the hand-off between stages (and between CircleCI jobs, which
 * persist it to the workspace):
 * <pre>
 * work/
 *   run.json                  run id and start time (written by build)
 *   data/                     prepared IDX splits + data-manifest.json        (build)
 *   model/checkpoint/         SavedModel with training ops and optimizer state (train)
 *   model/history.json        loss/accuracy per epoch                          (train)
 *   evaluation/evaluation.json                                                 (test)
 *   test-results/quality-gate/junit.xml                                        (test)
 *   package/&lt;version&gt;/         SavedModel + MANIFEST.json                      (package)
 * </pre>
 */
public record WorkDir(Path root) {
    public Path runInfo() {
        return root.resolve("run.json");
    }

    public Path data() {
        return root.resolve("data");
    }

    public Path checkpoint() {
        return root.resolve("model").resolve("checkpoint");
    }

    public Path history() {
        return root.resolve("model").resolve("history.json");
    }

    public Path evaluation() {
        return root.resolve("evaluation").resolve("evaluation.json");
    }

    public Path junitReport() {
        return root.resolve("test-results").resolve("quality-gate").resolve("junit.xml");
    }

    /** The deployed model a retrain starts from and is compared with. */
    public Path baseline() {
        return root.resolve("baseline");
    }

    public Path packages() {
        return root.resolve("package");
    }

    public Path packageDir(int version) {
        return packages().resolve(Integer.toString(version));
    }
}
