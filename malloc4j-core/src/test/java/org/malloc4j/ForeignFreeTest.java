package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Frees of a live platform thread's blocks by other threads, platform and virtual: each block is
 * freed and counted once, and the owner's next mallocs take the freed blocks back before its bump
 * pointers commit more memory; an interior address, a block a scope holds and a block freed
 * already are refused with the misuse named, and nothing changes.
 */
class ForeignFreeTest {
    private Heap heap;

    @BeforeEach
    void makeHeap() {
        heap = Heap.builder().name("foreign-free").checkMode(CheckMode.FAST).build();
    }

    @AfterEach
    void closeHeap() {
        heap.close();
    }

    /** @return what {@code action} threw on a new thread of the kind asked for, or null */
    private static Throwable onAnotherThread(boolean virtual, Runnable action) throws InterruptedException {
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Runnable caught = () -> {
            try {
                action.run();
            } catch (Throwable t) {
                thrown.set(t);
            }
        };
        Thread thread = virtual ? Thread.ofVirtual().start(caught) : Thread.ofPlatform().start(caught);
        thread.join();
        return thrown.get();
    }

    private static MemoryMisuseException.Kind kindOf(Throwable thrown) {
        return assertInstanceOf(MemoryMisuseException.class, thrown).kind();
    }

    @ParameterizedTest(name = "virtual freer: {0}")
    @ValueSource(booleans = {false, true})
    void blocksFreedByAnotherThreadAreCountedOnceAndTheirMemoryServesTheOwnerAgain(boolean virtual)
            throws InterruptedException {
        int count = 2_000;
        long[] blocks = new long[count];
        for (int i = 0; i < count; i++) {
            blocks[i] = heap.mallocAddress(16 + 16 * (i % 8));
        }
        long committed = heap.stats().committedBytes();
        assertNull(onAnotherThread(virtual, () -> {
            for (long block : blocks) {
                heap.freeAddress(block);
            }
        }));
        HeapStats freed = heap.stats();
        assertEquals(0, freed.liveBlocks());
        assertEquals(count, freed.freeCount());
        assertEquals(0, freed.usableBytes());
        assertEquals(0, freed.requestedBytes());
        // The same blocks again: the owner collects the remote frees rather than commit more.
        for (int i = 0; i < count; i++) {
            blocks[i] = heap.mallocAddress(16 + 16 * (i % 8));
        }
        assertEquals(committed, heap.stats().committedBytes());
        for (long block : blocks) {
            heap.freeAddress(block);
        }
        heap.check();
        assertEquals(0, heap.stats().liveBlocks());
    }

    @ParameterizedTest(name = "virtual freer: {0}")
    @ValueSource(booleans = {false, true})
    void anInteriorAddressFreedByAnotherThreadIsABadFreeAndTheBlockStaysLive(boolean virtual)
            throws InterruptedException {
        long block = heap.mallocAddress(64);
        assertEquals(MemoryMisuseException.Kind.BAD_FREE, kindOf(onAnotherThread(virtual, () -> heap.freeAddress(block + 16))));
        assertEquals(1, heap.stats().liveBlocks());
        heap.freeAddress(block);
        assertEquals(0, heap.stats().liveBlocks());
    }

    @ParameterizedTest(name = "virtual freer: {0}")
    @ValueSource(booleans = {false, true})
    void aSecondFreeByAnotherThreadIsADoubleFreeCountedOnce(boolean virtual) throws InterruptedException {
        long block = heap.mallocAddress(48);
        assertNull(onAnotherThread(virtual, () -> heap.freeAddress(block)));
        assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE, kindOf(onAnotherThread(virtual, () -> heap.freeAddress(block))));
        HeapStats stats = heap.stats();
        assertEquals(1, stats.freeCount());
        assertEquals(0, stats.liveBlocks());
        heap.check();
    }

    @ParameterizedTest(name = "virtual freer: {0}")
    @ValueSource(booleans = {false, true})
    void aBlockAScopeHoldsFreedThroughTheHeapByAnotherThreadIsAMismatch(boolean virtual) throws InterruptedException {
        try (Arena scope = heap.newScope()) {
            MemorySegment held = scope.allocate(64);
            assertEquals(MemoryMisuseException.Kind.ALLOC_DEALLOC_MISMATCH,
                    kindOf(onAnotherThread(virtual, () -> heap.freeAddress(held.address()))));
            assertEquals(1, heap.stats().liveBlocks());
        }
        assertEquals(0, heap.stats().liveBlocks());
    }

    @ParameterizedTest(name = "virtual freer: {0}")
    @ValueSource(booleans = {false, true})
    void aLargeBlockFreedByAnotherThreadGoesBackWhole(boolean virtual) throws InterruptedException {
        long block = heap.mallocAddress(1 << 20);
        assertNull(onAnotherThread(virtual, () -> heap.freeAddress(block)));
        HeapStats stats = heap.stats();
        assertEquals(0, stats.liveBlocks());
        assertEquals(0, stats.usableBytes());
        assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE, kindOf(onAnotherThread(virtual, () -> heap.freeAddress(block))));
    }
}
