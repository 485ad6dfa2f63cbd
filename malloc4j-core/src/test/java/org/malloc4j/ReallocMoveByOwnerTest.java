package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/**
 * A realloc by the block's owner that grows it past its block moves it on realloc's fast path
 * (blocks other than a page's first, up to 32 KiB): the contents go along, the old block is freed
 * at once, the counts add up, and a failed move leaves the block as it was.
 */
class ReallocMoveByOwnerTest {
    private static final int BLOCKS = 64;

    @ParameterizedTest
    @CsvSource({"48, 200", "16, 17", "1000, 5000", "8192, 32768", "4000, 20000"})
    void grownBlocksMoveWithTheirContentsAndTheOldOnesAreFreed(long first, long grown) {
        try (Heap heap = Heap.builder().name("owner's moves").build()) {
            long[] blocks = new long[BLOCKS];
            for (int i = 0; i < BLOCKS; i++) {
                blocks[i] = heap.mallocAddress(first);
                fill(blocks[i], first, i);
            }
            for (int i = 0; i < BLOCKS; i++) {
                long old = blocks[i];
                blocks[i] = heap.reallocAddress(old, grown);
                assertNotEquals(old, blocks[i], "a block grown past its usable size moves");
                assertTrue(heap.usableSize(blocks[i]) >= grown);
                assertFilled(blocks[i], first, i);
                // Freed at once: a second free of the old address is a double free, and changes nothing.
                MemoryMisuseException e = assertThrows(MemoryMisuseException.class, () -> heap.freeAddress(old));
                assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE, e.kind(), e.getMessage());
            }
            HeapStats stats = heap.stats();
            assertEquals(BLOCKS, stats.liveBlocks(), stats.toText());
            assertEquals(BLOCKS * grown, stats.requestedBytes(), stats.toText());
            assertEquals(2L * BLOCKS, stats.mallocCount(), stats.toText());
            assertEquals(BLOCKS, stats.freeCount(), stats.toText());
            for (int i = 0; i < BLOCKS; i++) {
                assertFilled(blocks[i], first, i);
                heap.freeAddress(blocks[i]);
            }
            assertEquals(0, heap.stats().liveBlocks());
            assertEquals(0, heap.stats().requestedBytes());
        }
    }

    /** The old block's memory is free again: the next malloc of its class may have it. */
    @Test
    void theOldBlockIsHandedOutAgain() {
        try (Heap heap = Heap.builder().name("owner's moves reuse").build()) {
            long first = heap.mallocAddress(48);
            long second = heap.mallocAddress(48);
            long moved = heap.reallocAddress(second, 500);
            assertNotEquals(second, moved);
            assertEquals(second, heap.mallocAddress(48));
            heap.freeAddress(first);
            heap.freeAddress(second);
            heap.freeAddress(moved);
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    /**
     * A page's first block, alone in it, is left to the full path, which lays its page out again
     * for the new class rather than leave the page empty: it stays where it is.
     */
    @Test
    void aBlockAloneInItsPageChangesClassInPlace() {
        try (Heap heap = Heap.builder().name("a lone block grows").build()) {
            long block = heap.mallocAddress(48);
            fill(block, 48, 5);
            assertEquals(block, heap.reallocAddress(block, 200));
            assertEquals(block, heap.reallocAddress(block, 1000));
            assertFilled(block, 48, 5);
            assertEquals(1, heap.stats().liveBlocks());
            heap.freeAddress(block);
        }
    }

    @Test
    void aMoveThatFindsNoMemoryLeavesTheBlockLive() {
        try (Heap heap = Heap.builder().name("owner's move refused").maxCommittedBytes(16 * 1024).build()) {
            long first = heap.mallocAddress(48);
            long block = heap.mallocAddress(48);
            fill(block, 48, 7);
            HeapStats before = heap.stats();
            MemorySegment refused = heap.tryRealloc(MemorySegment.ofAddress(block), 20_000);
            assertEquals(MemorySegment.NULL, refused);
            assertThrows(HeapExhaustedError.class, () -> heap.reallocAddress(block, 20_000));
            HeapStats after = heap.stats();
            assertEquals(before.liveBlocks(), after.liveBlocks(), after.toText());
            assertEquals(before.requestedBytes(), after.requestedBytes(), after.toText());
            assertFilled(block, 48, 7);
            // Still live, and still the owner's to grow within its class's memory.
            long moved = heap.reallocAddress(block, 100);
            assertFilled(moved, 48, 7);
            heap.freeAddress(first);
            heap.freeAddress(moved);
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    /** A realloc of a block already freed is reported, on the page's owner as anywhere. */
    @Test
    void aFreedBlockGrownIsADoubleFreeAndChangesNothing() {
        try (Heap heap = Heap.builder().name("owner's move of a freed block").build()) {
            long first = heap.mallocAddress(48);
            long freed = heap.mallocAddress(48);
            heap.freeAddress(freed);
            HeapStats before = heap.stats();
            MemoryMisuseException e = assertThrows(MemoryMisuseException.class,
                    () -> heap.reallocAddress(freed, 500));
            assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE, e.kind(), e.getMessage());
            assertEquals(before, heap.stats());
            heap.freeAddress(first);
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    /** A block another thread owns takes the full path, and moves all the same. */
    @Test
    void aBlockOfAnotherThreadsPageMovesToo() throws InterruptedException {
        try (Heap heap = Heap.builder().name("moves across threads").build()) {
            AtomicLong made = new AtomicLong();
            Thread maker = Thread.ofPlatform().start(() -> {
                heap.mallocAddress(48);
                long block = heap.mallocAddress(48);
                fill(block, 48, 3);
                made.set(block);
            });
            maker.join();
            long moved = heap.reallocAddress(made.get(), 300);
            assertNotEquals(made.get(), moved);
            assertFilled(moved, 48, 3);
            assertThrows(MemoryMisuseException.class, () -> heap.freeAddress(made.get()));
            heap.freeAddress(moved);
            assertEquals(1, heap.stats().liveBlocks());
        }
    }

    private static void fill(long address, long byteSize, int seed) {
        MemorySegment block = MemorySegment.ofAddress(address).reinterpret(byteSize);
        for (long i = 0; i < byteSize; i++) {
            block.set(ValueLayout.JAVA_BYTE, i, (byte) (seed * 31 + i));
        }
    }

    private static void assertFilled(long address, long byteSize, int seed) {
        MemorySegment block = MemorySegment.ofAddress(address).reinterpret(byteSize);
        for (long i = 0; i < byteSize; i++) {
            assertEquals((byte) (seed * 31 + i), block.get(ValueLayout.JAVA_BYTE, i), "byte " + i);
        }
    }
}
