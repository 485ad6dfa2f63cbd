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
 * A double free of a large block that waits for the span lock while the other free wins and a page
 * of medium blocks takes the span: the late free is reported and frees none of those blocks. The
 * test holds the span lock to force that schedule.
 */
class LargeFreeRaceTest {
    @Test
    void aLateDoubleFreeOfALargeBlockLeavesThePageThatTookItsSpanAlone() throws Exception {
        try (Heap heap = Heap.builder().name("large race").build()) {
            Object core = Fields.read(heap, Heap.class, "core");
            Object spans = Fields.read(core, HeapCore.class, "spans");
            ReentrantLock spanLock = (ReentrantLock) Fields.read(spans, SpanAllocator.class, "lock");
            long large = heap.mallocAddress(500_000);
            AtomicReference<Throwable> late = new AtomicReference<>();
            long[] medium = new long[3];
            spanLock.lock();
            Thread lateFree;
            try {
                lateFree = Thread.ofPlatform().start(() -> {
                    try {
                        heap.freeAddress(large);
                    } catch (Throwable t) {
                        late.set(t);
                    }
                });
                while (!spanLock.hasQueuedThread(lateFree)) {
                    Thread.onSpinWait();
                }
                heap.freeAddress(large);
                for (int i = 0; i < medium.length; i++) {
                    medium[i] = heap.mallocAddress(16_000);
                }
            } finally {
                spanLock.unlock();
            }
            lateFree.join(10_000);
            assertInstanceOf(MemoryMisuseException.class, late.get(), "the late double free returned normally");
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

    /** The same schedule for a realloc: it must not resize, move or free the page's first block. */
    @Test
    void aReallocRacingTheFreeOfItsLargeBlockLeavesThePageThatTookItsSpanAlone() throws Exception {
        try (Heap heap = Heap.builder().name("large realloc race").build()) {
            Object core = Fields.read(heap, Heap.class, "core");
            Object spans = Fields.read(core, HeapCore.class, "spans");
            ReentrantLock spanLock = (ReentrantLock) Fields.read(spans, SpanAllocator.class, "lock");
            long large = heap.mallocAddress(500_000);
            AtomicReference<Object> late = new AtomicReference<>();
            long[] medium = new long[3];
            spanLock.lock();
            Thread lateRealloc;
            try {
                lateRealloc = Thread.ofPlatform().start(() -> {
                    try {
                        late.set(heap.reallocAddress(large, 600_000));
                    } catch (Throwable t) {
                        late.set(t);
                    }
                });
                while (!spanLock.hasQueuedThread(lateRealloc)) {
                    Thread.onSpinWait();
                }
                heap.freeAddress(large);
                for (int i = 0; i < medium.length; i++) {
                    medium[i] = heap.mallocAddress(16_000);
                }
            } finally {
                spanLock.unlock();
            }
            lateRealloc.join(10_000);
            assertEquals(large, medium[0], "the medium page did not take the large block's span");
            assertInstanceOf(MemoryMisuseException.class, late.get(), "the late realloc returned normally");
            for (long block : medium) {
                assertEquals(16_000, heap.stats().requestedBytes() / medium.length);
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
