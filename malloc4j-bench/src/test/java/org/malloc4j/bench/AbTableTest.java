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

class AbTableTest {
    private static final String PAIR = "org.malloc4j.bench.PairBenchmark.malloc4jRaw";

    @TempDir
    Path dir;

    /** @return JMH's JSON for one result of {@link #PAIR} with {@code size} and {@code score} ns/op */
    private static String result(String size, double score) {
        return String.format(Locale.ROOT, """
                {"benchmark": "%s", "mode": "avgt", "params": {"size": "%s"},
                 "primaryMetric": {"score": %s, "scoreError": 0.1, "scoreUnit": "ns/op"}}""", PAIR, size, score);
    }

    private static AbTable.Run run(double speedNs, String... results) {
        String speed = Double.isNaN(speedNs) ? "" : String.format(Locale.ROOT,
                "machine speed: %.3f ns per iteration (median of 10 slices of 100 ms; 1.100-1.200)%n", speedNs);
        return AbTable.run("[" + String.join(",", results) + "]", speed);
    }

    @Test
    void givesEachRoundsRatioAndTheirMedians() {
        List<AbTable.Run> a = List.of(run(1.15, result("64", 10)), run(1.15, result("64", 10)),
                run(1.15, result("64", 10)));
        // Round 2's B ran in the slow stretch (probe 1.45 against 1.15): its ratio stays out of the
        // one-speed median.
        List<AbTable.Run> b = List.of(run(1.16, result("64", 9)), run(1.45, result("64", 14)),
                run(1.14, result("64", 9.5)));
        String table = AbTable.render(a, b);
        assertTrue(table.contains(PAIR + "  [size=64]  (ns/op"), table);
        assertTrue(table.contains("0.900"), table);
        assertTrue(table.contains("1.400"), table);
        assertTrue(table.contains("(speed moved)"), table);
        assertTrue(table.contains("median B/A 0.950 over 3 rounds; 0.925 over the 2 at one speed"), table);
    }

    @Test
    void keepsEachParameterSetApartAndSkipsARoundMissingASide() {
        List<AbTable.Run> a = List.of(run(1.15, result("64", 10), result("mixed", 20)), run(1.15, result("mixed", 20)));
        List<AbTable.Run> b = List.of(run(1.15, result("64", 11), result("mixed", 30)), run(1.15, result("64", 11),
                result("mixed", 10)));
        String table = AbTable.render(a, b);
        assertTrue(table.contains("median B/A 1.100 over 1 round; 1.100 over the 1 at one speed"), table);
        assertTrue(table.contains("median B/A 1.000 over 2 rounds; 1.000 over the 2 at one speed"), table);
    }

    /** With {@code -bm avgt,thrpt} each run holds a time and a rate of one benchmark: a table each. */
    @Test
    void eachModeHasATableOfItsOwn() {
        String rate = """
                {"benchmark": "%s", "mode": "thrpt", "params": {"size": "64"},
                 "primaryMetric": {"score": %s, "scoreError": 0.001, "scoreUnit": "ops/ns"}}""";
        List<AbTable.Run> a = List.of(run(1.15, result("64", 10), String.format(Locale.ROOT, rate, PAIR, 0.1)));
        List<AbTable.Run> b = List.of(run(1.15, result("64", 12), String.format(Locale.ROOT, rate, PAIR, 0.08)));
        String table = AbTable.render(a, b);
        assertTrue(table.contains(PAIR + "  [size=64]  (ns/op"), table);
        assertTrue(table.contains(PAIR + "  [size=64]  thrpt  (ops/ns"), table);
        assertTrue(table.contains("median B/A 1.200 over 1 round"), table);
        assertTrue(table.contains("median B/A 0.800 over 1 round"), table);
    }

