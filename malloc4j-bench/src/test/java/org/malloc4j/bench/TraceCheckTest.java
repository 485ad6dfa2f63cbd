package org.malloc4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.malloc4j.cli.PhysicalMemory;

class TraceCheckTest {
    /** This machine's memory, which the command line checks the traces against. */
    private static final long MACHINE = PhysicalMemory.totalBytes();
    /** A trace whose one block is the most a .rep may ask for: more than any machine's memory. */
    private static final String HUGE = "20000\n1\n2\n1\na 0 9223372036854775807\nf 0\n";

    @TempDir
    Path dir;

    @Test
    void aTraceThatReadsHasNoProblem() throws IOException {
        Path trace = Files.writeString(dir.resolve("small.rep"), "0\n2\n4\n1\na 0 16\na 1 32\nf 0\nf 1\n");
        assertEquals(List.of(), TraceCheck.problems(List.of(trace.toString(), "real/gcc-cc1-O2"), MACHINE));
    }

    @Test
    void aFileThatIsNoTraceIsRefusedWithItsLineAndProblem() throws IOException {
        Path passwd = Files.writeString(dir.resolve("passwd"), "root:x:0:0:root:/root:/bin/bash\n");
        Path empty = Files.writeString(dir.resolve("empty.rep"), "");
        Path good = Files.writeString(dir.resolve("good.rep"), "0\n1\n2\n1\na 0 16\nf 0\n");
        List<String> problems = TraceCheck.problems(List.of(passwd.toString(), good.toString(), empty.toString()),
                MACHINE);
        assertEquals(2, problems.size(), problems.toString());
        assertTrue(problems.get(0).startsWith(passwd + ":1: header: heap size must be a number"), problems.get(0));
        assertTrue(problems.get(1).startsWith(empty + ":") && problems.get(1).contains("missing heap size"),
                problems.get(1));
    }

    @Test
    void aTruncatedTraceIsRefused() throws IOException {
        Path cut = Files.writeString(dir.resolve("cut.rep"), "0\n2\n4\n1\na 0 16\n");
        List<String> problems = TraceCheck.problems(List.of(cut.toString()), MACHINE);
        assertEquals(1, problems.size(), problems.toString());
        assertTrue(problems.get(0).startsWith(cut + ":"), problems.get(0));
    }

    @Test
    void aNameThatIsNeitherBundledNorAFileIsRefused() {
        List<String> problems = TraceCheck.problems(List.of(dir.resolve("missing.rep").toString()), MACHINE);
        assertEquals(1, problems.size(), problems.toString());
        assertTrue(problems.get(0).contains("neither a bundled trace"), problems.get(0));
        // Named once: the line is not "path: trace 'path' is ...".
        assertTrue(problems.get(0).startsWith("trace '" + dir.resolve("missing.rep") + "' is neither"),
                problems.get(0));
    }

    @Test
    void theCommandLineIsQuietWhenEveryTraceReads() throws IOException {
        Path trace = Files.writeString(dir.resolve("small.rep"), "0\n2\n4\n1\na 0 16\na 1 32\nf 0\nf 1\n");
        assertEquals(new ToolRun(0, "", ""), ToolRun.of(new TraceCheck.Options(), trace.toString(), "real/gcc-cc1-O2"));
    }

    @Test
    void theCommandLineNamesEachTraceThatDoesNotReadAndExitsWith2() throws IOException {
        Path passwd = Files.writeString(dir.resolve("passwd"), "root:x:0:0:root:/root:/bin/bash\n");
        Path good = Files.writeString(dir.resolve("good.rep"), "0\n1\n2\n1\na 0 16\nf 0\n");
        Path missing = dir.resolve("missing.rep");
        List<String> args = List.of(passwd.toString(), good.toString(), missing.toString());
        ToolRun run = ToolRun.of(new TraceCheck.Options(), args.toArray(String[]::new));
        assertEquals(2, run.status(), run.toString());
        assertEquals(TraceCheck.problems(args, MACHINE), run.err().lines().toList());
        assertEquals(2, run.err().lines().count(), run.toString());
        assertEquals("", run.out());
    }

    /** malloc4j replay refuses such a trace up front; ReplayBenchmark's peers would fail on it mid-run. */
    @Test
    void aTraceWhoseLiveBlocksOutgrowTheMachinesMemoryIsRefusedAsReplayRefusesIt() throws IOException {
        Path small = Files.writeString(dir.resolve("small.rep"), "0\n2\n4\n1\na 0 16\na 1 32\nf 0\nf 1\n");
        assertEquals(List.of(small + ": its live blocks add up to 48 B at their peak, more than this machine's 47 B"
                + " of memory, which the checked pass would write in full: not replayed (a limit of the machine, not"
                + " a fault of any allocator)"), TraceCheck.problems(List.of(small.toString()), 47));
        assertEquals(List.of(), TraceCheck.problems(List.of(small.toString()), 48));
        assertEquals(List.of(), TraceCheck.problems(List.of(small.toString()), 0), "a machine whose memory is unknown");
    }

    @Test
    void theCommandLineRefusesATraceTooLargeForThisMachineAndExitsWith2() throws IOException {
        assumeTrue(MACHINE > 0, "this JVM cannot tell the machine's memory");
        Path huge = Files.writeString(dir.resolve("huge.rep"), HUGE);
        ToolRun run = ToolRun.of(new TraceCheck.Options(), huge.toString());
        assertEquals(2, run.status(), run.toString());
        assertTrue(run.err().startsWith(huge + ": its live blocks add up to 8.0 EiB at their peak, more than this"
                + " machine's "), run.toString());
        assertEquals(1, run.err().lines().count(), run.toString());
        assertEquals("", run.out());
    }

    @Test
    void anUnknownOptionIsAUsageError() {
        ToolRun.assertRefused(TraceCheck.Options::new, "Unknown option: '--bogus'", "--bogus");
    }

    @Test
    void helpPrintsTheUsageAndExitsWith0() {
        ToolRun.assertHelp(TraceCheck.Options::new, "Usage: TraceCheck [-h] TRACE...");
    }

    @Test
    void noTraceIsAUsageError() {
        ToolRun run = ToolRun.of(new TraceCheck.Options());
        assertEquals(2, run.status(), run.toString());
        assertTrue(run.err().startsWith("Missing required parameter: 'TRACE'\nUsage: TraceCheck"), run.toString());
    }
}
