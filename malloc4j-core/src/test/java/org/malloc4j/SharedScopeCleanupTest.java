package org.malloc4j;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * Other threads using a shared scope while its close runs the cleanup actions attached to its
 * segments.
 *
 * <p>Bug: the close held the scope's lock through the cleanup actions, so another thread's
 * {@code allocate} or {@code close} waited for the whole close and then got "already closed", and a
 * cleanup action that waited for such a thread never returned.
 */
class SharedScopeCleanupTest {
    /** Long enough for a refusal that comes at once; a wait for the close would never end. */
    private static final Duration PATIENCE = Duration.ofSeconds(20);

    /**
     * Closes a shared scope whose one cleanup action runs {@code call} on another thread and waits
     * for it.
     *
     * @return what {@code call} threw
     */
    private static Throwable callFromAnotherThreadDuringTheCleanup(Heap heap, Consumer<Arena> call) {
        Arena scope = heap.newSharedScope();
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        AtomicReference<Boolean> finished = new AtomicReference<>();
        scope.allocate(16).reinterpret(8, scope, ignored -> {
            Thread other = Thread.ofPlatform().name("other-user").start(() -> {
                try {
                    call.accept(scope);
                } catch (Throwable e) {
                    thrown.set(e);
                }
            });
            try {
                finished.set(other.join(PATIENCE));
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        });
        scope.close();
        assertTrue(finished.get(), "the other thread's call returned while the cleanup action waited for it");
        assertFalse(scope.scope().isAlive());
        return thrown.get();
    }

    @Test
    void anotherThreadsAllocateIsRefusedAtOnceAndTheCleanupActionMayWaitForIt() {
        try (Heap heap = Heap.builder().name("shared-cleanup-allocate").build()) {
            Throwable thrown = callFromAnotherThreadDuringTheCleanup(heap, scope -> scope.allocate(64));
            assertInstanceOf(IllegalStateException.class, thrown);
            assertEquals("already closed: this scope (its close() is under way on thread \""
                    + Thread.currentThread().getName() + "\")", thrown.getMessage());
            assertEquals(0, heap.stats().liveBlocks(), "the refused allocate took no block");
        }
    }

    @Test
    void anotherThreadsCloseIsRefusedAtOnceAndTheCleanupActionMayWaitForIt() {
        try (Heap heap = Heap.builder().name("shared-cleanup-close").build()) {
            Throwable thrown = callFromAnotherThreadDuringTheCleanup(heap, Arena::close);
            assertInstanceOf(IllegalStateException.class, thrown);
            assertTrue(thrown.getMessage().startsWith("already closed: this scope (its close() is under way"),
                    thrown.getMessage());
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    /**
     * The heap's close on another thread waits for the cleanup actions, which may still read their
     * blocks, and then closes: it neither unmaps under them nor leaves the heap open.
     */
    @Test
    void aHeapCloseOnAnotherThreadWaitsForTheCleanupActionsAndThenCloses() throws Exception {
        for (CheckMode mode : CheckMode.values()) {
            Heap heap = Heap.builder().name("shared-cleanup-heap-close").checkMode(mode).leakReportAtClose(false).build();
            Arena scope = heap.newSharedScope();
            AtomicReference<Throwable> heapClose = new AtomicReference<>();
            AtomicReference<Thread> closer = new AtomicReference<>();
            AtomicReference<Long> read = new AtomicReference<>();
            MemorySegment block = scope.allocate(64);
            block.set(JAVA_LONG, 0, 42);
            block.reinterpret(8, scope, segment -> {
                Thread other = Thread.ofPlatform().name("heap-closer").start(() -> {
                    try {
                        heap.close();
                    } catch (Throwable e) {
                        heapClose.set(e);
                    }
                });
                closer.set(other);
                awaitWaiting(other);
                read.set(segment.get(JAVA_LONG, 0));
            });
            scope.close();
            assertTrue(closer.get().join(PATIENCE), mode + ": the heap's close returned");
            assertNull(heapClose.get(), () -> mode + ": " + heapClose.get());
            assertTrue(heap.isClosed(), mode.toString());
            assertEquals(0, heap.stats().committedBytes(), mode.toString());
            if (mode == CheckMode.FAST) {
                assertEquals(42L, read.get(), "the cleanup action read its block, still mapped");
            } else {
                assertTrue(read.get() != null, mode + ": the cleanup action read its block");
            }
        }
    }

    /**
     * Bug: a close of the heap that a shared scope's cleanup action asked for was carried out while
     * that scope's close still held the scope's lock. It waited for another thread's close of a
     * second shared scope, whose cleanup action allocated from the first: each thread waited for the
     * other, for good.
     */
    @Test
    void aHeapCloseCarriedOutAsASharedScopesCloseReturnsHoldsNotThatScopesLock() throws Exception {
        Heap heap = Heap.builder().name("carried-out-unlocked").build();
        Arena first = heap.newSharedScope();
        Arena second = heap.newSharedScope();
        CountDownLatch secondClosing = new CountDownLatch(1);
        AtomicReference<Thread> firstCloser = new AtomicReference<>();
        AtomicReference<Throwable> allocateOnFirst = new AtomicReference<>();
        second.allocate(64).reinterpret(8, second, ignored -> {
            secondClosing.countDown();
            // Until the heap's close, carried out on the first scope's closer, waits for this close.
            long deadline = System.nanoTime() + PATIENCE.toNanos();
            while ((firstCloser.get() == null || firstCloser.get().getState() != Thread.State.WAITING)
                    && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            try {
                first.allocate(8);
            } catch (Throwable e) {
                allocateOnFirst.set(e);
            }
        });
        Thread secondCloser = Thread.ofPlatform().daemon().name("second-closer").start(second::close);
        assertTrue(secondClosing.await(PATIENCE.toSeconds(), java.util.concurrent.TimeUnit.SECONDS));
        first.allocate(64).reinterpret(8, first, ignored -> heap.close());
        firstCloser.set(Thread.ofPlatform().daemon().name("first-closer").start(first::close));

        assertTrue(firstCloser.get().join(PATIENCE), "the first scope's close, and the heap's, returned");
        assertTrue(secondCloser.join(PATIENCE));
        assertInstanceOf(IllegalStateException.class, allocateOnFirst.get());
        assertTrue(heap.isClosed());
        assertEquals(0, heap.stats().reservedBytes());
    }

    /**
     * Bug: a close of the heap that a cleanup action asked for was carried out beside another
     * thread's close of the heap, which had waited for that cleanup action: both closed the same
     * pool at once, and left the heap open, each blaming a downcall that did not exist. Now the
     * close asked for is left to the one under way, and a third close is refused, naming the thread
     * whose close is under way (by its id when it has no name, as a virtual thread by default).
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
    void aCloseAskedForBesideAnotherThreadsCloseIsLeftToThatOne(boolean virtualCloser) throws Exception {
        Heap heap = Heap.builder().name("two-closes").build();
        Arena scope = heap.newSharedScope();
        FixedSizePool pool = FixedSizePool.builder(heap, 64).blocksPerPage(4).build();
        for (int i = 0; i < 400; i++) {
            pool.allocate();
        }
        CountDownLatch inCleanup = new CountDownLatch(1);
        AtomicReference<Thread> heapCloser = new AtomicReference<>();
        AtomicReference<Throwable> heapCloseFailed = new AtomicReference<>();
        AtomicReference<Throwable> thirdClose = new AtomicReference<>();
        scope.allocate(64).reinterpret(8, scope, ignored -> {
            inCleanup.countDown();
            awaitWaiting(awaitSet(heapCloser));
            try {
                thirdClose.set(HeapScopeTest.thrownOnOtherThread(heap::close));
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
            heap.close();
        });
        Thread scopeCloser = Thread.ofPlatform().daemon().name("scope-closer").start(scope::close);
        assertTrue(inCleanup.await(PATIENCE.toSeconds(), java.util.concurrent.TimeUnit.SECONDS));
        Thread.Builder closerBuilder = virtualCloser ? Thread.ofVirtual() : Thread.ofPlatform().daemon().name("heap-closer");
        heapCloser.set(closerBuilder.start(() -> {
            try {
                heap.close();
            } catch (Throwable e) {
                heapCloseFailed.set(e);
            }
        }));

        assertTrue(scopeCloser.join(PATIENCE));
        assertTrue(heapCloser.get().join(PATIENCE));
        assertNull(heapCloseFailed.get(), () -> "the heap's close: " + heapCloseFailed.get());
        assertInstanceOf(IllegalStateException.class, thirdClose.get());
        assertEquals("heap 'two-closes' is being closed by "
                + (virtualCloser ? "virtual thread #" + heapCloser.get().threadId() : "thread \"heap-closer\""),
                thirdClose.get().getMessage());
        assertTrue(heap.isClosed());
        assertTrue(pool.isClosed());
        assertEquals(0, heap.stats().reservedBytes());
    }

    private static Thread awaitSet(AtomicReference<Thread> thread) {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (thread.get() == null && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        return thread.get();
    }

    /** Waits until {@code thread} waits (for the close under way), or has ended. */
    private static void awaitWaiting(Thread thread) {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (thread.isAlive() && thread.getState() != Thread.State.WAITING && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
    }
}
