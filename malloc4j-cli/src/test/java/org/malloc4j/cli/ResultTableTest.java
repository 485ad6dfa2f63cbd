package org.malloc4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The terminal table, the index, the summaries and the worker protocol, on made-up results. */
class ResultTableTest {
    private static TraceResult result(String allocator, String trace, String set, double seconds, long footprint) {
        return new TraceResult(allocator, trace, set, 1000, 500, TraceResult.OK, null, null, 3, seconds,
                1000 / seconds, footprint, 500.0 / footprint, null);
    }

    private static ReplayReport report() {
        List<AllocatorStatus> allocators = new ArrayList<>();
        List<TraceResult> results = new ArrayList<>();
        for (String name : AllocatorCatalog.NAMES) {
            allocators.add(new AllocatorStatus(name, true, null, name + " footprint", false));
            results.add(result(name, "a-rather-long-trace-name-for-the-table", "one", 0.001, 1000));
            results.add(result(name, "b", "two", 0.002, 500));
        }
        allocators.add(AllocatorStatus.skipped("other", "not installed"));
        results.set(3, TraceResult.failed("glibc", "b", "two", 1000, 500, 7L, "op 7 (f 3): boom"));
        List<TraceInfo> traces = List.of(new TraceInfo("a-rather-long-trace-name-for-the-table", "one", "x", 1000, 10, 500),
                new TraceInfo("b", "two", "y", 1000, 10, 500));
        return ReplayReport.of(3, allocators, traces, List.of(new TraceError("z.rep", 3, "unknown op 'q'")), results);
    }

    @Test
    void fitsIn120ColumnsAndShowsEverything() {
        String text = ResultTable.render(report());
        assertTrue(text.lines().allMatch(line -> line.length() <= 120), text);
        assertTrue(text.contains("FAILED"), text);
        assertTrue(text.contains("glibc on two/b: op 7 (f 3): boom"), text);
        assertTrue(text.contains("other     not installed"), text);
        assertTrue(text.contains("z.rep:3: unknown op 'q'"), text);
    }

    @Test
    void indexUsesGlibcOnTheSameTraceAndCapsUtilization() {
        ReplayReport report = report();
        TraceResult malloc4jA = report.results().get(0);
        // malloc4j and glibc are equally fast on trace a; utilization 0.5
        assertEquals(0.6 * 0.5 + 0.4, malloc4jA.index(), 1e-12);
        // glibc FAILED trace b: no reference, no index
        assertNull(report.results().get(1).index());
        assertEquals(0.6 + 0.4 * 0.5, PerformanceIndex.of(3.0, 50, 100), 1e-12);
        assertEquals(ReplayReport.INCORRECT, report.exitCode());
    }

    @Test
    void summarizesPerAllocatorAndPerSet() {
        List<Summary> summaries = report().summaries();
        assertEquals(6 * 3, summaries.size());
        Summary glibcAll = summaries.get(3);
        assertEquals("glibc", glibcAll.allocator());
        assertEquals(Summary.ALL, glibcAll.set());
        assertEquals(2, glibcAll.traces());
        assertEquals(1, glibcAll.failed());
        Summary malloc4jAll = summaries.get(0);
        // 2000 ops in 3 ms
        assertEquals(2000 / 0.003, malloc4jAll.opsPerSecond(), 1e-6);
        // utilization 500 / 1000 on trace a, 500 / 500 on trace b
        assertEquals(0.75, malloc4jAll.meanUtilization(), 1e-12);
    }