    @Test
    void aFileThatIsNotJmhsResultsSaysWhichResultIsWrong() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AbTable.run("[" + result("64", 10) + ", {\"a\": 1}]", ""));
        assertTrue(e.getMessage().contains("result 2 has no qualified benchmark name"), e.getMessage());
    }

    @Test
    void aRoundWithoutAProbeIsNotAtOneSpeed() {
        String table = AbTable.render(List.of(run(Double.NaN, result("64", 10))), List.of(run(1.15, result("64", 12))));
        assertTrue(table.contains("median B/A 1.200 over 1 round; - over the 0 at one speed"), table);
    }

    @Test
    void probesFivePercentApartAreOneSpeed() {
        assertTrue(AbTable.oneSpeed(1.00, 1.049));
        assertTrue(AbTable.oneSpeed(1.00, 0.951));
        assertFalse(AbTable.oneSpeed(1.00, 1.051));
        assertFalse(AbTable.oneSpeed(Double.NaN, 1.00));
    }

    @Test
    void saysSoWhenNoRunMeasuredAnything() {
        assertEquals(RatioTable.NO_RESULTS, AbTable.render(List.of(AbTable.run("", "")), List.of(AbTable.run("", ""))));
    }

    /** The files ab writes: a round's JSON and probe for each side. */
    @Test
    void theCommandLineTablesTheRoundsOfItsDirectory() throws IOException {
        String speedA = "machine speed: 1.150 ns per iteration (median of 10 slices of 100 ms; 1.100-1.200)\n";
        String speedB = "machine speed: 1.160 ns per iteration (median of 10 slices of 100 ms; 1.100-1.200)\n";
        Files.writeString(dir.resolve("round-1-a.json"), "[" + result("64", 10) + "]");
        Files.writeString(dir.resolve("round-1-b.json"), "[" + result("64", 9) + "]");
        Files.writeString(dir.resolve("round-1-a.speed"), speedA);
        Files.writeString(dir.resolve("round-1-b.speed"), speedB);
        Files.writeString(dir.resolve("round-2-a.json"), "[" + result("64", 10) + "]");
        Files.writeString(dir.resolve("round-2-b.json"), "[" + result("64", 11) + "]");
        ToolRun run = ToolRun.of(new AbTable.Options(), dir.toString());
        assertEquals(0, run.status(), run.toString());
        List<AbTable.Run> a = List.of(AbTable.run("[" + result("64", 10) + "]", speedA),
                AbTable.run("[" + result("64", 10) + "]", ""));
        List<AbTable.Run> b = List.of(AbTable.run("[" + result("64", 9) + "]", speedB),
                AbTable.run("[" + result("64", 11) + "]", ""));
        assertEquals(AbTable.render(a, b), run.out());
        assertTrue(run.out().contains("median B/A 1.000 over 2 rounds; 0.900 over the 1 at one speed"), run.toString());
        assertEquals("", run.err());
    }

    @Test
    void aDirectoryWithNoRoundsOrABadOneIsNoSuccess() throws IOException {
        ToolRun empty = ToolRun.of(new AbTable.Options(), dir.toString());
        assertEquals(1, empty.status(), empty.toString());
        assertEquals(RatioTable.NO_RESULTS, empty.out());
        Path bad = Files.writeString(dir.resolve("round-1-a.json"), "[{\"a\": 1}]");
        ToolRun run = ToolRun.of(new AbTable.Options(), dir.toString());
        assertEquals(1, run.status(), run.toString());
        assertTrue(run.err().startsWith("AbTable: " + bad + " holds no JMH results that can be read: result 1"),
                run.toString());
        assertEquals("", run.out());
    }

    @Test
    void helpPrintsTheUsageAndExitsWith0() {
        ToolRun.assertHelp(AbTable.Options::new, "Usage: AbTable [-h] DIR");
    }

    @Test
    void aMissingExtraOrAbsentDirectoryIsAUsageError() throws IOException {
        Path file = Files.writeString(dir.resolve("file"), "");
        assertUsageError("Missing required parameter: 'DIR'");
        assertUsageError("Unmatched argument at index 1: 'more'", dir.toString(), "more");
        assertUsageError(file + " is not a directory", file.toString());
    }

    private static void assertUsageError(String message, String... args) {
        ToolRun.assertRefused(AbTable.Options::new, message, args);
    }
}
