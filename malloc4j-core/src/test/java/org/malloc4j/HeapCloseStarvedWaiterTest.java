package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.malloc4j.internal.InternalsProbe;

/**
 * A close queued on the span lock behind a virtual thread that no carrier runs. Every carrier runs
 * a virtual thread that allocates from a heap of its own, and so never blocks, until its calls say
 * the heap is closed; a virtual thread waiting for the span lock ahead of the close is handed the
 * lock in turn but never runs. A close that only waited its turn in the lock's queue never came,
 * and nothing ended.
 */
class HeapCloseStarvedWaiterTest {
    private static final long LARGE = 1 << 20;

    /**
     * @param withScope whether the heap has a shared scope holding a large block, which the close
     *     frees (under the span lock) before it closes the heap itself
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aCloseQueuedBehindAVirtualThreadWithoutACarrierStillCloses(boolean withScope) throws Exception {
        Heap heap = Heap.builder().name("starved-waiter").build();
        if (withScope) {
            heap.newSharedScope().allocate(LARGE * 2, 16);
        }
        Starved starved = new Starved(heap);
        AtomicReference<Throwable> closeThrew = new AtomicReference<>();
        Thread closer = starved.queueBehindTheWaiter(heap::close, closeThrew);

        assertTrue(closer.join(Duration.ofSeconds(30)), "the close waited for ever behind the starved waiter");
        assertNull(closeThrew.get());
        starved.assertAllEnded();
        assertEquals(0, heap.stats().reservedBytes());
    }

    /** What a platform thread queued on the span lock behind the starved waiter calls. */
    enum Call {
        STATS, FOOTPRINT, LARGE_BLOCK, TRIM
    }

    /**
     * The same starvation, with a platform thread's call that takes the span lock queued behind the
     * waiter: it returns while the spinners still spin. It used to wait until they stopped, which
     * here is never before a close.
     */
    @ParameterizedTest
    @EnumSource(Call.class)
    void aCallQueuedBehindAVirtualThreadWithoutACarrierReturnsWhileTheSpinnersSpin(Call call) throws Exception {
        Heap heap = Heap.builder().name("starved-waiter-" + call).build();
        Starved starved = new Starved(heap);
        AtomicReference<Throwable> callThrew = new AtomicReference<>();
        Thread caller = starved.queueBehindTheWaiter(() -> {
            switch (call) {
                case STATS -> assertTrue(heap.stats().reservedBytes() > 0);
                case FOOTPRINT -> assertTrue(heap.footprintBytes() > 0);
                case LARGE_BLOCK -> heap.free(heap.malloc(LARGE));
                case TRIM -> heap.trim();
            }
        }, callThrew);

        boolean returned = caller.join(Duration.ofSeconds(30));
        boolean spinning = starved.spinners.stream().allMatch(Thread::isAlive);
        heap.close();
        starved.assertAllEnded();
        assertTrue(returned, "the call waited behind the starved waiter");
        assertNull(callThrew.get());
        assertTrue(spinning, "the spinners stopped before the call returned");
    }

    /**
     * A heap whose every carrier runs a spinner with a heap of its own, and a virtual thread queued
     * on the span lock that no carrier runs.
     */
    private static final class Starved {
        final Heap heap;
        final ReentrantLock spanLock;
        final List<Thread> spinners = new ArrayList<>();
        final List<Throwable> wrong = new java.util.concurrent.CopyOnWriteArrayList<>();
        final AtomicReference<Throwable> waiterGot = new AtomicReference<>();
        final CountDownLatch go = new CountDownLatch(1);
        /** Each spinner's pairs since {@link #go}. */
        final List<AtomicLong> pairs = new ArrayList<>();
        Thread waiter;

        Starved(Heap heap) throws InterruptedException {
            this.heap = heap;
            this.spanLock = InternalsProbe.spanLock(heap);
            int carriers = Integer.getInteger("jdk.virtualThreadScheduler.parallelism",
                    Runtime.getRuntime().availableProcessors());
            CountDownLatch earned = new CountDownLatch(carriers);
            for (int i = 0; i < carriers; i++) {
                AtomicLong own = new AtomicLong();
                pairs.add(own);
                spinners.add(Thread.ofVirtual().start(() -> spin(heap, earned, go, own, wrong)));
            }
            assertTrue(earned.await(60, java.util.concurrent.TimeUnit.SECONDS), "the spinners earned no heaps");
            for (Thread spinner : spinners) {
                assertTrue(InternalsProbe.hasOwnHeap(heap, spinner), "a spinner has no heap of its own");
            }
        }

        /**
         * Queues the waiter, lets the spinners take every carrier, queues a platform thread running
         * {@code call} (what it throws goes to {@code threw}), then lets go of the lock, which goes
         * to the waiter in turn.
         */
        Thread queueBehindTheWaiter(Runnable call, AtomicReference<Throwable> threw) throws InterruptedException {
            Thread caller;
            spanLock.lock();
            try {
                // A large block takes the span lock: the waiter queues, parked, with a carrier free.
                waiter = Thread.ofVirtual().start(() -> {
                    try {
                        heap.free(heap.malloc(LARGE));
                    } catch (Throwable t) {
                        waiterGot.set(t);
                    }
                });
                awaitQueued(spanLock, waiter);
                // Now every carrier goes to a spinner, which never parks.
                go.countDown();
                // Every spinner, not only one, must be running: a carrier that had not yet picked
                // its spinner up would run the waiter when the lock is handed to it.
                for (AtomicLong own : pairs) {
                    while (own.get() < 50_000) {
                        Thread.onSpinWait();
                    }
                }
                caller = Thread.ofPlatform().start(() -> {
                    try {
                        call.run();
                    } catch (Throwable t) {
                        threw.set(t);
                    }
                });
                awaitQueued(spanLock, caller);
            } finally {
                // Handed to the waiter, whose turn it is, and which has no carrier to take it.
                spanLock.unlock();
            }
            return caller;
        }

        /** After the heap closed: the spinners stopped, and the waiter's malloc was refused. */
        void assertAllEnded() throws InterruptedException {
            for (Thread spinner : spinners) {
                assertTrue(spinner.join(Duration.ofSeconds(30)), "a spinner did not stop after the close");
            }
            assertTrue(waiter.join(Duration.ofSeconds(30)), "the waiter did not end");
            assertInstanceOf(IllegalStateException.class, waiterGot.get(), "the waiter's malloc came after the close");
            assertEquals(List.of(), wrong);
        }
    }

    /** Earns a heap of its own, then allocates and frees until the heap says it is closed. */
    private static void spin(Heap heap, CountDownLatch earned, CountDownLatch go, AtomicLong pairs,
            List<Throwable> wrong) {
        try {
            for (int i = 0; i < 20_000; i++) {
                heap.free(heap.malloc(64));
            }
            earned.countDown();
            go.await();
            while (true) {
                for (int i = 0; i < 1_000; i++) {
                    heap.freeAddress(heap.mallocAddress(64));
                }
                pairs.addAndGet(1_000);
            }
        } catch (IllegalStateException closed) {
            // The heap closed: the loop's way out.
        } catch (Throwable t) {
            wrong.add(t);
        }
    }

    /** Waits until {@code thread} waits in {@code lock}'s queue. */
    private static void awaitQueued(ReentrantLock lock, Thread thread) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!lock.hasQueuedThread(thread)) {
            assertTrue(System.nanoTime() < deadline, thread + " never queued on the span lock");
            Thread.sleep(1);
        }
    }
}