    @Test
    void aTraceWithNoRequestHasNoThroughput() throws Exception {
        Trace empty = TraceParser.parse(new java.io.ByteArrayInputStream("0\n0\n0\n1\n".getBytes(
                java.nio.charset.StandardCharsets.US_ASCII)), "e.rep", "e", "set");
        TraceResult replayed = TraceResult.ok("glibc", empty, 1, 1_000, -1);

        assertNull(replayed.opsPerSecond());
        List<AllocatorStatus> glibc = List.of(new AllocatorStatus("glibc", true, null, "RSS", false));
        List<TraceInfo> traces = List.of(new TraceInfo("e", "set", "e.rep", 0, 0, 0));
        String text = ResultTable.render(ReplayReport.of(1, glibc, traces, List.of(), List.of(replayed)));
        String throughput = text.substring(text.indexOf("Throughput"));
        assertTrue(throughput.lines().skip(3).findFirst().orElseThrow().endsWith("n/a"), text);
        assertNull(ReplayReport.of(1, glibc, traces, List.of(), List.of(replayed)).summaries().getFirst().opsPerSecond());
    }

    @Test
    void theHeadlineCountsInTheSingularAndPlural() {
        List<AllocatorStatus> glibc = List.of(new AllocatorStatus("glibc", true, null, "RSS", false));
        List<TraceInfo> one = List.of(new TraceInfo("b", "two", "y", 1000, 10, 500));
        String text = ResultTable.render(ReplayReport.of(1, glibc, one, List.of(),
                List.of(result("glibc", "b", "two", 0.002, 1000))));
        assertTrue(text.startsWith("malloc4j replay: 1 trace, 1 allocator, fastest of 1 timed pass per trace\n"), text);
        assertTrue(ResultTable.render(report()).startsWith(
                "malloc4j replay: 2 traces, 6 allocators, fastest of 3 timed passes per trace\n"));
    }

    @Test
    void whenNoTraceCouldBeReadTheHeadlineSaysSoAndTheErrorsFollow() {
        List<TraceError> errors = List.of(new TraceError("x.rep.gz", 0, "the gzip data is truncated or corrupt (x)"),
                new TraceError("y.rep", 4, "unknown op 'q'"));
        String text = ResultTable.render(ReplayReport.of(3, List.of(), List.of(), errors, List.of()));
        assertEquals("""
                malloc4j replay: no trace could be replayed

                Traces not replayed:
                  x.rep.gz: the gzip data is truncated or corrupt (x)
                  y.rep:4: unknown op 'q'
                """, text);
    }

    @Test
    void utilizationAbove100PercentIsMarkedAndExplainedButKeptInTheJson() throws Exception {
        List<AllocatorStatus> allocators = List.of(new AllocatorStatus("glibc", true, null, "RSS", false),
                new AllocatorStatus("mimalloc", true, null, "RSS", false));
        List<TraceInfo> traces = List.of(new TraceInfo("a", "s", "x", 1000, 10, 500),
                new TraceInfo("b", "s", "y", 1000, 10, 500));
        // glibc: 500 live bytes in 415 bytes of growth (120.5%); mimalloc: 100% and 50%
        ReplayReport report = ReplayReport.of(3, allocators, traces, List.of(), List.of(
                result("glibc", "a", "s", 0.001, 415), result("glibc", "b", "s", 0.001, 1000),
                result("mimalloc", "a", "s", 0.002, 500), result("mimalloc", "b", "s", 0.002, 1000)));
        String text = ResultTable.render(report);
        assertTrue(text.lines().allMatch(line -> line.length() <= 120), text);
        List<String> utilization = text.lines().dropWhile(line -> !line.startsWith("Utilization")).toList();
        assertTrue(utilization.get(3).matches("  a .* >100%\\* +100\\.0%"), utilization.get(3));
        assertTrue(utilization.get(4).matches("  b .* 50\\.0% +50\\.0%"), utilization.get(4));
        assertTrue(utilization.get(5).startsWith("* Above 100%: the footprint grew by less than the peak live bytes. "
                + "RSS growth undercounts when a trace reuses"), utilization.get(5));
        assertTrue(utilization.get(6).contains("memory the allocator held before the trace started"),
                utilization.get(6));
        // A footprint that did not grow has no finite utilization: the JSON's is null, and the note says so.
        assertTrue((utilization.get(6) + utilization.get(7)).contains("or null where the footprint  did not grow"),
                utilization.get(7));
        // glibc's mean counts the figure above 100% as 100%: (1 + 0.5) / 2, not (1.205 + 0.5) / 2
        assertEquals(0.75, report.summaries().stream().filter(summary -> summary.allocator().equals("glibc"))
                .findFirst().orElseThrow().meanUtilization(), 1e-12);
        assertTrue(text.contains("75.0%*"), text);
        assertFalse(text.contains("85.2%"), text);
        assertTrue(text.contains("* The mean counts a utilization above 100% as 100%"), text);
        assertFalse(text.contains("100.0%*"), text);

        assertEquals(500.0 / 415, report.results().get(0).utilization(), 1e-12);
        assertEquals(0.6 + 0.4, report.results().get(0).index(), 1e-12);
        StringWriter json = new StringWriter();
        JsonReport.write(report, JsonReport.STDOUT, new PrintWriter(json));
        assertEquals(500.0 / 415, new ObjectMapper().readTree(json.toString()).get("results").get(0)
                .get("utilization").asDouble(), 1e-12);
    }

