package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The free memory in the current pages of a platform thread that waits (parked, between tasks of a
 * pool) goes back after the purge delay too, not only that of its other pages; a thread that runs
 * keeps them; and the owner that comes back to such pages finds its blocks as it left them.
 */
class IdleCurrentPagesTest {
    private static final long KIB = 1024;
    private static final long MIB = 1024 * KIB;

    /**
     * Four pooled threads each make blocks of 16 B to 64 KiB, of some 40 classes, and free them all,
     * then wait. Their current pages kept 6.5 MB committed before, for nothing live; now what stays is
     * each page's OS page that holds blocks not laid out yet (0.4 MB). Taken, but keeping what an
     * earlier layout of a page had committed past its bump pointer, they kept 2.4-2.7 MB.
     */
    @Test
    void waitingThreadsGiveBackTheFreeMemoryOfTheirCurrentPages() throws Exception {
        List<IdleThread> owners = new ArrayList<>();
        try (Heap heap = Heap.builder().name("idle-current").purgeDelay(Duration.ofMillis(50)).build()) {
            try {
                for (int t = 0; t < 4; t++) {
                    IdleThread owner = new IdleThread();
                    owners.add(owner);
                    long seed = 40L * t;
                    owner.run(() -> IdleThread.allocatePatterned(heap, 16 * MIB, seed).forEach(heap::free));
                }
                long peak = heap.stats().peakCommittedBytes();

                long committed = PurgeTest.pollCommittedUntilAtMost(heap, MIB);

                assertTrue(committed <= MIB, "waiting threads' current pages still commit " + committed
                        + " B of a " + peak + " B peak, with nothing live\n" + heap.stats().toText());
                heap.check();
            } finally {
                owners.forEach(IdleThread::close);
            }
        }
    }

    /**
     * The owner keeps live blocks in its current pages beside the freed ones, waits while their free
     * memory goes back, then comes back: its blocks keep their bytes, new ones are right (calloc's
     * zeros too), and the heap's counts add up.
     */
    @Test
    void anOwnerComingBackToItsTakenPagesFindsThemAsItLeftThem() throws Exception {
        try (Heap heap = Heap.builder().name("idle-current-back").purgeDelay(Duration.ofMillis(20)).build();
                IdleThread owner = new IdleThread()) {
            // A quarter: with its current pages kept, the thread kept 5.0 of 9.2 MB.
            IdleOwnerOwnFreeTest.assertFreeGoesBackAndTheOwnerComesBack(heap, owner, 8 * MIB, 21, 4);
        }
    }

    /**
     * A thread that runs without allocating may be in the middle of a malloc from its current page at
     * any moment, as far as the purger can tell: it keeps those pages and their free memory, while
     * a waiting thread's same page goes back (which shows the purger looked).
     */
    @Test
    void aRunningThreadKeepsItsCurrentPagesWhileAWaitingOnesGoBack() throws Exception {
        try (Heap heap = Heap.builder().name("running-current").purgeDelay(Duration.ofMillis(20)).build();
                IdleThread waiting = new IdleThread()) {
            CountDownLatch freed = new CountDownLatch(1);
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread running = Thread.ofPlatform().start(() -> {
                try {
                    freeOnePageOfBlocks(heap);
                    freed.countDown();
                    while (!stop.get()) {
                        Thread.onSpinWait();
                    }
                } catch (Throwable e) {
                    failure.set(e);
                    freed.countDown();
                }
            });
            long committed;
            try {
                freed.await();
                waiting.run(() -> freeOnePageOfBlocks(heap));
                assertEquals(128 * KIB, heap.stats().committedBytes(), heap.stats().toText());

                committed = PurgeTest.pollCommittedUntilAtMost(heap, 64 * KIB);
                Thread.sleep(100);
                committed = heap.stats().committedBytes();
            } finally {
                stop.set(true);
                running.join();
            }
            assertNull(failure.get());
            assertEquals(64 * KIB, committed, "the running thread's current page lost its free memory, or the "
                    + "waiting one's kept it\n" + heap.stats().toText());
        }
    }

    /**
     * A thread that frees its blocks, runs on without allocating while the purger looks (and leaves
     * its current page to it), and only then waits: the page goes back at a later look. Before, the
     * look that left the page also counted the thread's frees as seen, and no later look came back
     * to it: the page stayed committed for as long as the thread waited.
     */
    @Test
    void aThreadThatWaitsAfterThePurgerLookedAtItRunningGivesItsCurrentPageBack() throws Exception {
        try (Heap heap = Heap.builder().name("running-then-waiting").purgeDelay(Duration.ofMillis(20)).build()) {
            CountDownLatch freed = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread owner = Thread.ofPlatform().start(() -> {
                try {
                    freeOnePageOfBlocks(heap);
                } catch (Throwable e) {
                    failure.set(e);
                }
                freed.countDown();
                // Runs for two seconds: the purger, which looks at every thread heap at least once a
                // second, finds it idle for the purge delay and running.
                long until = System.nanoTime() + 2_000_000_000L;
                while (System.nanoTime() - until < 0) {
                    Thread.onSpinWait();
                }
                awaitQuietly(release);
            });
            try {
                freed.await();
                assertNull(failure.get());
                assertEquals(64 * KIB, heap.stats().committedBytes(), heap.stats().toText());
                Thread.sleep(1_500);
                assertEquals(64 * KIB, heap.stats().committedBytes(), "the running thread's current page lost "
                        + "its free memory\n" + heap.stats().toText());

                long committed = PurgeTest.pollCommittedUntilAtMost(heap, 0);

                assertEquals(0, committed, "the current page of a thread that waits once the purger looked at it "
                        + "running kept its free memory\n" + heap.stats().toText());
            } finally {
                release.countDown();
                owner.join();
            }
            heap.check();
        }
    }

