package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.malloc4j.Heap;
import org.malloc4j.MemoryMisuseException;

/**
 * A striped heap (virtual threads') that adopts an ended thread's page with blocks still live
 * claims them by compare-and-set, as a thread heap does: another thread may be freeing one of them
 * with the one compare-and-set of {@link Page#claimFromOther}, from the slack array it read while
 * the page was the ended thread's, and a stripe's plain write would race it.
 */
class StripeAdoptionTest {
    private static final int LIVE = 10;

    @Test
    void aStripeAdoptingAnEndedThreadsLivePageClaimsItsBlocksByCompareAndSet() throws Exception {
        try (Heap heap = Heap.builder().name("stripe adoption").build()) {
            HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
            long[] live = new long[LIVE];
            Thread ended = Thread.ofPlatform().start(() -> {
                for (int i = 0; i < LIVE; i++) {
                    live[i] = heap.mallocAddress(48);
                }
            });
            ended.join();
            // The next refill looks for ended threads at once, not a sweep interval after the last look.
            Fields.write(core, HeapCore.class, "lastSweepNanos", System.nanoTime() - (1L << 40));
            Page page = RegionMap.slicePage(live[0], core);
            assertFalse(page.stripeClaimsAtomic, "a thread heap's page");

            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<Long> fromStripe = new ArrayList<>();
            Thread virtual = Thread.ofVirtual().start(() -> {
                try {
                    // The stripe's first page of the class: the ended thread's, which has room.
                    fromStripe.add(heap.mallocAddress(48));
                    assertSame(page, RegionMap.slicePage(fromStripe.get(0), core), "the ended thread's page was not adopted");
                    assertNull(page.ownerThread, "a stripe's page has no owner thread");
                    assertTrue(page.stripeClaimsAtomic, "adopted with blocks live, by a stripe");
                    // The stripe's frees of the ended thread's blocks, one of them twice.
                    heap.freeAddress(live[0]);
                    assertThrows(MemoryMisuseException.class, () -> heap.freeAddress(live[0]));
                    heap.freeAddress(fromStripe.get(0));
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            virtual.join();
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            for (int i = 1; i < LIVE; i++) {
                heap.freeAddress(live[i]);
            }
            assertEquals(0, heap.stats().liveBlocks(), heap.stats().toText());
            assertEquals(List.of(), SpanAccounting.violations(heap));
        }
    }

    /** A new layout ends it: the page's next blocks are claimed as any stripe's. */
    @Test
    void aNewLayoutClearsIt() {
        Page page = new Page(null, 0, 8, 1L << 32, 512 << 10);
        page.commitEnd = 512 << 10;
        page.stripeClaimsAtomic = true;
        page.format(SizeClasses.classOf(64), new SpareSlackArrays(), false);
        assertFalse(page.stripeClaimsAtomic);
        page.stripeClaimsAtomic = true;
        page.formatSingle(Page.LARGE, 100_000, 102_400);
        assertFalse(page.stripeClaimsAtomic);
    }
}
