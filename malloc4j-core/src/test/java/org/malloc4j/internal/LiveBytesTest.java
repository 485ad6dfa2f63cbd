package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.malloc4j.Heap;
import org.malloc4j.IdleThread;

/**
 * The live bytes the commit path's heuristics count ({@link HeapCore#liveBytes}: each thread heap's
 * count plus what its mallocs and frees added on its current pages) are the usable bytes the block
 * tables hold ({@link HeapCore#stats}), after every way a page stops or starts being current and
 * every way its use changes off the fast path: pages filling up and found again with room, blocks
 * freed into pages that are not current, frees by other threads collected on the owner's current
 * page and on the others, a block changing class in place, a thread ending with live blocks, and
 * virtual threads' striped heaps.
 */
class LiveBytesTest {
    private final Heap heap = Heap.builder().name("live bytes").build();
    private final HeapCore core = core(heap);

    @AfterEach
    void close() {
        heap.close();
    }

    @Test
    void agreeAsPagesFillAndBlocksAreFreedIntoPagesThatAreNotCurrent() {
        List<Long> blocks = new ArrayList<>();
        for (int i = 0; i < 20_000; i++) {
            blocks.add(heap.mallocAddress(48));
        }
        assertAgree("20,000 blocks over many pages");
        // Every other block, oldest first: most of them lie in full pages, not the current one.
        for (int i = 0; i < blocks.size(); i += 2) {
            heap.freeAddress(blocks.get(i));
        }
        assertAgree("half freed");
        for (int i = 0; i < 15_000; i++) {
            blocks.add(heap.mallocAddress(40));
        }
        assertAgree("pages with room found again and made current");
        for (int i = 1; i < blocks.size(); i += 2) {
            heap.freeAddress(blocks.get(i));
        }
        for (int i = 20_000; i < blocks.size(); i += 2) {
            heap.freeAddress(blocks.get(i));
        }
        assertAgree("all freed");
        assertEquals(0, heap.stats().usableBytes());
    }

    @Test
    void agreeAfterOtherThreadsFreeBlocksTheOwnerThenCollects() throws InterruptedException {
        SplittableRandom random = new SplittableRandom(3);
        List<Long> blocks = new ArrayList<>();
        for (int i = 0; i < 30_000; i++) {
            blocks.add(heap.mallocAddress(16 + random.nextInt(2_000)));
        }
        ConcurrentLinkedQueue<Long> handed = new ConcurrentLinkedQueue<>();
        for (int i = 0; i < blocks.size(); i += 3) {
            handed.add(blocks.get(i));
        }
        Thread other = Thread.ofPlatform().start(() -> handed.forEach(heap::freeAddress));
        other.join();
        assertAgree("a third freed by another thread, not yet collected");
        for (int i = 0; i < 30_000; i++) {
            blocks.add(heap.mallocAddress(16 + random.nextInt(2_000)));
        }
        assertAgree("the owner collected them as it allocated");
        heap.trim();
        assertAgree("trimmed");
    }

    @Test
    void agreeAfterABlockChangesClassInPlace() {
        // A block alone in its page grows into the next classes of the same page size in place.
        long block = heap.mallocAddress(1_100);
        for (long size = 1_200; size <= 4_000; size += 100) {
            block = heap.reallocAddress(block, size);
            assertAgree("grown to " + size);
        }
        for (long size = 3_900; size >= 1_000; size -= 300) {
            block = heap.reallocAddress(block, size);
            assertAgree("shrunk to " + size);
        }
        heap.freeAddress(block);
        assertAgree("freed");
    }

