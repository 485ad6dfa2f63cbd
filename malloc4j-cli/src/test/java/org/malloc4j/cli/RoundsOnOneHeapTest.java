package org.malloc4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import org.malloc4j.Heap;
import org.malloc4j.HeapStats;
import org.junit.jupiter.api.Test;

/**
 * A bundled trace replayed round after round on one heap, as {@code replay}'s timed passes and a
 * program's request loop do: once the heap knows the round, it stops returning memory at the peak
 * only to fault it in again.
 */
class RoundsOnOneHeapTest {

    /**
     * random2-bal (13.8 MiB live at most) on one heap: its first two rounds scavenge a peak's worth
     * at the peak, so the guard tolerates a quarter over it from the third. The live bytes are
     * summed only now and then, so a round's first sum may lie above every earlier one without the
     * live bytes having grown; when that question came first, the guard could start over instead:
     * 1.6 MiB scavenged and about 95 {@code madvise}s a round for eight more rounds, all of
     * {@code replay}'s timed passes among them. (Earlier, a retired page's purge in exchange for
     * all it might commit also cost a {@code madvise} every round for good.)
     */
    @Test
    void random2BalStopsReturningMemoryAtThePeakFromItsFourthRound() throws Exception {
        Trace trace = TraceFinder.bundled().stream()
                .filter(source -> source.name().equals("random2-bal")).findFirst().orElseThrow().read();
        // A purge delay no round reaches: what goes back is the peak guard's doing alone.
        try (Heap heap = Heap.builder().name("random2-rounds").purgeDelay(Duration.ofHours(1)).build()) {
            ReplayAllocator onHeap = onHeap(heap);
            for (int round = 0; round < 3; round++) {
                TimedReplay.run(trace, onHeap);
            }
            HeapStats warm = heap.stats();
            for (int round = 0; round < 3; round++) {
                TimedReplay.run(trace, onHeap);
            }
            HeapStats after = heap.stats();
            assertEquals(warm.madviseCalls(), after.madviseCalls(), "madvise calls in rounds 4 to 6\n" + after.toText());
            assertEquals(0, after.liveBlocks());
        }
    }

    /** @return {@code replay}'s view of {@code heap}, which stays open from pass to pass */
    private static ReplayAllocator onHeap(Heap heap) {
        return new ReplayAllocator() {
            @Override
            public String name() {
                return heap.name();
            }

            @Override
            public String footprintSource() {
                return "Heap.stats()";
            }

            @Override
            public void startTrace(int numIds) {
            }

            @Override
            public long malloc(int id, long size) {
                return heap.mallocAddress(size);
            }

            @Override
            public long realloc(int id, long address, long size) {
                return heap.reallocAddress(address, size);
            }

            @Override
            public void free(int id, long address) {
                heap.freeAddress(address);
            }

            @Override
            public long footprint() {
                return heap.stats().committedBytes();
            }

            @Override
            public void endTrace() {
            }
        };
    }
}