    @Test
    void aFootprintThatDidNotGrowAtAllIsAbove100PercentAndCountsAs100() {
        List<AllocatorStatus> glibc = List.of(new AllocatorStatus("glibc", true, null, "RSS", false));
        List<TraceInfo> traces = List.of(new TraceInfo("tiny", "s", "x", 1000, 10, 500));
        // as a worker reports it: 500 live bytes and no RSS growth, a ratio with no finite value
        TraceResult noGrowth = new TraceResult("glibc", "tiny", "s", 1000, 500, TraceResult.OK, null, null, 3,
                0.001, 1e6, 0L, null, null);
        ReplayReport report = ReplayReport.of(3, glibc, traces, List.of(), List.of(noGrowth));

        assertEquals(1.0, report.results().getFirst().index(), 1e-12);
        assertEquals(1.0, report.summaries().getFirst().meanUtilization(), 1e-12);
        String text = ResultTable.render(report);
        List<String> utilization = text.lines().dropWhile(line -> !line.startsWith("Utilization")).toList();
        assertTrue(utilization.get(3).matches("  tiny .* >100%\\*"), utilization.get(3));
        assertTrue(utilization.get(4).startsWith("* Above 100%"), utilization.get(4));
    }

    @Test
    void bytesReachExbibytesAndFitAColumn() {
        assertEquals("4.0 EiB", Units.bytes(1L << 62));
        assertEquals("8.0 EiB", Units.bytes(Long.MAX_VALUE));
        assertEquals("1023 B", Units.bytes(1023));
        assertEquals("1000 KiB", Units.bytes(1000 * 1024));
        assertEquals("1.0 MiB", Units.bytes(1024 * 1024 - 1));
        for (int shift = 0; shift < 63; shift++) {
            for (long bytes : new long[] {(1L << shift) - 1, 1L << shift, (long) (0.9995 * (1L << shift))}) {
                assertTrue(Units.bytes(bytes).length() <= 9, bytes + " shows as " + Units.bytes(bytes));
            }
        }
    }

    @Test
    void rowsStayAlignedWithTheLargestCountsAndLongNamesStayApart() {
        List<AllocatorStatus> glibc = List.of(new AllocatorStatus("glibc", true, null, "RSS", false));
        String name = "allocation-trace-from-production-run-000";
        List<TraceInfo> traces = List.of(new TraceInfo(name + "1", "s", "x", 16_777_216, 10, 1L << 62),
                new TraceInfo(name + "2", "s", "y", 5, 10, 500));
        String text = ResultTable.render(ReplayReport.of(1, glibc, traces, List.of(),
                List.of(result("glibc", name + "1", "s", 0.001, 1000), result("glibc", name + "2", "s", 0.001, 1000))));
        List<String> table = text.lines().dropWhile(line -> !line.startsWith("Peak footprint")).skip(1).limit(4)
                .toList();
        assertEquals(List.of(table.get(0).length(), table.get(0).length()),
                List.of(table.get(2).length(), table.get(3).length()), text);
        assertTrue(table.get(2).contains(" 16,777,216   4.0 EiB"), table.get(2));
        assertTrue(table.get(2).contains("~ction-run-0001 ") && table.get(3).contains("~ction-run-0002 "), text);
    }