    @Test
    void agreeAfterAThreadEndsWithLiveBlocksThatOthersFreeAndAdopt() throws InterruptedException {
        ConcurrentLinkedQueue<Long> left = new ConcurrentLinkedQueue<>();
        Thread ended = Thread.ofPlatform().start(() -> {
            for (int i = 0; i < 10_000; i++) {
                long block = heap.mallocAddress(24 + i % 500);
                if (i % 4 == 0) {
                    heap.freeAddress(block);
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
                heap.freeAddress(block);
            }
        }
        List<Long> mine = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            mine.add(heap.mallocAddress(24 + i % 500));
        }
        assertAgree("half its blocks freed, its pages adopted");
        n = 0;
        for (Long block : left) {
            if (n++ % 2 != 0) {
                heap.freeAddress(block);
            }
        }
        mine.forEach(heap::freeAddress);
        assertAgree("all freed");
    }

    @Test
    void agreeWithVirtualThreadsOnStripes() throws InterruptedException {
        ConcurrentLinkedQueue<Long> kept = new ConcurrentLinkedQueue<>();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 200; t++) {
            int seed = t;
            threads.add(Thread.ofVirtual().start(() -> {
                SplittableRandom random = new SplittableRandom(seed);
                List<Long> own = new ArrayList<>();
                for (int i = 0; i < 200; i++) {
                    own.add(heap.mallocAddress(16 + random.nextInt(3_000)));
                }
                for (int i = 0; i < own.size(); i++) {
                    if (i % 3 == 0) {
                        kept.add(own.get(i));
                    } else {
                        heap.freeAddress(own.get(i));
                    }
                }
            }));
        }
        for (Thread thread : threads) {
            thread.join();
        }
        assertAgree("virtual threads done, a third of their blocks live");
        kept.forEach(heap::freeAddress);
        assertAgree("the rest freed by a platform thread");
    }

    /**
     * The purger takes the current pages of an owner that waits, and the owner settles them when it
     * comes back: they agree while the pages are taken (the owner's frees into them still counted as
     * on current pages), and after.
     */
    @Test
    void agreeWhileAWaitingOwnersCurrentPagesAreTakenAndAfterItComesBack() throws Exception {
        try (Heap idle = Heap.builder().name("live bytes, taken").purgeDelay(java.time.Duration.ofMillis(20)).build();
                IdleThread owner = new IdleThread()) {
            HeapCore idleCore = core(idle);
            List<Long> blocks = new ArrayList<>();
            SplittableRandom random = new SplittableRandom(8);
            owner.run(() -> {
                for (int i = 0; i < 20_000; i++) {
                    blocks.add(idle.mallocAddress(16 + random.nextInt(3_000)));
                }
                for (int i = 0; i < blocks.size(); i++) {
                    if (i % 4 != 0) {
                        idle.freeAddress(blocks.get(i));
                    }
                }
            });
            long before = idle.stats().committedBytes();
            for (int poll = 0; poll < 100 && idle.stats().committedBytes() > before / 2; poll++) {
                Thread.sleep(20);
            }
            assertEquals(idleCore.stats().usableBytes(), idleCore.liveBytes(), "pages taken");
            owner.run(() -> {
                for (int i = 0; i < blocks.size(); i += 8) {
                    idle.freeAddress(blocks.get(i));
                }
            });
            assertEquals(idleCore.stats().usableBytes(), idleCore.liveBytes(), "freed into taken pages");
            owner.run(() -> {
                for (int i = 0; i < 5_000; i++) {
                    idle.freeAddress(idle.mallocAddress(16 + random.nextInt(3_000)));
                }
            });
            assertEquals(idleCore.stats().usableBytes(), idleCore.liveBytes(), "the owner came back");
            owner.run(() -> {
                for (int i = 4; i < blocks.size(); i += 8) {
                    idle.freeAddress(blocks.get(i));
                }
            });
            assertEquals(0, idleCore.liveBytes());
        }
    }

    private void assertAgree(String when) {
        assertEquals(core.stats().usableBytes(), core.liveBytes(), when);
    }

    private static HeapCore core(Heap heap) {
        try {
            return (HeapCore) Fields.read(heap, Heap.class, "core");
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }
}
