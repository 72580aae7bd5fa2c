package dev.camelmlops.model;

/**
 * A model's quality on a labelled split: accuracy, mean cross-entropy loss, per-class precision
 * and recall, and the confusion matrix ({@code confusion[true][predicted]}).
 */
public record Evaluation(int count, double accuracy, double loss, double[] precision, double[] recall,
                         int[][] confusion, java.util.List<Misclassified> misclassified) {

    /** A wrongly classified image: its index, true label, predicted label and the predicted probability. */
    public record Misclassified(int index, int label, int predicted, double confidence) {
    }

    public static Evaluation of(int[][] confusion, double lossSum) {
        return of(confusion, lossSum, java.util.List.of());
    }

    public static Evaluation of(int[][] confusion, double lossSum, java.util.List<Misclassified> misclassified) {
        int k = confusion.length;
        int count = 0;
        int correct = 0;
        int[] predictedTotals = new int[k];
        int[] trueTotals = new int[k];
        for (int t = 0; t < k; t++) {
            for (int p = 0; p < k; p++) {
                int c = confusion[t][p];
                count += c;
                trueTotals[t] += c;
                predictedTotals[p] += c;
                if (t == p) {
                    correct += c;
                }
            }
        }
        double[] precision = new double[k];
        double[] recall = new double[k];
        for (int c = 0; c < k; c++) {
            precision[c] = predictedTotals[c] == 0 ? 0 : (double) confusion[c][c] / predictedTotals[c];
            recall[c] = trueTotals[c] == 0 ? 0 : (double) confusion[c][c] / trueTotals[c];
        }
        return new Evaluation(count, count == 0 ? 0 : (double) correct / count,
                count == 0 ? Double.NaN : lossSum / count, precision, recall, confusion, misclassified);
    }
}
