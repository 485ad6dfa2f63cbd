package org.malloc4j;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
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
 * A realloc to at most the block's usable size gives memory back, or keeps the block: at the heap's
 * limit, where not even the smaller block can be had, it must not fail for want of memory. A
 * realloc to 0 bytes is a free to its caller, and a shrink asks for less than the caller holds. The
 * block itself becomes the smaller one (holding its memory until freed or resized), in every mode,
 * for small, medium and large blocks.
 */
class ShrinkAtLimitTest {
    private static final long LIMIT = 8L << 20;

    /** A heap of {@code mode} with a limit, checking every block and holding none in quarantine. */
    private static Heap atLimit(String name, CheckMode mode) {
        return Heap.builder().name(name).checkMode(mode).sampleInterval(1).quarantineBytes(0)
                .maxCommittedBytes(LIMIT).build();
    }

    /** Frees {@code blocks}, finds the heap empty, and its memory usable again up to the limit. */
    private static void freeAndFindEmpty(Heap heap, List<MemorySegment> blocks) {
        blocks.forEach(heap::free);
        assertEquals(0, heap.stats().liveBlocks());
        assertEquals(0, heap.stats().requestedBytes());
        heap.free(heap.malloc(1 << 20));
    }

    /** Fills the heap up to its limit with blocks of every power of two from 1 MiB down. */
    private static List<MemorySegment> fill(Heap heap) {
        List<MemorySegment> blocks = new ArrayList<>();
        for (long size = 1 << 20; size >= 16; size /= 2) {
            for (MemorySegment block; !(block = heap.tryMalloc(size)).equals(MemorySegment.NULL); ) {
                blocks.add(block);
            }
        }
        assertEquals(MemorySegment.NULL, heap.tryMalloc(0), "the heap is not full");
        return blocks;
    }

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void aShrinkAtTheLimitStaysInPlaceWithItsContents(CheckMode mode) {
        try (Heap heap = atLimit("shrink-" + mode, mode)) {
            // Each to less than half its usable size, where a resize moves to give memory back.
            long[][] shrinks = {{1 << 20, 100_000}, {1 << 20, 1}, {20_000, 5_000}, {1000, 400}, {1000, 1},
                {100, 40}, {64, 16}};
            List<MemorySegment> shrunk = new ArrayList<>();
            for (long[] shrink : shrinks) {
                shrunk.add(heap.malloc(shrink[0]));
            }
            List<MemorySegment> blocks = fill(heap);
            for (int i = 0; i < shrinks.length; i++) {
                MemorySegment block = shrunk.get(i);
                long size = shrinks[i][1];
                for (long b = 0; b < block.byteSize(); b++) {
                    block.set(JAVA_BYTE, b, (byte) b);
                }
                // Full again: a large block's shrink before this one gave memory back.
                blocks.addAll(fill(heap));
                long requested = heap.stats().requestedBytes();
                long live = heap.stats().liveBlocks();

                MemorySegment smaller = i % 2 == 0 ? heap.realloc(block, size) : heap.tryRealloc(block, size);
                String what = mode + ", " + block.byteSize() + " B to " + size + " B";
                assertEquals(block.address(), smaller.address(), what + ": moved");
                assertEquals(size, smaller.byteSize(), what);
                for (long b = 0; b < size; b++) {
                    assertEquals((byte) b, smaller.get(JAVA_BYTE, b), what + ", byte " + b);
                }
                assertEquals(requested - block.byteSize() + size, heap.stats().requestedBytes(), what);
                assertEquals(live, heap.stats().liveBlocks(), what);
                assertTrue(heap.usableSize(smaller) >= size, what);
                heap.check();
                shrunk.set(i, smaller);
            }
            shrunk.forEach(heap::free);
            freeAndFindEmpty(heap, blocks);
        }
    }

    /** In a checked mode, the bytes a shrink at the limit leaves past the new size are redzone. */
    @ParameterizedTest
    @EnumSource(value = CheckMode.class, names = {"SAMPLED", "FULL"})
    void aWritePastABlockShrunkAtTheLimitIsAnOverflow(CheckMode mode) {
        try (Heap heap = atLimit("shrink-overflow-" + mode, mode)) {
            long address = heap.mallocAddress(1000);
            List<MemorySegment> blocks = fill(heap);
            assertEquals(address, heap.reallocAddress(address, 100));
            MemorySegment.ofAddress(address).reinterpret(1000).set(JAVA_BYTE, 500, (byte) 1);
            MemoryMisuseException overflow = assertThrows(MemoryMisuseException.class, () -> heap.freeAddress(address));
            assertEquals(MemoryMisuseException.Kind.HEAP_BUFFER_OVERFLOW, overflow.kind());
            heap.freeAddress(address);
            freeAndFindEmpty(heap, blocks);
        }
    }

    /** Past the usable size a realloc must move, and at the limit it fails as documented, changing nothing. */
    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void aGrowthAtTheLimitStillFails(CheckMode mode) {
        try (Heap heap = atLimit("grow-" + mode, mode)) {
            MemorySegment block = heap.malloc(1000);
            List<MemorySegment> blocks = fill(heap);
            long usable = heap.usableSize(block);
            assertThrows(HeapExhaustedError.class, () -> heap.realloc(block, 2 * usable + 1));
            assertEquals(MemorySegment.NULL, heap.tryRealloc(block, 2 * usable + 1));
            long others = blocks.stream().mapToLong(MemorySegment::byteSize).sum();
            assertEquals(1000, heap.stats().requestedBytes() - others, "the block changed");
            heap.free(block);
            freeAndFindEmpty(heap, blocks);
        }
    }

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void aReallocToZeroAtTheLimitNeverFails(CheckMode mode) {
        try (Heap heap = atLimit("realloc0-" + mode, mode)) {
            List<MemorySegment> emptied = new ArrayList<>();
            for (long size : new long[] {1 << 20, 1024, 16}) {
                emptied.add(heap.malloc(size));
            }
            List<MemorySegment> blocks = fill(heap);
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
            freeAndFindEmpty(heap, blocks);
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
