package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link HeapStats#mallocCount()} and {@link HeapStats#freeCount()} are the calls made, exactly, once
 * the threads that made them are still: after every way a block's page changes hands or use. The
 * counts are kept per thread heap (a free of another thread's block counts in the freeing thread's),
 * per stripe for virtual threads, and apart for threads that ended, so the cases are the ways a
 * block and its count part: pages filling and found again with room, a long run of pairs on one
 * page, frees by other threads collected, a block changing class in place, a thread ending,
 * virtual threads on stripes and on heaps of their own, the purger taking a waiting owner's
 * current pages, remote frees returned to the OS before the owner collected them, and a sampled heap.
 */
class MallocCountsTest {
    private final Heap heap = Heap.builder().name("malloc counts").build();
    /** The calls made through {@link #malloc}, {@link #free} and {@link #realloc}, on any thread. */
    private final AtomicLong mallocs = new AtomicLong();
    private final AtomicLong frees = new AtomicLong();

    @AfterEach
    void close() {
        heap.close();
    }

    @Test
    void countAsPagesFillAndBlocksAreFreedIntoPagesThatAreNotCurrent() {
        List<Long> blocks = new ArrayList<>();
        for (int i = 0; i < 20_000; i++) {
            blocks.add(malloc(heap, 48));
        }
        assertCounts(heap, "20,000 blocks over many pages");
        for (int i = 0; i < blocks.size(); i += 2) {
            free(heap, blocks.get(i));
        }
        assertCounts(heap, "every other block freed, most of them in full pages");
        for (int i = 0; i < 15_000; i++) {
            blocks.add(malloc(heap, 40));
        }
        assertCounts(heap, "pages with room found again and made current");
        for (int i = 1; i < blocks.size(); i += 2) {
            free(heap, blocks.get(i));
        }
        for (int i = 20_000; i < blocks.size(); i += 2) {
            free(heap, blocks.get(i));
        }
        assertCounts(heap, "all freed");
        assertEquals(0, heap.stats().liveBlocks());
    }

    /** Pairs on one page that stays current the whole time, then the page filled and left behind. */
    @Test
    void countAPageThatStaysCurrentThroughAMillionPairs() {
        long kept = malloc(heap, 64);
        for (int i = 0; i < 1_000_000; i++) {
            free(heap, malloc(heap, 64));
        }
        assertCounts(heap, "1,000,000 pairs on the current page");
        List<Long> blocks = new ArrayList<>();
        for (int i = 0; i < 5_000; i++) {
            blocks.add(malloc(heap, 64));
        }
        assertCounts(heap, "the page filled and others became current");
        blocks.forEach(block -> free(heap, block));
        free(heap, kept);
        assertCounts(heap, "all freed");
    }

