package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A realloc of a huge block racing another thread's free of it (a double free): the free may
 * unmap the block's memory while the realloc copies it, and the JDK ends that copy with an
 * exception that also sets the copying thread's interrupt status. The realloc reports the double
 * free and leaves the status as it found it, so the caller's next blocking call does not throw
 * {@link InterruptedException} when nothing interrupted it.
 */
class RacingFreeInterruptTest {
    private static final int ROUNDS = 2_000;
    /** Past 16 MiB: a mapping of its own, which the free gives back while the copy runs. */
    private static final long HUGE = 17L << 20;
    private static final long GROWN = 40_000_000;

    @ParameterizedTest
    @EnumSource(value = CheckMode.class, names = {"FAST", "FULL"})
    void aReallocThatLosesTheRaceLeavesItsThreadsInterruptStatusAsItWas(CheckMode mode) throws Exception {
        try (Heap heap = Heap.builder().name("realloc racing a free").checkMode(mode).quarantineBytes(0)
                .leakReportAtClose(false).build()) {
            AtomicLong block = new AtomicLong();
            CyclicBarrier start = new CyclicBarrier(3);
            CyclicBarrier end = new CyclicBarrier(3);
            AtomicInteger lost = new AtomicInteger();
            AtomicInteger leftInterrupted = new AtomicInteger();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread freer = Thread.ofPlatform().daemon().start(() -> repeat(start, end, failure, () -> {
                try {
                    heap.freeAddress(block.get());
                } catch (MemoryMisuseException realloc) {
                    // The realloc won: this free is the double free.
                }
            }));
            Thread reallocer = Thread.ofPlatform().daemon().start(() -> repeat(start, end, failure, () -> {
                try {
                    heap.freeAddress(heap.reallocAddress(block.get(), GROWN));
                } catch (MemoryMisuseException freed) {
                    assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE, freed.kind(), freed.getMessage());
                    lost.incrementAndGet();
                }
                // Nothing in this test interrupts any thread.
                if (Thread.interrupted()) {
                    leftInterrupted.incrementAndGet();
                }
            }));
            for (int round = 0; round < ROUNDS && failure.get() == null; round++) {
                block.set(heap.mallocAddress(HUGE));
                start.await(10, TimeUnit.SECONDS);
                end.await(10, TimeUnit.SECONDS);
            }
            freer.interrupt();
            reallocer.interrupt();
            if (failure.get() != null) {
                throw new AssertionError("a racing thread failed", failure.get());
            }
            assertEquals(0, leftInterrupted.get(), "rounds whose realloc left its thread interrupted, of "
                    + lost.get() + " lost");
            // The free won hundreds of rounds here: the race was run.
            assertTrue(lost.get() > 0, "the realloc won every round");
            assertEquals(0, heap.stats().liveBlocks(), heap.stats().toText());
        }
    }

    /** Runs {@code round} between the two barriers until interrupted, keeping the first failure. */
    private static void repeat(CyclicBarrier start, CyclicBarrier end, AtomicReference<Throwable> failure,
                               Runnable round) {
        try {
            while (true) {
                start.await();
                try {
                    round.run();
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
                end.await();
            }
        } catch (Exception stopped) {
            // Interrupted at the end of the test, or a barrier broken by it.
        }
    }
}
