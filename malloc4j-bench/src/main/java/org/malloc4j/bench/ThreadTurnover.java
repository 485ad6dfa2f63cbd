package org.malloc4j.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import org.malloc4j.Heap;
import org.malloc4j.HeapStats;

/**
 * What platform threads coming and going cost a heap, for {@link MemoryReturn}'s {@code threads}
 * section:
 * <ul>
 *   <li><b>churn</b>: rounds of short-lived threads, each round's started as the last round's
 *       ended, every block freed by the end of its round; the peak committed bytes after each
 *       round. The live bytes are the same every round, so a growing peak is memory of ended
 *       threads that the new ones did not reuse.
 *   <li><b>growth</b>: one thread grows a fresh heap while thousands of other threads, idle, each
 *       hold a block of it; the time against the same growth with one idle thread. Work the heap
 *       does per thread on its way to a new peak shows as the ratio.
 *   <li><b>waiting pool</b>: a pool of threads that each made blocks of many size classes and
 *       freed them all, then wait for their next task (parked, alive): the committed bytes the
 *       heap keeps for them once the purge delay has passed, with nothing live.
 * </ul>
 */
final class ThreadTurnover {
    static final int CHURN_ROUNDS = 16;
    static final int CHURN_THREADS = 3;
    static final int CHURN_SLOTS = 4_000;
    static final int CHURN_STEPS = 40_000;
    static final long GROWTH_BYTES = 512L << 20;
    static final int GROWTH_BLOCK = 1024;
    static final int POOL_THREADS = 16;
    static final int POOL_BLOCKS = 3_000;
    static final long POOL_MAX_BLOCK = 100 * 1024;
    /** How long the pool waits before its committed bytes are read: four default purge delays. */
    static final long POOL_WAIT_MILLIS = 1_000;

    private ThreadTurnover() {
    }

    /**
     * @return the heap's peak committed bytes after each of {@link #CHURN_ROUNDS} rounds of
     *     {@link #CHURN_THREADS} threads, each doing {@link #CHURN_STEPS} random mallocs and frees
     *     of 16 B - 20 KB over {@link #CHURN_SLOTS} slots, then freeing the rest
     */
    static long[] churnPeaks() throws InterruptedException {
        long[] peaks = new long[CHURN_ROUNDS];
        try (Heap heap = Heap.builder().name("thread-churn").build()) {
            for (int round = 0; round < CHURN_ROUNDS; round++) {
                List<Thread> threads = new ArrayList<>();
                for (int t = 0; t < CHURN_THREADS; t++) {
                    SplittableRandom random = new SplittableRandom(t);
                    threads.add(Thread.ofPlatform().start(() -> churn(heap, random)));
                }
                for (Thread thread : threads) {
                    thread.join();
                }
                HeapStats stats = heap.stats();
                if (stats.liveBlocks() != 0) {
                    throw new IllegalStateException("round " + round + " left blocks live:\n" + stats.toText());
                }
                peaks[round] = stats.peakCommittedBytes();
            }
        }
        return peaks;
    }

    private static void churn(Heap heap, SplittableRandom random) {
        long[] live = new long[CHURN_SLOTS];
        for (int step = 0; step < CHURN_STEPS; step++) {
            int slot = random.nextInt(live.length);
            if (live[slot] != 0) {
                heap.freeAddress(live[slot]);
                live[slot] = 0;
            } else {
                live[slot] = heap.mallocAddress(random.nextInt(16, random.nextInt(8) == 0 ? 20_000 : 600));
            }
        }
        for (long address : live) {
            if (address != 0) {
                heap.freeAddress(address);
            }
        }
    }

    /**
     * @return the peak committed bytes, and the committed bytes {@link #POOL_WAIT_MILLIS} after
     *     {@link #POOL_THREADS} threads each made {@link #POOL_BLOCKS} blocks of 16 B to
     *     {@link #POOL_MAX_BLOCK} B (log-uniform: every size class of that range), freed them all
     *     and went on waiting, alive
     */
    static long[] waitingPoolCommitted() throws InterruptedException {
        try (Heap heap = Heap.builder().name("waiting-pool").build()) {
            CountDownLatch freed = new CountDownLatch(POOL_THREADS);
            CountDownLatch done = new CountDownLatch(1);
            List<Thread> pool = new ArrayList<>();
            for (int t = 0; t < POOL_THREADS; t++) {
                SplittableRandom random = new SplittableRandom(t);
                pool.add(Thread.ofPlatform().start(() -> {
                    long[] blocks = new long[POOL_BLOCKS];
                    double range = Math.log(POOL_MAX_BLOCK / 16.0);
                    for (int i = 0; i < blocks.length; i++) {
                        blocks[i] = heap.mallocAddress((long) (16 * Math.exp(random.nextDouble() * range)));
                    }
                    for (long block : blocks) {
                        heap.freeAddress(block);
                    }
                    freed.countDown();
                    try {
                        done.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }));
            }
            try {
                freed.await();
                Thread.sleep(POOL_WAIT_MILLIS);
                HeapStats stats = heap.stats();
                return new long[] {stats.peakCommittedBytes(), stats.committedBytes()};
            } finally {
                done.countDown();
                for (Thread thread : pool) {
                    thread.join();
                }
            }
        }
    }

    /**
     * @param idleThreads threads that each hold one 64 B block of the heap while it grows
     * @return nanoseconds one thread took to allocate {@link #GROWTH_BYTES} in blocks of
     *     {@link #GROWTH_BLOCK} bytes on a fresh heap
     */
    static long growthNanos(int idleThreads) throws InterruptedException {
        try (Heap heap = Heap.builder().name("growth").build()) {
            CountDownLatch holding = new CountDownLatch(idleThreads);
            CountDownLatch done = new CountDownLatch(1);
            List<Thread> idle = new ArrayList<>();
            for (int i = 0; i < idleThreads; i++) {
                idle.add(Thread.ofPlatform().stackSize(256 << 10).start(() -> {
                    long block = heap.mallocAddress(64);
                    holding.countDown();
                    try {
                        done.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    heap.freeAddress(block);
                }));
            }
            try {
                holding.await();
                long[] blocks = new long[(int) (GROWTH_BYTES / GROWTH_BLOCK)];
                long start = System.nanoTime();
                for (int i = 0; i < blocks.length; i++) {
                    blocks[i] = heap.mallocAddress(GROWTH_BLOCK);
                }
                long nanos = System.nanoTime() - start;
                for (long block : blocks) {
                    heap.freeAddress(block);
                }
                return nanos;
            } finally {
                done.countDown();
                for (Thread thread : idle) {
                    thread.join();
                }
            }
        }
    }
}
