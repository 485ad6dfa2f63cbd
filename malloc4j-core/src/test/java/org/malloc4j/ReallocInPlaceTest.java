package org.malloc4j;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * A realloc that keeps a block in its size class resizes it in place, whether the calling thread
 * owns the block's page (the fast path) or not, and records the new requested size; a realloc of
 * a block that is not live, or that a scope holds, changes nothing and says why.
 */
class ReallocInPlaceTest {
    private static final long SIZE = 1000;

    @Test
    void theOwnersReallocWithinTheClassKeepsTheAddressAndContentsAndCountsTheNewSize() {
        try (Heap heap = Heap.builder().name("in-place").build()) {
            long block = heap.mallocAddress(SIZE);
            long usable = heap.usableSize(block);
            MemorySegment.ofAddress(block).reinterpret(SIZE).fill((byte) 0x3C);
            for (long size = SIZE + 1; size <= usable; size += 5) {
                assertEquals(block, heap.reallocAddress(block, size), "grown to " + size);
                assertEquals(size, heap.stats().requestedBytes());
            }
            assertEquals(block, heap.reallocAddress(block, usable / 2 + 1));
            assertEquals(usable / 2 + 1, heap.stats().requestedBytes());
            assertEquals(usable, heap.usableSize(block));
            MemorySegment kept = MemorySegment.ofAddress(block).reinterpret(usable / 2 + 1);
            for (long i = 0; i < kept.byteSize(); i++) {
                assertEquals(0x3C, kept.get(JAVA_BYTE, i), "byte " + i);
            }
            heap.freeAddress(block);
            assertEquals(0, heap.stats().requestedBytes());
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    /** (A block alone in its page would change class in place, the page laid out again.) */
    @Test
    void aReallocIntoASmallerClassMovesABlockThatSharesItsPage() {
        try (Heap heap = Heap.builder().name("shrink").build()) {
            long neighbour = heap.mallocAddress(SIZE);
            long block = heap.mallocAddress(SIZE);
            long moved = heap.reallocAddress(block, 100);
            assertNotEquals(block, moved);
            assertEquals(SIZE + 100, heap.stats().requestedBytes());
            assertEquals(2, heap.stats().liveBlocks());
            heap.freeAddress(moved);
            heap.freeAddress(neighbour);
        }
    }

    @Test
    void anotherThreadsReallocWithinTheClassResizesInPlaceToo() throws InterruptedException {
        try (Heap heap = Heap.builder().name("foreign").build()) {
            long block = heap.mallocAddress(SIZE);
            AtomicLong result = new AtomicLong();
            Thread other = new Thread(() -> result.set(heap.reallocAddress(block, SIZE + 8)));
            other.start();
            other.join();
            assertEquals(block, result.get());
            assertEquals(SIZE + 8, heap.stats().requestedBytes());
            heap.freeAddress(block);
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    /** The freed block's slot, live again, would be handed out twice: the next malloc's and this one's. */
    @Test
    void aReallocOfABlockFreedInTheOwnersPageIsADoubleFreeAndChangesNothing() {
        try (Heap heap = Heap.builder().name("freed").build()) {
            long keep = heap.mallocAddress(SIZE);
            long block = heap.mallocAddress(SIZE);
            heap.freeAddress(block);
            MemoryMisuseException e = assertThrows(MemoryMisuseException.class,
                    () -> heap.reallocAddress(block, SIZE + 8));
            assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE, e.kind());
            assertEquals(1, heap.stats().liveBlocks());
            assertEquals(SIZE, heap.stats().requestedBytes());
            long again = heap.mallocAddress(SIZE);
            assertEquals(block, again, "the freed block is the next one handed out");
            assertEquals(2, heap.stats().liveBlocks());
            heap.freeAddress(again);
            heap.freeAddress(keep);
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    @Test
    void aReallocOfABlockAScopeHoldsIsAMismatch() {
        try (Heap heap = Heap.builder().name("held").build(); Arena scope = heap.newScope()) {
            MemorySegment held = scope.allocate(SIZE);
            MemoryMisuseException e = assertThrows(MemoryMisuseException.class,
                    () -> heap.reallocAddress(held.address(), SIZE + 8));
            assertEquals(MemoryMisuseException.Kind.ALLOC_DEALLOC_MISMATCH, e.kind());
            assertEquals(SIZE, heap.stats().requestedBytes());
        }
    }
}
