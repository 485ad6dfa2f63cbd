package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.malloc4j.Heap;
import org.malloc4j.HeapStats;

/**
 * A block alone in its page changes class with the page when it grows (no copy, no page left
 * empty) only while its new class has no page with room; otherwise it moves there.
 */
class ReallocMovePagesTest {
    private static final int BLOCKS = 4096;

    /**
     * The same with blocks that shrink, and with other classes: each pattern's blocks take about
     * their own size (at the build before, 4,096 blocks of 100 B shrunk to 12 B held 16 MiB
     * committed; 1,000 of 2,000 B grown to 5,000 B, 8,000 KiB for 4,882).
     */
    @ParameterizedTest
    @CsvSource({"4096, 100, 12", "4096, 12, 100", "1000, 2000, 5000", "200, 10240, 12288"})
    void blocksResizedOneAfterAnotherTakeAboutTheirOwnSize(int count, long first, long then) throws ReflectiveOperationException {
        try (Heap heap = Heap.builder().name("malloc then resize").build()) {
            long[] blocks = new long[count];
            for (int i = 0; i < count; i++) {
                blocks[i] = heap.reallocAddress(heap.mallocAddress(first), then);
            }
            HeapStats stats = heap.stats();
            assertEquals(then * count, stats.requestedBytes());
            assertTrue(stats.committedBytes() <= stats.usableBytes() + 128 * 1024, stats.toText());
            assertTrue(pagesMetadata(heap, stats) <= 64 * 1024, stats.toText());
            for (long block : blocks) {
                heap.freeAddress(block);
            }
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    /**
     * Blocks allocated and then grown, one after another (a string built by a malloc and a
     * realloc): each grows alone in a fresh page of its first class, and laid out again in place it
     * held a 64 KiB page by itself (16 MiB committed and 19 MiB of metadata for 80 KiB of blocks).
     */
    @Test
    void blocksAllocatedThenGrownOneAfterAnotherShareTheirNewClassesPages() throws ReflectiveOperationException {
        try (Heap heap = Heap.builder().name("malloc then grow").build()) {
            long[] blocks = new long[BLOCKS];
            for (int i = 0; i < BLOCKS; i++) {
                long block = heap.mallocAddress(12);
                blocks[i] = heap.reallocAddress(block, 20);
            }
            HeapStats stats = heap.stats();
            assertEquals(BLOCKS, stats.liveBlocks());
            assertEquals(20L * BLOCKS, stats.requestedBytes());
            // The blocks fill 32-byte slots of two 64 KiB pages, each committed as far as it is used.
            assertTrue(stats.committedBytes() <= 3 * 64 * 1024, stats.toText());
            assertTrue(pagesMetadata(heap, stats) <= 32 * 1024, stats.toText());
            for (long block : blocks) {
                heap.freeAddress(block);
            }
        }
    }

    /**
     * A producer grows each block it allocates and hands it to a consumer thread, which frees it: a
     * class that blocks only reach by realloc gets no malloc of its own, so its pages' remote frees
     * must be collected when a lone block looks for a page of that class, or the block's page is
     * laid out anew each time another fills with freed blocks (12 B grown to 20 B, 300,000 blocks
     * with 1,024 live at most: 9.4 MB committed; doubling to 8 KiB, 25,000 with 256 live: 200 MB).
     */
    @ParameterizedTest
    @CsvSource({"100000, 1024, 12, 20", "8000, 256, 16, 8192"})
    void blocksGrownOnOneThreadAndFreedOnAnotherTakeAboutWhatIsLive(int count, int inFlight, long first, long last)
            throws Exception {
        try (Heap heap = Heap.builder().name("grown and handed off").build()) {
            java.util.concurrent.BlockingQueue<Long> queue = new java.util.concurrent.ArrayBlockingQueue<>(inFlight);
            java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
            Thread consumer = Thread.ofPlatform().start(() -> {
                try {
                    for (int i = 0; i < count; i++) {
                        heap.freeAddress(queue.take());
                    }
                } catch (Throwable e) {
                    failure.set(e);
                }
            });
            for (int i = 0; i < count; i++) {
                long block = heap.mallocAddress(first);
                for (long size = first * 2; size <= last; size *= 2) {
                    block = heap.reallocAddress(block, size);
                }
                block = heap.reallocAddress(block, last);
                queue.put(block);
            }
            consumer.join();
            assertEquals(null, failure.get());
            HeapStats stats = heap.stats();
            assertEquals(0, stats.liveBlocks());
            // What is live at most, in blocks of the last class, and a few pages besides.
            long liveAtMost = (long) inFlight * SizeClasses.blockSize(SizeClasses.classOf(last));
            assertTrue(stats.committedBytes() <= 2 * liveAtMost + 512 * 1024, stats.toText());
        }
    }

    /** @return the metadata {@code stats} reports less the heap's own tables, which it has from the start */
    private static long pagesMetadata(Heap heap, HeapStats stats) throws ReflectiveOperationException {
        return stats.metadataBytes() - ((HeapCore) Fields.read(heap, Heap.class, "core")).tableBytes();
    }
}
