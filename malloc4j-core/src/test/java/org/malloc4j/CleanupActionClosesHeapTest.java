package org.malloc4j;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A cleanup action attached to a segment of a scope or bump arena ({@code reinterpret(n, arena,
 * cleanup)}) that closes the heap, while later cleanup actions of the same close still read the
 * segments the JDK hands them, over their blocks' memory and guarded by no arena.
 *
 * <p>Bug: the heap unmapped its memory at once, and the next cleanup action's read killed the JVM
 * with SIGSEGV (this class's tests then end the test JVM rather than fail). Now the close is carried
 * out when the outermost close under way on the thread returns, and the holder's blocks go back only
 * after its last cleanup action.
 */
class CleanupActionClosesHeapTest {
    private static final long WRITTEN = 0x4242_4242_4242_4242L;

    enum Holder {
        CONFINED_SCOPE(Heap::newScope),
        SHARED_SCOPE(Heap::newSharedScope),
        BUMP_ARENA(BumpArena::ofConfined);

        final Function<Heap, Arena> make;

        Holder(Function<Heap, Arena> make) {
            this.make = make;
        }
    }

    /**
     * Attaches to {@code holder} a cleanup action that closes {@code heap}, then one that reads its
     * block, and returns what the read saw (empty until it ran).
     */
    private static List<Long> closeTheHeapThenRead(Heap heap, Arena holder) {
        return closeTheHeapThenRead(heap, holder, 64);
    }

    /** As {@link #closeTheHeapThenRead(Heap, Arena)}, with blocks of {@code blockSize} bytes. */
    private static List<Long> closeTheHeapThenRead(Heap heap, Arena holder, long blockSize) {
        MemorySegment closes = holder.allocate(blockSize);
        MemorySegment read = holder.allocate(blockSize);
        read.set(JAVA_LONG, 0, WRITTEN);
        List<Long> seen = new ArrayList<>();
        // The JDK runs an arena's cleanup actions in the order they were attached.
        closes.reinterpret(8, holder, ignored -> heap.close());
        read.reinterpret(8, holder, segment -> seen.add(segment.get(JAVA_LONG, 0)));
        return seen;
    }

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void laterCleanupActionsOfTheHoldersCloseStillReadTheirBlocks(CheckMode mode) {
        for (Holder kind : Holder.values()) {
            Heap heap = Heap.builder().name("cleanup-" + kind).checkMode(mode).leakReportAtClose(false).build();
            Arena holder = kind.make.apply(heap);
            List<Long> seen = closeTheHeapThenRead(heap, holder);

            holder.close();

            // The block was not freed yet (a checked mode would have poisoned it).
            assertEquals(List.of(WRITTEN), seen, kind + ": the later cleanup action read its block");
            assertTrue(heap.isClosed(), kind.toString());
            assertEquals(0, heap.stats().committedBytes(), kind.toString());
            // Nothing is left mapped once the holder's close returned: closing again is a misuse.
            IllegalStateException again = assertThrows(IllegalStateException.class, heap::close, kind.toString());
            assertTrue(again.getMessage().contains("already closed"), again.getMessage());
        }
    }

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void laterCleanupActionsOfAHoldersCloseRunByTheHeapsCloseStillReadTheirBlocks(CheckMode mode) {
        for (Holder kind : Holder.values()) {
            Heap heap = Heap.builder().name("cleanup-" + kind).checkMode(mode).leakReportAtClose(false).build();
            Arena holder = kind.make.apply(heap);
            List<Long> seen = closeTheHeapThenRead(heap, holder);
            heap.newScope().allocate(100);

            heap.close();

            assertEquals(1, seen.size(), kind + ": the later cleanup action ran");
            assertTrue(heap.isClosed(), kind.toString());
            assertEquals(0, heap.stats().liveBlocks(), kind.toString());
            assertThrows(IllegalStateException.class, heap::close, kind.toString());
        }
    }

    /**
     * The holder's blocks go back to the heap before the close a cleanup action asked for is carried
     * out, so they are no leaks: the heap counts itself closed meanwhile, but takes them back.
     */
    @ParameterizedTest
    @EnumSource(value = CheckMode.class, names = {"FULL", "SAMPLED"})
    void theHoldersBlocksGoBackBeforeTheHeapCloses(CheckMode mode) {
        for (Holder kind : Holder.values()) {
            Heap heap = Heap.builder().name("cleanup-leaks-" + kind).checkMode(mode).sampleInterval(1)
                    .leakReportAtClose(false).build();
            Arena holder = kind.make.apply(heap);
            closeTheHeapThenRead(heap, holder);

            holder.close();

            assertTrue(heap.isClosed(), kind.toString());
            assertTrue(heap.leaks().isEmpty(), () -> kind + ": " + heap.leaks().text());
        }
    }

    /**
     * Bug: while the close a cleanup action asked for was carried out, nothing marked the heap as
     * closing: it counted open, and another thread's close went ahead beside it, closing the same
     * dependents, and the two left the heap open, each blaming a downcall that did not exist.
     */
    @Test
    void whileTheCloseIsCarriedOutAnotherThreadsCloseIsRefusedAndTheHeapCountsClosed() throws Exception {
        Heap heap = Heap.builder().name("carried-out").build();
        Arena asks = heap.newScope();
        Arena closedByTheHeap = heap.newScope();
        AtomicReference<Boolean> countedClosed = new AtomicReference<>();
        AtomicReference<Throwable> otherThread = new AtomicReference<>();
        asks.allocate(8).reinterpret(8, asks, ignored -> heap.close());
        closedByTheHeap.allocate(8).reinterpret(8, closedByTheHeap, ignored -> {
            // Runs as the heap's close, carried out, closes this scope.
            Thread other = Thread.ofPlatform().start(() -> {
                countedClosed.set(heap.isClosed());
                try {
                    heap.close();
                } catch (Throwable e) {
                    otherThread.set(e);
                }
            });
            try {
                other.join();
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        });

        asks.close();

        assertEquals(Boolean.TRUE, countedClosed.get());
        Throwable thrown = otherThread.get();
        assertNotNull(thrown, "the other thread's close");
        assertTrue(thrown.getMessage().contains("already closed: by a cleanup action of a close on thread"),
                thrown.getMessage());
        assertFalse(closedByTheHeap.scope().isAlive());
        assertTrue(heap.isClosed());
        assertEquals(0, heap.stats().reservedBytes());
    }

    /** Blocks over 16 MiB have mappings of their own, which a free unmaps at once. */
    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void laterCleanupActionsStillReadBlocksWithMappingsOfTheirOwn(CheckMode mode) {
        for (Holder kind : Holder.values()) {
            Heap heap = Heap.builder().name("cleanup-huge-" + kind).checkMode(mode).leakReportAtClose(false).build();
            Arena holder = kind.make.apply(heap);
            List<Long> seen = closeTheHeapThenRead(heap, holder, 20L << 20);

            holder.close();

            assertEquals(List.of(WRITTEN), seen, kind.toString());
            assertEquals(0, heap.stats().reservedBytes(), kind.toString());
            assertThrows(IllegalStateException.class, heap::close, kind.toString());
        }
    }

    /** Bug: a heap with nothing mapped (no block yet, say) said "already closed" to the first close. */
    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void aHeapWithNothingMappedClosedByACleanupActionClosesWithoutComplaint(CheckMode mode) {
        for (Holder kind : Holder.values()) {
            for (boolean throughHeap : new boolean[] {false, true}) {
                Heap heap = Heap.builder().name("cleanup-empty").checkMode(mode).build();
                Arena holder = kind.make.apply(heap);
                MemorySegment.NULL.reinterpret(0, holder, ignored -> heap.close());

                if (throughHeap) {
                    heap.close();
                } else {
                    holder.close();
                }

                assertTrue(heap.isClosed(), kind + (throughHeap ? " through the heap" : ""));
                assertFalse(holder.scope().isAlive());
            }
        }
    }

    /** A cleanup action of one heap's scope closes another heap, whose block a later cleanup action reads. */
    @Test
    void aHeapClosedByACleanupActionOfAnotherHeapsScopeStaysMappedUntilThatCloseReturns() {
        Heap closed = Heap.builder().name("closed-by-another").build();
        MemorySegment block = closed.malloc(1 << 20);
        block.set(JAVA_LONG, 0, WRITTEN);
        try (Heap other = Heap.builder().name("other").build()) {
            Arena scope = other.newScope();
            List<Long> seen = new ArrayList<>();
            scope.allocate(8).reinterpret(8, scope, ignored -> closed.close());
            block.reinterpret(8, scope, segment -> seen.add(segment.get(JAVA_LONG, 0)));

            scope.close();

            assertEquals(List.of(WRITTEN), seen);
            assertTrue(closed.isClosed());
            assertEquals(0, closed.stats().reservedBytes());
            assertThrows(IllegalStateException.class, () -> block.get(JAVA_LONG, 0));
        }
    }

    /**
     * Bug: a cleanup action that closed its own scope again gave the scope's blocks back at once, so
     * a block another cleanup action of the same close then allocated could be one of them, and a
     * later cleanup action read and wrote that live block through its own segment.
     */
    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void aCleanupActionThatClosesItsHolderAgainLeavesTheBlocksToTheLaterOnes(CheckMode mode) {
        for (Holder kind : Holder.values()) {
            Heap heap = Heap.builder().name("cleanup-self-" + kind).checkMode(mode).build();
            Arena holder = kind.make.apply(heap);
            MemorySegment first = holder.allocate(64);
            MemorySegment later = holder.allocate(64);
            later.set(JAVA_LONG, 0, WRITTEN);
            List<MemorySegment> mallocked = new ArrayList<>();
            List<Long> seen = new ArrayList<>();
            first.reinterpret(8, holder, ignored -> {
                holder.close();
                for (int i = 0; i < 4; i++) {
                    MemorySegment block = heap.malloc(64);
                    block.set(JAVA_LONG, 0, -1);
                    mallocked.add(block);
                }
            });
            later.reinterpret(8, holder, segment -> seen.add(segment.get(JAVA_LONG, 0)));

            holder.close();

            assertEquals(List.of(WRITTEN), seen, kind.toString());
            for (MemorySegment block : mallocked) {
                assertTrue(block.address() != later.address() && block.address() != first.address(), kind.toString());
                heap.free(block);
            }
            assertEquals(0, heap.stats().liveBlocks(), kind.toString());
            heap.close();
        }
    }

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void anotherThreadsCloseMeanwhileSaysTheHeapIsClosedAndUnmapsNothing(CheckMode mode) throws Exception {
        Heap heap = Heap.builder().name("cleanup-other-thread").checkMode(mode).leakReportAtClose(false).build();
        Arena scope = heap.newScope();
        List<Long> seen = closeTheHeapThenRead(heap, scope);
        AtomicReference<Throwable> otherThread = new AtomicReference<>();
        MemorySegment last = scope.allocate(64);
        last.reinterpret(8, scope, segment -> {
            Thread closer = new Thread(() -> {
                try {
                    heap.close();
                } catch (Throwable e) {
                    otherThread.set(e);
                }
            }, "other-closer");
            closer.start();
            try {
                closer.join();
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
            // Still mapped: the other thread's close unmapped nothing.
            seen.add(segment.get(JAVA_LONG, 0));
        });

        scope.close();

        assertEquals(2, seen.size());
        Throwable thrown = otherThread.get();
        assertNotNull(thrown, "the other thread's close");
        assertEquals(IllegalStateException.class, thrown.getClass(), String.valueOf(thrown));
        assertTrue(thrown.getMessage().contains("already closed: by a cleanup action of a close on thread \""
                + Thread.currentThread().getName() + "\""), thrown.getMessage());
        assertThrows(IllegalStateException.class, heap::close);
    }
}
