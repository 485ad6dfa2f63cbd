package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** In checked mode, a block is freed through the API that allocated it, or the heap says so. */
class AllocDeallocMismatchTest {
    private final Heap heap = Heap.builder().name("mismatch").checkMode(CheckMode.FULL).build();

    @AfterEach
    void closeHeap() {
        heap.close();
    }

    @Test
    void aScopesBlockFreedThroughTheHeapIsAMismatchAndStaysLive() {
        try (Arena scope = heap.newScope()) {
            MemorySegment block = scope.allocate(48);
            MemoryMisuseException misuse = assertThrows(MemoryMisuseException.class, () -> heap.free(block));
            assertEquals(MemoryMisuseException.Kind.ALLOC_DEALLOC_MISMATCH, misuse.kind());
            assertTrue(misuse.getMessage().contains("held by a heap scope"), misuse.getMessage());
            block.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 0, (byte) 1);
        }
        assertEquals(0, heap.stats().liveBlocks());
    }

    @Test
    void aBumpArenasChunkFreedThroughTheHeapIsAMismatch() {
        try (BumpArena arena = BumpArena.ofConfined(heap)) {
            MemorySegment slice = arena.allocate(64, 16);
            MemoryMisuseException misuse = assertThrows(MemoryMisuseException.class,
                    () -> heap.freeAddress(slice.address()));
            assertEquals(MemoryMisuseException.Kind.ALLOC_DEALLOC_MISMATCH, misuse.kind());
        }
        assertEquals(0, heap.stats().liveBlocks());
    }

    @Test
    void aPoolPageResizedThroughTheHeapIsAMismatch() {
        try (FixedSizePool pool = FixedSizePool.builder(heap, 32).name("points").build()) {
            MemorySegment first = pool.allocate();
            MemoryMisuseException misuse = assertThrows(MemoryMisuseException.class,
                    () -> heap.reallocAddress(first.address(), 4096));
            assertEquals(MemoryMisuseException.Kind.ALLOC_DEALLOC_MISMATCH, misuse.kind());
            assertTrue(misuse.getMessage().contains("FixedSizePool 'points'"), misuse.getMessage());
            pool.free(first);
        }
    }

    @Test
    void aHeapBlockFreedThroughAPoolIsAMismatch() {
        MemorySegment block = heap.malloc(32);
        try (FixedSizePool pool = FixedSizePool.builder(heap, 32).build()) {
            MemoryMisuseException misuse = assertThrows(MemoryMisuseException.class, () -> pool.free(block));
            assertEquals(MemoryMisuseException.Kind.ALLOC_DEALLOC_MISMATCH, misuse.kind());
        }
        heap.free(block);
        assertEquals(0, heap.stats().liveBlocks());
    }
}
