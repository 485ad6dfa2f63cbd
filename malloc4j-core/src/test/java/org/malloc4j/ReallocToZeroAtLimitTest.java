package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A realloc to 0 bytes is a free to its caller: at the heap's limit, where not even a zero-length
 * block can be had, it must not fail for want of memory. The block itself becomes the zero-length
 * block (holding its memory until freed), in every mode, for small, medium and large blocks.
 */
class ReallocToZeroAtLimitTest {
    private static final long LIMIT = 8L << 20;

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void aReallocToZeroAtTheLimitNeverFails(CheckMode mode) {
        try (Heap heap = Heap.builder().name("realloc0-" + mode).checkMode(mode).sampleInterval(1)
                .quarantineBytes(0).maxCommittedBytes(LIMIT).build()) {
            List<MemorySegment> blocks = new ArrayList<>();
            List<MemorySegment> emptied = new ArrayList<>();
            for (long size : new long[] {1 << 20, 1024, 16}) {
                emptied.add(heap.malloc(size));
            }
            for (long size = 1 << 20; size >= 16; size /= 2) {
                for (MemorySegment block; !(block = heap.tryMalloc(size)).equals(MemorySegment.NULL); ) {
                    blocks.add(block);
                }
            }
            assertEquals(MemorySegment.NULL, heap.tryMalloc(0), "the heap is not full");
            for (MemorySegment block : emptied) {
                long size = block.byteSize();
                block.fill((byte) 7);
                long requested = heap.stats().requestedBytes();
                long live = heap.stats().liveBlocks();

                MemorySegment empty = heap.realloc(block, 0);
                assertEquals(0, empty.byteSize());
                assertNotEquals(0, empty.address());
                assertEquals(requested - size, heap.stats().requestedBytes(), mode + ", " + size + " B");
                assertEquals(live, heap.stats().liveBlocks());
                heap.check();
                heap.free(empty);
                assertEquals(live - 1, heap.stats().liveBlocks());
                assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE,
                        assertThrows(MemoryMisuseException.class, () -> heap.free(empty)).kind());
            }
            MemorySegment other = blocks.removeLast();
            MemorySegment empty = heap.tryRealloc(other, 0);
            assertNotEquals(MemorySegment.NULL, empty, "tryRealloc to 0 failed");
            heap.free(empty);
            blocks.forEach(heap::free);
            assertEquals(0, heap.stats().liveBlocks());
            assertEquals(0, heap.stats().requestedBytes());
            heap.free(heap.malloc(1 << 20));
        }
    }
}
