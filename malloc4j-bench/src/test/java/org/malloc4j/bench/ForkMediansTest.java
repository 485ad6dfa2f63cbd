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
    /** What {@link #JSON}'s second result is left out for. */
    private static final String LEFT_OUT = "result 2 (PairBenchmark.malloc4jRaw [size=mixed]) is left out: its"
            + " primaryMetric.rawData holds no fork";

    @Test
    void theMedianOfAllIterationsAndTheForksRangeStandBesideJmhsMean() {
        ForkMedians.Read read = ForkMedians.read(JSON);
        List<ForkMedians.Result> results = read.results();
        assertEquals(1, results.size(), "a result with no iterations is left out");
        assertEquals(List.of(LEFT_OUT), read.leftOut());
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
                """).results();
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
        assertReason("result 1 (B.c): iteration 1 of fork 1 of its primaryMetric.rawData is \"fast\", not a number",
                """
                [{"benchmark": "a.B.c", "primaryMetric": {"rawData": [["fast"]]}}]""");
    }

    /** Where it is wrong, by the result's name as the table gives it, and the field. */
    @Test
    void aScoreThatIsNoNumberIsNamedWithItsResultForkAndIteration() {
        assertReason("result 2 (PairBenchmark.glibcRaw [size=64]): iteration 2 of fork 1 of its primaryMetric.rawData"
                + " is \"a\", not a number", "[" + result("malloc4jRaw", "[[1.0]]") + ", " + result("glibcRaw",
                "[[10.0, \"a\", 11.0]]") + "]");
        assertReason("result 1 (PairBenchmark.glibcRaw [size=64]): iteration 1 of fork 2 of its primaryMetric.rawData"
                + " is null, not a number", "[" + result("glibcRaw", "[[1.0], [null]]") + "]");
        assertReason("result 1 (PairBenchmark.glibcRaw [size=64]): iteration 1 of fork 1 of its primaryMetric.rawData"
                + " is an array, not a number", "[" + result("glibcRaw", "[[[1.0]]]") + "]");
    }

    @Test
    void rawDataThatIsNoArrayOfForksIsNamedWithItsResult() {
        assertReason("result 1 (PairBenchmark.glibcRaw [size=64]): its primaryMetric.rawData is not an array of"
                + " forks", "[" + result("glibcRaw", "{\"fork\": [1.0]}") + "]");
        assertReason("result 1 (PairBenchmark.glibcRaw [size=64]): its primaryMetric.rawData is missing",
                "[" + result("glibcRaw", "null") + "]");
        assertReason("result 1 (PairBenchmark.glibcRaw [size=64]): fork 1 of its primaryMetric.rawData is 12.5, not"
                + " an array of scores", "[" + result("glibcRaw", "[12.5]") + "]");
        assertReason("result 1 (PairBenchmark.glibcRaw [size=64]) has no primaryMetric object",
                "[{\"benchmark\": \"org.malloc4j.bench.PairBenchmark.glibcRaw\", \"params\": {\"size\": \"64\"}}]");
    }

    /** Left out as before, but no longer silently: the table alone would not say that a benchmark is missing. */
    @Test
    void aResultWithNoMeasuredIterationIsNamedAsLeftOut() {
        ForkMedians.Read read = ForkMedians.read("[" + result("malloc4jRaw", "[[\"NaN\", \"NaN\"], []]") + ", "
                + result("glibcRaw", "[]") + ", " + result("jemallocRaw", "[[12.0]]") + "]");
        assertEquals(List.of("PairBenchmark.jemallocRaw"), read.results().stream()
                .map(r -> r.benchmark().substring("org.malloc4j.bench.".length())).toList());
        assertEquals(List.of("result 1 (PairBenchmark.malloc4jRaw [size=64]) is left out: JMH measured none of its"
                + " iterations (each is NaN)", "result 2 (PairBenchmark.glibcRaw [size=64]) is left out: its"
                + " primaryMetric.rawData holds no fork"), read.leftOut());
    }

    @Test
    void aFileWithNoIterationsSaysSo() {
        assertEquals(RatioTable.NO_RESULTS, ForkMedians.render(ForkMedians.read("[]").results()));
    }

    @Test
    void theCommandLineNamesEachResultLeftOutAndSaysWhenNoneIsLeft() throws IOException {
        Path nan = Files.writeString(dir.resolve("nan.json"), "[" + result("malloc4jRaw", "[[\"NaN\"]]") + "]");
        ToolRun run = ToolRun.of(new ForkMedians.Options(), nan.toString());
        assertEquals(1, run.status(), run.toString());
        assertEquals(RatioTable.NO_RESULTS, run.out());
        assertEquals("ForkMedians: " + nan + ": result 1 (PairBenchmark.malloc4jRaw [size=64]) is left out: JMH"
                + " measured none of its iterations (each is NaN)\n", run.err());
    }

    /** One short line that says where the text stops being JSON, without Jackson's list of what a value may be. */
    @Test
    void aFileThatIsNotJsonSaysWhereBriefly() throws IOException {
        Path text = Files.writeString(dir.resolve("notes.json"), "hello world, this is not JSON\n");
        ToolRun run = ToolRun.of(new ForkMedians.Options(), text.toString());
        assertEquals(1, run.status(), run.toString());
        assertEquals("ForkMedians: " + text + " holds no JMH results that can be read: bad JSON at line 1, column 6:"
                + " 'hello' is not a JSON value\n", run.err());
        assertEquals("", run.out());
    }

    @Test
    void theCommandLinePrintsTheTableOfItsFile() throws IOException {
        ToolRun run = ToolRun.of(new ForkMedians.Options(), Files.writeString(dir.resolve("r.json"), JSON).toString());
        assertEquals(0, run.status(), run.toString());
        assertEquals(ForkMedians.render(ForkMedians.read(JSON).results()), run.out());
        assertTrue(run.out().replaceAll(" +", " ").contains("[size=64] 3 68.000 61.000 - 245.000 101.000 ns/op"),
                run.out());
        assertEquals("ForkMedians: " + dir.resolve("r.json") + ": " + LEFT_OUT + "\n", run.err());
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

    /** A result of PairBenchmark at size 64 whose raw data is {@code rawData}, JSON. */
    private static String result(String peer, String rawData) {
        return "{\"benchmark\": \"org.malloc4j.bench.PairBenchmark." + peer + "\", \"mode\": \"avgt\","
                + " \"params\": {\"size\": \"64\"}, \"primaryMetric\": {\"score\": 12.0, \"scoreError\": 1.0,"
                + " \"scoreUnit\": \"ns/op\", \"rawData\": " + rawData + "}}";
    }

    private static void assertReason(String reason, String json) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ForkMedians.read(json));
        assertEquals(reason, e.getMessage());
    }
}
