package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
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
 * A realloc in place records the block's new requested size in the block's state, which a free
 * claims. On a stripe's page (virtual threads') a resize holds the stripe's lock, as the frees into
 * the page do; one that read the page as another heap's marks the block, and the stripe's claim,
 * an atomic exchange as every claim is, puts the mark back and waits for it. Either way the claim
 * reads the size the resize recorded, and the statistics end at zero.
 */
class ResizeClaimRaceTest {
    @Test
    void aResizeOnAStripesPageHoldsTheStripesLock() throws Exception {
        try (Heap heap = Heap.builder().name("resize under lock").build()) {
            HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
            long block = onVirtualThread(() -> heap.mallocAddress(100));
            Page page = RegionMap.slicePage(block, core);
            assertNull(page.owner.thread, "not a stripe's page");
            StripeLock lock = page.owner.lock;
            lock.lock();
            CompletableFuture<Long> resize;
            try {
                resize = CompletableFuture.supplyAsync(() -> heap.reallocAddress(block, 110), Thread.ofPlatform()::start);
                assertThrows(TimeoutException.class, () -> resize.get(200, TimeUnit.MILLISECONDS),
                        "the resize did not wait for the stripe's lock");
            } finally {
                lock.unlock();
            }
            assertEquals(block, resize.get(10, TimeUnit.SECONDS), "not resized in place");
            assertEquals(110, heap.stats().requestedBytes());
            heap.freeAddress(block);
            assertEquals(0, heap.stats().requestedBytes());
        }
    }

    /**
     * A thread that read the page as a platform thread's marks the block of what is now a stripe's
     * page: the stripe's claim under its lock puts the mark back and waits, then frees the block
     * with the size the resize recorded.
     */
    @Test
    void aStripesClaimWaitsForAResizeMark() throws Exception {
        try (Heap heap = Heap.builder().name("stripe waits for mark").build()) {
            HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
            long block = onVirtualThread(() -> heap.mallocAddress(100));
            Page page = RegionMap.slicePage(block, core);
            int index = page.blockIndex(block);
            byte live = page.slack8[index];
            StripeLock lock = page.owner.lock;

            assertTrue(page.markResizing(index, 100));
            CompletableFuture<Integer> claim = CompletableFuture.supplyAsync(() -> {
                lock.lock();
                try {
                    return page.release(index);
                } finally {
                    lock.unlock();
                }
            }, Thread.ofPlatform()::start);
            assertThrows(TimeoutException.class, () -> claim.get(200, TimeUnit.MILLISECONDS),
                    "the stripe's claim did not wait for the mark");
            assertEquals(Page.TENTATIVE_ENTRY, page.slack8[index], "the claim did not put the mark back");
            assertEquals(Page.RESIZED, page.settleResizing(index, 110));
            assertEquals(page.blockSize - 110, (int) claim.get(10, TimeUnit.SECONDS), "not the resized block's slack");
            assertEquals(Page.FREE_ENTRY, page.slack8[index]);

            // Undo the played claim: the block frees once, the statistics end at zero.
            page.slack8[index] = live;
            heap.freeAddress(block);
            HeapStats stats = heap.stats();
            assertEquals(0, stats.liveBlocks());
            assertEquals(0, stats.requestedBytes());
            MemoryMisuseException misuse = assertThrows(MemoryMisuseException.class, () -> heap.freeAddress(block));
            assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE, misuse.kind());
        }
    }

    /**
     * Virtual threads race a realloc in place (100 to 110 bytes, and to 0) against a free of the
     * same block: whichever wins, the statistics end at zero.
     */
    @Test
    void resizesRacingFreesOnAStripesPageKeepTheStatisticsExact() throws Exception {
        try (Heap heap = Heap.builder().name("resize free race").build();
                ExecutorService allocator = Executors.newSingleThreadExecutor(Thread.ofVirtual().factory());
                ExecutorService threads = Executors.newFixedThreadPool(2, Thread.ofVirtual().factory())) {
            for (int round = 0; round < 60_000; round++) {
                long block = allocator.submit(() -> heap.mallocAddress(100)).get();
                long newSize = (round & 1) == 0 ? 110 : 0;
                CountDownLatch go = new CountDownLatch(1);
                Future<Long> resize = threads.submit(() -> {
                    go.await();
                    try {
                        return heap.reallocAddress(block, newSize);
                    } catch (MemoryMisuseException freedFirst) {
                        return 0L;
                    }
                });
                Future<Boolean> free = threads.submit(() -> {
                    go.await();
                    try {
                        heap.freeAddress(block);
                        return true;
                    } catch (MemoryMisuseException resizedFirst) {
                        return false;
                    }
                });
                go.countDown();
                long resized = resize.get();
                if (resized != 0 && !free.get()) {
                    heap.freeAddress(resized);
                } else if (resized != 0 && resized != block) {
                    heap.freeAddress(resized); // moved, then the old block freed by the racer
                }
            }
            HeapStats stats = heap.stats();
            assertEquals(0, stats.liveBlocks());
            assertEquals(0, stats.requestedBytes(), "requested bytes left after every block was freed");
            assertEquals(0, stats.usableBytes());
            heap.check();
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

    private static long onVirtualThread(java.util.concurrent.Callable<Long> task) throws Exception {
        try (ExecutorService thread = Executors.newVirtualThreadPerTaskExecutor()) {
            return thread.submit(task).get();
        }
    }
}
