package dev.camelmlops.data;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Picks the {@link BaseDataset} for a {@link DatasetSource} and checks what it read. */
public final class BaseDatasets {
    private BaseDatasets() {
    }

    /** Finds the base dataset; Fashion-MNIST through {@code fashion} (which may download it). */
    public static BaseDataset locate(DatasetSource source, FashionMnistLocator fashion) {
        DatasetSpec spec = source.spec();
        return switch (source.format()) {
            case FASHION_MNIST -> IdxDataset.of(spec, fashion.locate());
            case IDX -> IdxDataset.in(spec, path(source), source.testFraction(), source.splitSeed());
            case CSV -> CsvDataset.at(spec, path(source), source.testFraction(), source.splitSeed());
            case IMAGE_FOLDER -> new ImageFolderDataset(spec, path(source), source.testFraction(), source.splitSeed());
        };
    }

    /** As {@link #locate}, without downloading and without failing: for reading ahead. */
    public static Optional<BaseDataset> present(DatasetSource source, FashionMnistLocator fashion) {
        if (source.isFashionMnist()) {
            return fashion.present().map(f -> IdxDataset.of(source.spec(), f));
        }
        try {
            return Optional.of(locate(source, fashion));
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    /** Reads both splits and checks every class can be learnt: a class without training images is an error. */
    public static BaseDataset.Splits read(BaseDataset base, DatasetSpec spec) {
        BaseDataset.Splits s = base.read();
        if (s.train().size() == 0) {
            throw new InvalidDataException(base.location().toString(), "no training images", null);
        }
        if (s.test().size() == 0) {
            throw new InvalidDataException(base.location().toString(), "no test images", null);
        }
        int[] h = s.train().classHistogram(spec.classCount());
        List<String> missing = new ArrayList<>();
        for (int c = 0; c < h.length; c++) {
            if (h[c] == 0) {
                missing.add(spec.classes().get(c));
            }
        }
        if (!missing.isEmpty()) {
            throw new InvalidDataException(base.location().toString(), "no training image of class "
                    + String.join(", ", missing) + ": a model cannot learn a class it never sees (add images, or"
                    + " remove the class from dataset.classes)", null);
        }
        return s;
    }

    private static java.nio.file.Path path(DatasetSource source) {
        return source.path().orElseThrow(() -> new IllegalStateException("dataset.path is not set"));
    }
}
