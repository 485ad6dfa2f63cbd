package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.malloc4j.Heap;
import org.malloc4j.HeapStats;

/**
 * The heap of a virtual thread that ended passes, without a lock, to exactly one of the threads
 * that ask for it at once, or to the sweep for ended threads: whichever sets its owner first.
 */
class HeapTakeOverTest {
    private static final int ROUNDS = 400;
    private static final int TAKERS = 3;

    @Test
    void anEndedOwnersHeapGoesToOneOfTheThreadsRacingForItOrToTheSweep() throws Exception {
        try (Heap heap = Heap.builder().name("take over race").build()) {
            HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
            int takenOver = 0;
            int swept = 0;
            for (int round = 0; round < ROUNDS; round++) {
                Thread ended = Thread.ofVirtual().start(() -> { });
                ended.join();
                ThreadHeap left = new ThreadHeap(core, ended);
                assertSame(ended, left.endedOwner());
                AtomicInteger winners = new AtomicInteger();
                AtomicBoolean sweepWon = new AtomicBoolean();
                AtomicReference<Throwable> failure = new AtomicReference<>();
                CountDownLatch go = new CountDownLatch(1);
                // A taker that won lives until the sweep has tried: an owner that ended may lose
                // its heap to the sweep, a living one never.
                CountDownLatch sweepTried = new CountDownLatch(1);
                List<Thread> racers = new ArrayList<>();
                for (int t = 0; t < TAKERS; t++) {
                    racers.add(Thread.ofVirtual().start(() -> {
                        try {
                            go.await();
                            if (left.takeOver(ended, Thread.currentThread())) {
                                winners.incrementAndGet();
                                // While the new owner lives, nobody else may have the heap.
                                assertSame(Thread.currentThread(), left.thread);
                                assertNull(left.endedOwner());
                                assertFalse(left.retire());
                                assertFalse(left.takeOver(ended, Thread.currentThread()));
                                sweepTried.await();
                                assertSame(Thread.currentThread(), left.thread);
                            }
                        } catch (Throwable e) {
                            failure.set(e);
                        }
                    }));
                }
                racers.add(Thread.ofPlatform().start(() -> {
                    try {
                        go.await();
                        if (left.retire()) {
                            winners.incrementAndGet();
                            sweepWon.set(true);
                        }
                    } catch (Throwable e) {
                        failure.set(e);
                    } finally {
                        sweepTried.countDown();
                    }
                }));
                go.countDown();
                for (Thread racer : racers) {
                    racer.join();
                }
                if (failure.get() != null) {
                    throw new AssertionError("round " + round, failure.get());
                }
                assertEquals(1, winners.get(), "round " + round);
                if (sweepWon.get()) {
                    swept++;
                    // A swept heap is nobody's to take, and not swept twice.
                    assertNull(left.endedOwner());
                    assertFalse(left.takeOver(ended, Thread.currentThread()));
                    assertFalse(left.retire());
                } else {
                    takenOver++;
                    // Its new owner ended too: the heap may pass on again.
                    assertTrue(left.endedOwner() != null && left.endedOwner() != ended);
                }
            }
            assertEquals(ROUNDS, takenOver + swept);
        }
    }

    @Test
    void threadsPerTaskTakeOverHeapsWhileTheSweepRunsAndLoseNoBlock() throws Exception {
        try (Heap heap = Heap.builder().name("take over while swept").build()) {
            HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
            int places = ((ThreadHeap[]) Fields.read(core, HeapCore.class, "stripes")).length;
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            // trim() sweeps the ended threads' heaps each time, racing the takeovers.
            Thread sweeper = Thread.ofPlatform().start(() -> {
                while (!stop.get()) {
                    heap.trim();
                }
            });
            int tasks = 20_000;
            int pairs = 64;
            List<Thread> started = new ArrayList<>();
            for (int i = 0; i < tasks; i++) {
                int task = i;
                started.add(Thread.ofVirtual().start(() -> {
                    try {
                        taskPairs(heap, task, pairs);
                    } catch (Throwable e) {
                        failure.set(e);
                    }
                }));
            }
            for (Thread thread : started) {
                thread.join();
            }
            stop.set(true);
            sweeper.join();
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            int heaps = VirtualThreadHeapsTest.heapCount(core);
            assertTrue(heaps <= places, heaps + " heaps for " + places + " places");
            HeapStats stats = heap.stats();
            assertEquals((long) tasks * (pairs + 1), stats.mallocCount(), stats.toText());
            assertEquals(0, stats.liveBlocks(), stats.toText());
            assertEquals(List.of(), SpanAccounting.violations(heap));
            heap.trim();
            assertEquals(0, VirtualThreadHeapsTest.heapCount(core), "ended threads' heaps stayed");
            assertEquals(0, heap.stats().committedBytes(), heap.stats().toText());
        }
    }

    /**
     * Holds one block, filled with the task's number, across {@code pairs} malloc+free pairs of
     * mixed sizes, then checks it: a block that two live owners shared would be overwritten.
     */
    private static void taskPairs(Heap heap, int task, int pairs) {
        long heldSize = 64;
        long held = heap.mallocAddress(heldSize);
        MemorySegment block = MemorySegment.ofAddress(held).reinterpret(heldSize);
        block.fill((byte) task);
        for (int i = 0; i < pairs; i++) {
            long size = 16 + (i * 37L + task) % 1000;
            long address = heap.mallocAddress(size);
            MemorySegment other = MemorySegment.ofAddress(address).reinterpret(size);
            other.fill((byte) ~task);
            heap.freeAddress(address);
        }
        for (long offset = 0; offset < heldSize; offset++) {
            if (block.get(ValueLayout.JAVA_BYTE, offset) != (byte) task) {
                throw new AssertionError("task " + task + "'s block was overwritten at " + offset);
            }
        }
        heap.freeAddress(held);
    }
}
