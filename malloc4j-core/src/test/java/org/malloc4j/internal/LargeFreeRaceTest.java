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
 * A late call on a large block (a double free, or a realloc) that waits for the span lock while a
 * free of the block wins and a page of medium blocks takes the span: the late call is reported and
 * touches none of those blocks. The test holds the span lock to force that schedule.
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
}
