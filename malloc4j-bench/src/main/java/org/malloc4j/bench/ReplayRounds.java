package org.malloc4j.bench;

import java.util.Locale;
import org.malloc4j.Heap;
import org.malloc4j.HeapStats;
import org.malloc4j.cli.Trace;

/**
 * Replays one trace round after round on one heap, as a program repeats its work (and as
 * {@code malloc4j replay} runs its timed passes on the heap of its checked pass), and prints what
 * each round cost the heap in OS calls and memory returned: how soon the heap stops returning
 * memory that the next round faults in again, and what it keeps committed for that. Not a
 * benchmark: its times are single runs, for spotting a round that churns, not for comparing.
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp malloc4j-bench/target/benchmarks.jar \
 *      org.malloc4j.bench.ReplayRounds ../shared/traces/malloclab/random-bal.rep 8
 * </pre>
 *
 * The trace is a {@code .rep} file or a bundled one ({@code real/gcc-cc1-O2}); the rounds default to 8.
 */
public final class ReplayRounds {
    private ReplayRounds() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1 || args.length > 2) {
            System.err.println("usage: ReplayRounds <trace.rep | set/name> [rounds, default 8]");
            System.exit(2);
        }
        Trace trace = ReplayBenchmark.source(args[0]).read();
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        byte[] kinds = trace.kinds();
        int[] ids = trace.ids();
        long[] sizes = trace.sizes();
        long[] live = new long[trace.numIds()];
        System.out.println("round        ms  madvise  purged MB  committed peak MB");
        try (Heap heap = Heap.builder().name("rounds").build()) {
            for (int round = 0; round < rounds; round++) {
                HeapStats before = heap.stats();
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
                }
                for (int id = 0; id < live.length; id++) {
                    if (live[id] != 0) {
                        heap.freeAddress(live[id]);
                        live[id] = 0;
                    }
                }
                long nanos = System.nanoTime() - start;
                HeapStats after = heap.stats();
                System.out.println(String.format(Locale.ROOT, "%5d %9.2f %8d %10.2f %18.2f", round, nanos / 1e6,
                        after.madviseCalls() - before.madviseCalls(),
                        (after.purgedBytes() - before.purgedBytes()) / 1e6, after.peakCommittedBytes() / 1e6));
            }
        }
    }
}