    @Test
    void namesThatDifferOnlyInTheMiddleShowWhereTheyDiffer() {
        List<AllocatorStatus> glibc = List.of(new AllocatorStatus("glibc", true, null, "RSS", false));
        // One file name in two folders: the traces are named by their paths, which share start and end.
        String alpha = "/tmp/t3/experiment-run-2024-alpha/traces/short1-bal.rep";
        String bravo = "/tmp/t3/experiment-run-2024-bravo/traces/short1-bal.rep";
        List<TraceInfo> traces = List.of(new TraceInfo(alpha, "traces", alpha, 10, 2, 100),
                new TraceInfo(bravo, "traces", bravo, 10, 2, 100));
        String text = ResultTable.render(ReplayReport.of(1, glibc, traces, List.of(),
                List.of(result("glibc", alpha, "traces", 0.001, 1000), result("glibc", bravo, "traces", 0.001, 1000))));
        List<String> rows = text.lines().dropWhile(line -> !line.startsWith("Peak footprint")).skip(3).limit(2)
                .toList();
        assertEquals(List.of("  ~alpha~races/short1-bal.rep", "  ~bravo~races/short1-bal.rep"),
                rows.stream().map(row -> row.substring(0, 29)).toList(), text);
        assertEquals(rows.get(0).length(), rows.get(1).length(), text);
        String longSet = "/tmp/" + "a-folder-with-a-long-name/".repeat(6) + "traces";
        String wide = ResultTable.render(ReplayReport.of(1, glibc, List.of(new TraceInfo("t", longSet, "t.rep", 10, 2,
                100)), List.of(), List.of(result("glibc", "t", longSet, 0.001, 1000))));
        assertTrue(wide.lines().allMatch(line -> line.length() <= 120), wide);
        assertTrue(wide.contains("\n/tmp/a-folder-with-a-long-name/a-folder-with-a-long-name/a-~e/a-folder"), wide);
    }

    @Test
    void controlCharactersInNamesAndErrorsAreEscaped() {
        List<AllocatorStatus> glibc = List.of(new AllocatorStatus("glibc", true, null, "RSS", false));
        String red = "evil\u001b[31mRED\u001b[0m";
        List<TraceInfo> traces = List.of(new TraceInfo(red, "s\tet", "x", 1000, 10, 500));
        String text = ResultTable.render(ReplayReport.of(1, glibc, traces,
                List.of(new TraceError("dir/" + red + ".rep", 0, "cannot be read: permission denied")),
                List.of(result("glibc", red, "s\tet", 0.001, 1000))));
        assertTrue(text.contains("  evil\\x1b[31mRED\\x1b[0m "), text);
        assertTrue(text.contains("\ns\\x09et\n"), text);
        assertTrue(text.contains("  'dir/evil\\x1b[31mRED\\x1b[0m.rep': cannot be read"), text);
        assertTrue(text.chars().allMatch(c -> c == '\n' || c >= ' ' && c != 0x7F), text);
    }

    @Test
    void workerMessagesSurviveTheirLine() {
        TraceResult result = result("jemalloc", "t", "s", 0.5, 123);
        assertEquals(result, WorkerProtocol.read(WorkerProtocol.write(result)));
        AllocatorStatus status = AllocatorStatus.skipped("x", "why");
        assertEquals(status, WorkerProtocol.read(WorkerProtocol.write(status)));
        assertNull(WorkerProtocol.read("<jemalloc>: some warning"));
    }
}
