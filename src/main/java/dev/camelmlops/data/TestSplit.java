package dev.camelmlops.data;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Cuts a test split out of labelled data that has none: the given fraction of each class (at
 * least one image of a class that has two or more), chosen with a fixed seed, so the same data
 * always gives the same split and every class is tested.
 */
public final class TestSplit {
    private TestSplit() {
    }

    public static BaseDataset.Splits cut(Dataset all, int classes, double fraction, long seed) {
        List<List<Integer>> byClass = new ArrayList<>();
        for (int c = 0; c < classes; c++) {
            byClass.add(new ArrayList<>());
        }
        for (int i = 0; i < all.size(); i++) {
            byClass.get(all.label(i)).add(i);
        }
        SplittableRandom random = new SplittableRandom(seed);
        List<Integer> train = new ArrayList<>();
        List<Integer> test = new ArrayList<>();
        for (List<Integer> members : byClass) {
            for (int i = members.size() - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                Integer t = members.get(i);
                members.set(i, members.get(j));
                members.set(j, t);
            }
            int n = members.size();
            int k = n < 2 ? 0 : Math.max(1, Math.min(n - 1, (int) Math.round(n * fraction)));
            test.addAll(members.subList(0, k));
            train.addAll(members.subList(k, n));
        }
        // Keep the original order within each split: the split is a choice, not a shuffle.
        train.sort(null);
        test.sort(null);
        return new BaseDataset.Splits(all.select(train.stream().mapToInt(Integer::intValue).toArray()),
                all.select(test.stream().mapToInt(Integer::intValue).toArray()),
                String.format(java.util.Locale.ROOT, "%.0f%% of each class (dataset.test-fraction=%s,"
                        + " dataset.split-seed=%d)", fraction * 100, fraction, seed));
    }
}
