package dev.camelmlops.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class EvaluationTest {
    @Test
    void precisionRecallAndAccuracyComeFromTheConfusionMatrix() {
        int[][] confusion = new int[10][10];
        confusion[0][0] = 8;
        confusion[0][1] = 2;  // two 0s predicted as 1
        confusion[1][1] = 5;
        confusion[2][0] = 5;  // five 2s predicted as 0
        Evaluation e = Evaluation.of(confusion, 10.0);
        assertEquals(20, e.count());
        assertEquals(13.0 / 20, e.accuracy(), 1e-12);
        assertEquals(0.5, e.loss(), 1e-12);
        assertEquals(8.0 / 13, e.precision()[0], 1e-12);
        assertEquals(0.8, e.recall()[0], 1e-12);
        assertEquals(5.0 / 7, e.precision()[1], 1e-12);
        assertEquals(1.0, e.recall()[1], 1e-12);
        assertEquals(0.0, e.recall()[2], 1e-12);
        assertEquals(0.0, e.precision()[3], 1e-12);
    }
}
