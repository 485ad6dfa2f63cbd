package org.malloc4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RatioTableTest {
    private static final String PAIR = "org.malloc4j.bench.PairBenchmark.";

    @TempDir
    Path dir;

    /** @return JMH's JSON for one result of PairBenchmark's {@code peer} at size 64 */
    private static String result(String peer, String mode, double score, String unit) {
        return String.format(Locale.ROOT, """
                {"benchmark": "%s%s", "mode": "%s", "params": {"size": "64"},
                 "primaryMetric": {"score": %s, "scoreError": 0.1, "scoreUnit": "%s"}}""", PAIR, peer, mode, score, unit);
    }

    @Test
    void eachPeerIsDividedByTheBaselineOfItsOwnTable() {
        String table = RatioTable.render(List.of("[" + result("malloc4jRaw", "avgt", 16, "ns/op") + ","
                + result("glibcRaw", "avgt", 24, "ns/op") + "]"));
        assertTrue(table.contains("PairBenchmark  [size=64]  (ns/op)"), table);
        assertTrue(table.replaceAll(" +", " ").contains("glibcRaw 24.00 0.100 1.50 -"), table);
    }

    /** With {@code -bm avgt,thrpt} one run holds both; a time over a rate is no ratio. */
    @Test
    void eachModeHasTablesOfItsOwn() {
        String table = RatioTable.render(List.of("[" + String.join(",",
                result("malloc4jRaw", "thrpt", 0.0625, "ops/ns"), result("glibcRaw", "thrpt", 0.04, "ops/ns"),
                result("malloc4jRaw", "avgt", 16, "ns/op"), result("glibcRaw", "avgt", 24, "ns/op")) + "]"));
        assertTrue(table.contains("PairBenchmark  [size=64]  (thrpt, ops/ns)"), table);
        assertTrue(table.contains("PairBenchmark  [size=64]  (ns/op)"), table);
        String flat = table.replaceAll(" +", " ");
        // glibc's rate is 0.64 of malloc4j's: it takes 1.5625 times as long.
        assertTrue(flat.contains("glibcRaw 0.040 0.100 1.56 -"), table);
        assertTrue(flat.contains("glibcRaw 24.00 0.100 1.50 -"), table);
        assertTrue(flat.contains("malloc4jRaw 16.00 0.100 1.00 -"), table);
        assertTrue(flat.contains("malloc4jRaw 0.063 0.100 1.00 -"), table);
        assertFalse(flat.contains(" 256 ") || flat.contains(" 400 "), "a time over a rate: " + table);
        String rates = table.substring(table.indexOf("(thrpt, ops/ns)"));
        assertTrue(rates.indexOf("malloc4jRaw") < rates.indexOf("glibcRaw"), "the highest rate first: " + table);
    }

    /** JMH writes the error as NaN for 1 or 2 iterations. */
    @Test
    void theFooterSaysHowManyIterationsAnErrorNeeds() {
        String table = RatioTable.render(List.of("[" + result("malloc4jRaw", "avgt", 16, "ns/op") + "]"));
        assertTrue(table.contains("error needs 3+ iterations"), table);
    }

    @Test
    void whatIsNotJmhsShapeIsRefusedWithAReason() {
        assertReason("bad JSON at line 1, column ", "root:x:0:0:root:/root:/bin/bash\n");
        assertReason("the top level is not an array of results", "{}");
        assertReason("result 1 has no qualified benchmark name", "[{\"a\": 1}]");
        assertReason("result 1 is not an object", "[1]");
        assertReason("result 2 (a.B.c) has no mode", "[" + result("malloc4jRaw", "avgt", 1, "ns/op")
                + ", {\"benchmark\": \"a.B.c\", \"primaryMetric\": {\"score\": 1, \"scoreUnit\": \"ns/op\"}}]");
        assertReason("result 1 (a.B.c) has no primary metric with a unit",
                "[{\"benchmark\": \"a.B.c\", \"mode\": \"avgt\", \"primaryMetric\": {\"score\": 1}}]");
        assertReason("result 1 (a.B.c) has parameters that are not an object", """
                [{"benchmark": "a.B.c", "mode": "avgt", "params": [1],
                  "primaryMetric": {"score": 1, "scoreUnit": "ns/op"}}]""");
    }

    /** memory-return's --json output: an object of sections, not JMH's array. */
    @Test
    void aMemoryReturnReportIsNotTakenForResults() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RatioTable.rows("{\"return\": [{\"shape\": \"small\", \"ms\": 420}]}"));
        assertTrue(e.getMessage().contains("not an array"), e.getMessage());
    }

    @Test
    void aDocumentNestedTooDeeplyIsRefusedWithAReason() {
        assertReason("bad JSON", "[".repeat(100_000));
        assertReason("bad JSON", "[{\"benchmark\": \"a.B.c\"}] trailing");
    }

    @Test
    void whyNamesTheProblemNotTheException() {
        assertEquals("it is not UTF-8 text", RatioTable.why(new java.nio.charset.MalformedInputException(1)));
        assertFalse(RatioTable.why(new IllegalArgumentException("bad JSON at line 1, column 3: x")).contains("Exception"));
    }

    @Test
    void noResultsSaysSo() {
        assertEquals(RatioTable.NO_RESULTS, RatioTable.render(List.of("[]")));
    }

    @Test
    void theCommandLinePrintsTheTablesOfEveryFileGiven() throws IOException {
        String first = "[" + result("malloc4jRaw", "avgt", 16, "ns/op") + "]";
        String second = "[" + result("glibcRaw", "avgt", 24, "ns/op") + "]";
        ToolRun run = ToolRun.of(new RatioTable.Options(), Files.writeString(dir.resolve("1.json"), first).toString(),
                Files.writeString(dir.resolve("2.json"), second).toString());
        assertEquals(0, run.status(), run.toString());
        assertEquals(RatioTable.render(List.of(first, second)), run.out());
        assertTrue(run.out().replaceAll(" +", " ").contains("glibcRaw 24.00 0.100 1.50 -"), run.toString());
        assertEquals("", run.err());
    }

    /** A table that leaves out a file it was given is no success, but the other files' tables still print. */
    @Test
    void aFileThatCannotBeReadIsNamedAndTheOthersAreTabled() throws IOException {
        String good = "[" + result("malloc4jRaw", "avgt", 16, "ns/op") + "]";
        Path json = Files.writeString(dir.resolve("good.json"), good);
        Path passwd = Files.writeString(dir.resolve("passwd"), "root:x:0:0:root:/root:/bin/bash\n");
        Path missing = dir.resolve("missing.json");
        ToolRun run = ToolRun.of(new RatioTable.Options(), json.toString(), missing.toString(), passwd.toString());
        assertEquals(1, run.status(), run.toString());
        assertEquals(RatioTable.render(List.of(good)), run.out());
        assertTrue(run.err().contains("RatioTable: " + missing + " is not a file\n"), run.toString());
        assertTrue(run.err().contains("RatioTable: " + passwd + " holds no JMH results that can be read: bad JSON"),
                run.toString());
        assertFalse(run.err().contains("Usage:"), "a file, not the command line, is wrong: " + run);
    }

    @Test
    void anEmptyFileOrNoResultIsNoSuccess() throws IOException {
        Path empty = Files.writeString(dir.resolve("empty.json"), "");
        ToolRun run = ToolRun.of(new RatioTable.Options(), empty.toString());
        assertEquals(1, run.status(), run.toString());
        assertEquals(RatioTable.NO_RESULTS, run.out());
        assertEquals("RatioTable: no results in " + empty + " (it is empty)\n", run.err());
        Path noResults = Files.writeString(dir.resolve("none.json"), "[]");
        ToolRun none = ToolRun.of(new RatioTable.Options(), noResults.toString());
        assertEquals(1, none.status(), none.toString());
        assertEquals(RatioTable.NO_RESULTS, none.out());
    }

    /** As before the command line went through picocli: '@' reads no file of arguments, '-x' is no option. */
    @Test
    void argumentsThatLookLikeOptionsOrArgumentFilesAreFileNames() throws IOException {
        Path json = Files.writeString(dir.resolve("r.json"), "[" + result("malloc4jRaw", "avgt", 16, "ns/op") + "]");
        Path arguments = Files.writeString(dir.resolve("arguments"), json + "\n");
        ToolRun run = ToolRun.of(new RatioTable.Options(), "@" + arguments, "-" + json);
        assertEquals(1, run.status(), run.toString());
        assertTrue(run.err().contains("RatioTable: @" + arguments + " is not a file\n"), run.toString());
        assertTrue(run.err().contains("RatioTable: -" + json + " is not a file\n"), run.toString());
    }

    /** Not a missing file, read on past: the usage, and no table of the files that are there. */
    @Test
    void anUnknownOptionIsAUsageError() throws IOException {
        Path json = Files.writeString(dir.resolve("r.json"), "[" + result("malloc4jRaw", "avgt", 16, "ns/op") + "]");
        ToolRun.assertRefused(RatioTable.Options::new, "Unknown option: '--bogus'", "--bogus");
        ToolRun.assertRefused(RatioTable.Options::new, "Unknown option: '-x'", json.toString(), "-x");
    }

    @Test
    void helpPrintsTheUsageAndExitsWith0() {
        ToolRun.assertHelp(RatioTable.Options::new, "Usage: RatioTable [-h] RESULT.json...");
    }

    @Test
    void noFileIsAUsageError() {
        ToolRun run = ToolRun.of(new RatioTable.Options());
        assertEquals(2, run.status(), run.toString());
        assertTrue(run.err().startsWith("Missing required parameter: 'RESULT.json'\nUsage: RatioTable"),
                run.toString());
        assertEquals("", run.out());
    }

    private static void assertReason(String reason, String json) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RatioTable.rows(json));
        assertTrue(e.getMessage().contains(reason), e.getMessage());
    }
}
