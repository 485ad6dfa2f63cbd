package org.malloc4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Logs as JMH 1.37 prints them, cut to the lines that matter. */
class JmhFailuresTest {
    /** A benchmark that threw and a fork that was killed, in a run of two benchmarks. */
    private static final String LOG = """
            # Benchmark mode: Average time, time/op
            # Benchmark: org.malloc4j.bench.PairBenchmark.glibcRaw
            # Parameters: (size = abc)

            # Fork: 1 of 1
            Iteration   1: <failure>

            java.lang.IllegalArgumentException: size must be a byte count or "mixed": abc

            # Benchmark mode: Throughput, ops/time
            # Benchmark: org.malloc4j.bench.PairBenchmark.malloc4jRaw
            # Parameters: (size = 64)

            # Fork: 1 of 1
            <forked VM failed with exit code 137>
            """;

    @TempDir
    Path dir;

    private static List<String> describe(String log) {
        return JmhFailures.find(log.lines().toList()).stream().map(JmhFailures.Failure::describe).toList();
    }

    @Test
    void aBenchmarkThatThrowsIsNamedWithItsException() {
        List<String> failures = describe("""
                # Benchmark mode: Average time, time/op
                # Benchmark: org.malloc4j.bench.PairBenchmark.glibcRaw
                # Parameters: (size = abc)

                # Run progress: 0.00% complete, ETA 00:00:00
                # Fork: 1 of 1
                Iteration   1: <failure>

                java.lang.IllegalArgumentException: size must be a byte count or "mixed": abc
                \tat org.malloc4j.bench.Sizes.of(Sizes.java:44)
                Caused by: java.lang.NumberFormatException: For input string: "abc"
                \t... 14 more




                # JMH version: 1.37
                # Benchmark mode: Average time, time/op
                # Benchmark: org.malloc4j.bench.PairBenchmark.glibcRaw
                # Parameters: (size = 64)

                # Fork: 1 of 1
                Iteration   1: 23.276 ns/op
                """);
        assertEquals(List.of("PairBenchmark.glibcRaw [size=abc]: java.lang.IllegalArgumentException: size must be a"
                + " byte count or \"mixed\": abc"), failures);
    }

    @Test
    void aForkThatWasKilledIsNamedWithItsSignal() {
        List<String> failures = describe("""
                # Benchmark mode: Average time, time/op
                # Benchmark: org.malloc4j.bench.PairBenchmark.malloc4jRaw
                # Parameters: (size = 64)

                # Fork: 1 of 1
                <forked VM failed with exit code 137>
                <stdout last='20 lines'>
                </stdout>
                <stderr last='20 lines'>
                </stderr>

                # JMH version: 1.37
                """);
        assertEquals(1, failures.size(), failures.toString());
        assertTrue(failures.get(0).startsWith("PairBenchmark.malloc4jRaw [size=64]: its forked JVM exited with status 137"
                + " (killed by signal 9"), failures.get(0));
    }

    @Test
    void aForkThatDidNotStartGivesTheJvmsOwnReason() {
        List<String> failures = describe("""
                # Benchmark mode: Average time, time/op
                # Benchmark: org.malloc4j.bench.ReplayBenchmark.malloc4jRaw
                # Parameters: (trace = real/gcc-cc1-O2)

                # Fork: 1 of 1
                Unrecognized VM option 'Bogus'
                Error: Could not create the Java Virtual Machine.
                <forked VM failed with exit code 1>
                <stdout last='20 lines'>
                </stdout>
                <stderr last='20 lines'>
                WARNING: A terminally deprecated method in sun.misc.Unsafe has been called
                Error: Could not create the Java Virtual Machine.
                Unrecognized VM option 'Bogus'
                Error: A fatal exception has occurred. Program will exit.
                </stderr>
                """);
        assertEquals(List.of("ReplayBenchmark.malloc4jRaw [trace=real/gcc-cc1-O2]: its forked JVM exited with status 1:"
                + " Unrecognized VM option 'Bogus'"), failures);
    }

