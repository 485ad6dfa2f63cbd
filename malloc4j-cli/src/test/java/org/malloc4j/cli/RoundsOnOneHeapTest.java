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
    void random2BalStopsReturningMemoryAtThePeakByItsThirdRound() throws Exception {
        Trace trace = TraceFinder.bundled().stream()
                .filter(source -> source.name().equals("random2-bal")).findFirst().orElseThrow().read();
        try (Heap heap = Heap.builder().name("random2-rounds").purgeDelay(Duration.ofHours(1)).build()) {
            long[] blocks = new long[trace.numIds()];
            for (int round = 0; round < 3; round++) {
                replay(heap, trace, blocks);
            }
            HeapStats warm = heap.stats();
            for (int round = 0; round < 3; round++) {
                replay(heap, trace, blocks);
            }
            HeapStats after = heap.stats();
            assertEquals(warm.madviseCalls(), after.madviseCalls(), "madvise calls in rounds 4 to 6\n" + after.toText());
            assertEquals(0, after.liveBlocks());
        }
    }

    private static void replay(Heap heap, Trace trace, long[] blocks) {
        byte[] kinds = trace.kinds();
        int[] ids = trace.ids();
        long[] sizes = trace.sizes();
        for (int op = 0; op < kinds.length; op++) {
            int id = ids[op];
            switch (kinds[op]) {
                case Trace.ALLOC -> blocks[id] = heap.mallocAddress(sizes[op]);
                case Trace.REALLOC -> blocks[id] = heap.reallocAddress(blocks[id], sizes[op]);
                default -> {
                    heap.freeAddress(blocks[id]);
                    blocks[id] = 0;
                }
            }
        }
        for (int id = 0; id < blocks.length; id++) {
            if (blocks[id] != 0) {
                heap.freeAddress(blocks[id]);
                blocks[id] = 0;
            }
        }
    }
}
