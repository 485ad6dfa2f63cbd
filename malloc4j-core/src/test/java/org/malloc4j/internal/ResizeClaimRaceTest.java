package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

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
 * claims. On a stripe's page (virtual threads') a free claims under the stripe's lock with a read
 * and a write, no atomic: a resize racing it (a misuse) must hold that lock too, or the claim that
 * read the old size frees the block after the resize recorded the new one, and the statistics
 * keep the difference.
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

    /** A thread that read the page as a platform thread's marks the block, then finds a stripe's page. */
    @Test
    void aResizeMarkOnAStripesPageIsGivenBack() throws Exception {
        try (Heap heap = Heap.builder().name("resize given back").build()) {
            HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
            long block = onVirtualThread(() -> heap.mallocAddress(100));
            Page page = RegionMap.slicePage(block, core);
            int index = page.blockIndex(block);
            byte live = page.slack8[index];

            ResizeMarks.mark(page, index, 100);
            assertEquals(Page.RESIZE_STRIPE, ResizeMarks.settle(page, block, index, 100, 110));
            assertEquals(100, page.requested(index), "the mark was not given back");

            ResizeMarks.mark(page, index, 100);
            // The stripe's claim read the block live before the mark, and now writes the free mark.
            page.slack8[index] = Page.FREE_ENTRY;
            assertEquals(Page.RESIZE_FREED, ResizeMarks.settle(page, block, index, 100, 110));
            assertEquals(-1, page.requested(index), "the give-back wrote over the claim");

            // Undo the played claim: the block frees once, the statistics end at zero.
            page.slack8[index] = live;
            assertEquals(100, page.requested(index));
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
