package org.malloc4j.bench;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.malloc4j.cli.TraceFormatException;

/**
 * Reads each trace named, as {@link ReplayBenchmark} will, so that a file that is no trace is
 * refused before a run of many minutes reaches it: {@code compare} checks {@code COMPARE_TRACES}
 * with it.
 *
 * <pre>java -cp benchmarks.jar org.malloc4j.bench.TraceCheck TRACE...</pre>
 *
 * A trace is a bundled one ({@code set/name}) or a {@code .rep} file (or {@code .rep.gz}). It prints
 * one line per trace that cannot be replayed, saying why (for a file that is not in the
 * {@code .rep} format, the line and the problem), on standard error. Exit: 0 when every trace reads,
 * else 2.
 */
public final class TraceCheck {
    private TraceCheck() {
    }

    public static void main(String[] args) {
        if (args.length == 0) {
            System.err.println("usage: java -cp benchmarks.jar org.malloc4j.bench.TraceCheck TRACE...");
            System.exit(2);
        }
        List<String> problems = problems(List.of(args));
        problems.forEach(System.err::println);
        System.exit(problems.isEmpty() ? 0 : 2);
    }

    /** @return a line for each trace that cannot be replayed, in the order given */
    static List<String> problems(List<String> traces) {
        List<String> problems = new ArrayList<>();
        for (String trace : traces) {
            try {
                ReplayBenchmark.source(trace).read();
            } catch (TraceFormatException e) {
                // Its message names the file and the line already.
                problems.add(e.getMessage());
            } catch (IOException | IllegalArgumentException e) {
                problems.add(trace + ": " + e.getMessage());
            }
        }
        return problems;
    }
}
