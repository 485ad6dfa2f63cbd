package org.malloc4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The floor under the raw API is a benchmark peer only if it hands out blocks as an allocator must. */
class FreeListFloorTest {
    @Test
    void everySizeGetsTheSmallestClassThatHoldsIt() {
        for (long size = 0; size <= 70_000; size++) {
            assertFits(size);
        }
        for (long size = 1L << 17; size < FreeListFloor.MAX_BYTES; size <<= 1) {
            assertFits(size - 1);
            assertFits(size);
            assertFits(size + 1);
        }
        assertFits(FreeListFloor.MAX_BYTES);
    }

    private static void assertFits(long size) {
        int sizeClass = FreeListFloor.classOf(size);
        long block = FreeListFloor.blockBytes(sizeClass);
        assertTrue(block >= size && block % 16 == 0, size + " B in a block of " + block);
        if (sizeClass > 0) {
            assertTrue(FreeListFloor.blockBytes(sizeClass - 1) < size, size + " B would fit the class below");
        }
        assertTrue(size <= 128 || block <= size * 1.25, size + " B wastes over a fifth of " + block);
    }

    @Test
    void liveBlocksNeverOverlapAndFreedOnesAreReused() {
        FreeListFloor floor = new FreeListFloor();
        SplittableRandom random = new SplittableRandom(42);
        TreeMap<Long, Long> live = new TreeMap<>();
        List<Long> order = new ArrayList<>();
        for (int step = 0; step < 200_000; step++) {
            if (order.isEmpty() || random.nextInt(3) > 0) {
                long size = random.nextInt(8) == 0 ? random.nextLong(FreeListFloor.MAX_BYTES / 64) : random.nextLong(4097);
                long address = floor.malloc(size);
                long usable = floor.usableSize(address);
                assertEquals(0, address % 16, "16-byte aligned");
                assertTrue(usable >= size);
                Map.Entry<Long, Long> below = live.floorEntry(address);
                assertTrue(below == null || below.getKey() + below.getValue() <= address, "overlaps the block below");
                Long above = live.ceilingKey(address);
                assertTrue(above == null || address + usable <= above, "overlaps the block above");
                live.put(address, usable);
                order.add(address);
            } else {
                long address = order.remove(random.nextInt(order.size()));
                long usable = live.remove(address);
                floor.free(address);
                assertEquals(address, floor.malloc(usable), "the last block freed of a class is its next");
                floor.free(address);
            }
        }
    }

    /** Three pages' worth of every class to 64 KiB, then a few blocks of larger ones: each page filled to its end. */
    @Test
    void pagesFillToTheirEndAndNoFurther() {
        FreeListFloor floor = new FreeListFloor();
        TreeMap<Long, Long> live = new TreeMap<>();
        for (int sizeClass = 0; FreeListFloor.blockBytes(sizeClass) <= 1L << 22; sizeClass++) {
            long block = FreeListFloor.blockBytes(sizeClass);
            long blocks = block <= 1L << 16 ? 3 * ((1L << 16) / block) : 3;
            for (long i = 0; i < blocks; i++) {
                long address = floor.malloc(block);
                assertEquals(block, floor.usableSize(address));
                if (block <= 1L << 16) {
                    assertEquals(address >>> 16, (address + block - 1) >>> 16, block + " B block crosses a 64 KiB page");
                }
                Long below = live.floorKey(address);
                assertTrue(below == null || below + live.get(below) <= address, "overlaps the block below");
                Long above = live.ceilingKey(address);
                assertTrue(above == null || address + block <= above, "overlaps the block above");
                live.put(address, block);
            }
        }
    }

    @Test
    void reallocKeepsABlockInItsClassAndMovesItOutOfIt() {
        FreeListFloor floor = new FreeListFloor();
        long block = floor.malloc(100);
        assertEquals(block, floor.realloc(block, 112));
        long moved = floor.realloc(block, 200);
        assertNotEquals(block, moved);
        assertEquals(224, floor.usableSize(moved), "200 B: 128 + 3 quarters of 128");
        assertEquals(block, floor.malloc(97), "the block realloc left is free again");
    }

    @Test
    void sizesNoBlockHoldsAreRefused() {
        FreeListFloor floor = new FreeListFloor();
        assertThrows(IllegalArgumentException.class, () -> floor.malloc(-1));
        assertThrows(IllegalArgumentException.class, () -> floor.malloc(FreeListFloor.MAX_BYTES + 1));
    }
}
