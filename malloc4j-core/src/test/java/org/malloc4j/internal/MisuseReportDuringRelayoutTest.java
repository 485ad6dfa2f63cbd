package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.malloc4j.Heap;
import org.malloc4j.MemoryMisuseException;

/**
 * A misuse report on a page reads the page's layout without holding it: another thread may be
 * laying the page out again meanwhile (a free racing the misuse). What such a report reads is one
 * layout's fields or a mix of two; either way the caller gets the misuse report, never an
 * arithmetic or index exception from the report itself. The mixed views are set up here by hand,
 * as a reader between two stores of a new layout would see them.
 */
class MisuseReportDuringRelayoutTest {
    @Test
    void anInteriorAddressOnAPageCaughtBecomingALargeBlockIsReportedAsABadFree() throws Exception {
        onPageOfOneBlock((core, block, page) -> {
            int blockSize = page.blockSize;
            try {
                // A large block's layout stores the block size 0 (Page.formatSingle); a reader may see
                // that before the size class that marks the page single.
                page.blockSize = 0;
                MemoryMisuseException misuse = MisuseReports.interior("free", block + 8, page, core);
                assertEquals(MemoryMisuseException.Kind.BAD_FREE, misuse.kind());
                assertTrue(misuse.getMessage().contains("laying out again"), misuse.getMessage());
            } finally {
                page.blockSize = blockSize;
            }
        });
    }

    @Test
    void aBlockStateReadPastANewLayoutsArraysReadsAsNeverAllocated() throws Exception {
        onPageOfOneBlock((core, block, page) -> {
            int bump = page.bump;
            try {
                // An old layout's bump pointer read with the new layout's shorter slack array: an
                // index below the one and past the other.
                page.bump = PAST_ANY_LAYOUT + 1;
                assertEquals(BlockState.NOT_ALLOCATED, page.blockStateUnheld(PAST_ANY_LAYOUT));
            } finally {
                page.bump = bump;
            }
        });
    }

    @Test
    void aRequestedSizeReadPastANewLayoutsArraysReadsAsFree() throws Exception {
        onPageOfOneBlock((core, block, page) -> {
            assertEquals(48, page.requestedUnheld(0));
            // A realloc by a thread not owning the page, with an index of an old layout of smaller
            // blocks, reading the new layout's slack array: the block is gone, as after a free.
            assertEquals(-1, page.requestedUnheld(PAST_ANY_LAYOUT));
        });
    }

    /** A block index past the arrays of any layout: a page holds at most 512 KiB of 16-byte blocks. */
    private static final int PAST_ANY_LAYOUT = 1 << 20;

    private interface PageCheck {
        void run(HeapCore core, long block, Page page) throws Exception;
    }

    /** Runs {@code check} on the page of one live 48-byte block, then frees the block: the page's own state is intact. */
    private static void onPageOfOneBlock(PageCheck check) throws Exception {
        try (Heap heap = Heap.builder().name("misuse mid-layout").build()) {
            HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
            long block = heap.mallocAddress(48);
            Page page = RegionMap.slicePage(block, core);
            check.run(core, block, page);
            assertSame(page, RegionMap.slicePage(block, core));
            heap.freeAddress(block);
            assertEquals(0, heap.stats().liveBlocks());
        }
    }
}
