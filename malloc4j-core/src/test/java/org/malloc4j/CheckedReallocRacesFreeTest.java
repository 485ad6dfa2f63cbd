package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

/**
 * A checked heap's realloc that moves a block, racing another thread's free of the same block (a
 * double free), while a third thread allocates as soon as that free returns and may get the
 * block's memory: the realloc frees the block it copied, never the third thread's, so exactly one
 * of the realloc and the free gets the block and the third thread's block stays live.
 */
class CheckedReallocRacesFreeTest {
    private static final int ROUNDS = 40;
    private static final long SIZE = 1 << 20;
    /** Large enough that the realloc's new block and its copy leave the free a wide window. */
    private static final long GROWN = 64L << 20;

    @Test
    void aReallocRacingADoubleFreeNeverFreesTheBlockAThirdThreadGotSince() throws InterruptedException {
        // No quarantine: the freed block's memory goes to the next malloc at once.
        try (Heap heap = Heap.builder().name("realloc racing a free").checkMode(CheckMode.FULL)
                .quarantineBytes(0).leakReportAtClose(false).build()) {
            for (int round = 0; round < ROUNDS; round++) {
                playRound(heap, round);
            }
            HeapStats stats = heap.stats();
            assertEquals(0, stats.liveBlocks(), stats.toText());
            assertEquals(stats.mallocCount(), stats.freeCount(), stats.toText());
            heap.check();
        }
    }

    private static void playRound(Heap heap, int round) throws InterruptedException {
        MemorySegment block = heap.malloc(SIZE);
        CountDownLatch start = new CountDownLatch(1);
        CountDownLatch freed = new CountDownLatch(1);
        Throwable[] failures = new Throwable[2];
        MemorySegment[] third = new MemorySegment[1];
        Thread realloc = Thread.ofPlatform().name("reallocer").start(() -> {
            try {
                start.await();
                heap.free(heap.realloc(block, GROWN));
            } catch (Throwable e) {
                failures[0] = e;
            }
        });
        Thread free = Thread.ofPlatform().name("double freer").start(() -> {
            try {
                start.await();
                heap.free(block);
            } catch (Throwable e) {
                failures[1] = e;
            }
            freed.countDown();
        });
        Thread allocate = Thread.ofPlatform().name("third").start(() -> {
            try {
                freed.await();
                third[0] = heap.malloc(SIZE);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        start.countDown();
        realloc.join();
        free.join();
        allocate.join();
        String outcome = "round " + round + ": realloc " + failures[0] + ", free " + failures[1];
        assertTrue(failures[0] == null ^ failures[1] == null, outcome);
        Throwable lost = failures[0] != null ? failures[0] : failures[1];
        assertTrue(lost instanceof MemoryMisuseException misuse
                && misuse.kind() == MemoryMisuseException.Kind.DOUBLE_FREE, outcome);
        assertNotNull(third[0], outcome);
        // The third thread's block is live: written and freed with no complaint.
        third[0].fill((byte) 7);
        assertEquals(7, third[0].get(ValueLayout.JAVA_BYTE, SIZE - 1), outcome);
        heap.free(third[0]);
    }
}
