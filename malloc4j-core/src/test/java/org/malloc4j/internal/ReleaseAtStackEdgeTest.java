package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.malloc4j.Heap;
import org.malloc4j.HeapStats;

/**
 * A free by a thread that does not own the page, on its full path ({@link Page#releaseAt}), claims
 * the block tentatively and checks the page's layout before it claims it for good; every other
 * claim waits for that mark, so even a {@code StackOverflowError} in the claim must not leave it.
 * The freeing thread tries at every depth near the end of its stack, in a JVM that only
 * interprets; after each try that overflows, the block's entry must hold its size or the free
 * entry, never the mark.
 */
class ReleaseAtStackEdgeTest {
    private Page page;
    private int index;
    private long block;
    private byte live;
    private int claimed;
    private int overflowed;
    private volatile boolean markLeft;

    @Test
    void aClaimThatOverflowsTheStackNeverLeavesItsMark() throws Exception {
        StackEdge.assertPassesInterpreted(ReleaseAtStackEdgeTest.class);
    }

    public static void main(String[] args) {
        StackEdge.exitWith(() -> new ReleaseAtStackEdgeTest().atEveryShift());
    }

    private void atEveryShift() throws Exception {
        for (int shift = 0; shift < StackEdge.SHIFTS; shift++) {
            try (Heap heap = Heap.builder().name("release at the stack's edge").build()) {
                HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
                // This thread owns the page; the freeing thread does not.
                block = heap.mallocAddress(100);
                page = RegionMap.slicePage(block, core);
                index = page.blockIndex(block);
                live = page.slack8[index];
                claimed = 0;
                overflowed = 0;
                markLeft = false;
                StackEdge edge = new StackEdge(shift, this::tryRelease);
                edge.descendOnSmallStack("freer");
                assertFalse(markLeft, "a claim that overflowed the stack left its mark, shift " + shift);
                assertTrue(overflowed > 0, "no claim overflowed the stack");
                assertTrue(claimed > 0, "no claim got past the stack's end");

                // The tries gave each claim back; the block frees once, with the statistics exact.
                assertEquals(100, page.requested(index));
                heap.freeAddress(block);
                HeapStats stats = heap.stats();
                assertEquals(0, stats.liveBlocks());
                assertEquals(0, stats.requestedBytes());
            }
        }
    }

    /** @return whether to try again: not once a mark is left, which the next claim would wait out forever */
    private boolean tryRelease() {
        try {
            if (page.releaseAt(block, index) >= 0) {
                claimed++;
            }
        } catch (StackOverflowError e) {
            overflowed++;
            // Only this thread marks the block: a mark after its claim ended is its own, left.
            markLeft = page.slack8[index] == Page.TENTATIVE_ENTRY;
        }
        // The claim stands for a free the heap never counted: make the block live again.
        if (!markLeft) {
            page.slack8[index] = live;
        }
        return !markLeft;
    }
}
