package dev.camelmlops.stage;

import dev.camelmlops.deploy.AtomicPublisher;
import dev.camelmlops.deploy.DeployTarget;
import dev.camelmlops.registry.Json;
import dev.camelmlops.registry.ModelManifest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Builds a {@link Shipment} from a packaged version folder and its MANIFEST.json. */
final class Shipments {
    private Shipments() {
    }

    /** The files are named for {@code target}'s endpoint of {@code area} ({@link DeployTarget#uploadName}). */
    static Shipment of(Path packageDir, DeployTarget target, String area, String runId) {
        Path manifestFile = packageDir.resolve(ModelManifest.FILE_NAME);
        if (!Files.isRegularFile(manifestFile)) {
            throw new StageFailedException("no " + ModelManifest.FILE_NAME + " in " + packageDir
                    + ": run the package stage first");
        }
        ModelManifest manifest = Json.read(manifestFile, ModelManifest.class);
        String incoming = AtomicPublisher.incomingFolder(manifest.version(), runId);
        List<Shipment.ShippedFile> files = new ArrayList<>();
        Map<String, Long> sizes = new LinkedHashMap<>();
        for (ModelManifest.FileEntry e : manifest.files()) {
            Path f = packageDir.resolve(e.path());
            files.add(new Shipment.ShippedFile(target.uploadName(area, incoming + "/" + e.path()), f.toFile()));
            sizes.put(e.path(), e.bytes());
        }
        files.add(new Shipment.ShippedFile(target.uploadName(area, incoming + "/" + ModelManifest.FILE_NAME),
                manifestFile.toFile()));
        sizes.put(ModelManifest.FILE_NAME, manifestFile.toFile().length());
        return new Shipment(manifest.version(), area, packageDir, incoming, files, sizes);
    }
}
