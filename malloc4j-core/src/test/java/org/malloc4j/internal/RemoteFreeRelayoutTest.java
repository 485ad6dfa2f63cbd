package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

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

    @Test
    void aClaimWithAnIndexPastTheNewLayoutsArraysIsStale() throws Exception {
        try (Heap heap = Heap.builder().name("remote relayout shorter").build()) {
            HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
            ShorterLayout layout = ShorterLayout.of(heap, core);
            Page page = layout.page();
            int staleIndex = layout.staleIndex();
            assertTrue(staleIndex >= page.capacity, "the new layout reaches the stale index");
            assertFalse(page.isOwned(staleIndex + 64), "an index past the held-blocks bitmap");

            assertEquals(Page.RELEASE_STALE, page.releaseAt(layout.staleAddress(), staleIndex));
            MemoryMisuseException misuse = assertThrows(MemoryMisuseException.class,
                    () -> heap.freeAddress(layout.staleAddress()));
            assertEquals(MemoryMisuseException.Kind.BAD_FREE, misuse.kind());
            assertEquals(1, heap.stats().liveBlocks());
            heap.freeAddress(layout.fresh());
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    @Test
    void aClaimReadBetweenALayoutsStoresIsStale() throws Exception {
        try (Heap heap = Heap.builder().name("remote relayout torn").build()) {
            HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
            long block = heap.mallocAddress(48);
            Page page = RegionMap.slicePage(block, core);
            // The width still says one byte, but the layout under way has let that array go.
            byte[] slacks = page.slack8;
            page.slack8 = null;
            try {
                assertEquals(Page.RELEASE_STALE, page.releaseAt(block, 0));
            } finally {
                page.slack8 = slacks;
            }
            heap.freeAddress(block);
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    /**
     * The holder of a block frees it while a late free by another thread has claimed it
     * tentatively: the holder waits for the check, and its free succeeds once the claim is given
     * back, instead of being told it freed the block twice and leaving it live.
     */
    @Test
    void theHoldersFreeWaitsOutATentativeClaim() throws Exception {
        try (Heap heap = Heap.builder().name("tentative claim").build()) {
            HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
            long block = heap.mallocAddress(40);
            Page page = RegionMap.slicePage(block, core);
            int index = page.blockIndex(block);
            byte entry = page.slack8[index];
            assertEquals(8 + 1, entry, "a slack of 8 bytes, stored plus one");
            page.slack8[index] = Page.TENTATIVE_ENTRY;
            CompletableFuture<Void> free = CompletableFuture.runAsync(() -> heap.freeAddress(block),
                    Thread.ofPlatform()::start);
            try {
                assertThrows(TimeoutException.class, () -> free.get(200, TimeUnit.MILLISECONDS),
                        "the free did not wait for the tentative claim");
            } finally {
                java.lang.invoke.VarHandle.fullFence();
                page.slack8[index] = entry;
                java.lang.invoke.VarHandle.fullFence();
            }
            free.get(10, TimeUnit.SECONDS);
            assertEquals(0, heap.stats().liveBlocks());
            assertEquals(0, heap.stats().requestedBytes());
        }
    }

    /**
     * A thread that read a page as a platform thread's claims its blocks without the lock; if the
     * page is a stripe's by then, whose own claims under its lock do not wait for that claim, the
     * claim is given back and the free goes the stripe's way.
     */
    @Test
    void aClaimOfAStripesBlockWithoutItsLockIsGivenBack() throws Exception {
        try (Heap heap = Heap.builder().name("stripe claim").build()) {
            HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
            long[] block = new long[1];
            Thread.ofVirtual().start(() -> block[0] = heap.mallocAddress(100)).join();
            Page page = RegionMap.slicePage(block[0], core);
            assertEquals(null, page.owner.thread, "not a stripe's page");

            assertEquals(Page.RELEASE_STALE, page.releaseAt(block[0], page.blockIndex(block[0])));
            assertEquals(100, page.requested(page.blockIndex(block[0])), "the block lost its claim");
            assertEquals(1, heap.stats().liveBlocks());
            heap.freeAddress(block[0]);
            assertEquals(0, heap.stats().liveBlocks());
            MemoryMisuseException misuse = assertThrows(MemoryMisuseException.class, () -> heap.freeAddress(block[0]));
            assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE, misuse.kind());
        }
    }
}
