package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.malloc4j.Heap;
import org.malloc4j.HeapStats;
import org.malloc4j.MemoryMisuseException;

/**
 * The owner's free claims its block by compare-and-set of the block's entry ({@link Page#claim}),
 * which leaves another thread's tentative mark as it is and waits for it to settle, so a mark is
 * its thread's alone; a double free changes nothing. (A claim by one atomic exchange storing the
 * free entry was faster, and took marks from their threads: core README, "Block states".)
 */
class OwnerClaimTest {
    @Test
    void theOwnersFreeWaitsForAnotherThreadsResizeMarkAndThenFreesTheBlock() throws Exception {
        ExecutorService owner = Executors.newSingleThreadExecutor();
        try (Heap heap = Heap.builder().name("owner claim").build()) {
            HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
            long block = owner.submit(() -> heap.mallocAddress(100)).get();
            Page page = RegionMap.slicePage(block, core);
            int index = page.blockIndex(block);
            assertSame(owner.submit(Thread::currentThread).get(), page.ownerThread, "not the owner's page");

            // This thread's realloc in place has marked the block, and not yet settled.
            ResizeMarks.mark(page, index, 100);
            Future<?> free = owner.submit(() -> heap.freeAddress(block));
            assertThrows(TimeoutException.class, () -> free.get(200, TimeUnit.MILLISECONDS),
                    "the owner's free did not wait for the mark");
            assertEquals(Page.TENTATIVE_ENTRY, page.slack8[index], "the owner's claim replaced the mark");
            assertEquals(Page.RESIZED, ResizeMarks.settle(page, block, index, 100, 110));
            free.get(10, TimeUnit.SECONDS);

            assertEquals(Page.FREE_ENTRY, page.slack8[index]);
            HeapStats stats = heap.stats();
            assertEquals(0, stats.liveBlocks());
            assertEquals(0, stats.requestedBytes());
            assertEquals(0, stats.usableBytes());
            ExecutionException twice = assertThrows(ExecutionException.class,
                    () -> owner.submit(() -> heap.freeAddress(block)).get(10, TimeUnit.SECONDS));
            MemoryMisuseException misuse = (MemoryMisuseException) twice.getCause();
            assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE, misuse.kind(), misuse.getMessage());
            owner.submit(heap::check).get();
        } finally {
            owner.shutdownNow();
        }
    }

    @Test
    void theOwnersSecondFreeOfABlockLeavesItsEntryFreeAndIsADoubleFree() throws Exception {
        try (Heap heap = Heap.builder().name("owner double free").build()) {
            HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
            long block = heap.mallocAddress(64);
            long neighbour = heap.mallocAddress(64);
            Page page = RegionMap.slicePage(block, core);
            int index = page.blockIndex(block);
            heap.freeAddress(block);
            MemoryMisuseException twice = assertThrows(MemoryMisuseException.class, () -> heap.freeAddress(block));
            assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE, twice.kind(), twice.getMessage());
            // Anything but the free entry (a mark, say) would make later claims of the block wait.
            assertEquals(Page.FREE_ENTRY, page.slack8[index], "the double free changed the entry");

            // The block is free once: the next malloc of its class takes it, and the one after
            // another block, never the same one twice.
            long again = heap.mallocAddress(64);
            long other = heap.mallocAddress(64);
            assertEquals(block, again);
            assertFalse(other == again || other == neighbour, "one block handed out twice");
            assertEquals(3, heap.stats().liveBlocks());
            heap.freeAddress(again);
            heap.freeAddress(other);
            heap.freeAddress(neighbour);
            assertEquals(0, heap.stats().liveBlocks());
            heap.check();
        }
    }
}
