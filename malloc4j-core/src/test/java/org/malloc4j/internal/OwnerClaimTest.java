package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.malloc4j.Heap;
import org.malloc4j.HeapStats;
import org.malloc4j.MemoryMisuseException;

/**
 * The owner's free claims its block with one exchange of the block's state entry
 * ({@link Page#claimByOwner}): it never waits for another thread's mark on the block, wins the
 * block from it, and the marking thread's settling then finds the block freed.
 */
class OwnerClaimTest {
    @Test
    void theOwnersFreeWinsABlockAnotherThreadIsResizingAndTheResizeFindsItFreed() throws Exception {
        // On a thread of its own, so that a free that waited for the mark (which no thread would
        // settle) fails the test instead of hanging it; assertTimeoutPreemptively would free from
        // another thread than the owner.
        CompletableFuture<Void> owner = new CompletableFuture<>();
        Thread.ofPlatform().daemon().start(() -> {
            try {
                resizeMarkLosesToTheOwnersFree();
                owner.complete(null);
            } catch (Throwable e) {
                owner.completeExceptionally(e);
            }
        });
        try {
            owner.get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception cause ? cause : e;
        } catch (TimeoutException e) {
            throw new AssertionError("the owner's free waited for a mark no thread will settle", e);
        }
    }

    private static void resizeMarkLosesToTheOwnersFree() throws Exception {
        try (Heap heap = Heap.builder().name("owner claim").build()) {
            HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
            long block = heap.mallocAddress(100);
            Page page = RegionMap.slicePage(block, core);
            assertSame(Thread.currentThread(), page.ownerThread, "not this thread's page");
            int index = page.blockIndex(block);

            // Another thread's realloc in place has marked the block, and not yet settled.
            assertTrue(page.markResizing(index, 100));
            heap.freeAddress(block);
            assertEquals(Page.RESIZE_FREED, page.settleResizing(index, 100, 110),
                    "the resize settled over the owner's claim");
            assertEquals(-1, page.requested(index), "the block is not free");

            HeapStats stats = heap.stats();
            assertEquals(0, stats.liveBlocks());
            assertEquals(0, stats.requestedBytes());
            assertEquals(0, stats.usableBytes());
            MemoryMisuseException twice = assertThrows(MemoryMisuseException.class, () -> heap.freeAddress(block));
            assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE, twice.kind(), twice.getMessage());
            heap.check();
        }
    }

    @Test
    void theOwnersSecondFreeOfABlockChangesNothingAndIsADoubleFree() {
        try (Heap heap = Heap.builder().name("owner double free").build()) {
            long block = heap.mallocAddress(64);
            long neighbour = heap.mallocAddress(64);
            heap.freeAddress(block);
            MemoryMisuseException twice = assertThrows(MemoryMisuseException.class, () -> heap.freeAddress(block));
            assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE, twice.kind(), twice.getMessage());

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