    /**
     * A pooled worker keeps one block and runs the same task again and again: 5,000 blocks of 64 B,
     * all freed, then it waits. After the first task the purger returned the free memory; after the
     * second, its page of the kept block held 64 KiB for as long as the worker waited, trim() or not:
     * the page's free-block count was back where the purger last saw it, which it took for a page
     * where nothing was freed since.
     */
    @Test
    void aWorkerRepeatingTheSameTaskGivesItsFreeMemoryBackAfterEveryTask() throws Exception {
        try (Heap heap = Heap.builder().name("same-task").purgeDelay(Duration.ofMillis(20)).build();
                IdleThread worker = new IdleThread()) {
            AtomicReference<MemorySegment> kept = new AtomicReference<>();
            worker.run(() -> kept.set(heap.malloc(64)));
            for (int task = 1; task <= 3; task++) {
                worker.run(() -> freeBlocksOf64Bytes(heap, 5_000));

                long committed = PurgeTest.pollCommittedUntilAtMost(heap, 4 * KIB);

                assertTrue(committed <= 4 * KIB, "after task " + task + " the waiting worker keeps " + committed
                        + " B committed for one live block\n" + heap.stats().toText());
            }
            worker.run(() -> heap.free(kept.get()));
            heap.check();
        }
    }

    /**
     * A worker frees half of its blocks, hands the other half to another thread and waits; once the
     * purger has returned the worker's half, the other thread frees its half. Those frees go back
     * too: the purger redoes the waiting owner's page for remote frees it has not seen, with the
     * owner's own free blocks, so that OS pages they share go back as well. Before, the purger
     * looked only at the remote frees alone, on pages it took for unchanged: 64 blocks of 32 KiB kept
     * 1 MB committed, through trim(), and 64 B blocks freed alternately kept a whole page.
     */
    @Test
    void remoteFreesIntoAWaitingOwnersPagesAfterThePurgerLookedGoBack() throws Exception {
        for (int size : new int[] {64, 32768}) {
            try (Heap heap = Heap.builder().name("remote-after-purge").purgeDelay(Duration.ofMillis(20)).build();
                    IdleThread worker = new IdleThread()) {
                int blocks = size == 64 ? 4000 : 64;
                List<MemorySegment> handed = new ArrayList<>();
                AtomicReference<MemorySegment> kept = new AtomicReference<>();
                worker.run(() -> {
                    kept.set(heap.malloc(16));
                    List<MemorySegment> made = new ArrayList<>();
                    for (int i = 0; i < blocks; i++) {
                        MemorySegment block = heap.malloc(size);
                        Patterns.fill(block, size);
                        made.add(block);
                    }
                    for (int i = 0; i < blocks; i++) {
                        if (i % 2 == 0) {
                            heap.free(made.get(i));
                        } else {
                            handed.add(made.get(i));
                        }
                    }
                });
                long live = (long) (blocks / 2) * size;
                PurgeTest.pollCommittedUntilAtMost(heap, live + 64 * KIB);
                // Past the purger's next looks, which find nothing changed in the owner's pages.
                Thread.sleep(2_000);
                for (MemorySegment block : handed) {
                    assertEquals(-1, Patterns.firstMismatch(block, size, size), "a handed block lost its bytes");
                    heap.free(block);
                }

                long committed = PurgeTest.pollCommittedUntilAtMost(heap, 8 * KIB);

                assertTrue(committed <= 8 * KIB, size + " B blocks freed into a waiting owner's pages keep " + committed
                        + " B committed for one live block of 16 B\n" + heap.stats().toText());
                worker.run(() -> heap.free(kept.get()));
                heap.check();
            }
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The same page, its thread waiting instead: it goes back. */
    @Test
    void aWaitingThreadGivesItsCurrentPageBack() throws Exception {
        try (Heap heap = Heap.builder().name("waiting-current").purgeDelay(Duration.ofMillis(20)).build();
                IdleThread owner = new IdleThread()) {
            owner.run(() -> freeOnePageOfBlocks(heap));
            assertEquals(64 * KIB, heap.stats().committedBytes(), heap.stats().toText());

            long committed = PurgeTest.pollCommittedUntilAtMost(heap, 0);

            assertEquals(0, committed, heap.stats().toText());
            owner.run(() -> {
                MemorySegment block = heap.malloc(64);
                assertEquals(-1, Patterns.firstNonZero(block, 64), "a block of returned memory is not zeros");
                heap.free(block);
            });
        }
    }

    /** trim() on another thread does at once what the purger does after the delay. */
    @Test
    void trimOnAnotherThreadTakesTheCurrentPagesOfAWaitingThread() throws Exception {
        try (Heap heap = Heap.builder().name("trim-current").purgeDelay(Duration.ofHours(1)).build();
                IdleThread owner = new IdleThread()) {
            owner.run(() -> freeOnePageOfBlocks(heap));
            assertEquals(64 * KIB, heap.stats().committedBytes(), heap.stats().toText());
            owner.awaitWaiting();

            heap.trim();

            assertEquals(0, heap.stats().committedBytes(), heap.stats().toText());
        }
    }

    /** One 64 KiB page of 64-byte blocks, every block allocated, written and freed: the class's current page. */
    private static void freeOnePageOfBlocks(Heap heap) {
        freeBlocksOf64Bytes(heap, 1024);
    }

    /** Allocates {@code count} blocks of 64 B, writes them all, then frees them all. */
    private static void freeBlocksOf64Bytes(Heap heap, int count) {
        List<MemorySegment> blocks = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            MemorySegment block = heap.malloc(64);
            block.fill((byte) 7);
            blocks.add(block);
        }
        blocks.forEach(heap::free);
    }
}
