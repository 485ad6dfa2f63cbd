package org.malloc4j.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ForkMediansTest {
    @TempDir
    Path dir;

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
        assertTrue(table.replaceAll(" +", " ").contains("[size=64] 3 68.000 61.000 - 245.000 101.000 ns/op"), table);
    }

    /**
     * Forks of different lengths, not in order of speed, one score JMH could not measure: the median
     * pools the iterations (not the forks' medians, 4.5 here), and the range is the forks' medians.
     */
    @Test
    void unevenForksPoolTheirIterationsAndTheRangeIsOfTheForksMedians() {
        List<ForkMedians.Result> results = ForkMedians.read("""
                [{"benchmark": "b.Bench.run", "mode": "thrpt",
                  "primaryMetric": {"score": 20.0, "scoreUnit": "ops/us",
                    "rawData": [[3.0, 4.0, 5.0, 6.0], [100.0, "NaN"], [1.0, 2.0]]}}]
                """);
        ForkMedians.Result r = results.get(0);
        assertEquals(4.0, r.median(), 1e-9, "the middle of 1, 2, 3, 4, 5, 6, 100");
        assertArrayEquals(new double[] {4.5, 100.0, 1.5}, r.forkMedians(), 1e-9);
        String table = ForkMedians.render(results);
        assertTrue(table.replaceAll(" +", " ").contains("Bench.run 3 4.000 1.500 - 100.000 20.000 ops/us"), table);
    }

    @Test
    void whatIsNotJmhsShapeIsRefusedWithAReason() {
        IllegalArgumentException notArray = assertThrows(IllegalArgumentException.class,
                () -> ForkMedians.read("{\"benchmark\": \"a.B.c\"}"));
        assertTrue(notArray.getMessage().contains("not an array"), notArray.getMessage());
        IllegalArgumentException noName = assertThrows(IllegalArgumentException.class, () -> ForkMedians.read(
                "[{\"benchmark\": \"a.B.c\", \"primaryMetric\": {\"rawData\": []}}, {}]"));
        assertTrue(noName.getMessage().contains("result 2"), noName.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ForkMedians.read("""
                [{"benchmark": "run", "primaryMetric": {"rawData": [[1.0]]}}]"""));
        assertThrows(NumberFormatException.class, () -> ForkMedians.read("""
                [{"benchmark": "a.B.c", "primaryMetric": {"rawData": [["fast"]]}}]"""));
    }

    @Test
    void aFileWithNoIterationsSaysSo() {
        assertEquals(RatioTable.NO_RESULTS, ForkMedians.render(ForkMedians.read("[]")));
    }

    @Test
    void theCommandLinePrintsTheTableOfItsFile() throws IOException {
        ToolRun run = ToolRun.of(new ForkMedians.Options(), Files.writeString(dir.resolve("r.json"), JSON).toString());
        assertEquals(0, run.status(), run.toString());
        assertEquals(ForkMedians.render(ForkMedians.read(JSON)), run.out());
        assertTrue(run.out().replaceAll(" +", " ").contains("[size=64] 3 68.000 61.000 - 245.000 101.000 ns/op"),
                run.out());
        assertEquals("", run.err());
    }

    @Test
    void aFileWithNoResultsOrNotJmhsIsNoSuccess() throws IOException {
        Path noResults = Files.writeString(dir.resolve("none.json"), "[]");
        ToolRun none = ToolRun.of(new ForkMedians.Options(), noResults.toString());
        assertEquals(1, none.status(), none.toString());
        assertEquals(RatioTable.NO_RESULTS, none.out());
        Path passwd = Files.writeString(dir.resolve("passwd"), "root:x:0:0:root:/root:/bin/bash\n");
        ToolRun bad = ToolRun.of(new ForkMedians.Options(), passwd.toString());
        assertEquals(1, bad.status(), bad.toString());
        assertTrue(bad.err().startsWith("ForkMedians: " + passwd + " holds no JMH results that can be read: bad JSON"),
                bad.toString());
        assertEquals("", bad.out());
    }

    @Test
    void helpPrintsTheUsageAndExitsWith0() {
        ToolRun.assertHelp(ForkMedians.Options::new, "Usage: ForkMedians [-h] RESULT.json");
    }

    @Test
    void aMissingExtraOrAbsentFileIsAUsageError() {
        Path missing = dir.resolve("missing.json");
        assertUsageError("Missing required parameter: 'RESULT.json'");
        assertUsageError("Unmatched argument at index 1: 'b.json'", "a.json", "b.json");
        assertUsageError(missing + " is not a file", missing.toString());
    }

    private static void assertUsageError(String message, String... args) {
        ToolRun.assertRefused(ForkMedians.Options::new, message, args);
    }
}
