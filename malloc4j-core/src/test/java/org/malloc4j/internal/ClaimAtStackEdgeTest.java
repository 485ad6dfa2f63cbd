package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.malloc4j.Heap;

/**
 * The owner's free of a block another thread has marked (a resize in place) waits for the mark and
 * never takes it: were the mark replaced by the free entry and not put back, its holder would wait
 * for it forever. The owner frees the marked block at every depth near the end of its stack, and
 * no free that overflows may leave the entry free. A claim by atomic exchange that put a taken
 * mark back failed this, even with the put-back in the exchange's own frame, most likely by an
 * overflow inside the JDK's byte-wide atomic once it had stored (core README, "An exchange in place
 * of the compare-and-set").
 */
class ClaimAtStackEdgeTest {
    private Heap heap;
    private Page page;
    private int index;
    private long block;
    private volatile boolean entryLeftFree;
    private volatile boolean freed;

    @Test
    void aFreeThatOverflowsTheStackNeverLeavesAnotherThreadsMarkTaken() throws Exception {
        for (int shift = 0; shift < StackEdge.SHIFTS; shift++) {
            try (Heap fresh = Heap.builder().name("claim at the stack's edge").build()) {
                heap = fresh;
                HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
                CountDownLatch marked = new CountDownLatch(1);
                CountDownLatch allocated = new CountDownLatch(1);
                entryLeftFree = false;
                freed = false;
                StackEdge edge = new StackEdge(shift, this::tryFree);
                Thread owner = new Thread(null, () -> {
                    block = heap.mallocAddress(100);
                    page = RegionMap.slicePage(block, core);
                    index = page.blockIndex(block);
                    allocated.countDown();
                    try {
                        marked.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    edge.descend();
                }, "owner", StackEdge.STACK_BYTES);
                owner.start();
                assertTrue(allocated.await(10, TimeUnit.SECONDS));
                // This thread's resize in place has marked the block, and not yet settled.
                ResizeMarks.mark(page, index, 100);
                marked.countDown();
                // Once a free gets past the stack's end, it waits for the mark: the tries stop.
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                int seen = -1;
                long stillSince = System.nanoTime();
                while (owner.isAlive() && !entryLeftFree && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                    int now = edge.attempts();
                    if (now != seen) {
                        seen = now;
                        stillSince = System.nanoTime();
                    } else if (System.nanoTime() - stillSince > 300_000_000L
                            && page.slack8[index] == Page.TENTATIVE_ENTRY) {
                        break;
                    }
                }
                assertTrue(edge.attempts() > 0, "no free was tried");
                assertFalse(entryLeftFree, "a free that overflowed the stack left the mark taken, shift " + shift);
                assertNotEquals(Page.FREE_ENTRY, page.slack8[index], "the mark is gone");
                ResizeMarks.settle(page, block, index, 100, 100);
                owner.join(10_000);
                assertTrue(freed, "the free that waited for the mark did not free the block");
                assertEquals(0, heap.stats().liveBlocks());
            }
        }
    }

    /** @return whether to try again: not once the block is freed, or its entry left free */
    private boolean tryFree() {
        try {
            heap.freeAddress(block);
            freed = true;
        } catch (StackOverflowError e) {
            if (page.slack8[index] == Page.FREE_ENTRY) {
                entryLeftFree = true;
            }
        }
        return !freed && !entryLeftFree;
    }
}
