package org.malloc4j.bench;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.malloc4j.cli.PhysicalMemory;
import org.malloc4j.cli.Trace;
import org.malloc4j.cli.TraceError;
import org.malloc4j.cli.TraceFormatException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * Reads each trace named, as {@link ReplayBenchmark} will, so that a file that is no trace is
 * refused before a run of many minutes reaches it: {@code compare} checks {@code COMPARE_TRACES}
 * with it. A trace whose live blocks add up to more than the machine's memory is refused too, with
 * the line {@code malloc4j replay} gives it: that command does not replay it, and a peer asked for
 * that much fails the benchmark mid-run.
 *
 * <pre>java -cp benchmarks.jar org.malloc4j.bench.TraceCheck TRACE...</pre>
 *
 * A trace is a bundled one ({@code set/name}) or a {@code .rep} file (or {@code .rep.gz}). It prints
 * one line per trace that cannot be replayed, saying why (for a file that is not in the
 * {@code .rep} format, the line and the problem), on standard error. Exit: 0 when every trace reads
 * and fits in the machine's memory, else 2.
 */
public final class TraceCheck {
    private TraceCheck() {
    }

    /** The command line, parsed by picocli; {@link #call} reads the traces. */
    @Command(name = "TraceCheck", usageHelpWidth = 100, description = {
        "Reads each trace as ReplayBenchmark will, and prints one line per trace that cannot be replayed, saying"
                + " why, on standard error: one that is not a trace, or whose live blocks add up to more than this"
                + " machine's memory (as malloc4j replay refuses it).",
        "Exit: 0 when every trace can be replayed, else 2 (and for bad arguments)."})
    static final class Options extends ToolCommand {
        @Parameters(arity = "1..*", paramLabel = "TRACE",
                description = "A .rep (or .rep.gz) file, or a bundled trace (set/name, as real/gcc-cc1-O2).")
        List<String> traces;

        @Override
        public Integer call() {
            traces.forEach(this::refuseUnknownOption);
            List<String> problems = problems(traces, PhysicalMemory.totalBytes());
            problems.forEach(err()::println);
            return problems.isEmpty() ? 0 : 2;
        }
    }

    public static void main(String[] args) {
        ToolCommandLine.exit(new Options(), args);
    }

    /**
     * @param memoryBytes the machine's memory ({@link PhysicalMemory#totalBytes()}), 0 if unknown
     * @return a line for each trace that cannot be replayed, in the order given
     */
    static List<String> problems(List<String> traces, long memoryBytes) {
        List<String> problems = new ArrayList<>();
        for (String trace : traces) {
            try {
                Trace read = ReplayBenchmark.source(trace).read();
                String beyond = PhysicalMemory.beyondMemory(read, memoryBytes);
                if (beyond != null) {
                    // Worded and shaped as malloc4j replay's line for the same trace.
                    problems.add(new TraceError(trace, 0, beyond).message());
                }
            } catch (TraceFormatException e) {
                // Its message names the file and the line already.
                problems.add(e.getMessage());
            } catch (IllegalArgumentException e) {
                // Neither a bundled trace nor a file: the message names the trace already.
                problems.add(e.getMessage());
            } catch (IOException e) {
                problems.add(trace + ": " + e.getMessage());
            } catch (OutOfMemoryError e) {
                // The parse's arrays are garbage once it throws: the other traces still fit.
                problems.add(TraceError.tooLargeForHeap(trace).message());
            }
        }
        return problems;
    }
}
