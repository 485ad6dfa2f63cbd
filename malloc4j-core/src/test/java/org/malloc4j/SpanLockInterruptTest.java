package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import org.junit.jupiter.api.Test;
import org.malloc4j.internal.InternalsProbe;

/**
 * Calls that take the span lock from a thread whose interrupt status is set: they work, free or
 * held lock alike, and the thread keeps its status. (The lock is taken by polling, whose timed
 * tries would otherwise throw for such a thread.)
 */
class SpanLockInterruptTest {
    private static final long LARGE = 1 << 20;

    @Test
    void anInterruptedThreadTakesTheSpanLockFreeOrHeldAndStaysInterrupted() throws Exception {
        Heap heap = Heap.builder().name("interrupted").build();
        ReentrantLock spanLock = InternalsProbe.spanLock(heap);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicReference<String> lost = new AtomicReference<>();
        java.util.concurrent.CountDownLatch uncontendedDone = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch held = new java.util.concurrent.CountDownLatch(1);
        Thread caller = Thread.ofPlatform().start(() -> {
            try {
                Thread.currentThread().interrupt();
                for (int i = 0; i < 100; i++) {
                    heap.free(heap.malloc(LARGE));
                    heap.stats();
                    heap.trim();
                }
                if (!Thread.currentThread().isInterrupted()) {
                    lost.set("after the calls that found the lock free");
                }
                uncontendedDone.countDown();
                Thread.interrupted();
                held.await();
                Thread.currentThread().interrupt();
                heap.free(heap.malloc(LARGE));
                if (!Thread.currentThread().isInterrupted()) {
                    lost.set("after a call that waited for the lock");
                }
            } catch (Throwable t) {
                failure.set(t);
                uncontendedDone.countDown();
            }
        });
        assertTrue(uncontendedDone.await(30, java.util.concurrent.TimeUnit.SECONDS));
        spanLock.lock();
        try {
            held.countDown();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!spanLock.hasQueuedThread(caller) && caller.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            assertTrue(spanLock.hasQueuedThread(caller), "the interrupted caller never waited for the held lock");
        } finally {
            spanLock.unlock();
        }
        assertTrue(caller.join(Duration.ofSeconds(30)), "the interrupted caller never got the lock");
        assertNull(failure.get());
        assertNull(lost.get(), "the interrupt status was lost");
        assertEquals(0, heap.stats().liveBlocks());
        heap.close();
    }
}
