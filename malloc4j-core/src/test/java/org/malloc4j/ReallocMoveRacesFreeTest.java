package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A double free racing the owner's realloc that moves a block (realloc's fast path: a block that
 * grows past its block, not its page's first): of the realloc and another thread's free of the
 * same block, exactly one gets it, the other is told it was a double free, and the counts add up.
 */
class ReallocMoveRacesFreeTest {
    private static final int ROUNDS = 20_000;

    @ParameterizedTest
    @CsvSource({"48, 500", "4000, 20000"})
    void exactlyOneOfARaceOfMoveAndFreeGetsTheBlock(long first, long grown) throws InterruptedException {
        try (Heap heap = Heap.builder().name("move racing a free").build()) {
            // The page's first block stays put, so that every raced block is one the fast path moves.
            long firstBlock = heap.mallocAddress(first);
            RacingFreer freer = new RacingFreer(heap);
            freer.start();
            int movesWon = 0;
            int freesWon = 0;
            try {
                for (int round = 0; round < ROUNDS; round++) {
                    long block = heap.mallocAddress(first);
                    freer.free(block);
                    long moved = 0;
                    MemoryMisuseException lost = null;
                    try {
                        moved = heap.reallocAddress(block, grown);
                    } catch (MemoryMisuseException e) {
                        lost = e;
                    }
                    MemoryMisuseException freeLost = freer.awaitOutcome();
                    if (lost == null) {
                        assertTrue(freeLost != null, "round " + round + ": both the move and the free got the block");
                        assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE, freeLost.kind(), freeLost.getMessage());
                        heap.freeAddress(moved);
                        movesWon++;
                    } else {
                        assertNull(freeLost, "round " + round + ": neither the move nor the free got the block");
                        assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE, lost.kind(), lost.getMessage());
                        freesWon++;
                    }
                }
            } finally {
                freer.finish();
            }
            assertEquals(ROUNDS, movesWon + freesWon);
            // Each side won thousands of rounds here (moves 2,500 and 12,089 of 20,000): the race was run.
            assertTrue(movesWon > 0 && freesWon > 0, "moves won " + movesWon + ", frees " + freesWon);
            HeapStats stats = heap.stats();
            assertEquals(1, stats.liveBlocks(), stats.toText());
            assertEquals(first, stats.requestedBytes(), stats.toText());
            assertEquals(stats.mallocCount() - 1, stats.freeCount(), stats.toText());
            heap.check();
            heap.freeAddress(firstBlock);
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    /** A thread that frees the address it is handed as soon as it gets it, and says how that went. */
    private static final class RacingFreer extends Thread {
        private static final Object FREED = new Object();
        private final Heap heap;
        private volatile long address;
        private final AtomicReference<Object> outcome = new AtomicReference<>();
        private volatile boolean finished;

        RacingFreer(Heap heap) {
            this.heap = heap;
            setDaemon(true);
        }

        void free(long block) {
            outcome.set(null);
            address = block;
        }

        /** @return null if the free got the block, else the misuse it reported */
        MemoryMisuseException awaitOutcome() {
            Object seen;
            while ((seen = outcome.get()) == null) {
                Thread.onSpinWait();
            }
            return seen == FREED ? null : (MemoryMisuseException) seen;
        }

        void finish() throws InterruptedException {
            finished = true;
            join();
        }

        @Override
        public void run() {
            while (!finished) {
                long block = address;
                if (block == 0) {
                    Thread.onSpinWait();
                    continue;
                }
                address = 0;
                try {
                    heap.freeAddress(block);
                    outcome.set(FREED);
                } catch (MemoryMisuseException e) {
                    outcome.set(e);
                }
            }
        }
    }
}
