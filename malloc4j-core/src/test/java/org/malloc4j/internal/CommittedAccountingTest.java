package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CyclicBarrier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.malloc4j.Heap;
import org.malloc4j.HeapExhaustedError;

/**
 * The heap's committed bytes are exactly what its pages hold committed, whatever purges, scavenges,
 * exchanges and remote frees happened: threads allocate and free blocks of every kind, many freed
 * by another thread, and stop together now and then, idle for a few purge delays (so the purger
 * makes holes of the blocks freed into idle pages), while {@link SpanAccounting} recounts.
 */
class CommittedAccountingTest {
    private static final int THREADS = 3;
    private static final int ROUNDS = 8;
    private static final int OPS_PER_ROUND = 4_000;
    private static final long LIVE_CAP = 24L << 20;

    @ParameterizedTest(name = "seed {0}, purge delay {1} ms, limit {2} MiB")
    @CsvSource({"1, 1, 0", "2, 5, 0", "3, 0, 0", "4, 1, 160"})
    void committedBytesAreWhatThePagesHoldAtEveryPause(long seed, long delayMillis, long limitMiB) throws Exception {
        Heap.Builder builder = Heap.builder().name("accounting " + seed).purgeDelay(Duration.ofMillis(delayMillis));
        if (limitMiB > 0) {
            builder.maxCommittedBytes(limitMiB << 20);
        }
        try (Heap heap = builder.build()) {
            List<String> wrong = new CopyOnWriteArrayList<>();
            int[] pauses = new int[1];
            CyclicBarrier pause = new CyclicBarrier(THREADS, () -> {
                idle(3 * delayMillis + 2);
                pauses[0]++;
                recount(heap, "pause " + pauses[0], wrong);
            });
            ConcurrentLinkedQueue<Long> handedOver = new ConcurrentLinkedQueue<>();
            List<Thread> threads = new ArrayList<>();
            List<Throwable> failures = new CopyOnWriteArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                Random random = new Random(seed * 31 + t);
                threads.add(Thread.ofPlatform().start(() -> {
                    try {
                        work(heap, random, handedOver, pause);
                    } catch (Throwable e) {
                        failures.add(e);
                        pause.reset();
                    }
                }));
            }
            for (Thread thread : threads) {
                thread.join();
            }
            assertEquals(List.of(), failures);
            assertEquals(ROUNDS, pauses[0], "every round paused");
            for (Long address = handedOver.poll(); address != null; address = handedOver.poll()) {
                heap.freeAddress(address);
            }
            recount(heap, "after every block was freed", wrong);
            heap.trim();
            recount(heap, "after trim", wrong);
            assertEquals(List.of(), wrong);
            assertEquals(0, heap.stats().committedBytes(), "nothing live, the threads ended and trimmed");
        }
    }

    /**
     * Random mallocs, reallocs and frees of 1 B to 6 MiB, a quarter of all blocks handed to
     * whichever thread takes them next; a pause at the end of each round; the blocks still held are
     * handed over at the end.
     */
    private static void work(Heap heap, Random random, ConcurrentLinkedQueue<Long> handedOver, CyclicBarrier pause)
            throws InterruptedException, BrokenBarrierException {
        List<long[]> held = new ArrayList<>();
        long liveBytes = 0;
        for (int round = 0; round < ROUNDS; round++) {
            for (int op = 0; op < OPS_PER_ROUND; op++) {
                int kind = random.nextInt(100);
                if (kind < 45 && liveBytes < LIVE_CAP) {
                    long size = size(random);
                    long address = malloc(heap, size, random.nextInt(8) == 0 ? 1L << (4 + random.nextInt(14)) : 16);
                    if (address == 0) {
                        continue;
                    }
                    if (random.nextInt(4) == 0) {
                        handedOver.add(address);
                    } else {
                        held.add(new long[] {address, size});
                        liveBytes += size;
                    }
                } else if (kind < 55 && !held.isEmpty()) {
                    long[] block = held.get(random.nextInt(held.size()));
                    long size = size(random);
                    long moved = realloc(heap, block[0], size);
                    if (moved != 0) {
                        liveBytes += size - block[1];
                        block[0] = moved;
                        block[1] = size;
                    }
                } else if (kind < 65) {
                    Long address = handedOver.poll();
                    if (address != null) {
                        heap.freeAddress(address);
                    }
                } else if (!held.isEmpty()) {
                    long[] block = held.remove(random.nextInt(held.size()));
                    heap.freeAddress(block[0]);
                    liveBytes -= block[1];
                }
            }
            pause.await();
        }
        for (long[] block : held) {
            handedOver.add(block[0]);
        }
    }

    /** @return the block's address, or 0 if the heap's limit refused it */
    private static long malloc(Heap heap, long size, long alignment) {
        try {
            return heap.mallocAlignedAddress(size, alignment);
        } catch (HeapExhaustedError refused) {
            return 0;
        }
    }

    /** @return the block's new address, or 0 if the heap's limit refused it (the block is unchanged then) */
    private static long realloc(Heap heap, long address, long size) {
        try {
            return heap.reallocAddress(address, size);
        } catch (HeapExhaustedError refused) {
            return 0;
        }
    }

    /** Small blocks most often, medium and large ones less, huge ones now and then. */
    private static long size(Random random) {
        int kind = random.nextInt(100);
        if (kind < 60) {
            return 1 + random.nextInt(8_192);
        } else if (kind < 85) {
            return 8_192 + random.nextInt(120 << 10);
        } else if (kind < 98) {
            return (128 << 10) + random.nextInt(2 << 20);
        }
        return (4L << 20) + random.nextInt(2 << 20);
    }

    private static void recount(Heap heap, String when, List<String> wrong) {
        try {
            for (String line : SpanAccounting.violations(heap)) {
                wrong.add(when + ": " + line);
            }
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }

    private static void idle(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void theRecountSeesACommittedCountThatIsOff() throws Exception {
        try (Heap heap = Heap.builder().name("accounting off").build()) {
            long address = heap.mallocAddress(100);
            assertEquals(List.of(), SpanAccounting.violations(heap));
            HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
            core.spans.committed.addAndGet(4096);
            try {
                List<String> wrong = SpanAccounting.violations(heap);
                assertEquals(1, wrong.size(), wrong.toString());
                assertTrue(wrong.get(0).startsWith("committed "), wrong.get(0));
            } finally {
                core.spans.committed.addAndGet(-4096);
            }
            heap.freeAddress(address);
        }
    }
}
