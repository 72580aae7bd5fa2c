package dev.camelmlops.data;

import java.util.List;

/** Fashion-MNIST's class names, by label. */
public final class FashionMnistClasses {
    public static final List<String> NAMES = List.of(
            "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");

    private FashionMnistClasses() {
    }
}
