package org.malloc4j.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class ForkMediansTest {
    /** A group benchmark whose third fork settled at another speed, and one with no raw data. */
    private static final String JSON = """
            [{"benchmark": "org.malloc4j.bench.ProducerConsumerBenchmark.malloc4jRaw", "mode": "avgt",
              "params": {"size": "64"},
              "primaryMetric": {"score": 101.0, "scoreError": 50.0, "scoreUnit": "ns/op",
                "rawData": [[60.0, 62.0, 61.0], [70.0, 66.0, 68.0], [240.0, 250.0, 245.0]]}},
             {"benchmark": "org.malloc4j.bench.PairBenchmark.malloc4jRaw", "mode": "avgt",
              "params": {"size": "mixed"},
              "primaryMetric": {"score": 17.0, "scoreError": 0.1, "scoreUnit": "ns/op", "rawData": []}}]
            """;

    @Test
    void theMedianOfAllIterationsAndTheForksRangeStandBesideJmhsMean() {
        List<ForkMedians.Result> results = ForkMedians.read(JSON);
        assertEquals(1, results.size(), "a result with no iterations is left out");
        ForkMedians.Result group = results.get(0);
        assertEquals("org.malloc4j.bench.ProducerConsumerBenchmark.malloc4jRaw", group.benchmark());
        assertEquals("size=64", group.params());
        assertEquals(68.0, group.median(), 1e-9, "the fifth of nine iterations, sorted");
        assertArrayEquals(new double[] {61.0, 68.0, 245.0}, group.forkMedians(), 1e-9);

        String table = ForkMedians.render(results);
        assertTrue(table.contains("ProducerConsumerBenchmark.malloc4jRaw [size=64]"), table);
        assertTrue(table.contains("    3     68.000     61.000 - 245.000     101.000 ns/op"), table);
    }

    @Test
    void aFileWithNoIterationsSaysSo() {
        assertEquals(RatioTable.NO_RESULTS, ForkMedians.render(ForkMedians.read("[]")));
    }
}
