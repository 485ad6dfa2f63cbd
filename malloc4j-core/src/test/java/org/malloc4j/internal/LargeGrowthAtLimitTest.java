package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;
import org.malloc4j.Heap;

/**
 * A large block that realloc would grow in place over the free slices after its span, but whose
 * commit the heap's limit refuses: the realloc fails (the heap cannot move it either) and leaves
 * the block, its span and the region's free slices as they were.
 */
class LargeGrowthAtLimitTest {
    private static final long MIB = 1 << 20;

    @Test
    void aGrowthTheLimitRefusesGivesBackTheSlicesItExtendedOver() throws Exception {
        // Room for the 1 MiB block and a quarter more, not for half a MiB more.
        try (Heap heap = Heap.builder().name("large growth at limit").maxCommittedBytes(MIB + MIB / 4).build()) {
            HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
            MemorySegment block = heap.malloc(MIB);
            block.fill((byte) 7);
            Page page = RegionMap.slicePage(block.address(), core);
            int slices = page.sliceCount;
            long spanBytes = page.spanBytes;
            long committed = heap.stats().committedBytes();

            assertEquals(MemorySegment.NULL, heap.tryRealloc(block, MIB + MIB / 2));

            assertSame(page, RegionMap.slicePage(block.address(), core));
            assertEquals(slices, page.sliceCount, "the span kept the slices of the refused growth");
            assertEquals(spanBytes, page.spanBytes);
            assertEquals(committed, heap.stats().committedBytes());
            assertEquals(MIB, heap.usableSize(block));
            assertEquals((byte) 7, block.get(ValueLayout.JAVA_BYTE, MIB - 1));
            heap.check();
            // The slices right after the block are free again: the next span of a region takes them.
            MemorySegment next = heap.malloc(200 << 10);
            assertEquals(block.address() + spanBytes, next.address(), "the slices after the block were lost");
            heap.free(next);
            heap.free(block);
        }
    }
}
