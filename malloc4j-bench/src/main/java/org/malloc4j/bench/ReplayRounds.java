package org.malloc4j.bench;

import java.io.IOException;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Locale;
import org.malloc4j.Heap;
import org.malloc4j.HeapStats;
import org.malloc4j.cli.Trace;
import org.malloc4j.cli.TraceError;
import org.malloc4j.cli.TraceFormatException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * Replays one trace round after round on one heap, as a program repeats its work (and as
 * {@code malloc4j replay} runs its timed passes on the heap of its checked pass), and prints what
 * each round cost the heap in OS calls and memory returned: how soon the heap stops returning
 * memory that the next round faults in again, and what it keeps committed for that. Each round's
 * peak footprint is sampled after every request that allocates, as {@code malloc4j replay} samples
 * its one pass on a fresh heap, less the fresh heap's own, so its utilization (the trace's peak live
 * bytes over it) reads beside the replay's. Not a benchmark: its times are single runs (sampling
 * included), for spotting a round that churns, not for comparing.
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp malloc4j-bench/target/benchmarks.jar \
 *      org.malloc4j.bench.ReplayRounds ../shared/traces/malloclab/random-bal.rep 8
 * </pre>
 *
 * The trace is a {@code .rep} file or a bundled one ({@code real/gcc-cc1-O2}); the rounds default to 8,
 * the heap's purge delay to its default ({@link Heap.Builder#purgeDelay}), or a third argument's
 * milliseconds (a minute holds the purger off for the whole run, so every round's figures come from
 * the heap's own choices alone, the same from run to run).
 */
public final class ReplayRounds {
    private ReplayRounds() {
    }

    /** The command line, parsed by picocli; {@link #call} replays the rounds. */
    @Command(name = "ReplayRounds", usageHelpWidth = 100, description = {
        "Replays one trace round after round on one heap, and prints what each round cost the heap: its time,"
                + " madvise calls, bytes purged, the committed peak, and its peak footprint with the utilization."
                + " Its times are single runs, sampling included, not a benchmark.",
        "Exit: 0; 1 when the file is not a trace; 2 when the trace cannot be read (or its parse needs more than"
                + " the JVM's heap), or for bad arguments; 3 when"
                + " the heap refuses a request of the trace (more than it can hand out, say) or throws at one."})
    static final class Options extends ToolCommand {
        @Parameters(index = "0", paramLabel = "TRACE",
                description = "A .rep (or .rep.gz) file, or a bundled trace (set/name, as real/gcc-cc1-O2).")
        String trace;

        int rounds;

        /** The heap's purge delay, or null for the heap's default. */
        Integer purgeDelayMillis;

        @Parameters(index = "1", arity = "0..1", paramLabel = "ROUNDS", defaultValue = "8",
                description = "How many rounds, at least 1 (default: ${DEFAULT-VALUE}).")
        void rounds(int value) {
            rounds = atLeast(value, 1, "rounds");
        }

        @Parameters(index = "2", arity = "0..1", paramLabel = "PURGE_DELAY_MS", description = "The heap's purge"
                + " delay in ms, at least 0 (default: the heap's own); 60000 holds the purger off for the whole run,"
                + " so that every round's figures are the same from run to run.")
        void purgeDelayMillis(int value) {
            purgeDelayMillis = atLeast(value, 0, "purge delay in ms");
        }

        private int atLeast(int value, int min, String what) {
            if (value < min) {
                throw refused(what + " must be a whole number of at least " + min + ", got '" + value + "'");
            }
            return value;
        }

        @Override
        public Integer call() {
            Trace loaded;
            try {
                loaded = ReplayBenchmark.source(trace).read();
            } catch (TraceFormatException e) {
                err().println("ReplayRounds: " + e.getMessage());
                return 1;
            } catch (IllegalArgumentException e) {
                // Neither a bundled trace nor a file: the argument is wrong, not the file.
                throw refused(e.getMessage());
            } catch (IOException e) {
                // Its message says what is wrong in words (a corrupt gzip stream, a file that cannot be read).
                err().println("ReplayRounds: " + trace + ": " + e.getMessage());
                return 2;
            } catch (OutOfMemoryError e) {
                err().println("ReplayRounds: " + TraceError.tooLargeForHeap(trace).message());
                return 2;
            }
            try {
                replay(loaded, rounds, purgeDelayMillis, out());
            } catch (Stopped e) {
                err().println("ReplayRounds: " + trace + ": " + e.getMessage());
                return 3;
            }
            return 0;
        }
    }

    public static void main(String[] args) {
        ToolCommandLine.exit(new Options(), args);
    }

    /**
     * A request of the trace that the heap refused or threw at: where (the round, and the request's number
     * from 1 as the trace spells it, as {@code malloc4j replay} names a failed request) and the heap's reason.
     */
    static final class Stopped extends Exception {
        private static final long serialVersionUID = 1L;

        Stopped(int round, int op, String request, Throwable cause) {
            super("round " + round + ", op " + (op + 1L) + " (" + request + "): " + reason(cause), cause);
        }

        /** The heap's own message, which says what it refused; a class name only when there is none. */
        private static String reason(Throwable cause) {
            String message = cause.getMessage();
            return message != null && !message.isBlank() ? message
                    : "the heap threw " + cause.getClass().getSimpleName();
        }
    }

    /**
     * Prints a line per round of {@code trace} replayed on a heap with the purge delay given (null: its default).
     *
     * @throws Stopped if the heap refuses a request (a {@link org.malloc4j.HeapExhaustedError}) or throws at one:
     *     the rounds before it are printed, the heap is closed
     */
    static void replay(Trace trace, int rounds, Integer purgeDelayMillis, PrintWriter out) throws Stopped {
        byte[] kinds = trace.kinds();
        int[] ids = trace.ids();
        long[] sizes = trace.sizes();
        long[] live = new long[trace.numIds()];
        out.println("round        ms  madvise  purged MB  committed peak MB  footprint peak MB  utilization");
        Heap.Builder builder = Heap.builder().name("rounds");
        if (purgeDelayMillis != null) {
            builder.purgeDelay(Duration.ofMillis(purgeDelayMillis));
        }
        try (Heap heap = builder.build()) {
            long fresh = heap.footprintBytes();
            for (int round = 0; round < rounds; round++) {
                HeapStats before = heap.stats();
                long footprintPeak = 0;
                long start = System.nanoTime();
                for (int op = 0; op < kinds.length; op++) {
                    int id = ids[op];
                    try {
                        switch (kinds[op]) {
                            case Trace.ALLOC -> live[id] = heap.mallocAddress(sizes[op]);
                            case Trace.REALLOC -> live[id] = heap.reallocAddress(live[id], sizes[op]);
                            default -> {
                                heap.freeAddress(live[id]);
                                live[id] = 0;
                            }
                        }
                    } catch (RuntimeException | OutOfMemoryError e) {
                        // A trace may ask for more than the heap can hand out (a valid .rep allows up to 2^63-1
                        // bytes): a fact about the trace to report, not a fault of this tool.
                        throw new Stopped(round, op, trace.describe(op), e);
                    }
                    if (kinds[op] != Trace.FREE) {
                        footprintPeak = Math.max(footprintPeak, heap.footprintBytes() - fresh);
                    }
                }
                for (int id = 0; id < live.length; id++) {
                    if (live[id] != 0) {
                        heap.freeAddress(live[id]);
                        live[id] = 0;
                    }
                }
                long nanos = System.nanoTime() - start;
                HeapStats after = heap.stats();
                // A round served without growth (a tiny trace) has no finite utilization.
                String utilization = footprintPeak == 0 ? "-"
                        : String.format(Locale.ROOT, "%.1f%%", 100.0 * trace.peakLiveBytes() / footprintPeak);
                out.println(String.format(Locale.ROOT, "%5d %9.2f %8d %10.2f %18.2f %18.2f %12s", round,
                        nanos / 1e6, after.madviseCalls() - before.madviseCalls(),
                        (after.purgedBytes() - before.purgedBytes()) / 1e6, after.peakCommittedBytes() / 1e6,
                        footprintPeak / 1e6, utilization));
            }
        }
    }
}
