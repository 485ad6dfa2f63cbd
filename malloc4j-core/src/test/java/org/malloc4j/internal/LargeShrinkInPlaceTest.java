package org.malloc4j.internal;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.malloc4j.Heap;
import org.malloc4j.HeapStats;
import org.malloc4j.MemoryMisuseException;
import org.junit.jupiter.api.Test;

/**
 * A large block shrunk step by step stays where it is: once it holds more than twice its usable
 * size, the memory past that size goes back to the OS and its whole slices back to the region.
 * It used to move to a span from the pool instead, which could commit as much again, and the next
 * small shrink moved it back: hundreds of copies in a row.
 */
class LargeShrinkInPlaceTest {
    private static final long KIB = 1024;
    private static final long MIB = 1024 * KIB;

    @Test
    void aLargeBlockShrunkInSmallStepsNeverMovesAndGivesItsMemoryBack() throws Exception {
        try (Heap heap = quietHeap("shrink")) {
            long size = 3 * MIB;
            long block = heap.mallocAddress(size);
            fill(block, size);
            long madvisesBefore = heap.stats().madviseCalls();
            for (size -= 150; size > 40 * KIB; size -= 150) {
                assertEquals(block, heap.reallocAddress(block, size), "moved at " + size + " B");
                HeapStats stats = heap.stats();
                assertTrue(stats.committedBytes() <= 2 * heap.usableSize(block) + 64 * KIB,
                        "shrunk to " + size + " B\n" + stats.toText());
            }
            // A halving a call at most, not a call a step.
            assertTrue(heap.stats().madviseCalls() - madvisesBefore <= 8, heap.stats().toText());
            checkFill(block, size + 150);
            assertEquals(List.of(), SpanAccounting.violations(heap));
            heap.freeAddress(block);
            assertEquals(List.of(), SpanAccounting.violations(heap));
            heap.check();
        }
    }

    @Test
    void theSlicesPastAShrunkBlockServeOtherBlocksAndNameNoBlock() throws Exception {
        try (Heap heap = quietHeap("tail")) {
            long block = heap.mallocAddress(4 * MIB);
            fill(block, 4 * MIB);
            assertEquals(block, heap.reallocAddress(block, 100 * KIB));
            long pastBlock = block + 2 * MIB;
            MemoryMisuseException e = assertThrows(MemoryMisuseException.class, () -> heap.freeAddress(pastBlock));
            assertEquals(MemoryMisuseException.Kind.BAD_FREE, e.kind(), e.getMessage());

            long[] others = new long[12];
            for (int i = 0; i < others.length; i++) {
                others[i] = heap.mallocAddress(256 * KIB);
                MemorySegment.ofAddress(others[i]).reinterpret(256 * KIB).fill((byte) i);
            }
            checkFill(block, 100 * KIB);
            long inTail = Arrays.stream(others).filter(o -> o > block && o < block + 4 * MIB).count();
            assertTrue(inTail > 0, "no block took the slices past the shrunk one");
            for (int i = 0; i < others.length; i++) {
                assertEquals((byte) i, MemorySegment.ofAddress(others[i]).reinterpret(256 * KIB).get(JAVA_BYTE, 256 * KIB - 1));
                heap.freeAddress(others[i]);
            }
            // Grown back, in place or not, with its contents.
            long grown = heap.reallocAddress(block, 4 * MIB);
            checkFill(grown, 100 * KIB);
            assertEquals(List.of(), SpanAccounting.violations(heap));
            heap.freeAddress(grown);
            assertEquals(List.of(), SpanAccounting.violations(heap));
            heap.check();
        }
    }

    /** A heap whose purger waits a minute: only the shrinks return memory. */
    private static Heap quietHeap(String name) {
        return Heap.builder().name(name).purgeDelay(Duration.ofMinutes(1)).build();
    }

    private static void fill(long address, long size) {
        MemorySegment block = MemorySegment.ofAddress(address).reinterpret(size);
        for (long i = 0; i < size; i += 4096) {
            block.set(JAVA_BYTE, i, (byte) (i >>> 12));
        }
    }

    private static void checkFill(long address, long size) {
        MemorySegment block = MemorySegment.ofAddress(address).reinterpret(size);
        for (long i = 0; i < size; i += 4096) {
            assertEquals((byte) (i >>> 12), block.get(JAVA_BYTE, i), "byte " + i);
        }
    }
}
