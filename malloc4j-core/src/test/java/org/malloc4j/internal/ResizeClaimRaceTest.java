package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.malloc4j.Heap;
import org.malloc4j.HeapStats;
import org.malloc4j.MemoryMisuseException;

/**
 * A realloc in place records the block's new requested size without the page's lock, while a free
 * of the same block under a stripe's lock (a misuse, racing the realloc) claims it with a read and
 * a write. When the claim reads the block live just before the realloc marks it, the claim's write
 * lands over the mark: the realloc must then find the block freed, not record its new size over a
 * free block. The schedule is played here in order, on one thread.
 */
class ResizeClaimRaceTest {
    @Test
    void aClaimWrittenOverAResizesMarkMakesTheResizeFail() throws Exception {
        try (Heap heap = Heap.builder().name("resize claim race").build()) {
            HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
            long[] block = new long[1];
            Thread.ofVirtual().start(() -> block[0] = heap.mallocAddress(100)).join();
            Page page = RegionMap.slicePage(block[0], core);
            assertNull(page.owner.thread, "not a stripe's page");
            int index = page.blockIndex(block[0]);
            byte live = page.slack8[index];

            assertTrue(page.markResizing(index, 100));
            // The stripe's claim read `live` before the mark, and now writes the free mark.
            page.slack8[index] = (byte) -1;
            assertFalse(page.settleResizing(index, 110), "the resize settled over a freed block");
            assertEquals(-1, page.requested(index), "the resize's size replaced the free mark");

            // Undo the played claim, and the heap is as before: the block frees once, stats at zero.
            page.slack8[index] = live;
            assertEquals(100, page.requested(index));
            heap.freeAddress(block[0]);
            HeapStats stats = heap.stats();
            assertEquals(0, stats.liveBlocks());
            assertEquals(0, stats.requestedBytes());
            MemoryMisuseException misuse = assertThrows(MemoryMisuseException.class, () -> heap.freeAddress(block[0]));
            assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE, misuse.kind());
        }
    }

    @Test
    void aResizeSettlesWhenNothingRaces() throws Exception {
        try (Heap heap = Heap.builder().name("resize settles").build()) {
            long block = heap.mallocAddress(100);
            assertEquals(block, heap.reallocAddress(block, 110), "not resized in place");
            assertEquals(110, heap.stats().requestedBytes());
            heap.freeAddress(block);
            assertEquals(0, heap.stats().requestedBytes());
        }
    }
}
