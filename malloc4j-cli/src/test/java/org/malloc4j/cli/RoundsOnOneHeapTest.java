package org.malloc4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
        try (Rounds rounds = Rounds.of("random2-bal")) {
            assertEquals(0, roundsWithoutMadvise(rounds, 3, 3).liveBlocks());
        }
    }

    /**
     * gcc's cc1 (3.8 MiB live at most) on one heap: the guard returns memory at the peak until it
     * has returned 3 times the peak since the live bytes last grew, then lets the loop keep what it
     * needs. 11.5 MB over rounds 2 to 10 at 3 times; 15.8 MB at 4 times, which also went on
     * returning a round later.
     */
    @Test
    void gccReturnsAboutThreeTimesItsPeakBeforeItKnowsTheLoop() throws Exception {
        try (Rounds rounds = Rounds.of("gcc-cc1-O2")) {
            rounds.run(1);
            HeapStats first = rounds.heap.stats();
            long peak = first.peakCommittedBytes() + first.metadataBytes();
            rounds.run(9);
            HeapStats after = rounds.heap.stats();
            long returned = after.purgedBytes() - first.purgedBytes();
            assertTrue(returned <= 3.5 * peak, "returned " + returned + " B in rounds 2 to 10, the peak "
                    + peak + " B\n" + after.toText());
            assertEquals(0, after.liveBlocks());
        }
    }

    /**
     * gcc's cc1 on one heap, past the rounds in which the guard returns memory: a medium page's
     * commit that would grow the footprint past the peak it no longer guards takes a retired medium
     * page's committed memory (or another medium class's empty page) as its class's page instead.
     * Before, the loop committed fresh memory for one class while other classes' retired pages
     * waited through the peak, and kept both: 6.33 MB committed at most by the 4th round, 5.78 MB
     * now; neither returns memory from the 4th round on.
     */
    @Test
    void gccTakesRetiredPagesCommittedMemoryRatherThanGrowInItsLoop() throws Exception {
        try (Rounds rounds = Rounds.of("gcc-cc1-O2")) {
            HeapStats after = roundsWithoutMadvise(rounds, 4, 4);
            assertTrue(after.peakCommittedBytes() <= 6_000_000, "committed at most " + after.peakCommittedBytes()
                    + " B in 8 rounds\n" + after.toText());
            assertEquals(0, after.liveBlocks());
        }
    }

    /**
     * A bundled trace replayed through {@code replay}'s own timed pass and malloc4j adapter, on one
     * heap whose purge delay no round reaches: what goes back is the peak guard's doing alone.
     */
    private record Rounds(Trace trace, Heap heap, Malloc4jAllocator replay) implements AutoCloseable {
        static Rounds of(String traceName) throws Exception {
            Trace trace = TraceFinder.bundled().stream()
                    .filter(source -> source.name().equals(traceName)).findFirst().orElseThrow().read();
            Heap heap = Heap.builder().name(traceName + " rounds").purgeDelay(Duration.ofHours(1)).build();
            Malloc4jAllocator replay = Malloc4jAllocator.over(() -> heap);
            replay.startTrace(trace.numIds());
            return new Rounds(trace, heap, replay);
        }

        void run(int count) throws ReplayFailure {
            for (int round = 0; round < count; round++) {
                TimedReplay.run(trace, replay);
            }
        }

        @Override
        public void close() {
            replay.endTrace();
        }
    }

    /**
     * Runs {@code warm} rounds, then {@code more}, and asserts the later ones made no {@code madvise}.
     *
     * @return the heap's statistics after them all
     */
    private static HeapStats roundsWithoutMadvise(Rounds rounds, int warm, int more) throws Exception {
        rounds.run(warm);
        long before = rounds.heap.stats().madviseCalls();
        rounds.run(more);
        HeapStats after = rounds.heap.stats();
        assertEquals(before, after.madviseCalls(), "madvise calls in rounds " + (warm + 1) + " to " + (warm + more)
                + "\n" + after.toText());
        return after;
    }
}
