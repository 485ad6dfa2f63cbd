package org.malloc4j.internal;

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
import org.malloc4j.CheckMode;
import org.malloc4j.Heap;
import org.malloc4j.HeapStats;
import org.malloc4j.IdleThread;

/**
 * The heap's counters agree with what happened, after every way a page starts or stops being its
 * owner's current page and every way its use changes off the fast path:
 * <ul>
 * <li>the live bytes the commit path's heuristics count ({@link HeapCore#liveBytes}: each thread
 *     heap's count plus what its mallocs and frees added on its current pages) are the usable
 *     bytes the block tables hold ({@link HeapCore#stats});
 * <li>{@link HeapStats#mallocCount()} and {@link HeapStats#freeCount()} are the calls made, once
 *     the threads that made them are still (a free of another thread's block counts in the freeing
 *     thread's heap, or in the heap's shared counters when a virtual thread on the stripes makes
 *     it; a thread that ends leaves its counts to the heap).
 * </ul>
 * The cases: pages filling up and found again with room, a long run of pairs on one page, blocks
 * freed into pages that are not current, frees by other threads (platform ones, and virtual ones
 * on the stripes) collected on the owner's current page and on the others, a block changing class
 * in place, a thread ending with live blocks, virtual threads on stripes and on heaps of their
 * own, the purger taking a waiting owner's current pages, remote frees returned to the OS before
 * the owner collected them, and a sampled heap.
 */
class HeapCountersTest {
    private final Heap heap = Heap.builder().name("counters").build();
    private final HeapCore core = core(heap);
    /** The calls made through {@link #malloc}, {@link #free} and {@link #realloc}, on any thread. */
    private final AtomicLong mallocs = new AtomicLong();
    private final AtomicLong frees = new AtomicLong();

    @AfterEach
    void close() {
        heap.close();
    }

    @Test
    void agreeAsPagesFillAndBlocksAreFreedIntoPagesThatAreNotCurrent() {
        List<Long> blocks = new ArrayList<>();
        for (int i = 0; i < 20_000; i++) {
            blocks.add(malloc(heap, 48));
        }
        assertAgree("20,000 blocks over many pages");
        // Every other block, oldest first: most of them lie in full pages, not the current one.
        for (int i = 0; i < blocks.size(); i += 2) {
            free(heap, blocks.get(i));
        }
        assertAgree("half freed");
        for (int i = 0; i < 15_000; i++) {
            blocks.add(malloc(heap, 40));
        }
        assertAgree("pages with room found again and made current");
        for (int i = 1; i < blocks.size(); i += 2) {
            free(heap, blocks.get(i));
        }
        for (int i = 20_000; i < blocks.size(); i += 2) {
            free(heap, blocks.get(i));
        }
        assertAgree("all freed");
        assertEquals(0, heap.stats().usableBytes());
        assertEquals(0, heap.stats().liveBlocks());
    }

    /** Pairs on one page that stays current the whole time, then the page filled and left behind. */
    @Test
    void agreeThroughAMillionPairsOnOnePage() {
        long kept = malloc(heap, 64);
        for (int i = 0; i < 1_000_000; i++) {
            free(heap, malloc(heap, 64));
        }
        assertAgree("1,000,000 pairs on the current page");
        List<Long> blocks = new ArrayList<>();
        for (int i = 0; i < 5_000; i++) {
            blocks.add(malloc(heap, 64));
        }
        assertAgree("the page filled and others became current");
        blocks.forEach(block -> free(heap, block));
        free(heap, kept);
        assertAgree("all freed");
    }

