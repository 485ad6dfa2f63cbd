package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import org.junit.jupiter.api.Test;
import org.malloc4j.Heap;
import org.malloc4j.HeapStats;
import org.malloc4j.MemoryMisuseException;

/**
 * A realloc that moves a large block found it live, and has its new block, when another thread
 * frees the old block (a misuse, racing the realloc) and a malloc gets its span back, at the same
 * address and on the same page object. The realloc must report the misuse and give its new block
 * back; it must not free the block now at that address, which belongs to whoever the malloc
 * returned it to (two threads reallocating the same large blocks lost a block to each other's
 * new blocks that way, and kept one block too many live). The test forces that schedule by
 * holding the stripes' locks, which the realloc of a virtual thread waits for in its malloc.
 */
class LargeReallocReuseRaceTest {
    private static final long LARGE = 500_000;
    /** A block of a size class, from the stripe: a large block shrunk to 32 KiB or less moves. */
    private static final long SMALLER = 20_000;

    @Test
    void aMovingReallocRacingAFreeAndAMallocOfItsBlockFreesNotTheNewBlockAtItsAddress() throws Exception {
        try (Heap heap = Heap.builder().name("large realloc reuse race").build()) {
            HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
            ThreadHeap[] stripes = (ThreadHeap[]) Fields.read(core, HeapCore.class, "stripes");
            long large = heap.mallocAddress(LARGE);
            AtomicReference<Object> late = new AtomicReference<>();
            long reused;
            for (ThreadHeap stripe : stripes) {
                stripe.lock.lock();
            }
            Thread lateRealloc;
            try {
                lateRealloc = Thread.ofVirtual().start(() -> {
                    try {
                        late.set(heap.reallocAddress(large, SMALLER));
                    } catch (Throwable t) {
                        late.set(t);
                    }
                });
                // Waiting in its malloc: past its look at the old block, before its free.
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (!anyWaiter(stripes)) {
                    assertTrue(System.nanoTime() < deadline, "the realloc never waited for a stripe's lock");
                    Thread.onSpinWait();
                }
                heap.freeAddress(large);
                reused = heap.mallocAddress(LARGE);
            } finally {
                for (ThreadHeap stripe : stripes) {
                    stripe.lock.unlock();
                }
            }
            lateRealloc.join(TimeUnit.SECONDS.toMillis(10));
            assertEquals(large, reused, "the new block did not take the freed block's span");
            assertInstanceOf(MemoryMisuseException.class, late.get(), "the racing realloc returned normally");
            assertTrue(BlockLiveness.isLive(heap, reused), "the realloc freed the block a malloc had returned since");
            HeapStats stats = heap.stats();
            assertEquals(1, stats.liveBlocks());
            assertEquals(LARGE, stats.requestedBytes());
            heap.freeAddress(reused);
            assertEquals(0, heap.stats().liveBlocks());
            assertEquals(0, heap.stats().usableBytes());
        }
    }

    private static boolean anyWaiter(ThreadHeap[] stripes) throws ReflectiveOperationException {
        for (ThreadHeap stripe : stripes) {
            if (((ReentrantLock) Fields.read(stripe.lock, StripeLock.class, "waiters")).isLocked()) {
                return true;
            }
        }
        return false;
    }
}
