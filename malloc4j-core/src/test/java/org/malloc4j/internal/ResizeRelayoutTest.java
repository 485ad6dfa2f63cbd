package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.malloc4j.Heap;
import org.malloc4j.MemoryMisuseException;

/**
 * A realloc in place by a thread that does not own the page reads the block's index and requested
 * size, then records the new size ({@link Page#setRequested}). In a realloc racing a free of the
 * same block (a misuse) the owner may, in between, see the page emptied and lay it out again: the
 * late record must change no block of the new layout and throw nothing but the caller's misuse
 * report. The schedule is played here in order, on one thread.
 */
class ResizeRelayoutTest {
    @Test
    void aResizeWithTheIndexAndSizeOfTheLayoutBeforeLeavesTheNewLayoutsBlock() throws Exception {
        try (Heap heap = Heap.builder().name("resize relayout").build()) {
            HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
            // Three 48-byte blocks; the late resize read the second's index, and its 48 bytes.
            long[] old = {heap.mallocAddress(48), heap.mallocAddress(48), heap.mallocAddress(48)};
            Page page = RegionMap.slicePage(old[1], core);
            int staleIndex = page.blockIndex(old[1]);
            for (long block : old) {
                heap.freeAddress(block);
            }
            // Laid out again for 64-byte blocks; the one at the stale index holds 48 bytes too, so
            // its entry reads as the late resize expects.
            long[] fresh = {heap.mallocAddress(64), heap.mallocAddress(64), heap.mallocAddress(64)};
            assertSame(page, RegionMap.slicePage(fresh[1], core));
            assertEquals(old[0], fresh[0], "the page was not laid out again for 64-byte blocks");
            assertEquals(fresh[1], heap.reallocAddress(fresh[1], 48));
            assertEquals(staleIndex, page.blockIndex(fresh[1]));

            assertEquals(Page.RESIZE_FREED, page.setRequested(old[1], staleIndex, 48, 40));
            assertEquals(48, page.requested(staleIndex), "the new layout's block was resized");
            assertEquals(64 + 48 + 64, heap.stats().requestedBytes());
            MemoryMisuseException misuse = assertThrows(MemoryMisuseException.class,
                    () -> heap.reallocAddress(old[1], 40));
            assertEquals(MemoryMisuseException.Kind.BAD_FREE, misuse.kind());
            for (long block : fresh) {
                heap.freeAddress(block);
            }
            assertEquals(0, heap.stats().liveBlocks());
            assertEquals(0, heap.stats().requestedBytes());
        }
    }

    /**
     * Block 0 starts at the same address in every layout, so only the block size tells the
     * layouts apart there: a page whose lone block changes class in place keeps its array, and the
     * late resize may have read the block size before the change and marked the new block's entry,
     * which holds the slack it expects.
     */
    @Test
    void aResizeWithTheBlockSizeOfTheLayoutBeforeLeavesTheFirstBlock() throws Exception {
        try (Heap heap = Heap.builder().name("resize relayout first block").build()) {
            HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
            // A 48-byte block holding 32 bytes: the late resize read that, and the block size.
            long old = heap.mallocAddress(40);
            assertEquals(old, heap.reallocAddress(old, 32));
            Page page = RegionMap.slicePage(old, core);
            assertEquals(0, page.blockIndex(old));
            assertEquals(48, page.blockSize);
            heap.freeAddress(old);
            // Laid out again for 64-byte blocks; block 0, at the same address, holds 48 bytes: a
            // slack of 16, as the 32 bytes of a 48-byte block had.
            long fresh = heap.mallocAddress(64);
            assertSame(page, RegionMap.slicePage(fresh, core));
            assertEquals(old, fresh);
            assertEquals(64, page.blockSize);
            assertEquals(fresh, heap.reallocAddress(fresh, 48));

            // The late resize of the 32-byte block to 40 marked the entry, with the old block size.
            ResizeMarks.mark(page, 0, 48);
            assertEquals(Page.RESIZE_FREED, page.settleResizing(old, page.slack8, 1, 48, 0, 48 - 32, 48 - 40));
            assertEquals(48, page.requested(0), "the new layout's block was resized");
            heap.freeAddress(fresh);
            assertEquals(0, heap.stats().liveBlocks());
            assertEquals(0, heap.stats().requestedBytes());
        }
    }

    @Test
    void aResizeWithAnIndexPastTheNewLayoutsArrayChangesNothing() throws Exception {
        try (Heap heap = Heap.builder().name("resize relayout shorter").build()) {
            HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
            ShorterLayout layout = ShorterLayout.of(heap, core);
            Page page = layout.page();
            // 8192-byte blocks, whose slacks take two bytes, in an array too short for the index.
            assertEquals(2, page.slackWidth);
            assertTrue(layout.staleIndex() >= page.slack16.length,
                    "the new layout's array reaches the stale index");

            assertEquals(Page.RESIZE_FREED, page.setRequested(layout.staleAddress(), layout.staleIndex(), 48, 40));
            assertEquals(8000, heap.stats().requestedBytes());
            heap.freeAddress(layout.fresh());
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    @Test
    void aResizeReadBetweenALayoutsStoresChangesNothing() throws Exception {
        try (Heap heap = Heap.builder().name("resize relayout torn").build()) {
            HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
            long block = heap.mallocAddress(48);
            Page page = RegionMap.slicePage(block, core);
            // The width still says one byte, but the layout under way has let that array go.
            byte[] slacks = page.slack8;
            page.slack8 = null;
            try {
                assertEquals(Page.RESIZE_FREED, page.setRequested(block, 0, 48, 40));
            } finally {
                page.slack8 = slacks;
            }
            assertEquals(48, page.requested(0));
            heap.freeAddress(block);
            assertEquals(0, heap.stats().liveBlocks());
        }
    }
}