    @Test
    void agreeAfterOtherThreadsFreeBlocksTheOwnerThenCollects() throws InterruptedException {
        SplittableRandom random = new SplittableRandom(3);
        List<Long> blocks = new ArrayList<>();
        for (int i = 0; i < 30_000; i++) {
            blocks.add(malloc(heap, 16 + random.nextInt(2_000)));
        }
        List<Thread> others = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            ConcurrentLinkedQueue<Long> handed = new ConcurrentLinkedQueue<>();
            for (int i = t; i < blocks.size(); i += 3) {
                handed.add(blocks.get(i));
            }
            others.add(Thread.ofPlatform().start(() -> handed.forEach(block -> free(heap, block))));
        }
        for (Thread other : others) {
            other.join();
        }
        assertAgree("two thirds freed by two other threads, not yet collected");
        for (int i = 0; i < 30_000; i++) {
            blocks.add(malloc(heap, 16 + random.nextInt(2_000)));
        }
        assertAgree("the owner collected them as it allocated");
        heap.trim();
        assertAgree("trimmed");
        for (int i = 0; i < blocks.size(); i++) {
            if (i >= 30_000 || i % 3 == 2) {
                free(heap, blocks.get(i));
            }
        }
        assertAgree("all freed");
        assertEquals(0, heap.stats().liveBlocks());
    }

    /**
     * A virtual thread on the stripes that frees a platform thread's block counts the free in the
     * heap's shared counters, having no thread heap of its own.
     */
    @Test
    void agreeWhenVirtualThreadsOnTheStripesFreeAPlatformThreadsBlocks() throws InterruptedException {
        List<Long> blocks = new ArrayList<>();
        for (int i = 0; i < 3_000; i++) {
            blocks.add(i % 2 == 0 ? malloc(heap, 16 + i % 700) : calloc(heap, 16 + i % 700));
        }
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 1_000; t++) {
            // Two frees each: under the mallocs after which a virtual thread asks for a heap.
            List<Long> two = List.of(blocks.get(3 * t), blocks.get(3 * t + 1));
            threads.add(Thread.ofVirtual().start(() -> two.forEach(block -> free(heap, block))));
        }
        for (Thread thread : threads) {
            thread.join();
        }
        assertAgree("two thirds freed by virtual threads");
        for (int t = 0; t < 1_000; t++) {
            free(heap, blocks.get(3 * t + 2));
        }
        assertAgree("all freed");
        assertEquals(0, heap.stats().liveBlocks());
    }

    /** A realloc in place, the page laid out again for the block's new class, is neither a malloc nor a free. */
    @Test
    void agreeAfterABlockChangesClassInPlace() {
        // A block alone in its page grows into the next classes of the same page size in place.
        long block = malloc(heap, 1_100);
        int inPlace = 0;
        for (long size = 1_200; size <= 4_000; size += 100) {
            long before = block;
            block = realloc(heap, block, size);
            inPlace += block == before ? 1 : 0;
            assertAgree("grown to " + size);
        }
        assertTrue(inPlace > 10, "grown in place " + inPlace + " times: the case this test is about");
        for (long size = 3_900; size >= 1_000; size -= 300) {
            block = realloc(heap, block, size);
            assertAgree("shrunk to " + size);
        }
        free(heap, block);
        assertAgree("freed");
    }

    @Test
    void agreeAfterAThreadEndsWithLiveBlocksThatOthersFreeAndAdopt() throws InterruptedException {
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
        assertAgree("the thread ended, its pages abandoned");
        int n = 0;
        for (Long block : left) {
            if (n++ % 2 == 0) {
                free(heap, block);
            }
        }
        List<Long> mine = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            mine.add(malloc(heap, 24 + i % 500));
        }
        assertAgree("half its blocks freed, its pages adopted");
        n = 0;
        for (Long block : left) {
            if (n++ % 2 != 0) {
                free(heap, block);
            }
        }
        mine.forEach(block -> free(heap, block));
        assertAgree("all freed");
    }

    @Test
    void agreeWithVirtualThreadsOnStripesAndOnHeapsOfTheirOwn() throws InterruptedException {
        ConcurrentLinkedQueue<Long> kept = new ConcurrentLinkedQueue<>();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 200; t++) {
            int seed = t;
            // Some make a few mallocs (on the stripes), some many (on a heap of their own).
            int count = t % 2 == 0 ? 3 : 300;
            threads.add(Thread.ofVirtual().start(() -> {
                SplittableRandom random = new SplittableRandom(seed);
                List<Long> own = new ArrayList<>();
                for (int i = 0; i < count; i++) {
                    own.add(malloc(heap, 16 + random.nextInt(3_000)));
                }
                for (int i = 0; i < own.size(); i++) {
                    if (i % 3 == 0) {
                        kept.add(own.get(i));
                    } else {
                        free(heap, own.get(i));
                    }
                }
            }));
        }
        for (Thread thread : threads) {
            thread.join();
        }
        assertAgree("virtual threads done, a third of their blocks live");
        kept.forEach(block -> free(heap, block));
        assertAgree("the rest freed by a platform thread");
    }

    /**
     * The purger takes the current pages of an owner that waits, and the owner settles them when it
     * comes back: they agree while the pages are taken (the owner's frees into them still counted as
     * on current pages), and after.
     */
    @Test
    void agreeWhileAWaitingOwnersCurrentPagesAreTakenAndAfterItComesBack() throws Exception {
        try (Heap idle = Heap.builder().name("counters, taken").purgeDelay(Duration.ofMillis(20)).build();
                IdleThread owner = new IdleThread()) {
            HeapCore idleCore = core(idle);
            List<Long> blocks = new ArrayList<>();
            WaitingOwner.leftWithPagesTaken(owner, idleCore, blocks, size -> malloc(idle, size), block -> free(idle, block));
            SplittableRandom random = new SplittableRandom(9);
            assertAgree(idle, idleCore, "pages taken");
            owner.run(() -> {
                for (int i = 0; i < blocks.size(); i += 8) {
                    free(idle, blocks.get(i));
                }
            });
            assertAgree(idle, idleCore, "freed into taken pages");
            owner.run(() -> {
                for (int i = 0; i < 5_000; i++) {
                    free(idle, malloc(idle, 16 + random.nextInt(3_000)));
                }
            });
            assertAgree(idle, idleCore, "the owner came back");
            owner.run(() -> {
                for (int i = 4; i < blocks.size(); i += 8) {
                    free(idle, blocks.get(i));
                }
            });
            assertAgree(idle, idleCore, "all freed");
            assertEquals(0, idleCore.liveBytes());
        }
    }

    /**
     * Blocks other threads freed into a waiting owner's pages, which the purger returned to the OS
     * before the owner collected them (holes), count once: as the other threads' frees.
     */
    @Test
    void agreeAfterRemoteFreesWentBackToTheOsBeforeTheOwnerCollectedThem() throws Exception {
        try (Heap idle = Heap.builder().name("counters, holes").purgeDelay(Duration.ofHours(1)).build();
                IdleThread owner = new IdleThread()) {
            HeapCore idleCore = core(idle);
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
            assertAgree(idle, idleCore, "freed by another thread, returned to the OS");
            owner.run(() -> {
                for (int i = 0; i < 3_000; i++) {
                    free(idle, malloc(idle, 4_096 + (i % 3) * 1_024));
                }
            });
            assertAgree(idle, idleCore, "the owner allocated again, taking the holes over");
            for (int i = 0; i < blocks.size(); i++) {
                if ((i / 16) % 2 == 1) {
                    free(idle, blocks.get(i));
                }
            }
            assertAgree(idle, idleCore, "all freed");
            assertEquals(0, idle.stats().liveBlocks());
        }
    }

    /**
     * A sampled heap gives some blocks a checked copy instead, which live outside the pages (so
     * only the counts are compared): each block still counts once.
     */
    @Test
    void countASampledHeapsBlocksOnceEach() {
        try (Heap sampled = Heap.builder().name("counters, sampled").checkMode(CheckMode.SAMPLED)
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

    private long calloc(Heap on, long byteSize) {
        long block = on.callocAddress(1, byteSize);
        mallocs.incrementAndGet();
        return block;
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

    private void assertAgree(String when) {
        assertAgree(heap, core, when);
    }

    private void assertAgree(Heap on, HeapCore onCore, String when) {
        assertEquals(onCore.stats().usableBytes(), onCore.liveBytes(), when + ": live bytes");
        assertCounts(on, when);
    }

    private void assertCounts(Heap on, String when) {
        HeapStats stats = on.stats();
        assertAll(when,
                () -> assertEquals(mallocs.get(), stats.mallocCount(), "mallocs"),
                () -> assertEquals(frees.get(), stats.freeCount(), "frees"));
    }

    private static HeapCore core(Heap heap) {
        try {
            return (HeapCore) Fields.read(heap, Heap.class, "core");
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }
}
