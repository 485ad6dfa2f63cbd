package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Late reallocs racing a page's relayouts (a misuse): the owner fills a page with blocks of one
 * size, frees them all and fills it again with another size, over and over, while two other threads
 * resize in place the blocks it handed out, with the index and size they read before the page
 * changed, and a third frees some of them a second time. Whatever the schedule, every call either
 * works or throws a {@link MemoryMisuseException}, none hangs, and once the blocks are all freed the
 * statistics say so. Before the resize checked its mark against the page's present layout, a
 * run of the 40,000 and 100,000-byte pair threw an {@code ArrayIndexOutOfBoundsException} within
 * its first second.
 */
class LateReallocRelayoutRaceTest {
    private static final int SLOTS = 24;
    private static final long MILLIS = 1_500;

    @ParameterizedTest(name = "{0} and {1} bytes, owner on a virtual thread: {2}")
    @CsvSource({"40000, 100000, false", "8000, 65536, false", "48, 64, false", "40000, 100000, true",
            "48, 8000, true"})
    void lateReallocsOfARelaidPageThrowOnlyMisuseReports(long first, long second, boolean virtualOwner)
            throws Exception {
        ThreadFactory owners = virtualOwner ? Thread.ofVirtual().factory() : Thread.ofPlatform().factory();
        try (Heap heap = Heap.builder().name("late reallocs " + first + "/" + second).build()) {
            AtomicReference<Throwable> failure = new AtomicReference<>();
            // Each slot: a block's address, then its requested size, as the owner last handed it out.
            AtomicLongArray published = new AtomicLongArray(2 * SLOTS);
            long stopAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(MILLIS);
            List<Thread> threads = new ArrayList<>();
            threads.add(owners.newThread(guarded(failure, () -> {
                ThreadLocalRandom random = ThreadLocalRandom.current();
                long[] mine = new long[SLOTS];
                for (int round = 0; System.nanoTime() < stopAt && failure.get() == null; round++) {
                    long size = (round & 1) == 0 ? first : second;
                    int count = 1 + random.nextInt(SLOTS);
                    for (int i = 0; i < count; i++) {
                        long requested = size - random.nextLong(size / 4);
                        mine[i] = heap.mallocAddress(requested);
                        published.set(2 * i + 1, requested);
                        published.set(2 * i, mine[i]);
                    }
                    for (int i = 0; i < count; i++) {
                        freeUnlessMisuse(heap, mine[i]);
                    }
                }
            })));
            for (int r = 0; r < 2; r++) {
                threads.add(Thread.ofPlatform().unstarted(guarded(failure, () -> {
                    ThreadLocalRandom random = ThreadLocalRandom.current();
                    while (System.nanoTime() < stopAt && failure.get() == null) {
                        int slot = random.nextInt(SLOTS);
                        long block = published.get(2 * slot);
                        long size = Math.max(1, published.get(2 * slot + 1) + random.nextInt(-3, 4));
                        if (block == 0) {
                            continue;
                        }
                        try {
                            long moved = heap.reallocAddress(block, size);
                            if (moved != block) {
                                freeUnlessMisuse(heap, moved);
                            }
                        } catch (MemoryMisuseException late) {
                            // The block was freed, or the page laid out again, first.
                        }
                    }
                })));
            }
            threads.add(Thread.ofPlatform().unstarted(guarded(failure, () -> {
                ThreadLocalRandom random = ThreadLocalRandom.current();
                while (System.nanoTime() < stopAt && failure.get() == null) {
                    long block = published.get(2 * random.nextInt(SLOTS));
                    if (block != 0 && random.nextInt(8) == 0) {
                        freeUnlessMisuse(heap, block);
                    }
                }
            })));
            threads.forEach(Thread::start);
            for (Thread thread : threads) {
                thread.join(MILLIS + 30_000);
                assertFalse(thread.isAlive(), "a call hung");
            }
            if (failure.get() != null) {
                throw new AssertionError("a call threw what is not a misuse report", failure.get());
            }
            HeapStats stats = heap.stats();
            assertEquals(0, stats.liveBlocks(), stats.toText());
            assertEquals(0, stats.requestedBytes(), stats.toText());
            heap.check();
        }
    }

    private static Runnable guarded(AtomicReference<Throwable> failure, Runnable body) {
        return () -> {
            try {
                body.run();
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
            }
        };
    }

    private static void freeUnlessMisuse(Heap heap, long block) {
        try {
            heap.freeAddress(block);
        } catch (MemoryMisuseException late) {
            // Freed already, by a racer.
        }
    }
}
