package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.malloc4j.Heap;
import org.malloc4j.MemoryMisuseException;
import org.junit.jupiter.api.Test;

/**
 * A free by a thread that does not own the page reads the block's index, then claims it. In a
 * racing double free the owner may, in between, see the page emptied, lay it out for another size
 * class and hand out a block at that index: the late claim must give that block back
 * ({@link Page#releaseAt}), and the free is then judged under the new layout. The schedule is played
 * here in order, on one thread.
 */
class RemoteFreeRelayoutTest {
    @Test
    void aClaimWithAnIndexFromTheLayoutBeforeGivesTheNewLayoutsBlockBack() throws Exception {
        try (Heap heap = Heap.builder().name("remote relayout").build()) {
            HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
            // Three blocks of the 4096-byte class; the late free read the index of the second.
            long[] old = {heap.mallocAddress(4000), heap.mallocAddress(4000), heap.mallocAddress(4000)};
            Page page = RegionMap.slicePage(old[1], core);
            int staleIndex = page.blockIndex(old[1]);
            assertEquals(1, staleIndex);
            for (long block : old) {
                heap.freeAddress(block);
            }
            // The emptied page is the class's spare; the 48-byte class takes it over.
            long[] fresh = {heap.mallocAddress(48), heap.mallocAddress(48), heap.mallocAddress(48)};
            assertSame(page, RegionMap.slicePage(fresh[1], core));
            assertEquals(old[0], fresh[0], "the page was not laid out again for 48-byte blocks");

            assertEquals(Page.RELEASE_STALE, page.releaseAt(old[1], staleIndex));
            assertEquals(48, page.requested(1), "the new layout's block at the index lost its claim");
            assertEquals(3, heap.stats().liveBlocks());
            // Judged under the new layout: no block starts at the old address.
            MemoryMisuseException misuse = assertThrows(MemoryMisuseException.class, () -> heap.freeAddress(old[1]));
            assertEquals(MemoryMisuseException.Kind.BAD_FREE, misuse.kind());
            for (long block : fresh) {
                heap.freeAddress(block);
            }
            assertEquals(0, heap.stats().liveBlocks());
        }
    }
}
