package org.malloc4j.bench;

import java.io.IOException;
import java.time.Duration;
import java.util.Locale;
import org.malloc4j.Heap;
import org.malloc4j.HeapStats;
import org.malloc4j.cli.Trace;
import org.malloc4j.cli.TraceFormatException;

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

    private static final String USAGE = "usage: ReplayRounds <trace.rep | set/name> [rounds, default 8] [purge delay in ms]";

    public static void main(String[] args) throws Exception {
        if (args.length < 1 || args.length > 3) {
            fail(2, USAGE);
        }
        int rounds = args.length > 1 ? atLeast(args[1], 1, "rounds") : 8;
        long purgeDelayMillis = args.length > 2 ? atLeast(args[2], 0, "purge delay in ms") : -1;
        Trace trace = null;
        try {
            trace = ReplayBenchmark.source(args[0]).read();
        } catch (TraceFormatException e) {
            fail(1, "ReplayRounds: " + e.getMessage());
        } catch (IllegalArgumentException e) {
            fail(2, "ReplayRounds: " + e.getMessage());
        } catch (IOException e) {
            fail(2, "ReplayRounds: " + args[0] + ": " + e);
        }
        byte[] kinds = trace.kinds();
        int[] ids = trace.ids();
        long[] sizes = trace.sizes();
        long[] live = new long[trace.numIds()];
        System.out.println("round        ms  madvise  purged MB  committed peak MB  footprint peak MB  utilization");
        Heap.Builder builder = Heap.builder().name("rounds");
        if (purgeDelayMillis >= 0) {
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
                    switch (kinds[op]) {
                        case Trace.ALLOC -> live[id] = heap.mallocAddress(sizes[op]);
                        case Trace.REALLOC -> live[id] = heap.reallocAddress(live[id], sizes[op]);
                        default -> {
                            heap.freeAddress(live[id]);
                            live[id] = 0;
                        }
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
                System.out.println(String.format(Locale.ROOT, "%5d %9.2f %8d %10.2f %18.2f %18.2f %12s", round,
                        nanos / 1e6, after.madviseCalls() - before.madviseCalls(),
                        (after.purgedBytes() - before.purgedBytes()) / 1e6, after.peakCommittedBytes() / 1e6,
                        footprintPeak / 1e6, utilization));
            }
        }
    }

    /** @return {@code text} as a whole number of at least {@code min}, or exits with status 2 naming {@code what} */
    private static int atLeast(String text, int min, String what) {
        try {
            int value = Integer.parseInt(text);
            if (value >= min) {
                return value;
            }
        } catch (NumberFormatException e) {
            // Said below, as for a number under the least.
        }
        fail(2, "ReplayRounds: " + what + " must be a whole number of at least " + min + ", got '" + text + "'\n" + USAGE);
        return 0;
    }

    private static void fail(int status, String message) {
        System.err.println(message);
        System.exit(status);
    }
}
