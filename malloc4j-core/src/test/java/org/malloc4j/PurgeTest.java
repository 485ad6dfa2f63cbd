package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Memory goes back to the operating system: after the purge delay on its own, at once with
 * {@link Heap#trim()}, and not on every free of an alloc/free loop. Waits poll the stats every 50 ms
 * a bounded number of times; nothing asserts how long anything took.
 */
class PurgeTest {
    static final long KIB = 1024;
    static final long MIB = 1024 * KIB;

    @Test
    void freedMemoryGoesBackToTheOsAfterThePurgeDelayWithoutTrim() throws InterruptedException {
        try (Heap heap = Heap.builder().name("purge").purgeDelay(Duration.ofMillis(100)).build()) {
            List<MemorySegment> blocks = allocateAbout(heap, 256 * MIB, new SplittableRandom(1));
            blocks.forEach(heap::free);
            HeapStats freed = heap.stats();
            assertEquals(0, freed.liveBlocks());
            long peak = freed.peakCommittedBytes();
            assertTrue(peak >= 256 * MIB, "the blocks were not committed: " + freed.toText());

            long committed = pollCommittedUntilAtMost(heap, peak / 100);

            HeapStats purged = heap.stats();
            assertTrue(committed <= peak / 100, "still committed " + committed + " B of a " + peak
                    + " B peak, 5 s after every block was freed\n" + purged.toText());
            assertTrue(purged.purgedBytes() >= peak - peak / 100, purged.toText());
            assertTrue(purged.madviseCalls() > 0, purged.toText());
        }
    }

    @Test
    void aMebibyteAllocFreeLoopDoesNotCallTheOsOnEveryIteration() {
        try (Heap heap = Heap.builder().name("loop").build()) {
            MemorySegment warmUp = heap.malloc(MIB);
            heap.free(warmUp);
            long before = heap.stats().osCalls();
            int iterations = 1000;
            for (int i = 0; i < iterations; i++) {
                MemorySegment block = heap.malloc(MIB);
                block.set(ValueLayout.JAVA_INT, 0, i);
                block.set(ValueLayout.JAVA_INT, MIB - 4, i);
                heap.free(block);
            }
            long calls = heap.stats().osCalls() - before;
            assertTrue(calls < iterations / 10, calls + " mmap/munmap/madvise calls in " + iterations
                    + " iterations of malloc(1 MiB) + free\n" + heap.stats().toText());
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    @Test
    void aSmallBlockAllocFreeLoopDoesNotCallTheOsOnEveryIteration() {
        try (Heap heap = Heap.builder().name("small-loop").purgeDelay(Duration.ZERO).build()) {
            heap.free(heap.malloc(100));
            long before = heap.stats().osCalls();
            for (int i = 0; i < 10_000; i++) {
                heap.free(heap.malloc(100));
            }
            assertTrue(heap.stats().osCalls() - before < 100, heap.stats().toText());
        }
    }

    @Test
    void trimBringsCommittedToZeroWhenNothingIsLive() {
        try (Heap heap = Heap.builder().name("trim").purgeDelay(Duration.ofHours(1)).build()) {
            List<MemorySegment> blocks = new ArrayList<>();
            for (long size : new long[] {0, 16, 100, 1000, 8 * KIB, 20_000, 100_000, 128 * KIB, 300_000, 3 * MIB,
                    17 * MIB}) {
                for (int i = 0; i < 20; i++) {
                    blocks.add(heap.malloc(size));
                }
            }
            blocks.forEach(heap::free);
            assertTrue(heap.stats().committedBytes() > 0, "freeing alone released everything: nothing to trim");
            heap.trim();
            HeapStats trimmed = heap.stats();
            assertEquals(0, trimmed.committedBytes(), trimmed.toText());
            assertEquals(0, trimmed.reservedBytes(), trimmed.toText());
            MemorySegment after = heap.malloc(100);
            after.set(ValueLayout.JAVA_BYTE, 99, (byte) 1);
            heap.free(after);
        }
    }

    @Test
    void trimCollectsBlocksOtherThreadsFreedIntoTheCallersPages() throws InterruptedException {
        try (Heap heap = Heap.builder().name("trim-remote").purgeDelay(Duration.ofHours(1)).build()) {
            List<MemorySegment> blocks = new ArrayList<>();
            for (int i = 0; i < 5000; i++) {
                blocks.add(heap.malloc(16 + (i % 100) * 16));
            }
            Thread other = Thread.ofPlatform().start(() -> blocks.forEach(heap::free));
            other.join();
            assertEquals(0, heap.stats().liveBlocks());
            heap.trim();
            assertEquals(0, heap.stats().committedBytes(), heap.stats().toText());
        }
    }

    @Test
    void trimKeepsLiveBlocksIntact() {
        try (Heap heap = Heap.builder().name("trim-live").purgeDelay(Duration.ofHours(1)).build()) {
            List<MemorySegment> blocks = new ArrayList<>();
            for (int i = 0; i < 2000; i++) {
                blocks.add(heap.malloc(1 + (i * 97L) % 300_000));
            }
            List<MemorySegment> kept = new ArrayList<>();
            for (int i = 0; i < blocks.size(); i++) {
                if (i % 7 == 0) {
                    Patterns.fill(blocks.get(i), i);
                    kept.add(blocks.get(i));
                } else {
                    heap.free(blocks.get(i));
                }
            }
            heap.trim();
            for (int k = 0; k < kept.size(); k++) {
                assertEquals(-1, Patterns.firstMismatch(kept.get(k), k * 7L, kept.get(k).byteSize()));
            }
            assertEquals(kept.size(), heap.stats().liveBlocks());
            assertTrue(heap.stats().usableBytes() <= heap.stats().committedBytes());
            kept.forEach(heap::free);
        }
    }

    @Test
    void purgedMemoryReadsAsZerosWhenCallocTakesItAgain() {
        try (Heap heap = Heap.builder().name("purged-calloc").purgeDelay(Duration.ofHours(1)).build()) {
            List<MemorySegment> blocks = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                MemorySegment block = heap.malloc(200_000);
                block.fill((byte) 0x5A);
                blocks.add(block);
            }
            blocks.forEach(heap::free);
            heap.trim();
            for (int i = 0; i < 64; i++) {
                MemorySegment block = heap.calloc(1, 200_000);
                assertEquals(-1, Patterns.firstNonZero(block, 200_000), "block " + i);
                heap.free(block);
            }
        }
    }

    static List<MemorySegment> allocateAbout(Heap heap, long totalBytes, SplittableRandom random) {
        List<MemorySegment> blocks = new ArrayList<>();
        long allocated = 0;
        while (allocated < totalBytes) {
            long size = random.nextLong(64 * KIB, MIB + 1);
            MemorySegment block = heap.malloc(size);
            block.set(ValueLayout.JAVA_BYTE, 0, (byte) 1);
            block.set(ValueLayout.JAVA_BYTE, size - 1, (byte) 1);
            blocks.add(block);
            allocated += size;
        }
        return blocks;
    }

    static long pollCommittedUntilAtMost(Heap heap, long bound) throws InterruptedException {
        long committed = heap.stats().committedBytes();
        for (int poll = 0; poll < 100 && committed > bound; poll++) {
            Thread.sleep(50);
            committed = heap.stats().committedBytes();
        }
        return committed;
    }
}
