package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.malloc4j.Heap;
import org.malloc4j.HeapStats;

/**
 * A realloc in place by a thread that does not own the page marks the block while it records the
 * new size ({@link Page#setRequested}); every other claim of the block waits for that mark, so
 * even a {@code StackOverflowError} in the resize must not leave it. The resizing thread tries at
 * every depth near the end of its stack, in a JVM that only interprets; after each try that
 * overflows, the block's entry must hold a size, and the block must free once, with the
 * statistics exact.
 */
class ResizeAtStackEdgeTest {
    private Heap heap;
    private Page page;
    private int index;
    private long block;
    private int tries;
    private int resized;
    private int overflowed;
    private volatile boolean markLeft;

    @Test
    void aResizeThatOverflowsTheStackNeverLeavesItsMark() throws Exception {
        StackEdge.assertPassesInterpreted(ResizeAtStackEdgeTest.class);
    }

    public static void main(String[] args) {
        StackEdge.exitWith(() -> new ResizeAtStackEdgeTest().atEveryShift());
    }

    private void atEveryShift() throws Exception {
        for (int shift = 0; shift < StackEdge.SHIFTS; shift++) {
            try (Heap fresh = Heap.builder().name("resize at the stack's edge").build()) {
                heap = fresh;
                HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
                // This thread owns the page; the resizing thread does not.
                block = heap.mallocAddress(100);
                page = RegionMap.slicePage(block, core);
                index = page.blockIndex(block);
                tries = 0;
                resized = 0;
                overflowed = 0;
                markLeft = false;
                StackEdge edge = new StackEdge(shift, this::tryResize);
                edge.descendOnSmallStack("resizer");
                assertFalse(markLeft, "a resize that overflowed the stack left its mark, shift " + shift);
                assertTrue(overflowed > 0, "no resize overflowed the stack");
                assertTrue(resized > 0, "no resize got past the stack's end");
                assertEquals(0, tries - resized - overflowed, "a resize moved the block");
                assertNotEquals(Page.TENTATIVE_ENTRY, page.slack8[index], "the mark is left");
                long requested = page.requested(index);
                assertTrue(requested == 100 || requested == 101, "the block's size is " + requested);
                assertEquals(requested, heap.stats().requestedBytes());
                heap.freeAddress(block);
                HeapStats stats = heap.stats();
                assertEquals(0, stats.liveBlocks());
                assertEquals(0, stats.requestedBytes());
            }
        }
    }

    /** @return whether to try again: not once a mark is left, which the next resize would wait out forever */
    private boolean tryResize() {
        long size = (tries++ & 1) == 0 ? 101 : 100;
        try {
            if (heap.reallocAddress(block, size) == block) {
                resized++;
            }
        } catch (StackOverflowError e) {
            overflowed++;
            // Only this thread marks the block: a mark after its resize ended is its own, left.
            markLeft = page.slack8[index] == Page.TENTATIVE_ENTRY;
        }
        return !markLeft;
    }
}