    /** With -bm avgt,thrpt a benchmark runs once per mode; only the throughput run failed here. */
    @Test
    void theModeIsNamedWhenItIsNotAverageTime() {
        List<String> failures = describe("""
                # Benchmark mode: Throughput, ops/time
                # Benchmark: org.malloc4j.bench.PatternBenchmark.Pool.heapRaw
                # Parameters: (blockSize = 64, size = mixed)

                # Warmup Iteration   1: <failure>

                org.malloc4j.bench.PeerUnavailableException: jemalloc: libjemalloc.so.2 does not load
                # Benchmark mode: Average time, time/op
                # Benchmark: org.malloc4j.bench.PatternBenchmark.Pool.heapRaw
                # Parameters: (blockSize = 64, size = mixed)

                Iteration   1: 23.276 ns/op
                """);
        assertEquals(List.of("PatternBenchmark.Pool.heapRaw [blockSize=64 size=mixed] (Throughput):"
                + " org.malloc4j.bench.PeerUnavailableException: jemalloc: libjemalloc.so.2 does not load"), failures);
    }

    @Test
    void aBenchmarkThatFailsInEveryForkIsNamedOnce() {
        List<String> failures = describe("""
                # Benchmark mode: Average time, time/op
                # Benchmark: a.B.c

                # Fork: 1 of 2
                <binary link had failed, forked VM corrupted the stream? Use EXTRA verbose to print exception>
                # Fork: 2 of 2
                <forked VM failed with exit code 134>
                """);
        assertEquals(List.of("a.B.c: binary link had failed, forked VM corrupted the stream? Use EXTRA verbose to print"
                + " exception"), failures);
    }

    @Test
    void aRunWithNoFailureHasNone() {
        assertEquals(List.of(), describe("""
                # Benchmark mode: Average time, time/op
                # Benchmark: org.malloc4j.bench.PairBenchmark.malloc4jRaw
                # Parameters: (size = 64)

                # Fork: 1 of 1
                Iteration   1: 14.345 ns/op
                [malloc4j] metadataBytes 4096
                """));
    }

    @Test
    void theCommandLinePrintsALinePerFailure() throws IOException {
        ToolRun run = ToolRun.of(new JmhFailures.Options(), Files.writeString(dir.resolve("jmh.txt"), LOG).toString());
        assertEquals(0, run.status(), run.toString());
        assertEquals(List.of("PairBenchmark.glibcRaw [size=abc]: java.lang.IllegalArgumentException: size must be a"
                + " byte count or \"mixed\": abc", "PairBenchmark.malloc4jRaw [size=64] (Throughput): its forked JVM"
                + " exited with status 137 (killed by signal 9, as by the kernel's out-of-memory killer or kill -9)"),
                run.out().lines().toList());
        assertEquals(describe(LOG), run.out().lines().toList());
        assertEquals("", run.err());
    }

    @Test
    void aLogWithNoFailurePrintsNothing() throws IOException {
        Path log = Files.writeString(dir.resolve("jmh.txt"), "# Benchmark: a.B.c\nIteration   1: 1.0 ns/op\n");
        assertEquals(new ToolRun(0, "", ""), ToolRun.of(new JmhFailures.Options(), log.toString()));
    }

    @Test
    void aLogThatCannotBeReadExitsWith2() throws IOException {
        Path log = Files.write(dir.resolve("jmh.txt"), new byte[] {'#', ' ', (byte) 0xFF, (byte) 0xFE, '\n'});
        ToolRun run = ToolRun.of(new JmhFailures.Options(), log.toString());
        assertEquals(2, run.status(), run.toString());
        assertEquals("JmhFailures: cannot read " + log + ": it is not UTF-8 text\n", run.err());
    }

    @Test
    void helpPrintsTheUsageAndExitsWith0() {
        ToolRun.assertHelp(JmhFailures.Options::new, "Usage: JmhFailures [-h] JMH-LOG");
    }

    @Test
    void aMissingExtraOrAbsentLogIsAUsageError() {
        Path missing = dir.resolve("jmh.txt");
        assertUsageError("Missing required parameter: 'JMH-LOG'");
        assertUsageError("Unmatched argument at index 1: 'more'", "jmh.txt", "more");
        assertUsageError(missing + " is not a file", missing.toString());
    }

    private static void assertUsageError(String message, String... args) {
        ToolRun.assertRefused(JmhFailures.Options::new, message, args);
    }
}
