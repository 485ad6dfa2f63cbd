package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.malloc4j.internal.PagesOfBlocks.pagesOf;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import org.malloc4j.Heap;
import org.malloc4j.HeapStats;
import org.malloc4j.IdleThread;
import org.malloc4j.MemoryMisuseException;
import org.junit.jupiter.api.Test;

/**
 * The empty small pages a thread heap keeps out of the pool ({@link KeptPages}): a batch that
 * empties pages finds them again in the next without the pool; they stay bounded; another class
 * takes them before the heap grows; their memory goes back once they wait, at a trim and when the
 * thread ends; and the accounting of committed, pooled and live bytes holds throughout.
 */
class KeptPagesTest {
    private static final long KIB = 1024;
    private static final long BLOCK = 1024;
    /** 1 KiB blocks, 64 to a small page of 64 KiB. */
    private static final int PER_PAGE = 64;

    @Test
    void aBatchThatEmptiesPagesFindsThemInTheNextWithoutThePool() throws Exception {
        try (Heap heap = quietHeap("batch")) {
            long[] blocks = allocate(heap, 10 * PER_PAGE, BLOCK);
            assertEquals(10, pagesOf(blocks).size());
            freeShuffled(heap, blocks, 1);
            assertEquals(0, poolOf(heap).size(), "pages the batch emptied went to the pool");
            assertTrue(coreOf(heap).spans.keptCommitted() >= 9 * 64 * KIB, "kept " + coreOf(heap).spans.keptCommitted());
            assertEquals(List.of(), SpanAccounting.violations(heap));
            HeapStats before = heap.stats();

            long[] again = allocate(heap, 10 * PER_PAGE, BLOCK);
            assertEquals(pagesOf(blocks), pagesOf(again), "the next batch's pages");
            HeapStats after = heap.stats();
            assertEquals(before.committedBytes(), after.committedBytes(), after.toText());
            assertEquals(before.osCalls(), after.osCalls(), after.toText());
            assertEquals(0, coreOf(heap).spans.keptCommitted());
            checkAndFreeAccounted(heap, again);
        }
    }

    @Test
    void aThreadKeepsAtMostCapacityPagesAndTheRestGoToThePool() throws Exception {
        try (Heap heap = quietHeap("bound")) {
            int pages = KeptPages.CAPACITY + 8;
            long[] blocks = allocate(heap, pages * PER_PAGE, BLOCK);
            assertEquals(pages, pagesOf(blocks).size());
            freeShuffled(heap, blocks, 3);
            int pooled = poolOf(heap).size();
            // One page may stay as its class's current page.
            assertTrue(pooled >= pages - 1 - KeptPages.CAPACITY && pooled <= pages - KeptPages.CAPACITY,
                    pooled + " of " + pages + " emptied pages in the pool\n" + heap.stats().toText());
            assertTrue(coreOf(heap).spans.keptCommitted() <= KeptPages.CAPACITY * 64 * KIB);
            assertEquals(List.of(), SpanAccounting.violations(heap));
        }
    }

    @Test
    void anotherClassTakesTheKeptPagesBeforeTheHeapGrows() throws Exception {
        try (Heap heap = quietHeap("reuse")) {
            long[] blocks = allocate(heap, 20 * PER_PAGE, BLOCK);
            freeShuffled(heap, blocks, 4);
            HeapStats before = heap.stats();

            // As many bytes again in blocks of another class: the kept pages are all the room there is.
            long[] others = allocate(heap, 20 * PER_PAGE / 2, 2 * BLOCK);
            HeapStats after = heap.stats();
            assertEquals(before.mmapCalls(), after.mmapCalls(), after.toText());
            assertTrue(after.peakCommittedBytes() <= before.peakCommittedBytes() + 64 * KIB,
                    "the peak grew from " + before.peakCommittedBytes() + " B while 20 empty pages were kept\n"
                            + after.toText());
            checkAndFreeAccounted(heap, others);
        }
    }

