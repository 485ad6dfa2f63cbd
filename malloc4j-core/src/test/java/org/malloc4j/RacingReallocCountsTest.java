package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A realloc racing another thread's realloc or free of the same block (a misuse): one of the two
 * calls reports a double free. The counts say what the program got: one malloc for each block a
 * call returned, and none for a block a losing realloc made and gave back.
 */
class RacingReallocCountsTest {
    private static final int BLOCKS = 20_000;

    /** Two reallocs of each block; in every mode (SAMPLED checks every block here). */
    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void aReallocThatLosesARaceIsCountedAsNeitherAMallocNorAFree(CheckMode mode) throws Exception {
        try (Heap heap = Heap.builder().name("racing reallocs " + mode).checkMode(mode).sampleInterval(1)
                .leakReportAtClose(false).build()) {
            long[] blocks = new long[BLOCKS];
            SplittableRandom random = new SplittableRandom(1);
            for (int i = 0; i < BLOCKS; i++) {
                blocks[i] = heap.mallocAddress(1 + random.nextInt(2000));
            }
            AtomicLong returned = new AtomicLong();
            AtomicLong doubleFrees = new AtomicLong();
            CyclicBarrier start = new CyclicBarrier(2);
            Runnable racer = () -> {
                try {
                    start.await();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
                for (long block : blocks) {
                    try {
                        heap.freeAddress(heap.reallocAddress(block, 0));
                        returned.incrementAndGet();
                    } catch (MemoryMisuseException e) {
                        if (e.kind() == MemoryMisuseException.Kind.DOUBLE_FREE) {
                            doubleFrees.incrementAndGet();
                        }
                    }
                }
            };
            Thread first = new Thread(racer);
            Thread second = new Thread(racer);
            first.start();
            second.start();
            first.join();
            second.join();
            assertEquals(BLOCKS, returned.get(), "reallocs that returned a block");
            assertEquals(BLOCKS, doubleFrees.get(), "reallocs that reported a double free");
            HeapStats stats = heap.stats();
            assertEquals(0, stats.liveBlocks(), stats.toText());
            assertEquals(BLOCKS + returned.get(), stats.mallocCount(), stats.toText());
            assertEquals(BLOCKS + returned.get(), stats.freeCount(), stats.toText());
            heap.check();
        }
    }

    /**
     * A realloc that moves a block (to a size class) racing a free of it: in FAST the realloc lost
     * after making its new block in about 1 round in 140 for large blocks, and counted it.
     */
    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void aReallocThatLosesARaceWithAFreeIsCountedAsNeitherAMallocNorAFree(CheckMode mode) throws Exception {
        int rounds = 2_000;
        try (Heap heap = Heap.builder().name("realloc racing free " + mode).checkMode(mode).sampleInterval(1)
                .leakReportAtClose(false).build()) {
            long returned = 0;
            for (int round = 0; round < rounds; round++) {
                long block = heap.mallocAddress(round % 2 == 0 ? 300_000 : 100_000);
                CyclicBarrier start = new CyclicBarrier(2);
                AtomicLong moved = new AtomicLong();
                Thread realloc = new Thread(() -> {
                    await(start);
                    try {
                        moved.set(heap.reallocAddress(block, 1_000));
                    } catch (MemoryMisuseException lost) {
                        // the free came first
                    }
                });
                Thread free = new Thread(() -> {
                    await(start);
                    try {
                        heap.freeAddress(block);
                    } catch (MemoryMisuseException lost) {
                        // the realloc came first
                    }
                });
                realloc.start();
                free.start();
                realloc.join();
                free.join();
                if (moved.get() != 0) {
                    returned++;
                    heap.freeAddress(moved.get());
                }
            }
            HeapStats stats = heap.stats();
            assertEquals(0, stats.liveBlocks(), stats.toText());
            assertEquals(rounds + returned, stats.mallocCount(), stats.toText());
            assertEquals(rounds + returned, stats.freeCount(), stats.toText());
            heap.check();
        }
    }

    private static void await(CyclicBarrier barrier) {
        try {
            barrier.await();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
