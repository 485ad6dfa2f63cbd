package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/**
 * A block grown by realloc from 16 B to 1 MiB, round after round, changes its page's class at each
 * small step and leaves the next round to lay a page out for 16 B again: the slack arrays those
 * layouts let go are kept for the next ones, a bounded few a heap, and {@link Heap#trim()} lets
 * them go.
 */
class GrowthRoundsMetadataTest {
    private static void growAndFree(Heap heap) {
        MemorySegment block = heap.malloc(16).fill((byte) 7);
        for (long size = 32; size <= 1 << 20; size *= 2) {
            block = heap.realloc(block, size);
            assertEquals(7, block.get(ValueLayout.JAVA_BYTE, 15), "the first bytes moved with the block");
        }
        heap.free(block);
    }

    @Test
    void metadataStaysLevelRoundAfterRoundAndTrimLetsTheKeptArraysGo() {
        try (Heap heap = Heap.builder().name("growth rounds").build()) {
            heap.trim();
            long fresh = heap.stats().metadataBytes();
            growAndFree(heap);
            long afterOne = heap.stats().metadataBytes();
            for (int round = 0; round < 200; round++) {
                growAndFree(heap);
            }
            assertEquals(afterOne, heap.stats().metadataBytes(), "metadata grew with the rounds");
            assertEquals(0, heap.stats().liveBlocks());
            heap.trim();
            assertEquals(fresh, heap.stats().metadataBytes(), "trim left metadata behind");
        }
    }
}
