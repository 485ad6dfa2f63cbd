package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
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

    /**
     * A free racing a realloc to 0 of the same block at the limit (a misuse): whichever wins, the
     * loser reports a double free or a use after free, never an overflow the program did not
     * make, and the statistics end at zero.
     */
    @ParameterizedTest
    @EnumSource(value = CheckMode.class, names = {"FAST", "FULL"})
    void aFreeRacingAReallocToZeroAtTheLimitIsReportedAsWhatItIs(CheckMode mode) throws Exception {
        try (Heap heap = Heap.builder().name("realloc0-race-" + mode).checkMode(mode).quarantineBytes(0)
                .maxCommittedBytes(LIMIT).build();
                ExecutorService threads = Executors.newFixedThreadPool(2)) {
            List<MemorySegment> filler = new ArrayList<>();
            MemorySegment first = heap.malloc(1000);
            for (long size = 1 << 20; size >= 16; size /= 2) {
                for (MemorySegment block; !(block = heap.tryMalloc(size)).equals(MemorySegment.NULL); ) {
                    filler.add(block);
                }
            }
            MemorySegment target = first;
            for (int round = 0; round < 3_000; round++) {
                MemorySegment block = target;
                CountDownLatch go = new CountDownLatch(1);
                java.util.concurrent.Callable<Object> reallocToZero = () -> {
                    go.await();
                    try {
                        return heap.realloc(block, 0);
                    } catch (MemoryMisuseException e) {
                        return e;
                    }
                };
                // Every other round the block's owner (this thread) reallocs it.
                boolean byOwner = (round & 1) == 1;
                Future<Object> realloc = byOwner ? null : threads.submit(reallocToZero);
                Future<Object> free = threads.submit(() -> {
                    go.await();
                    try {
                        heap.free(block);
                        return block;
                    } catch (MemoryMisuseException e) {
                        return e;
                    }
                });
                go.countDown();
                Object reallocated = byOwner ? reallocToZero.call() : realloc.get();
                Object freed = free.get();
                for (Object outcome : new Object[] {reallocated, freed}) {
                    if (outcome instanceof MemoryMisuseException e) {
                        assertTrue(e.kind() == MemoryMisuseException.Kind.DOUBLE_FREE
                                || e.kind() == MemoryMisuseException.Kind.USE_AFTER_FREE, e.getMessage());
                    }
                }
                if (reallocated instanceof MemorySegment empty && freed instanceof MemoryMisuseException) {
                    heap.free(empty);
                }
                target = heap.malloc(1000);
            }
            heap.free(target);
            filler.forEach(heap::free);
            assertEquals(0, heap.stats().liveBlocks());
            assertEquals(0, heap.stats().requestedBytes());
            heap.check();
        }
    }

    /**
     * A large block's realloc to 0 at the limit racing a realloc in place of the same block (a
     * misuse): both may succeed, one after the other, and the statistics follow whichever order.
     */
    @org.junit.jupiter.api.Test
    void aLargeBlocksReallocToZeroRacingAResizeKeepsTheStatisticsExact() throws Exception {
        try (Heap heap = Heap.builder().name("realloc0-large-race").maxCommittedBytes(4 * LIMIT).build();
                ExecutorService threads = Executors.newFixedThreadPool(2)) {
            MemorySegment target = heap.malloc(1 << 20);
            List<MemorySegment> filler = new ArrayList<>();
            for (long size = 4 << 20; size >= 16; size /= 2) {
                for (MemorySegment block; !(block = heap.tryMalloc(size)).equals(MemorySegment.NULL); ) {
                    filler.add(block);
                }
            }
            long others = heap.stats().requestedBytes() - (1 << 20);
            for (int round = 0; round < 2_000; round++) {
                MemorySegment block = target;
                CountDownLatch go = new CountDownLatch(1);
                Future<MemorySegment> empty = threads.submit(() -> {
                    go.await();
                    return heap.realloc(block, 0);
                });
                Future<MemorySegment> resized = threads.submit(() -> {
                    go.await();
                    // Within the block's last OS page: no committed tail is left for the limit to take back.
                    return heap.realloc(block, (1 << 20) - 4000);
                });
                go.countDown();
                MemorySegment last = empty.get(10, TimeUnit.SECONDS);
                MemorySegment other = resized.get(10, TimeUnit.SECONDS);
                assertEquals(block.address(), last.address(), "moved");
                assertEquals(block.address(), other.address(), "moved");
                heap.free(last);
                assertEquals(others, heap.stats().requestedBytes(), "round " + round);
                target = heap.malloc(1 << 20);
            }
            heap.free(target);
            filler.forEach(heap::free);
            assertEquals(0, heap.stats().requestedBytes());
            heap.check();
        }
    }
}
