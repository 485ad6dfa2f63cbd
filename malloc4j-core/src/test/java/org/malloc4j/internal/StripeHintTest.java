package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.malloc4j.Heap;

/**
 * A virtual thread keeps the stripe it took last while that stripe's lock is free, and moves to its
 * processor's stripe, instead of waiting, when another thread holds it.
 */
class StripeHintTest {
    @Test
    void aVirtualThreadKeepsItsStripeUntilAnotherThreadHoldsIt() throws Exception {
        try (Heap heap = Heap.builder().name("stripe hint").build()) {
            HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
            ThreadHeap[] stripes = (ThreadHeap[]) Fields.read(core, HeapCore.class, "stripes");
            long[] hints = (long[]) Fields.read(core, HeapCore.class, "stripeHints");
            // No processor's stripe: there are at least twice as many stripes as processors.
            int last = stripes.length - 1;
            assertTrue(last >= Runtime.getRuntime().availableProcessors());
            ThreadHeap hinted = stripes[last];

            long[] blocks = new long[2];
            CompletableFuture<Void> first = new CompletableFuture<>();
            CompletableFuture<Void> held = new CompletableFuture<>();
            CompletableFuture<Void> release = new CompletableFuture<>();
            Thread thread = Thread.ofVirtual().unstarted(() -> {
                blocks[0] = heap.mallocAddress(64);
                first.complete(null);
                held.join();
                blocks[1] = heap.mallocAddress(64);
                release.complete(null);
            });
            long id = thread.threadId();
            hints[HeapCore.hintSlot(id)] = id << 24 | last;
            thread.start();
            first.get(10, TimeUnit.SECONDS);
            assertSame(hinted, RegionMap.slicePage(blocks[0], core).owner, "the thread left a free stripe");

            hinted.lock.lock();
            try {
                held.complete(null);
                release.get(10, TimeUnit.SECONDS);
            } finally {
                hinted.lock.unlock();
            }
            thread.join();
            assertNotSame(hinted, RegionMap.slicePage(blocks[1], core).owner, "the thread waited for a held stripe");
            heap.freeAddress(blocks[0]);
            heap.freeAddress(blocks[1]);
            assertEquals(0, heap.stats().liveBlocks());
        }
    }
}
