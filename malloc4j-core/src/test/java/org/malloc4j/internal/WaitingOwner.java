package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;
import java.util.function.LongConsumer;
import java.util.function.LongUnaryOperator;
import org.malloc4j.IdleThread;

/**
 * An owner that allocated many sizes, freed most of its blocks and waits: the purger takes its
 * current pages ({@link IdleCurrentPages}) once the heap's purge delay has passed.
 */
final class WaitingOwner {
    private WaitingOwner() {
    }

    /**
     * Runs 20,000 mallocs of 16 to 3,015 bytes on {@code owner}, frees three in four, and waits up to
     * 5 s for the purger to take some of its current pages.
     *
     * @param blocks gets every block allocated, the freed ones included (those at indices that are
     *     multiples of 4 are live)
     * @param malloc the test's malloc, on the heap of {@code core}
     * @param free the test's free
     * @return the owner's thread heap, whose current pages the purger took
     */
    static ThreadHeap leftWithPagesTaken(IdleThread owner, HeapCore core, List<Long> blocks, LongUnaryOperator malloc,
            LongConsumer free) throws Exception {
        SplittableRandom random = new SplittableRandom(8);
        owner.run(() -> {
            for (int i = 0; i < 20_000; i++) {
                blocks.add(malloc.applyAsLong(16 + random.nextInt(3_000)));
            }
            for (int i = 0; i < blocks.size(); i++) {
                if (i % 4 != 0) {
                    free.accept(blocks.get(i));
                }
            }
        });
        ThreadHeap heap = heapOf(core, owner.thread());
        assertNotNull(heap, "the owner has no thread heap");
        for (int poll = 0; poll < 250 && takenClass(heap) < 0; poll++) {
            Thread.sleep(20);
        }
        assertTrue(takenClass(heap) >= 0, "the purger took no current page in 5 s");
        return heap;
    }

    /** @return the first size class of which the purger took {@code heap}'s current page, or -1 (a racy read, for polling) */
    static int takenClass(ThreadHeap heap) throws ReflectiveOperationException {
        Page[] pages = taken(heap);
        for (int c = 0; pages != null && c < pages.length; c++) {
            if (pages[c] != null) {
                return c;
            }
        }
        return -1;
    }

    /**
     * @return the pages the purger took from {@code heap} ({@link ThreadHeap#takeCurrentPages}) and
     *     its owner has not settled yet, by size class, or null (a racy read, for polling)
     */
    static Page[] taken(ThreadHeap heap) throws ReflectiveOperationException {
        return (Page[]) Fields.read(heap, ThreadHeap.class, "taken");
    }

    /** @return the registered thread heap of {@code thread}, or null */
    static ThreadHeap heapOf(HeapCore core, Thread thread) throws ReflectiveOperationException {
        for (ThreadHeap heap : (ThreadHeap[]) Fields.read(core, HeapCore.class, "registered")) {
            if (heap.thread == thread) {
                return heap;
            }
        }
        return null;
    }
}
