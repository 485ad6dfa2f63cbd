package org.malloc4j;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A cleanup action attached to a segment of a scope or bump arena ({@code reinterpret(n, arena,
 * cleanup)}) that closes the heap, while later cleanup actions of the same close still read the
 * segments the JDK hands them, over their blocks' memory and guarded by no arena.
 *
 * <p>Bug: the heap unmapped its memory at once, and the next cleanup action's read killed the JVM
 * with SIGSEGV (this class's tests then end the test JVM rather than fail).
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
        MemorySegment closes = holder.allocate(64);
        MemorySegment read = holder.allocate(64);
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

            assertEquals(1, seen.size(), kind + ": the later cleanup action ran");
            if (mode == CheckMode.FAST) {
                // A freed block keeps its bytes in fast mode: the read saw the block, not other memory.
                assertEquals(WRITTEN, seen.get(0), kind.toString());
            }
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
