package dev.camelmlops.model;

import dev.camelmlops.data.Dataset;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.ndarray.buffer.FloatDataBuffer;
import org.tensorflow.ndarray.buffer.IntDataBuffer;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * Fills one pair of input tensors (images, labels) of a fixed batch size, reused for every batch:
 * no per-step tensor allocation. Pixels are scaled from bytes into a reused float array and copied
 * into the tensor in one bulk copy.
 */
final class BatchFeeder implements AutoCloseable {
    private final int batchSize;
    private final int imageSize;
    private final float[] pixels;
    private final int[] labels;
    private final FloatDataBuffer pixelBuffer;
    private final IntDataBuffer labelBuffer;
    private final TFloat32 images;
    private final TInt32 labelTensor;

    BatchFeeder(int batchSize, Dataset like) {
        this(batchSize, like.rows(), like.cols(), like.channels());
    }

    BatchFeeder(int batchSize, int rows, int cols, int channels) {
        this.batchSize = batchSize;
        this.imageSize = rows * cols * channels;
        this.pixels = new float[batchSize * imageSize];
        this.labels = new int[batchSize];
        this.pixelBuffer = DataBuffers.of(pixels, false, false);
        this.labelBuffer = DataBuffers.of(labels, false, false);
        this.images = TFloat32.tensorOf(Shape.of(batchSize, rows, cols, channels));
        this.labelTensor = TInt32.tensorOf(Shape.of(batchSize));
    }

    int batchSize() {
        return batchSize;
    }

    /** Loads images {@code order[from .. from+batchSize)} of {@code data} (or from..from+batchSize when order is null). */
    void load(Dataset data, int[] order, int from) {
        for (int i = 0; i < batchSize; i++) {
            int idx = order == null ? from + i : order[from + i];
            data.copyScaled(idx, pixels, i * imageSize);
            labels[i] = data.label(idx);
        }
        images.copyFrom(pixelBuffer);
        labelTensor.copyFrom(labelBuffer);
    }

    TFloat32 images() {
        return images;
    }

    TInt32 labels() {
        return labelTensor;
    }

    @Override
    public void close() {
        images.close();
        labelTensor.close();
    }
}
