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
    private static final int STACK_BYTES = 256 << 10;

    private Heap heap;
    private Page page;
    private int index;
    private long block;
    private volatile boolean entryLeftFree;
    private volatile boolean freed;
    private volatile int attempts;

    @Test
    void aFreeThatOverflowsTheStackNeverLeavesAnotherThreadsMarkTaken() throws Exception {
        // Frames of four sizes, so that some free overflows at each step of the claim.
        for (int padding = 0; padding < 4; padding++) {
            try (Heap fresh = Heap.builder().name("claim at the stack's edge").build()) {
                heap = fresh;
                HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
                CountDownLatch marked = new CountDownLatch(1);
                CountDownLatch allocated = new CountDownLatch(1);
                int frames = padding;
                entryLeftFree = false;
                freed = false;
                attempts = 0;
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
                    descend(frames);
                }, "owner", STACK_BYTES);
                owner.start();
                assertTrue(allocated.await(10, TimeUnit.SECONDS));
                // This thread's resize in place has marked the block, and not yet settled.
                assertTrue(page.markResizing(index, 100));
                marked.countDown();
                // Once a free gets past the stack's end, it waits for the mark: the tries stop.
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                int seen = -1;
                long stillSince = System.nanoTime();
                while (owner.isAlive() && !entryLeftFree && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                    int now = attempts;
                    if (now != seen) {
                        seen = now;
                        stillSince = System.nanoTime();
                    } else if (System.nanoTime() - stillSince > 300_000_000L
                            && page.slack8[index] == Page.TENTATIVE_ENTRY) {
                        break;
                    }
                }
                assertTrue(attempts > 0, "no free was tried");
                assertFalse(entryLeftFree, "a free that overflowed the stack left the mark taken, padding " + padding);
                assertNotEquals(Page.FREE_ENTRY, page.slack8[index], "the mark is gone");
                page.settleResizing(index, 100, 100);
                owner.join(10_000);
                assertTrue(freed, "the free that waited for the mark did not free the block");
                assertEquals(0, heap.stats().liveBlocks());
            }
        }
    }

    /** Recurses to the stack's end, then tries the free at each depth on the way back up. */
    private void descend(int padding) {
        try {
            descend(padding);
        } catch (StackOverflowError bottom) {
            // The end of the stack: the frees start here.
        }
        if (!freed && !entryLeftFree) {
            switch (padding) {
                case 0 -> tryFree();
                case 1 -> tryFree1();
                case 2 -> tryFree2();
                default -> tryFree3();
            }
        }
    }

    private void tryFree1() {
        long a = 1;
        long b = 2;
        tryFree();
        attempts += (int) (a + b - 3);
    }

    private void tryFree2() {
        long a = 1;
        long b = 2;
        long c = 3;
        long d = 4;
        tryFree();
        attempts += (int) (a + b + c + d - 10);
    }

    private void tryFree3() {
        long a = 1;
        long b = 2;
        long c = 3;
        long d = 4;
        long e = 5;
        long f = 6;
        tryFree();
        attempts += (int) (a + b + c + d + e + f - 21);
    }

    private void tryFree() {
        attempts++;
        try {
            heap.freeAddress(block);
            freed = true;
        } catch (StackOverflowError e) {
            if (page.slack8[index] == Page.FREE_ENTRY) {
                entryLeftFree = true;
            }
        }
    }
}
