package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertSame;

import org.malloc4j.Heap;

/**
 * A page laid out again for blocks too large to reach an index of its layout before: twenty
 * 48-byte blocks, all freed, then one of 8,000 bytes on the same page, whose slack array is
 * shorter. A late call by another thread read the last old block's index.
 *
 * @param staleAddress the last old block's address, freed
 * @param staleIndex its index in the old layout
 * @param fresh the new layout's block, live
 */
record ShorterLayout(Page page, long staleAddress, int staleIndex, long fresh) {
    static ShorterLayout of(Heap heap, HeapCore core) {
        long[] old = new long[20];
        for (int i = 0; i < old.length; i++) {
            old[i] = heap.mallocAddress(48);
        }
        long stale = old[old.length - 1];
        Page page = RegionMap.slicePage(stale, core);
        int staleIndex = page.blockIndex(stale);
        for (long block : old) {
            heap.freeAddress(block);
        }
        long fresh = heap.mallocAddress(8000);
        assertSame(page, RegionMap.slicePage(fresh, core), "the page was not laid out again");
        return new ShorterLayout(page, stale, staleIndex, fresh);
    }
}