    /**
     * The heap cache has a slot per thread id modulo its size: a thread whose slot another thread
     * took still gives its kept pages to the pool at a commit that would set a new peak, as one in
     * the cache does.
     */
    @Test
    void aThreadPushedOutOfTheHeapCacheGivesItsKeptPagesBackAtANewPeak() throws Exception {
        try (Heap heap = quietHeap("evicted")) {
            freeShuffled(heap, allocate(heap, 10 * PER_PAGE, BLOCK), 10);
            assertTrue(coreOf(heap).spans.keptCommitted() >= 9 * 64 * KIB, "kept " + coreOf(heap).spans.keptCommitted());
            Thread sameSlot = threadInTheSlotOf(Thread.currentThread(), heap);
            sameSlot.start();
            sameSlot.join();
            assertTrue(coreOf(heap).spans.keptCommitted() > 0, "the other thread took the kept pages");
            long large = heap.mallocAddress(4 << 20);
            MemorySegment.ofAddress(large).reinterpret(4 << 20).fill((byte) 1);
            assertEquals(0, coreOf(heap).spans.keptCommitted(), heap.stats().toText());
            assertEquals(List.of(), SpanAccounting.violations(heap));
            heap.freeAddress(large);
            heap.check();
        }
    }

    /** @return an unstarted thread that, run, allocates and frees a block in the heap cache slot of {@code thread} */
    private static Thread threadInTheSlotOf(Thread thread, Heap heap) {
        while (true) {
            Thread candidate = new Thread(() -> heap.freeAddress(heap.mallocAddress(BLOCK)));
            if (HeapCore.cacheSlot(candidate.threadId()) == HeapCore.cacheSlot(thread.threadId())) {
                return candidate;
            }
        }
    }

