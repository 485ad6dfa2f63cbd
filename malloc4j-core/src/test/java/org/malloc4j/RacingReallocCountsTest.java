package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Two threads reallocating the same blocks at once (a misuse): of each pair of calls one moves
 * the block and the other reports a double free. The counts say what the program got: one malloc
 * and one free for each realloc that returned, none for a block a losing realloc made and freed.
 */
class RacingReallocCountsTest {
    private static final int BLOCKS = 20_000;

    /** In every mode; SAMPLED checks every block here. */
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
}
