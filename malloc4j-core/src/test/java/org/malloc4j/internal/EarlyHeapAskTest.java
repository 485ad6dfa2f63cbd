package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.malloc4j.Heap;

/**
 * A virtual thread's early ask for a heap of its own (at its {@link HeapCore#HANDOVER_AFTER}-th
 * malloc) never parks for the span lock: it goes on with the stripes instead. Heaps given early
 * hold at most half the places, and a task takes over the one its stripe's last task left. And its stripe hint
 * puts consecutive ids, which a virtual thread per task gets, on different cache lines.
 */
class EarlyHeapAskTest {
    private static final long BLOCK = 64;

    @Test
    void anEarlyAskGoesOnWithTheStripesWhileAnotherThreadHoldsTheSpanLock() throws Exception {
        try (Heap heap = Heap.builder().name("early ask").build()) {
            HeapCore core = core(heap);
            long[] hints = stripeHints(core);
            // A page of the class on stripe 0 first, kept in use, so that the asking thread's
            // mallocs need no refill, which takes the span lock.
            long[] kept = new long[1];
            runOnStripe0(hints, () -> kept[0] = heap.mallocAddress(BLOCK));

            AtomicReference<Throwable> failure = new AtomicReference<>();
            AtomicReference<Object> heapOfAsker = new AtomicReference<>();
            Thread asker = Thread.ofVirtual().unstarted(() -> {
                try {
                    for (int i = 0; i < HeapCore.HANDOVER_AFTER + 2; i++) {
                        heap.freeAddress(heap.mallocAddress(BLOCK));
                    }
                    heapOfAsker.set(VirtualThreadHeapsTest.virtualHeaps(core).find(Thread.currentThread()));
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            hint(hints, asker);
            core.spans.lock.lock();
            boolean ended;
            try {
                asker.start();
                ended = asker.join(java.time.Duration.ofSeconds(20));
            } finally {
                core.spans.lock.unlock();
            }
            asker.join();
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            assertTrue(ended, "the thread waited for the span lock");
            assertNull(heapOfAsker.get(), "the thread got a heap without the span lock");
            heap.freeAddress(kept[0]);
            assertEquals(0, heap.stats().liveBlocks());
            assertEquals(HeapCore.HANDOVER_AFTER + 3, heap.stats().mallocCount());
        }
    }

    /**
     * With heaps given early at half the places, a task still takes over the heap that its
     * stripe's last task left, and no other: the count of early heaps stays as it was.
     */
    @Test
    void aTaskTakesOverTheHeapItsStripesLastTaskLeftWhileEarlyHeapsHoldHalfThePlaces() throws Exception {
        try (Heap heap = Heap.builder().name("early relay").build()) {
            HeapCore core = core(heap);
            long[] hints = stripeHints(core);
            VirtualThreadHeaps heaps = VirtualThreadHeapsTest.virtualHeaps(core);
            int places = places(core);
            // Threads that wait after a few mallocs hold all the early places but one.
            CountDownLatch ready = new CountDownLatch(places / 2 - 1);
            CountDownLatch end = new CountDownLatch(1);
            List<Thread> waiting = new ArrayList<>();
            for (int t = 0; t < places / 2 - 1; t++) {
                waiting.add(Thread.ofVirtual().start(() -> {
                    earlyPairs(heap);
                    ready.countDown();
                    awaitQuietly(end);
                }));
            }
            ready.await();

            ThreadHeap first = taskOnStripe0(hints, heaps, heap);
            assertNotNull(first, "the last early place went unused");
            assertEquals(places / 2, heapCount(heaps));
            ThreadHeap second = taskOnStripe0(hints, heaps, heap);
            assertSame(first, second, "the next task did not take over its stripe's last heap");

            // While that heap's thread lives, the next early asker gets none.
            CountDownLatch release = new CountDownLatch(1);
            Holder holder = holdOnStripe(hints, heaps, heap, 0, release);
            assertSame(first, holder.heap());
            assertNull(taskOnStripe0(hints, heaps, heap), "an early asker took a place past half");
            release.countDown();
            holder.thread().join();
            assertSame(first, taskOnStripe0(hints, heaps, heap));
            assertEquals(places / 2, heapCount(heaps));
            assertEquals(places / 2, earlyHeld(heaps));

            end.countDown();
            for (Thread thread : waiting) {
                thread.join();
            }
            assertEquals(0, heap.stats().liveBlocks());
            heap.trim();
            assertEquals(0, heapCount(heaps), "the ended threads' heaps stayed");
            assertEquals(0, earlyHeld(heaps), "swept heaps still count as given early");
        }
    }

    /**
     * A heap given early whose thread ended serves an early asker on any stripe at once, not only
     * on its own, and the count of heaps given early stays as it was.
     */
    @Test
    void anEarlyAskerOnAnotherStripeTakesOverAHeapGivenEarlyWhoseThreadEnded() throws Exception {
        try (Heap heap = Heap.builder().name("early elsewhere").build()) {
            HeapCore core = core(heap);
            long[] hints = stripeHints(core);
            VirtualThreadHeaps heaps = VirtualThreadHeapsTest.virtualHeaps(core);
            int places = places(core);
            // A block kept on each of stripes 0 and 1, so that the tasks below need no new page: a
            // page's refill may sweep the ended threads' heaps away.
            long[] kept = new long[2];
            runOnStripe(hints, 0, () -> kept[0] = heap.mallocAddress(BLOCK));
            runOnStripe(hints, 1, () -> kept[1] = heap.mallocAddress(BLOCK));

            // Early askers on stripe 0, one at a time, fill the early places, then end.
            CountDownLatch end = new CountDownLatch(1);
            List<Thread> holders = new ArrayList<>();
            List<ThreadHeap> given = new ArrayList<>();
            for (int t = 0; t < places / 2; t++) {
                Holder holder = holdOnStripe(hints, heaps, heap, 0, end);
                assertNotNull(holder.heap(), "early asker " + t + " got no heap");
                holders.add(holder.thread());
                given.add(holder.heap());
            }
            end.countDown();
            for (Thread holder : holders) {
                holder.join();
            }
            assertEquals(places / 2, earlyHeld(heaps));

            AtomicReference<ThreadHeap> taken = new AtomicReference<>();
            runOnStripe(hints, 1, () -> {
                earlyPairs(heap);
                taken.set(heaps.find(Thread.currentThread()));
            });
            assertTrue(given.contains(taken.get()), "an early asker on stripe 1 got " + taken.get()
                    + ", not one of the ended threads' heaps " + given);
            assertEquals(places / 2, earlyHeld(heaps));
            assertEquals(places / 2, heapCount(heaps));

            heap.freeAddress(kept[0]);
            heap.freeAddress(kept[1]);
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    /** Runs a task of a few more mallocs than an early ask takes on stripe 0; returns its heap. */
    private static ThreadHeap taskOnStripe0(long[] hints, VirtualThreadHeaps heaps, Heap heap)
            throws InterruptedException {
        AtomicReference<ThreadHeap> own = new AtomicReference<>();
        runOnStripe0(hints, () -> {
            earlyPairs(heap);
            own.set(heaps.find(Thread.currentThread()));
        });
        return own.get();
    }

    /** A started early asker, and the heap it got (null if none). */
    private record Holder(Thread thread, ThreadHeap heap) {
    }

    /**
     * Starts an early asker on {@code stripe} and waits until it has asked; it holds what it got
     * until {@code release} opens.
     */
    private static Holder holdOnStripe(long[] hints, VirtualThreadHeaps heaps, Heap heap, int stripe,
            CountDownLatch release) throws InterruptedException {
        CountDownLatch holding = new CountDownLatch(1);
        AtomicReference<ThreadHeap> own = new AtomicReference<>();
        Thread thread = Thread.ofVirtual().unstarted(() -> {
            earlyPairs(heap);
            own.set(heaps.find(Thread.currentThread()));
            holding.countDown();
            awaitQuietly(release);
        });
        hint(hints, thread, stripe);
        thread.start();
        holding.await();
        return new Holder(thread, own.get());
    }

    private static void earlyPairs(Heap heap) {
        for (int i = 0; i < HeapCore.HANDOVER_AFTER + 2; i++) {
            heap.freeAddress(heap.mallocAddress(BLOCK));
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static HeapCore core(Heap heap) throws ReflectiveOperationException {
        return (HeapCore) Fields.read(heap, Heap.class, "core");
    }

    private static long[] stripeHints(HeapCore core) throws ReflectiveOperationException {
        return (long[]) Fields.read(core, HeapCore.class, "stripeHints");
    }

    /** @return how many virtual threads may have a heap at once: one per stripe */
    private static int places(HeapCore core) throws ReflectiveOperationException {
        return ((ThreadHeap[]) Fields.read(core, HeapCore.class, "stripes")).length;
    }

    private static int earlyHeld(VirtualThreadHeaps heaps) throws ReflectiveOperationException {
        return (int) Fields.read(heaps, VirtualThreadHeaps.class, "earlyHeld");
    }

    private static int heapCount(VirtualThreadHeaps heaps) throws ReflectiveOperationException {
        return ((ThreadHeap[]) Fields.read(heaps, VirtualThreadHeaps.class, "heaps")).length;
    }

    @Test
    void consecutiveThreadIdsTakeHintSlotsOnDifferentCacheLines() {
        // 8 longs to a 64-byte line.
        for (long id = 1; id < 100_000; id++) {
            int hint = HeapCore.hintSlot(id);
            assertTrue(hint >= 0 && hint < 256, "slot out of range");
            assertTrue(Math.abs(hint - HeapCore.hintSlot(id + 1)) >= 8, "hint slots of " + id + " and the next share a line");
        }
    }

    @Test
    void consecutiveThreadIdsTakeHeapCacheSlotsOnDifferentCacheLines() {
        // 16 compressed references (4 bytes each) to a 64-byte line; 8-byte ones are further apart.
        int entries = HeapCore.HEAP_CACHE_SIZE * 16;
        for (long id = 1; id < 100_000; id++) {
            int slot = HeapCore.cacheSlot(id);
            assertTrue(slot >= 0 && slot < entries, "slot out of range");
            assertTrue(Math.abs(slot - HeapCore.cacheSlot(id + 1)) >= 16, "cache slots of " + id + " and the next share a line");
        }
    }

    private static void runOnStripe0(long[] hints, Runnable work) throws InterruptedException {
        runOnStripe(hints, 0, work);
    }

    private static void runOnStripe(long[] hints, int stripe, Runnable work) throws InterruptedException {
        Thread thread = Thread.ofVirtual().unstarted(work);
        hint(hints, thread, stripe);
        thread.start();
        assertTrue(thread.join(java.time.Duration.ofSeconds(20)));
    }

    /** Points {@code thread}'s stripe hint at stripe 0, with no malloc counted. */
    private static void hint(long[] hints, Thread thread) {
        hint(hints, thread, 0);
    }

    /** Points {@code thread}'s stripe hint at {@code stripe}, with no malloc counted. */
    private static void hint(long[] hints, Thread thread, int stripe) {
        long id = thread.threadId();
        hints[HeapCore.hintSlot(id)] = id << 24 | stripe;
    }
}