    @Test
    void countFreesByOtherThreadsThatTheOwnerCollects() throws InterruptedException {
        SplittableRandom random = new SplittableRandom(5);
        List<Long> blocks = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            blocks.add(malloc(heap, 16 + random.nextInt(2_000)));
        }
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            List<Long> share = new ArrayList<>();
            for (int i = t; i < blocks.size(); i += 5) {
                share.add(blocks.get(i));
            }
            threads.add(Thread.ofPlatform().start(() -> share.forEach(block -> free(heap, block))));
        }
        for (Thread thread : threads) {
            thread.join();
        }
        assertCounts(heap, "four fifths freed by other threads");
        for (int i = 0; i < 10_000; i++) {
            free(heap, malloc(heap, 16 + random.nextInt(2_000)));
        }
        assertCounts(heap, "the owner allocated again, collecting them");
        for (int i = 4; i < blocks.size(); i += 5) {
            free(heap, blocks.get(i));
        }
        assertCounts(heap, "all freed");
    }

    /** A realloc in place, the page laid out again for the block's new class, is neither a malloc nor a free. */
    @Test
    void countNoMallocForABlockThatChangesClassInPlace() {
        long block = malloc(heap, 1_100);
        int inPlace = 0;
        for (long size = 1_200; size <= 4_000; size += 100) {
            long before = block;
            block = realloc(heap, block, size);
            inPlace += block == before ? 1 : 0;
            assertCounts(heap, "grown to " + size);
        }
        for (long size = 3_900; size >= 1_000; size -= 300) {
            block = realloc(heap, block, size);
            assertCounts(heap, "shrunk to " + size);
        }
        assertTrue(inPlace > 10, "grown in place " + inPlace + " times: the case this test is about");
        free(heap, block);
        assertCounts(heap, "freed");
    }

    @Test
    void countAThreadThatEndsWithLiveBlocksThatOthersFreeAndAdopt() throws InterruptedException {
        ConcurrentLinkedQueue<Long> left = new ConcurrentLinkedQueue<>();
        Thread ended = Thread.ofPlatform().start(() -> {
            for (int i = 0; i < 10_000; i++) {
                long block = malloc(heap, 24 + i % 500);
                if (i % 4 == 0) {
                    free(heap, block);
                } else {
                    left.add(block);
                }
            }
        });
        ended.join();
        heap.trim();
        assertCounts(heap, "the thread ended, its pages abandoned");
        List<Long> mine = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            mine.add(malloc(heap, 24 + i % 500));
        }
        left.forEach(block -> free(heap, block));
        mine.forEach(block -> free(heap, block));
        assertCounts(heap, "all freed, its pages adopted");
    }

    @Test
    void countVirtualThreadsOnStripesAndOnHeapsOfTheirOwn() throws InterruptedException {
        ConcurrentLinkedQueue<Long> kept = new ConcurrentLinkedQueue<>();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 200; t++) {
            int seed = t;
            // Some make a few mallocs (on the stripes), some many (on a heap of their own).
            int count = t % 2 == 0 ? 3 : 300;
            threads.add(Thread.ofVirtual().start(() -> {
                SplittableRandom random = new SplittableRandom(seed);
                for (int i = 0; i < count; i++) {
                    long block = malloc(heap, 16 + random.nextInt(3_000));
                    if (i % 3 == 0) {
                        kept.add(block);
                    } else {
                        free(heap, block);
                    }
                }
            }));
        }
        for (Thread thread : threads) {
            thread.join();
        }
        assertCounts(heap, "virtual threads done, a third of their blocks live");
        kept.forEach(block -> free(heap, block));
        assertCounts(heap, "the rest freed by a platform thread");
    }

    /**
     * The purger takes the current pages of an owner that waits, and the owner settles them when it
     * comes back: its frees into them in between count too.
     */
    @Test
    void countWhileAWaitingOwnersCurrentPagesAreTakenAndAfterItComesBack() throws Exception {
        try (Heap idle = Heap.builder().name("malloc counts, taken").purgeDelay(Duration.ofMillis(20)).build();
                IdleThread owner = new IdleThread()) {
            List<Long> blocks = new ArrayList<>();
            SplittableRandom random = new SplittableRandom(8);
            owner.run(() -> {
                for (int i = 0; i < 20_000; i++) {
                    blocks.add(malloc(idle, 16 + random.nextInt(3_000)));
                }
                for (int i = 0; i < blocks.size(); i++) {
                    if (i % 4 != 0) {
                        free(idle, blocks.get(i));
                    }
                }
            });
            long before = idle.stats().committedBytes();
            for (int poll = 0; poll < 100 && idle.stats().committedBytes() > before / 2; poll++) {
                Thread.sleep(20);
            }
            assertCounts(idle, "pages taken");
            owner.run(() -> {
                for (int i = 0; i < blocks.size(); i += 8) {
                    free(idle, blocks.get(i));
                }
            });
            assertCounts(idle, "freed into taken pages");
            owner.run(() -> {
                for (int i = 0; i < 5_000; i++) {
                    free(idle, malloc(idle, 16 + random.nextInt(3_000)));
                }
            });
            assertCounts(idle, "the owner came back");
            owner.run(() -> {
                for (int i = 4; i < blocks.size(); i += 8) {
                    free(idle, blocks.get(i));
                }
            });
            assertCounts(idle, "all freed");
            assertEquals(0, idle.stats().liveBlocks());
        }
    }

    /**
     * Blocks other threads freed into a waiting owner's pages, which the purger returned to the OS
     * before the owner collected them (holes), count once: as the other threads' frees.
     */
    @Test
    void countRemoteFreesThatWentBackToTheOsBeforeTheOwnerCollectedThem() throws Exception {
        try (Heap idle = Heap.builder().name("malloc counts, holes").purgeDelay(Duration.ofHours(1)).build();
                IdleThread owner = new IdleThread()) {
            List<Long> blocks = new ArrayList<>();
            owner.run(() -> {
                for (int i = 0; i < 4_000; i++) {
                    blocks.add(malloc(idle, 4_096 + (i % 3) * 1_024));
                }
            });
            // Runs of 16 blocks, every other run: whole OS pages free, beside live blocks.
            for (int i = 0; i < blocks.size(); i++) {
                if ((i / 16) % 2 == 0) {
                    free(idle, blocks.get(i));
                }
            }
            long before = idle.stats().committedBytes();
            idle.trim();
            assertTrue(idle.stats().committedBytes() < before * 3 / 4, "trim() made no holes: " + before
                    + " -> " + idle.stats().committedBytes());
            assertCounts(idle, "freed by another thread, returned to the OS");
            owner.run(() -> {
                for (int i = 0; i < 3_000; i++) {
                    free(idle, malloc(idle, 4_096 + (i % 3) * 1_024));
                }
            });
            assertCounts(idle, "the owner allocated again, taking the holes over");
            for (int i = 0; i < blocks.size(); i++) {
                if ((i / 16) % 2 == 1) {
                    free(idle, blocks.get(i));
                }
            }
            assertCounts(idle, "all freed");
            assertEquals(0, idle.stats().liveBlocks());
        }
    }

    /** A sampled heap gives some blocks a checked copy instead: each still counts once. */
    @Test
    void countASampledHeapsBlocksOnceEach() {
        try (Heap sampled = Heap.builder().name("malloc counts, sampled").checkMode(CheckMode.SAMPLED)
                .sampleInterval(8).build()) {
            List<Long> blocks = new ArrayList<>();
            for (int i = 0; i < 5_000; i++) {
                blocks.add(malloc(sampled, 16 + i % 1_000));
            }
            assertCounts(sampled, "5,000 blocks, about one in 8 sampled");
            blocks.forEach(block -> free(sampled, block));
            assertCounts(sampled, "all freed");
        }
    }

    private long malloc(Heap on, long byteSize) {
        long block = on.mallocAddress(byteSize);
        mallocs.incrementAndGet();
        return block;
    }

    private void free(Heap on, long block) {
        on.freeAddress(block);
        frees.incrementAndGet();
    }

    /** A realloc that moves the block is a malloc of the new block and a free of the old. */
    private long realloc(Heap on, long block, long byteSize) {
        long moved = on.reallocAddress(block, byteSize);
        if (moved != block) {
            mallocs.incrementAndGet();
            frees.incrementAndGet();
        }
        return moved;
    }

    private void assertCounts(Heap on, String when) {
        HeapStats stats = on.stats();
        assertAll(when,
                () -> assertEquals(mallocs.get(), stats.mallocCount(), "mallocs"),
                () -> assertEquals(frees.get(), stats.freeCount(), "frees"));
    }
}
