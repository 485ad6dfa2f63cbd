package org.malloc4j;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class HeapScopeTest {
    private static final Heap HEAP = Heap.builder().name("scope-test").build();

    @AfterAll
    static void closeHeap() {
        HEAP.close();
    }

    private static long liveBlocks() {
        return HEAP.stats().liveBlocks();
    }

    /** Runs {@code action} on a new thread; @return what it threw, or null */
    static Throwable thrownOnOtherThread(Runnable action) throws InterruptedException {
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Thread thread = new Thread(() -> {
            try {
                action.run();
            } catch (Throwable t) {
                thrown.set(t);
            }
        });
        thread.start();
        thread.join();
        return thrown.get();
    }

    /**
     * A scope's block and raw blocks share a page: a free or realloc of the scope's block through
     * the heap is a mismatch, and changes nothing, while the raw blocks beside it free and resize
     * as usual, before the scope closes and after.
     */
    @Test
    void aBlockAScopeHoldsIsRefusedToTheHeapsFreeWhileItsNeighboursFreeAsUsual() {
        try (Heap heap = Heap.builder().name("held-beside-raw").build()) {
            long before = heap.mallocAddress(64);
            try (Arena scope = heap.newScope()) {
                MemorySegment held = scope.allocate(64, 16);
                long after = heap.mallocAddress(64);
                assertEquals(MemoryMisuseException.Kind.ALLOC_DEALLOC_MISMATCH,
                        assertThrows(MemoryMisuseException.class, () -> heap.freeAddress(held.address())).kind());
                assertEquals(MemoryMisuseException.Kind.ALLOC_DEALLOC_MISMATCH,
                        assertThrows(MemoryMisuseException.class,
                                () -> heap.reallocAddress(held.address(), 70)).kind());
                held.set(JAVA_LONG, 56, 42L);
                assertEquals(after, heap.reallocAddress(after, 60));
                heap.freeAddress(after);
                assertEquals(2, heap.stats().liveBlocks());
                assertEquals(42L, held.get(JAVA_LONG, 56));
            }
            assertEquals(1, heap.stats().liveBlocks());
            long again = heap.mallocAddress(64);
            heap.freeAddress(again);
            heap.freeAddress(before);
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    @Test
    void allocateReturnsZeroedSegmentsOfTheRequestedShapeAndTheScopesLifetime() {
        try (Arena scope = HEAP.newScope()) {
            for (long alignment = 1; alignment <= 1 << 16; alignment <<= 1) {
                MemorySegment segment = scope.allocate(100, alignment);
                assertEquals(100, segment.byteSize());
                assertEquals(0, segment.address() % alignment, "alignment=" + alignment);
                assertEquals(scope.scope(), segment.scope());
                for (long i = 0; i < 100; i++) {
                    assertEquals(0, segment.get(JAVA_BYTE, i));
                }
                segment.fill((byte) 0x5A);
            }
        }
    }

    @Test
    void segmentsOfOneScopeDoNotOverlap() {
        try (Arena scope = HEAP.newScope()) {
            List<MemorySegment> segments = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                segments.add(scope.allocate(1 + i % 50, 1L << (i % 8)));
            }
            for (int i = 0; i < segments.size(); i++) {
                for (int j = i + 1; j < segments.size(); j++) {
                    assertTrue(segments.get(i).asOverlappingSlice(segments.get(j)).isEmpty());
                }
            }
        }
    }

    @Test
    void ffmConveniencesWorkThroughAScope() {
        StructLayout point = MemoryLayout.structLayout(JAVA_INT.withName("x"), JAVA_INT.withName("y"));
        try (Arena scope = HEAP.newScope()) {
            assertEquals("malloc4j", scope.allocateFrom("malloc4j").getString(0));
            assertArrayEquals(new long[] {1, 2, 3}, scope.allocateFrom(JAVA_LONG, 1, 2, 3).toArray(JAVA_LONG));
            assertEquals(40, scope.allocate(JAVA_INT, 10).byteSize());
            MemorySegment p = scope.allocate(point);
            assertEquals(8, p.byteSize());
            assertEquals(0, p.address() % point.byteAlignment());
        }
    }

    @Test
    void closeFreesEveryBlockTheScopeAllocated() {
        long before = liveBlocks();
        Arena scope = HEAP.newScope();
        for (int i = 0; i < 100; i++) {
            scope.allocate(i * 37L, 1L << (i % 10));
        }
        assertEquals(before + 100, liveBlocks());
        scope.close();
        assertEquals(before, liveBlocks());
    }

    /**
     * A scope keeps its first block in a field and the others in an array made for the second and
     * doubled as it fills: every count around those steps frees exactly its blocks, each block keeps
     * its contents until the close, and a checked heap still names the scope as a block's holder.
     */
    @ParameterizedTest
    @CsvSource({"FAST, 0", "FAST, 1", "FAST, 2", "FAST, 9", "FAST, 10", "FAST, 17", "FAST, 18",
            "FULL, 1", "FULL, 2", "FULL, 10", "SAMPLED, 1", "SAMPLED, 18"})
    void closeFreesExactlyTheBlocksOfAScopeOfAnyCount(CheckMode mode, int count) {
        try (Heap heap = Heap.builder().name("scope-count").checkMode(mode).sampleInterval(1).build()) {
            long before = heap.stats().liveBlocks();
            Arena scope = heap.newScope();
            List<MemorySegment> blocks = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                MemorySegment block = scope.allocate(8 + 24L * i, 8);
                block.fill((byte) (i + 1));
                blocks.add(block);
            }
            assertEquals(before + count, heap.stats().liveBlocks());
            for (int i = 0; i < count; i++) {
                MemorySegment block = blocks.get(i);
                assertEquals(8 + 24L * i, block.byteSize());
                assertEquals(-1, block.mismatch(MemorySegment.ofArray(new byte[(int) block.byteSize()])
                        .fill((byte) (i + 1))), "block " + i + " kept its bytes");
            }
            if (count > 0 && mode != CheckMode.FAST) {
                MemoryMisuseException misuse = assertThrows(MemoryMisuseException.class,
                        () -> heap.free(blocks.get(count - 1)));
                assertTrue(misuse.getMessage().contains("held by a heap scope"), misuse.getMessage());
            }
            scope.close();
            assertEquals(before, heap.stats().liveBlocks());
            assertThrows(IllegalStateException.class, scope::close);
        }
    }

    @Test
    void aSegmentIsInaccessibleAfterItsScopeCloses() {
        Arena scope = HEAP.newScope();
        MemorySegment segment = scope.allocate(JAVA_LONG);
        segment.set(JAVA_LONG, 0, 42);
        scope.close();
        assertFalse(segment.scope().isAlive());
        assertThrows(IllegalStateException.class, () -> segment.get(JAVA_LONG, 0));
        assertThrows(IllegalStateException.class, () -> segment.set(JAVA_LONG, 0, 1));
    }

    @Test
    void allocateAfterCloseThrowsIllegalStateException() {
        Arena scope = HEAP.newScope();
        scope.close();
        long before = liveBlocks();
        assertThrows(IllegalStateException.class, () -> scope.allocate(16));
        assertEquals(before, liveBlocks());
    }

    @Test
    void closeTwiceThrowsIllegalStateException() {
        Arena scope = HEAP.newScope();
        scope.close();
        assertThrows(IllegalStateException.class, scope::close);
    }

    @Test
    void negativeSizeThrowsIllegalArgumentExceptionAndAllocatesNothing() {
        try (Arena scope = HEAP.newScope()) {
            long before = liveBlocks();
            assertThrows(IllegalArgumentException.class, () -> scope.allocate(-1, 8));
            assertEquals(before, liveBlocks());
        }
    }

    @Test
    void alignmentThatIsNotAPositivePowerOfTwoThrowsIllegalArgumentException() {
        try (Arena scope = HEAP.newScope()) {
            long before = liveBlocks();
            for (long alignment : new long[] {0, -8, 3, 24, Long.MIN_VALUE}) {
                assertThrows(IllegalArgumentException.class, () -> scope.allocate(8, alignment));
            }
            assertEquals(before, liveBlocks());
        }
    }

    @Test
    void confinedScopeRejectsAllocationFromAnotherThreadBeforeTakingABlock() throws Exception {
        try (Arena scope = HEAP.newScope()) {
            long before = liveBlocks();
            assertInstanceOf(WrongThreadException.class, thrownOnOtherThread(() -> scope.allocate(64)));
            assertEquals(before, liveBlocks());
        }
    }

    @Test
    void confinedScopeRejectsAccessFromAnotherThread() throws Exception {
        try (Arena scope = HEAP.newScope()) {
            MemorySegment segment = scope.allocate(JAVA_INT);
            assertFalse(segment.isAccessibleBy(new Thread(() -> { })));
            assertInstanceOf(WrongThreadException.class, thrownOnOtherThread(() -> segment.get(JAVA_INT, 0)));
        }
    }

    @Test
    void confinedScopeRejectsCloseFromAnotherThreadAndStaysOpen() throws Exception {
        Arena scope = HEAP.newScope();
        MemorySegment segment = scope.allocate(JAVA_INT);
        assertInstanceOf(WrongThreadException.class, thrownOnOtherThread(scope::close));
        assertTrue(segment.scope().isAlive());
        segment.set(JAVA_INT, 0, 7);
        scope.close();
    }

    @Test
    void sharedScopeServesManyThreadsAndCloseFreesEverything() throws Exception {
        long before = liveBlocks();
        Arena scope = HEAP.newSharedScope();
        List<Thread> threads = new ArrayList<>();
        List<MemorySegment> segments = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int t = 0; t < 4; t++) {
            Thread thread = new Thread(() -> {
                for (int i = 0; i < 100; i++) {
                    segments.add(scope.allocate(JAVA_LONG));
                }
            });
            threads.add(thread);
            thread.start();
        }
        for (Thread thread : threads) {
            thread.join();
        }
        assertEquals(before + 400, liveBlocks());
        for (MemorySegment segment : segments) {
            segment.set(JAVA_LONG, 0, segment.address());
        }
        assertNull(thrownOnOtherThread(scope::close));
        assertEquals(before, liveBlocks());
        assertThrows(IllegalStateException.class, () -> segments.get(0).get(JAVA_LONG, 0));
    }

    @Test
    void newScopeOfAClosedHeapThrowsIllegalStateException() {
        Heap heap = Heap.builder().name("closed").build();
        heap.close();
        assertThrows(IllegalStateException.class, heap::newScope);
        assertThrows(IllegalStateException.class, heap::newSharedScope);
    }

    @Test
    void allocateFromAScopeOfAClosedHeapThrowsIllegalStateException() {
        Heap heap = Heap.builder().name("closing").build();
        Arena scope = heap.newScope();
        scope.allocate(16);
        heap.close();
        assertThrows(IllegalStateException.class, () -> scope.allocate(16));
        assertFalse(scope.scope().isAlive(), "closing the heap closed the scope first");
    }

    @Test
    void exhaustionThrowsHeapExhaustedErrorAndTheScopeStaysUsable() {
        try (Heap small = Heap.builder().name("small").maxCommittedBytes(1 << 20).build();
                Arena scope = small.newScope()) {
            long before = small.stats().liveBlocks();
            assertThrows(HeapExhaustedError.class, () -> scope.allocate(4 << 20));
            assertEquals(before, small.stats().liveBlocks());
            assertEquals(8, scope.allocate(JAVA_LONG).byteSize());
        }
    }

    /** A close that finds a block overflowed through a raw address reports it and still frees every block. */
    @Test
    void aCloseThatFindsAnOverflowReportsItAndStillFreesEveryBlock() {
        try (Heap heap = Heap.builder().name("overflowed").checkMode(CheckMode.FULL).build()) {
            Arena scope = heap.newScope();
            MemorySegment first = scope.allocate(32);
            scope.allocate(32);
            scope.allocate(64, 64);
            MemorySegment.ofAddress(first.address()).reinterpret(33).set(JAVA_BYTE, 32, (byte) 1);

            MemoryMisuseException e = assertThrows(MemoryMisuseException.class, scope::close);
            assertEquals(MemoryMisuseException.Kind.HEAP_BUFFER_OVERFLOW, e.kind());
            assertFalse(scope.scope().isAlive());
            assertThrows(IllegalStateException.class, scope::close);
            assertEquals(0, heap.stats().liveBlocks());
            assertTrue(heap.leaks().isEmpty(), heap.leaks()::text);
        }
    }

    @Test
    void aCloseThatFindsTwoDamagedBlocksReportsBoth() {
        try (Heap heap = Heap.builder().name("overflowed twice").checkMode(CheckMode.FULL).build()) {
            Arena scope = heap.newScope();
            MemorySegment over = scope.allocate(40);
            MemorySegment under = scope.allocate(40);
            MemorySegment.ofAddress(over.address()).reinterpret(41).set(JAVA_BYTE, 40, (byte) 1);
            MemorySegment.ofAddress(under.address() - 4).reinterpret(1).set(JAVA_BYTE, 0, (byte) 1);

            MemoryMisuseException e = assertThrows(MemoryMisuseException.class, scope::close);
            assertEquals(MemoryMisuseException.Kind.HEAP_BUFFER_OVERFLOW, e.kind());
            assertEquals(1, e.getSuppressed().length, e::toString);
            MemoryMisuseException second = (MemoryMisuseException) e.getSuppressed()[0];
            assertEquals(MemoryMisuseException.Kind.HEAP_BUFFER_OVERFLOW, second.kind());
            assertEquals(java.util.Set.of(over.address() + 40, under.address() - 4),
                    java.util.Set.of(e.address(), second.address()));
            assertEquals(0, heap.stats().liveBlocks());
        }
    }
    /**
     * Bug: a cleanup action attached to a segment of a scope or bump arena that threw left the
     * holder's blocks live for good: its JDK arena had closed, so every later close failed, and so
     * did the heap's, which kept all its memory.
     */
    @Test
    void aCleanupActionThatThrowsStillFreesTheHoldersBlocksAndLetsTheHeapClose() {
        Heap heap = Heap.builder().name("cleanup").build();
        Arena scope = heap.newScope();
        scope.allocate(64).reinterpret(64, scope, ignored -> {
            throw new IllegalStateException("scope cleanup failed");
        });
        IllegalStateException fromScope = assertThrows(IllegalStateException.class, scope::close);
        assertEquals("scope cleanup failed", fromScope.getMessage());
        assertEquals(0, heap.stats().liveBlocks(), "the scope's block is freed all the same");
        IllegalStateException again = assertThrows(IllegalStateException.class, scope::close);
        assertTrue(again.getMessage().startsWith("already closed"), again.getMessage());

        BumpArena arena = BumpArena.ofConfined(heap);
        arena.allocate(64).reinterpret(64, arena, ignored -> {
            throw new IllegalArgumentException("arena cleanup failed");
        });
        IllegalArgumentException fromArena = assertThrows(IllegalArgumentException.class, arena::close);
        assertEquals("arena cleanup failed", fromArena.getMessage());
        assertTrue(arena.isClosed());
        assertEquals(0, heap.stats().liveBlocks(), "the arena's chunk is given back all the same");

        // Closed by the heap: the heap closes, then says what the cleanup threw.
        Arena left = heap.newScope();
        left.allocate(32).reinterpret(32, left, ignored -> {
            throw new IllegalStateException("left open, cleanup failed");
        });
        IllegalStateException fromHeap = assertThrows(IllegalStateException.class, heap::close);
        assertEquals("left open, cleanup failed", fromHeap.getMessage());
        assertTrue(heap.isClosed());
        assertEquals(0, heap.stats().committedBytes());
    }
    /**
     * Bug: an Error a cleanup action threw while the heap closed the scope escaped the heap's
     * close half way: the other scopes and arenas stayed open, and the heap too.
     */
    @Test
    void anErrorFromACleanupActionStillClosesEveryDependentAndTheHeap() {
        Heap heap = Heap.builder().name("error").build();
        Arena throwing = heap.newScope();
        throwing.allocate(100).reinterpret(10, throwing, ignored -> {
            throw new AssertionError("cleanup error");
        });
        Arena other = heap.newScope();
        other.allocate(100);
        BumpArena arena = BumpArena.ofConfined(heap);
        arena.allocate(64);
        AssertionError error = assertThrows(AssertionError.class, heap::close);
        assertEquals("cleanup error", error.getMessage());
        assertTrue(heap.isClosed());
        assertFalse(other.scope().isAlive());
        assertTrue(arena.isClosed());
        assertEquals(0, heap.stats().committedBytes());
    }

    /** As Heap.close says: what a cleanup action threw comes first, the misuse reports suppressed in it. */
    @Test
    void aCleanupFailureIsThrownWithTheHeapsMisuseReportsSuppressed() {
        Heap heap = Heap.builder().name("both").checkMode(CheckMode.FULL).leakReportAtClose(false).build();
        Arena scope = heap.newScope();
        scope.allocate(16).reinterpret(8, scope, ignored -> {
            throw new IllegalArgumentException("cleanup failed");
        });
        MemorySegment leaked = heap.malloc(32);
        MemorySegment.ofAddress(leaked.address()).reinterpret(40).set(JAVA_BYTE, 34, (byte) 1);
        IllegalArgumentException failure = assertThrows(IllegalArgumentException.class, heap::close);
        assertEquals("cleanup failed", failure.getMessage());
        assertEquals(1, failure.getSuppressed().length);
        assertEquals(MemoryMisuseException.Kind.HEAP_BUFFER_OVERFLOW,
                ((MemoryMisuseException) failure.getSuppressed()[0]).kind());
        assertTrue(heap.isClosed());
    }

    /**
     * Bug: a scope, arena or heap closed from a cleanup action that its own close runs threw the
     * JDK's bare "Already closed". The cleanup's close now gives the blocks back at once, and
     * the close that ran it goes on.
     */
    @Test
    void closingFromACleanupActionTheCloseRunsClosesQuietly() {
        Heap heap = Heap.builder().name("reentrant").build();
        Arena scope = heap.newScope();
        scope.allocate(64).reinterpret(8, scope, ignored -> scope.close());
        scope.close();
        assertFalse(scope.scope().isAlive());
        assertEquals(0, heap.stats().liveBlocks());
        assertThrows(IllegalStateException.class, scope::close, "closed already");

        BumpArena arena = BumpArena.ofConfined(heap);
        arena.allocate(64).reinterpret(8, arena, ignored -> arena.close());
        arena.close();
        assertTrue(arena.isClosed());
        assertEquals(0, heap.stats().liveBlocks());

        Arena closesTheHeap = heap.newScope();
        closesTheHeap.allocate(64).reinterpret(8, closesTheHeap, ignored -> heap.close());
        closesTheHeap.close();
        assertTrue(heap.isClosed());
        assertEquals(0, heap.stats().committedBytes());
    }

    /**
     * Bug: of several cleanup actions that each closed their scope or arena, only the first closed
     * quietly; the later ones got "already closed" from the close under way, so the rest of their
     * work never ran and their own exception was never thrown.
     */
    @Test
    void everyCleanupActionThatClosesItsHolderAgainClosesQuietly() {
        Heap heap = Heap.builder().name("reentrant-twice").build();
        for (Arena holder : List.of(heap.newScope(), heap.newSharedScope(), BumpArena.ofConfined(heap))) {
            List<Integer> ran = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                int cleanup = i;
                holder.allocate(64).reinterpret(8, holder, ignored -> {
                    holder.close();
                    ran.add(cleanup);
                });
            }
            holder.close();
            assertEquals(3, ran.size(), holder::toString);
            if (holder instanceof BumpArena arena) {
                List<Boolean> closedInside = new ArrayList<>();
                BumpArena another = BumpArena.ofConfined(heap);
                another.allocate(8).reinterpret(8, another, ignored -> closedInside.add(another.isClosed()));
                assertFalse(another.isClosed());
                another.close();
                assertEquals(List.of(true), closedInside, "isClosed() inside a cleanup action its close runs");
                assertTrue(arena.isClosed());
            }
            assertFalse(holder.scope().isAlive());
            assertEquals(0, heap.stats().liveBlocks(), holder::toString);
            assertThrows(IllegalStateException.class, holder::close, "closed already");

            Arena failing = holder instanceof BumpArena ? BumpArena.ofConfined(heap) : heap.newScope();
            failing.allocate(64).reinterpret(8, failing, ignored -> failing.close());
            failing.allocate(64).reinterpret(8, failing, ignored -> {
                failing.close();
                throw new IllegalArgumentException("the second cleanup's own");
            });
            IllegalArgumentException thrown = assertThrows(IllegalArgumentException.class, failing::close);
            assertEquals("the second cleanup's own", thrown.getMessage());
            assertEquals(0, heap.stats().liveBlocks(), failing::toString);
        }
        heap.close();
    }

    /**
     * Bug: a cleanup action that threw a checked exception (Kotlin code, a "sneaky" throw) left the
     * blocks live until a second close, which threw the JDK's "Already closed"; closed by the heap,
     * the heap said a downcall was using the scope and dropped the exception.
     */
    @Test
    void aCheckedExceptionFromACleanupActionIsThrownAsItIsAndTheBlocksStillGoBack() {
        try (Heap heap = Heap.builder().name("checked-cleanup").build()) {
            for (Arena holder : List.of(heap.newScope(), heap.newSharedScope(), BumpArena.ofConfined(heap))) {
                withCheckedCleanup(holder);
                IOException thrown = assertThrows(IOException.class, holder::close, holder::toString);
                assertEquals("checked", thrown.getMessage());
                assertFalse(holder.scope().isAlive());
                assertEquals(0, heap.stats().liveBlocks(), holder::toString);
                assertThrows(IllegalStateException.class, holder::close, "closed already");
            }
        }
        for (int holder = 0; holder < 3; holder++) {
            Heap heap = Heap.builder().name("checked-cleanup-heap").build();
            withCheckedCleanup(holder == 0 ? heap.newScope() : holder == 1 ? heap.newSharedScope() : BumpArena.ofConfined(heap));
            IOException thrown = assertThrows(IOException.class, heap::close);
            assertEquals("checked", thrown.getMessage());
            assertTrue(heap.isClosed());
        }
    }

    private static void withCheckedCleanup(Arena holder) {
        holder.allocate(300_000);
        holder.allocate(64).reinterpret(8, holder, ignored -> throwUnchecked(new IOException("checked")));
    }

    /**
     * Bug: in a checked mode, the first cleanup action that closed its holder again had the report
     * of a damaged block thrown into it: the rest of its work never ran, and a cleanup that closed
     * quietly (catching what close throws) made the report vanish, the block repaired and freed.
     */
    @Test
    void aDamagedBlockFoundByACleanupActionsCloseIsThrownByTheCloseUnderWay() {
        try (Heap heap = Heap.builder().name("reentrant-damage").checkMode(CheckMode.FULL).build()) {
            for (Arena holder : List.of(heap.newScope(), heap.newSharedScope(), BumpArena.ofConfined(heap))) {
                List<String> ran = new ArrayList<>();
                MemorySegment block = holder.allocate(holder instanceof BumpArena ? 300_000 : 24);
                holder.allocate(24).reinterpret(8, holder, ignored -> {
                    try {
                        holder.close();
                    } catch (RuntimeException swallowed) {
                        ran.add("caught " + swallowed);
                    }
                    ran.add("quiet close");
                });
                MemorySegment.ofAddress(block.address() + block.byteSize() + 1).reinterpret(1).set(JAVA_BYTE, 0, (byte) 7);
                MemoryMisuseException e = assertThrows(MemoryMisuseException.class, holder::close, holder::toString);
                assertEquals(MemoryMisuseException.Kind.HEAP_BUFFER_OVERFLOW, e.kind());
                assertEquals(List.of("quiet close"), ran, holder::toString);
                assertEquals(0, heap.stats().liveBlocks(), holder::toString);
            }
        }
    }

    /**
     * Bug: a cleanup action's exception carried the report of one damaged block, and that report
     * the next block's: the reports nested one level further down each.
     */
    @Test
    void reportsOfDamagedBlocksRideAlongACleanupActionsExceptionSideBySide() {
        try (Heap heap = Heap.builder().name("cleanup-and-damage").checkMode(CheckMode.FULL).build()) {
            Arena scope = heap.newScope();
            for (int i = 0; i < 2; i++) {
                MemorySegment block = scope.allocate(24);
                MemorySegment.ofAddress(block.address() + 30).reinterpret(1).set(JAVA_BYTE, 0, (byte) 7);
            }
            scope.allocate(24).reinterpret(8, scope, ignored -> {
                throw new IllegalArgumentException("cleanup");
            });
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, scope::close);
            Throwable[] reports = e.getSuppressed();
            assertEquals(2, reports.length, () -> Arrays.toString(reports));
            for (Throwable report : reports) {
                assertInstanceOf(MemoryMisuseException.class, report);
                assertEquals(0, report.getSuppressed().length, report::toString);
            }
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    /** An exception that takes no suppressed exceptions, as one made for speed often is. */
    private static final class WithoutSuppression extends RuntimeException {
        @java.io.Serial
        private static final long serialVersionUID = 1L;

        WithoutSuppression(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Bug: a cleanup action's exception made with suppression disabled dropped the report of a
     * damaged block the close found, so the damage went unreported (and the block was repaired).
     */
    @Test
    void aReportCarriesACleanupActionsExceptionThatTakesNoSuppressedOnes() {
        Heap heap = Heap.builder().name("no-suppression").checkMode(CheckMode.FULL).build();
        WithoutSuppression cleanup = new WithoutSuppression("cleanup");
        MemoryMisuseException report = assertThrows(MemoryMisuseException.class,
                overflowedScopeWhoseCleanupThrows(heap, cleanup)::close);
        assertEquals(MemoryMisuseException.Kind.HEAP_BUFFER_OVERFLOW, report.kind());
        assertArrayEquals(new Throwable[] {cleanup}, report.getSuppressed());
        assertEquals(0, heap.stats().liveBlocks());

        // The same through the heap's close, which closes the scope.
        overflowedScopeWhoseCleanupThrows(heap, cleanup);
        MemoryMisuseException throughHeap = assertThrows(MemoryMisuseException.class, heap::close);
        assertEquals(MemoryMisuseException.Kind.HEAP_BUFFER_OVERFLOW, throughHeap.kind());
        assertArrayEquals(new Throwable[] {cleanup}, throughHeap.getSuppressed());
        assertTrue(heap.isClosed());
    }

    /** @return a scope with a block written one byte past its redzone's start, and a cleanup action that throws {@code thrown} */
    private static Arena overflowedScopeWhoseCleanupThrows(Heap heap, RuntimeException thrown) {
        Arena scope = heap.newScope();
        MemorySegment block = scope.allocate(24);
        MemorySegment.ofAddress(block.address() + 30).reinterpret(1).set(JAVA_BYTE, 0, (byte) 7);
        scope.allocate(24).reinterpret(8, scope, ignored -> {
            throw thrown;
        });
        return scope;
    }

    /**
     * Bug: the heap's close threw the first cleanup action's exception and dropped the others, and
     * with them the reports of damaged blocks they carried.
     */
    @Test
    void theHeapsCloseThrowsTheFirstCleanupFailureWithTheOthersAndTheirReports() {
        Heap heap = Heap.builder().name("two-failures").checkMode(CheckMode.FULL).build();
        Arena first = heap.newScope();
        Arena second = heap.newScope();
        first.allocate(24).reinterpret(8, first, ignored -> {
            throw new IllegalArgumentException("first");
        });
        MemorySegment damaged = second.allocate(24);
        MemorySegment.ofAddress(damaged.address() + 25).reinterpret(1).set(JAVA_BYTE, 0, (byte) 7);
        second.allocate(24).reinterpret(8, second, ignored -> {
            throw new IllegalArgumentException("second");
        });
        // The heap closes its dependents in no promised order: either may be the first.
        IllegalArgumentException thrown = assertThrows(IllegalArgumentException.class, heap::close);
        Throwable other = Arrays.stream(thrown.getSuppressed()).filter(e -> e instanceof IllegalArgumentException)
                .findFirst().orElseThrow(() -> new AssertionError("the other cleanup's exception is missing", thrown));
        assertEquals(Set.of("first", "second"), Set.of(thrown.getMessage(), other.getMessage()));
        Throwable fromTheDamagedScope = thrown.getMessage().equals("second") ? thrown : other;
        assertTrue(Arrays.stream(fromTheDamagedScope.getSuppressed()).anyMatch(e -> e instanceof MemoryMisuseException),
                () -> "the damaged block's report rides along its scope's cleanup failure: " + thrown);
        assertTrue(heap.isClosed());
    }

    /** Bug: a cleanup action that threw a Throwable that is neither an Exception nor an Error left the heap open. */
    @Test
    void aThrowableFromACleanupActionStillClosesTheHeap() {
        Heap heap = Heap.builder().name("throwable").build();
        Arena scope = heap.newScope();
        Throwable plain = new Throwable("plain");
        scope.allocate(24).reinterpret(8, scope, ignored -> throwUnchecked(plain));
        assertEquals(plain, assertThrows(Throwable.class, heap::close));
        assertTrue(heap.isClosed());
        assertEquals(0, heap.stats().committedBytes());
    }

    /**
     * Bug: of two cleanup actions of one close that each closed the heap, the second got "already
     * closed" in the middle of its work, where closing its scope again was quiet.
     */
    @Test
    void everyCleanupActionThatClosesTheHeapDuringACloseClosesQuietly() {
        for (boolean byTheHeap : new boolean[] {false, true}) {
            Heap heap = Heap.builder().name("closes-heap-twice").build();
            Arena scope = heap.newScope();
            List<String> ran = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                int cleanup = i;
                scope.allocate(24).reinterpret(8, scope, ignored -> {
                    heap.close();
                    ran.add("cleanup " + cleanup);
                });
            }
            if (byTheHeap) {
                heap.close();
            } else {
                scope.close();
            }
            assertEquals(2, ran.size(), "closed by the heap: " + byTheHeap);
            assertTrue(heap.isClosed());
            assertThrows(IllegalStateException.class, heap::close, "a close of its own, after");
        }
    }

    /**
     * Bug: two scopes' cleanup actions that threw one and the same report (a cached one) made the
     * heap's close suppress it in itself, which threw IllegalArgumentException and left the heap open.
     */
    @Test
    void oneReportThrownByTwoCleanupActionsIsThrownOnceAndTheHeapCloses() {
        Heap heap = Heap.builder().name("same-report").build();
        MemoryMisuseException cached = new MemoryMisuseException(MemoryMisuseException.Kind.DOUBLE_FREE, 0, "cached");
        for (int i = 0; i < 2; i++) {
            Arena scope = heap.newScope();
            scope.allocate(24).reinterpret(8, scope, ignored -> {
                throw cached;
            });
        }
        assertEquals(cached, assertThrows(MemoryMisuseException.class, heap::close));
        assertTrue(heap.isClosed());
        assertEquals(0, heap.stats().committedBytes());
    }

    @SuppressWarnings("unchecked")
    private static <T extends Throwable> void throwUnchecked(Throwable thrown) throws T {
        throw (T) thrown;
    }

    /** Bug: a WrongThreadException a cleanup action threw was taken for a confined scope of another thread, and dropped. */
    @Test
    void aWrongThreadExceptionFromACleanupActionIsThrownByTheHeapsClose() {
        Heap heap = Heap.builder().name("wrong-thread").build();
        Arena scope = heap.newScope();
        scope.allocate(16).reinterpret(8, scope, ignored -> {
            throw new WrongThreadException("from the cleanup");
        });
        WrongThreadException thrown = assertThrows(WrongThreadException.class, heap::close);
        assertEquals("from the cleanup", thrown.getMessage());
        assertTrue(heap.isClosed());
    }
    /** Bug: a cleanup action that closed the heap during the heap's own close made that close throw "already closed". */
    @Test
    void aCleanupActionThatClosesTheHeapDuringItsCloseLetsItFinishQuietly() {
        Heap heap = Heap.builder().name("closes-heap").build();
        Arena scope = heap.newScope();
        heap.newScope().allocate(10);
        scope.allocate(64).reinterpret(8, scope, ignored -> heap.close());
        heap.close();
        assertTrue(heap.isClosed());
        assertEquals(0, heap.stats().committedBytes());
    }

    /** Bug: what a cleanup action threw was dropped when it was another closed scope's "already closed". */
    @Test
    void aCleanupActionThatUsesAnotherClosedScopeFailsTheHeapsClose() {
        Heap heap = Heap.builder().name("uses-closed").build();
        Arena closed = heap.newScope();
        closed.close();
        Arena scope = heap.newScope();
        scope.allocate(64).reinterpret(8, scope, ignored -> closed.allocate(8));
        IllegalStateException thrown = assertThrows(IllegalStateException.class, heap::close);
        assertTrue(thrown.getMessage().startsWith("already closed: this scope"), thrown.getMessage());
        assertTrue(heap.isClosed());
    }

    /**
     * Bug: a cleanup action allocating from the bump arena whose close runs it took a heap block for
     * a chunk the closed JDK arena could not record: the block leaked, and the JDK's bare "Already
     * closed" was thrown. A scope threw the same words.
     */
    @Test
    void aCleanupActionCannotAllocateFromTheArenaOrScopeThatIsClosing() {
        Heap heap = Heap.builder().name("allocates-while-closing").build();
        BumpArena arena = BumpArena.ofConfined(heap, 4096);
        arena.allocate(4000);
        arena.allocate(8).reinterpret(8, arena, ignored -> arena.allocate(3000));
        IllegalStateException fromArena = assertThrows(IllegalStateException.class, arena::close);
        assertTrue(fromArena.getMessage().startsWith("already closed: this bump arena"), fromArena.getMessage());
        assertTrue(arena.isClosed());
        assertEquals(0, heap.stats().liveBlocks());

        Arena scope = heap.newScope();
        scope.allocate(8).reinterpret(8, scope, ignored -> scope.allocate(100));
        IllegalStateException fromScope = assertThrows(IllegalStateException.class, scope::close);
        assertTrue(fromScope.getMessage().startsWith("already closed: this scope (its close() runs this call)"),
                fromScope.getMessage());
        assertEquals(0, heap.stats().liveBlocks());
        heap.close();
    }

    /**
     * Bug: a shared scope closed on one thread while another closed the heap could leave its blocks
     * live, reported as a leak of a scope "which was not closed", its close throwing "heap is
     * closed": the scope left the heap's list before freeing its blocks.
     */
    @Test
    void aSharedScopeClosedWhileItsHeapClosesFreesAllItsBlocks() throws Exception {
        for (int round = 0; round < 200; round++) {
            Heap heap = Heap.builder().name("race-" + round).checkMode(CheckMode.FULL).leakReportAtClose(false).build();
            Arena scope = heap.newSharedScope();
            for (int i = 0; i < 20; i++) {
                scope.allocate(64);
            }
            AtomicReference<Throwable> scopeFailure = new AtomicReference<>();
            java.util.concurrent.CountDownLatch start = new java.util.concurrent.CountDownLatch(1);
            Thread closer = new Thread(() -> {
                try {
                    start.await();
                    scope.close();
                } catch (IllegalStateException alreadyClosedByTheHeap) {
                    if (!alreadyClosedByTheHeap.getMessage().startsWith("already closed")) {
                        scopeFailure.set(alreadyClosedByTheHeap);
                    }
                } catch (Throwable e) {
                    scopeFailure.set(e);
                }
            });
            closer.start();
            start.countDown();
            heap.close();
            closer.join();
            assertNull(scopeFailure.get(), () -> "round " + scopeFailure.get());
            assertEquals(0, heap.stats().liveBlocks(), "round " + round);
        }
    }
    /**
     * Bug: a confined scope or bump arena closed by its thread while another thread closed the
     * heap was marked closed before its blocks were freed, so the heap unmapped them under the
     * frees: blocks left live, reported as a leak, and now and then a bare WrongThreadException
     * from the heap's close. A cleanup action's "already closed" for the holder running it failed
     * nothing either.
     */
    @Test
    void aConfinedScopeOrArenaClosedByItsThreadWhileItsHeapClosesFreesAllItsBlocks() throws Exception {
        for (int round = 0; round < 200; round++) {
            Heap heap = Heap.builder().name("confined-" + round).checkMode(CheckMode.FULL).leakReportAtClose(false).build();
            java.util.concurrent.CyclicBarrier both = new java.util.concurrent.CyclicBarrier(2);
            AtomicReference<Throwable> ownerFailure = new AtomicReference<>();
            boolean arena = round % 2 == 0;
            Thread owner = new Thread(() -> {
                try {
                    AutoCloseable holder;
                    if (arena) {
                        BumpArena bump = BumpArena.ofConfined(heap, 1024);
                        for (int i = 0; i < 20; i++) {
                            bump.allocate(900);
                        }
                        holder = bump;
                    } else {
                        Arena scope = heap.newScope();
                        for (int i = 0; i < 20; i++) {
                            scope.allocate(900);
                        }
                        holder = scope;
                    }
                    both.await();
                    holder.close();
                } catch (IllegalStateException closedByTheHeap) {
                    if (!closedByTheHeap.getMessage().startsWith("already closed")) {
                        ownerFailure.set(closedByTheHeap);
                    }
                } catch (Throwable e) {
                    ownerFailure.set(e);
                }
            });
            owner.start();
            both.await();
            try {
                heap.close();
            } catch (IllegalStateException refused) {
                assertTrue(refused.getMessage().contains("close these on their own threads first"), refused.getMessage());
            }
            owner.join();
            if (!heap.isClosed()) {
                heap.close();
            }
            assertNull(ownerFailure.get(), () -> "round " + ownerFailure.get());
            assertEquals(0, heap.stats().liveBlocks(), "round " + round);
        }
        Heap heap = Heap.builder().name("closing-itself").build();
        Arena scope = heap.newScope();
        scope.allocate(64).reinterpret(8, scope, ignored -> scope.allocate(100));
        IllegalStateException fromCleanup = assertThrows(IllegalStateException.class, heap::close);
        assertTrue(fromCleanup.getMessage().contains("its close() runs this call"), fromCleanup.getMessage());
        assertTrue(heap.isClosed());
    }
    /**
     * Bug: a confined arena its thread closed, the thread then ending, after the heap's close had
     * taken its list was closed again by the heap, whose close threw the arena's bare
     * WrongThreadException although the heap had closed.
     */
    @Test
    void anArenaItsThreadClosedAfterTheHeapsCloseTookItsListIsSkipped() throws Exception {
        Heap heap = Heap.builder().name("closed-meanwhile").build();
        java.util.concurrent.CountDownLatch made = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch closeIt = new java.util.concurrent.CountDownLatch(1);
        Thread owner = new Thread(() -> {
            BumpArena arena = BumpArena.ofConfined(heap);
            arena.allocate(64);
            made.countDown();
            try {
                closeIt.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            arena.close();
        });
        // Closed first by the heap: its cleanup lets the owner close its arena and end.
        Arena first = heap.newScope();
        owner.start();
        made.await();
        first.allocate(8).reinterpret(8, first, ignored -> {
            closeIt.countDown();
            try {
                owner.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        heap.close();
        assertTrue(heap.isClosed());
        assertEquals(0, heap.stats().liveBlocks());
    }
}
