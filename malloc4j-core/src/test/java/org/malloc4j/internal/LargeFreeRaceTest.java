package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import org.junit.jupiter.api.Test;
import org.malloc4j.Heap;
import org.malloc4j.MemoryMisuseException;

/**
 * A late call on a large or huge block that waits for the span lock while another thread changes
 * what the block is: a free of the block wins and a page of medium blocks takes the span (the late
 * double free or realloc is reported and touches none of those blocks), or a close unmaps it (the
 * late free says the heap is closed). The tests hold the span lock to force those schedules.
 */
class LargeFreeRaceTest {
    @Test
    void aLateDoubleFreeOfALargeBlockLeavesThePageThatTookItsSpanAlone() throws Exception {
        assertLateCallIsReportedAndLeavesTheMediumPageAlone("large race", (heap, large) -> {
            heap.freeAddress(large);
            return null;
        });
    }

    /** The same schedule for a realloc: it must not resize, move or free the page's first block. */
    @Test
    void aReallocRacingTheFreeOfItsLargeBlockLeavesThePageThatTookItsSpanAlone() throws Exception {
        assertLateCallIsReportedAndLeavesTheMediumPageAlone("large realloc race",
                (heap, large) -> heap.reallocAddress(large, 600_000));
    }

    /** A call on the large block at {@code large}, made late. */
    private interface LateCall {
        Object call(Heap heap, long large);
    }

    private static void assertLateCallIsReportedAndLeavesTheMediumPageAlone(String name, LateCall lateCall)
            throws Exception {
        try (Heap heap = Heap.builder().name(name).build()) {
            Object core = Fields.read(heap, Heap.class, "core");
            Object spans = Fields.read(core, HeapCore.class, "spans");
            ReentrantLock spanLock = (ReentrantLock) Fields.read(spans, SpanAllocator.class, "lock");
            long large = heap.mallocAddress(500_000);
            AtomicReference<Object> late = new AtomicReference<>();
            long[] medium = new long[3];
            spanLock.lock();
            Thread lateThread;
            try {
                lateThread = Thread.ofPlatform().start(() -> {
                    try {
                        late.set(lateCall.call(heap, large));
                    } catch (Throwable t) {
                        late.set(t);
                    }
                });
                while (!spanLock.hasQueuedThread(lateThread)) {
                    Thread.onSpinWait();
                }
                heap.freeAddress(large);
                for (int i = 0; i < medium.length; i++) {
                    medium[i] = heap.mallocAddress(16_000);
                }
            } finally {
                spanLock.unlock();
            }
            lateThread.join(10_000);
            assertEquals(large, medium[0], "the medium page did not take the large block's span");
            assertInstanceOf(MemoryMisuseException.class, late.get(), "the late call returned normally");
            assertEquals(3 * 16_000, heap.stats().requestedBytes());
            for (long block : medium) {
                assertTrue(heap.usableSize(block) >= 16_000);
            }
            assertEquals(3, heap.stats().liveBlocks());
            for (long block : medium) {
                heap.freeAddress(block);
            }
            assertEquals(0, heap.stats().usableBytes());
        }
    }

    /**
     * A free of a huge block that waits for the span lock while another thread closes the heap (a
     * misuse) finds the block's mapping gone: it says the heap is closed.
     */
    @Test
    void aFreeOfAHugeBlockRacingCloseSaysTheHeapIsClosed() throws Exception {
        Heap heap = Heap.builder().name("huge close race").build();
        Object core = Fields.read(heap, Heap.class, "core");
        Object spans = Fields.read(core, HeapCore.class, "spans");
        ReentrantLock spanLock = (ReentrantLock) Fields.read(spans, SpanAllocator.class, "lock");
        long huge = heap.mallocAddress(40L << 20);
        AtomicReference<Throwable> late = new AtomicReference<>();
        spanLock.lock();
        Thread lateFree;
        try {
            lateFree = Thread.ofPlatform().start(() -> {
                try {
                    heap.freeAddress(huge);
                } catch (Throwable t) {
                    late.set(t);
                }
            });
            while (!spanLock.hasQueuedThread(lateFree)) {
                Thread.onSpinWait();
            }
            heap.close();
        } finally {
            spanLock.unlock();
        }
        lateFree.join(10_000);
        assertInstanceOf(IllegalStateException.class, late.get());
        assertTrue(late.get().getMessage().contains("is closed"), late.get().getMessage());
    }
}
