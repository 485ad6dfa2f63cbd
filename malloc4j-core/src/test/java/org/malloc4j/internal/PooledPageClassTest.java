package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.malloc4j.internal.PagesOfBlocks.pagesOf;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.malloc4j.Heap;
import org.malloc4j.HeapStats;
import org.junit.jupiter.api.Test;

/**
 * A page of blocks taken from the pool is one last laid out for the same class when the pool has
 * one ({@link SpanAllocator}'s {@code takeFromPool}): its committed memory is what that class used
 * of it, where another class's page would bring its own along and add to it. With none, it is the
 * page with the most memory committed, of which its new class is least likely to commit more.
 */
class PooledPageClassTest {
    /** More pages than a thread heap keeps out of the pool, so that most of them go there. */
    private static final int PAGES = KeptPages.CAPACITY + 24;

    @Test
    void aClassTakesBackItsOwnPagesBeforeThoseAnotherClassRetiredSince() throws Exception {
        try (Heap heap = Heap.builder().name("pooled-class").purgeDelay(Duration.ofMinutes(1)).build()) {
            long[] first = allocatePages(heap, 1024);
            long[] other = allocatePages(heap, 2048);
            freeAll(heap, first);
            // Retired last, so the pool's most recent pages: what any class took before.
            freeAll(heap, other);
            assertTrue(poolSize(heap) >= PAGES - KeptPages.CAPACITY, "pooled pages: " + poolSize(heap));
            HeapStats before = heap.stats();

            long[] again = allocatePages(heap, 1024);
            Set<Long> pagesAgain = pagesOf(again);
            pagesAgain.removeAll(pagesOf(first));
            assertEquals(Set.of(), pagesAgain, "pages of 1 KiB blocks that held 2 KiB blocks before");
            HeapStats after = heap.stats();
            assertEquals(before.committedBytes(), after.committedBytes(), after.toText());
            assertEquals(before.osCalls(), after.osCalls(), after.toText());
            assertEquals(List.of(), SpanAccounting.violations(heap));
            freeAll(heap, again);
        }
    }

    @Test
    void withNoPageOfItsClassPooledAClassTakesTheMostCommittedOne() throws Exception {
        try (Heap heap = Heap.builder().name("pooled-committed").purgeDelay(Duration.ofMinutes(1)).build()) {
            SpanAllocator spans = ((HeapCore) Fields.read(heap, Heap.class, "core")).spans;
            int taken = SizeClasses.classOf(1024);
            int wanted = SizeClasses.classOf(64);
            spans.lock.lock();
            try {
                Page whole = spans.newPage(taken);
                assertTrue(spans.commitTo(whole, whole.spanBytes));
                Page slim = spans.newPage(taken);
                assertTrue(spans.commitTo(slim, 4096));
                spans.retire(whole);
                // Retired last, so the pool's most recent: what a class took before.
                spans.retire(slim);
                long committed = heap.stats().committedBytes();

                Page next = spans.newPage(wanted);
                assertSame(whole, next, "the page with 64 KiB committed, not the one with 4 KiB");
                assertEquals(wanted, next.sizeClass);
                // Its layout's bookkeeping may take the place of retired memory at the peak.
                assertTrue(heap.stats().committedBytes() <= committed, heap.stats().toText());
                spans.retire(next);
            } finally {
                spans.lock.unlock();
            }
            assertEquals(List.of(), SpanAccounting.violations(heap));
        }
    }

    /** @return blocks of {@code size} bytes, each written whole, filling {@link #PAGES} small pages */
    private static long[] allocatePages(Heap heap, long size) {
        long[] blocks = new long[(int) (PAGES * (64 * 1024 / size))];
        for (int i = 0; i < blocks.length; i++) {
            blocks[i] = heap.mallocAddress(size);
            MemorySegment.ofAddress(blocks[i]).reinterpret(size).fill((byte) i);
        }
        assertEquals(PAGES, pagesOf(blocks).size());
        return blocks;
    }

    private static void freeAll(Heap heap, long[] blocks) {
        for (long address : blocks) {
            heap.freeAddress(address);
        }
    }

    private static int poolSize(Heap heap) throws ReflectiveOperationException {
        HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
        return ((RingDeque<?>) Fields.read(core.spans, SpanAllocator.class, "pool")).size();
    }
}