    @Test
    void aDoubleFreeIntoAKeptPageIsReportedAndTheHeapStaysUsable() throws Exception {
        try (Heap heap = quietHeap("double")) {
            long[] blocks = allocate(heap, 3 * PER_PAGE, BLOCK);
            freeShuffled(heap, blocks, 5);
            assertTrue(coreOf(heap).spans.keptCommitted() > 0);
            MemoryMisuseException e = assertThrows(MemoryMisuseException.class, () -> heap.freeAddress(blocks[0]));
            assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE, e.kind(), e.getMessage());
            checkAndFreeAccounted(heap, allocate(heap, 3 * PER_PAGE, BLOCK));
        }
    }

    @Test
    void aTrimGivesTheKeptPagesMemoryBack() throws Exception {
        try (Heap heap = quietHeap("trim")) {
            long[] blocks = allocate(heap, 10 * PER_PAGE, BLOCK);
            freeShuffled(heap, blocks, 6);
            assertTrue(heap.stats().committedBytes() >= 10 * 64 * KIB, heap.stats().toText());
            heap.trim();
            assertEquals(0, coreOf(heap).spans.keptCommitted());
            assertTrue(heap.stats().committedBytes() <= 64 * KIB, heap.stats().toText());
            assertEquals(List.of(), SpanAccounting.violations(heap));
        }
    }

    @Test
    void theKeptPagesOfAThreadThatWaitsOrEndsGoBackToTheOs() throws Exception {
        try (Heap heap = Heap.builder().name("idle").purgeDelay(Duration.ofMillis(50)).build()) {
            try (IdleThread worker = new IdleThread()) {
                worker.run(() -> freeShuffled(heap, allocate(heap, KeptPages.CAPACITY * PER_PAGE, BLOCK), 7));
                assertTrue(heap.stats().peakCommittedBytes() >= KeptPages.CAPACITY * 64 * KIB, heap.stats().toText());
                long committed = pollCommittedUntilAtMost(heap, 64 * KIB);
                assertTrue(committed <= 64 * KIB, "a waiting thread still holds " + committed
                        + " B of the pages it emptied\n" + heap.stats().toText());
            }
            assertEquals(0, pollCommittedUntilAtMost(heap, 0), heap.stats().toText());
            assertEquals(0, coreOf(heap).spans.keptCommitted());
        }
    }

    @Test
    void pagesKeptAfterThePurgersRunWasScheduledGoBackAboutAPurgeDelayLater() throws Exception {
        // Short against the purger's once-a-second check for ended threads, which the pages
        // waited for: about 1,050 ms then, about 250 ms now.
        long delayMillis = 100;
        try (Heap heap = Heap.builder().name("late").purgeDelay(Duration.ofMillis(delayMillis)).build();
                IdleThread worker = new IdleThread()) {
            worker.run(() -> {
                // Schedules the purger's run now ...
                freeShuffled(heap, allocate(heap, 2 * PER_PAGE, BLOCK), 8);
                try {
                    Thread.sleep(delayMillis / 2);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                // ... and these pages, kept half a delay later, are not yet due at that run.
                freeShuffled(heap, allocate(heap, 10 * PER_PAGE, BLOCK), 9);
            });
            long start = System.nanoTime();
            long committed = heap.stats().committedBytes();
            while (committed > 64 * KIB && System.nanoTime() - start < 3_000_000_000L) {
                Thread.sleep(5);
                committed = heap.stats().committedBytes();
            }
            long tookMillis = (System.nanoTime() - start) / 1_000_000;
            assertTrue(committed <= 64 * KIB, committed + " B\n" + heap.stats().toText());
            // Kept half a delay before a run: due at the next, a delay later, and purged from the
            // pool a delay after that; a wide margin either side for a loaded machine.
            assertTrue(tookMillis < 700, "the kept pages went back after " + tookMillis + " ms");
        }
    }

    /** A heap whose purger waits a minute: nothing here changes but what the test does. */
    private static Heap quietHeap(String name) {
        return Heap.builder().name(name).purgeDelay(Duration.ofMinutes(1)).build();
    }

    private static long[] allocate(Heap heap, int count, long size) {
        long[] blocks = new long[count];
        for (int i = 0; i < count; i++) {
            blocks[i] = heap.mallocAddress(size);
            MemorySegment.ofAddress(blocks[i]).reinterpret(size).fill((byte) i);
        }
        return blocks;
    }

    /** Checks the span allocator's accounting, then each block's contents as it frees it, then the heap. */
    private static void checkAndFreeAccounted(Heap heap, long[] blocks) throws ReflectiveOperationException {
        assertEquals(List.of(), SpanAccounting.violations(heap));
        checkAndFree(heap, blocks);
        heap.check();
    }

    private static void checkAndFree(Heap heap, long[] blocks) {
        for (int i = 0; i < blocks.length; i++) {
            MemorySegment block = MemorySegment.ofAddress(blocks[i]).reinterpret(BLOCK);
            assertEquals((byte) i, block.get(java.lang.foreign.ValueLayout.JAVA_BYTE, BLOCK - 1));
            heap.freeAddress(blocks[i]);
        }
    }

    private static void freeShuffled(Heap heap, long[] blocks, long seed) {
        long[] order = blocks.clone();
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = order.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            long t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (long address : order) {
            heap.freeAddress(address);
        }
    }

    private static long pollCommittedUntilAtMost(Heap heap, long bound) throws InterruptedException {
        long committed = heap.stats().committedBytes();
        for (int poll = 0; poll < 100 && committed > bound; poll++) {
            Thread.sleep(50);
            committed = heap.stats().committedBytes();
        }
        return committed;
    }

    private static HeapCore coreOf(Heap heap) throws ReflectiveOperationException {
        return (HeapCore) Fields.read(heap, Heap.class, "core");
    }

    private static RingDeque<?> poolOf(Heap heap) throws ReflectiveOperationException {
        return (RingDeque<?>) Fields.read(coreOf(heap).spans, SpanAllocator.class, "pool");
    }
}
