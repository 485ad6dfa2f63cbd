package org.malloc4j;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class BumpArenaTest {
    private static final Heap HEAP = Heap.builder().name("bump-test").build();
    private static final long CHUNK = 1024;

    @AfterAll
    static void closeHeap() {
        HEAP.close();
    }

    private static long liveBlocks() {
        return HEAP.stats().liveBlocks();
    }

    private static void assertInvariant(BumpArena arena) {
        assertTrue(arena.usedBytes() + arena.wastedBytes() <= arena.heldBytes(), arena::toString);
    }

    // ---- allocation ----

    @Test
    void aBumpArenaOnAClosedHeapCannotBeMade() {
        Heap closed = Heap.builder().name("closed").build();
        closed.close();
        IllegalStateException error = assertThrows(IllegalStateException.class, () -> BumpArena.ofConfined(closed));
        assertTrue(error.getMessage().contains("heap 'closed' is closed"), error.getMessage());
        assertThrows(IllegalStateException.class, () -> BumpArena.ofConfined(closed, 4096));
    }

    @Test
    void slicesHaveTheRequestedSizeAndAlignmentForEveryPowerOfTwo() {
        try (BumpArena arena = BumpArena.ofConfined(HEAP, CHUNK)) {
            List<MemorySegment> slices = new ArrayList<>();
            for (int shift = 0; shift <= 20; shift++) {
                long alignment = 1L << shift;
                for (long size : new long[] {0, 1, 3, 24, 100, 2000}) {
                    MemorySegment slice = arena.allocate(size, alignment);
                    assertEquals(size, slice.byteSize());
                    assertEquals(0, slice.address() % alignment, "alignment=" + alignment + ", size=" + size);
                    assertEquals(arena.scope(), slice.scope());
                    slice.fill((byte) slices.size());
                    slices.add(slice);
                    assertInvariant(arena);
                }
            }
            for (int i = 0; i < slices.size(); i++) {
                MemorySegment slice = slices.get(i);
                for (long offset = 0; offset < slice.byteSize(); offset++) {
                    assertEquals((byte) i, slice.get(JAVA_BYTE, offset), "slice " + i + " was overwritten");
                }
            }
        }
    }

    @Test
    void slicesFollowEachOtherInAChunk() {
        try (BumpArena arena = BumpArena.ofConfined(HEAP)) {
            MemorySegment a = arena.allocate(10, 1);
            MemorySegment b = arena.allocate(6, 1);
            MemorySegment c = arena.allocate(8, 8);
            assertEquals(a.address() + 10, b.address());
            assertEquals(a.address() + 16, c.address());
            assertEquals(24, arena.usedBytes());
            assertEquals(0, arena.wastedBytes());
            arena.allocate(1, 1);
            arena.allocate(8, 8);
            assertEquals(7, arena.wastedBytes());
        }
    }

    @Test
    void growsByChainingChunksAndCountsSkippedTailsAsWaste() {
        try (BumpArena arena = BumpArena.ofConfined(HEAP, CHUNK)) {
            for (int i = 0; i < 100; i++) {
                arena.allocate(100, 1);
            }
            assertEquals(10, arena.blockCount()); // 10 slices of 100 bytes a chunk
            assertEquals(10 * CHUNK, arena.heldBytes());
            assertEquals(100 * 100, arena.usedBytes());
            assertEquals(9 * 24, arena.wastedBytes()); // the tails of the 9 full chunks
        }
    }

    @Test
    void aRequestLargerThanAChunkGetsASideBlockAndTheChunkStaysCurrent() {
        try (BumpArena arena = BumpArena.ofConfined(HEAP, CHUNK)) {
            MemorySegment first = arena.allocate(100, 1);
            MemorySegment large = arena.allocate(5000, 64);
            MemorySegment next = arena.allocate(100, 1);
            assertEquals(5000, large.byteSize());
            assertEquals(0, large.address() % 64);
            assertEquals(first.address() + 100, next.address());
            assertEquals(2, arena.blockCount());
            assertEquals(5200, arena.usedBytes());
        }
    }

    @Test
    void ffmConveniencesWorkThroughABumpArena() {
        try (BumpArena arena = BumpArena.ofConfined(HEAP)) {
            assertEquals("bump", arena.allocateFrom("bump").getString(0));
            assertEquals(3, arena.allocateFrom(JAVA_LONG, 1, 2, 3).get(JAVA_LONG, 16));
        }
    }

    @Test
    void noMemoryIsTakenBeforeTheFirstAllocation() {
        long before = liveBlocks();
        try (BumpArena arena = BumpArena.ofConfined(HEAP)) {
            assertEquals(0, arena.heldBytes());
            assertEquals(before, liveBlocks());
        }
    }

    // ---- reset, mark, rewind ----

    @Test
    void resetKeepsEveryBlockAndHandsTheSameMemoryOutAgain() {
        try (BumpArena arena = BumpArena.ofConfined(HEAP, CHUNK)) {
            List<Long> firstPass = allocateSome(arena);
            long held = arena.heldBytes();
            long blocks = liveBlocks();
            arena.reset();
            assertEquals(0, arena.usedBytes());
            assertEquals(0, arena.wastedBytes());
            assertEquals(held, arena.heldBytes());
            assertEquals(firstPass, allocateSome(arena));
            assertEquals(held, arena.heldBytes());
            assertEquals(blocks, liveBlocks());
        }
    }

    private static List<Long> allocateSome(BumpArena arena) {
        List<Long> addresses = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            addresses.add(arena.allocate(100 + i, 1L << (i % 6)).address());
        }
        addresses.add(arena.allocate(3000, 16).address()); // a side block
        addresses.add(arena.allocate(10, 1).address());
        return addresses;
    }

    @Test
    void resetSideBlocksServeLaterLargeRequestsThatFit() {
        try (BumpArena arena = BumpArena.ofConfined(HEAP, CHUNK)) {
            long side = arena.allocate(5000, 16).address();
            long held = arena.heldBytes();
            arena.reset();
            assertEquals(side, arena.allocate(4000, 16).address());
            assertEquals(1, arena.blockCount());
            assertEquals(held - 4000, arena.wastedBytes());
        }
    }

    /**
     * A side block is its request rounded up to the next step of four per doubling, the heap's own
     * size-class spacing: within the size classes (up to 128 KiB) exactly the block {@code malloc}
     * would give, past them the same spacing; never 25 % over the request.
     */
    @Test
    void aSideBlockIsItsRequestRoundedUpToTheHeapsSizeClassSpacing() {
        long[][] sizes = {
                {1025, 1280}, {1500, 1536}, {5000, 5120}, {100_000, 112 * 1024}, {128 * 1024, 128 * 1024},
                {128 * 1024 + 1, 160 * 1024}, {163_937, 192 * 1024}, {(1 << 20) + 1, 1280 * 1024},
                {3 << 20, 3 << 20}};
        for (long[] size : sizes) {
            try (BumpArena arena = BumpArena.ofConfined(HEAP, CHUNK)) {
                MemorySegment slice = arena.allocate(size[0], 16);
                assertEquals(size[0], slice.byteSize());
                assertEquals(size[1], arena.heldBytes(), "a side block for " + size[0] + " bytes");
                assertTrue(arena.heldBytes() < size[0] * 5 / 4 + 1, "at most 25 % over " + size[0]);
                if (size[0] <= 128 * 1024) {
                    assertEquals(HEAP.goodSize(size[0]), arena.heldBytes(), "what malloc gives " + size[0]);
                }
                assertEquals(size[1] - size[0], arena.wastedBytes());
                assertInvariant(arena);
            }
        }
    }

    /**
     * Near the heap's limit a side block with room to grow may not fit where the request does: the
     * side block is then the request's size, and a refusal of that names the caller's size.
     */
    @Test
    void nearTheLimitASideBlockIsItsRequestAndARefusalNamesTheRequest() {
        try (Heap limited = Heap.builder().name("bump-limit").maxCommittedBytes(8L << 20).build();
                BumpArena arena = BumpArena.ofConfined(limited)) {
            arena.allocate(100);
            long request = (7L << 20) + 1;  // rounded to the spacing, 8 MiB: past the limit with the chunk
            MemorySegment slice = allocateFitting(arena, request);
            assertEquals(request, slice.byteSize());
            assertEquals(BumpArena.DEFAULT_CHUNK_BYTE_SIZE + request, arena.heldBytes());
            slice.fill((byte) 1);
            assertInvariant(arena);

            long tooMuch = 2L << 20;
            HeapExhaustedError refused = assertThrows(HeapExhaustedError.class, () -> arena.allocate(tooMuch, 16));
            assertEquals(tooMuch, refused.requestedBytes());
            assertTrue(refused.getMessage().contains("cannot allocate " + tooMuch + " bytes"), refused.getMessage());
            assertEquals(BumpArena.DEFAULT_CHUNK_BYTE_SIZE + request, arena.heldBytes());
        }
    }

    /**
     * A scratch arena whose large request creeps upward (the loop {@code mark()} is made for) reuses
     * the spare side block until the request outgrows its step, so it holds one block per step it
     * crosses, not one per request. Each block cost a heap block of its own, kept until close.
     */
    @Test
    void aMarkAllocateRewindLoopWhoseLargeRequestCreepsUpwardHoldsAFewSideBlocks() {
        try (BumpArena arena = BumpArena.ofConfined(HEAP)) {
            BumpArena.Mark mark = arena.mark();
            long largest = 0;
            for (int i = 0; i < 1000; i++) {
                long size = 100_000 + i * 64L;
                MemorySegment slice = arena.allocate(size, 16);
                assertEquals(size, slice.byteSize());
                assertEquals(0, slice.address() % 16);
                slice.fill((byte) i);
                assertEquals((byte) i, slice.get(JAVA_BYTE, 0));
                assertEquals((byte) i, slice.get(JAVA_BYTE, size - 1));
                assertInvariant(arena);
                largest = size;
                arena.rewind(mark);
            }
            // 112, 128, 160 and 192 KiB: the steps between 100,000 and 163,936 bytes.
            assertEquals(4, arena.blockCount(), arena::toString);
            assertEquals((112 + 128 + 160 + 192) * 1024, arena.heldBytes(), arena::toString);
            assertTrue(arena.heldBytes() < 4 * largest, arena::toString);
            assertEquals(0, arena.usedBytes());
        }
    }

    /**
     * The bound the class documentation gives for a creeping request: one side block per step of
     * the spacing crossed (four per doubling), together less than 6.5 times the largest of them.
     */
    @Test
    void aRequestCreepingOverTenDoublingsHoldsOneSideBlockPerStepOfTheSpacing() {
        try (BumpArena arena = BumpArena.ofConfined(HEAP, CHUNK)) {
            arena.allocate(10, 1); // a chunk, kept across the loop
            BumpArena.Mark mark = arena.mark();
            long first = 2 * CHUNK;
            long size = first;
            long largestBlock = 0;
            for (; size <= 1024 * first; size += size / 100 + 1) {
                long before = arena.heldBytes();
                MemorySegment slice = arena.allocate(size, 8);
                slice.fill((byte) 0x5A);
                assertEquals((byte) 0x5A, slice.get(JAVA_BYTE, size - 1));
                largestBlock = Math.max(largestBlock, arena.heldBytes() - before);
                assertInvariant(arena);
                arena.rewind(mark);
            }
            int sideBlocks = arena.blockCount() - 1;
            assertTrue(sideBlocks <= 4 * 10 + 1, "side blocks: " + sideBlocks);
            long sideBytes = arena.heldBytes() - CHUNK;
            assertTrue(sideBytes * 2 < 13 * largestBlock, "side bytes " + sideBytes + ", largest " + largestBlock);
            assertTrue(largestBlock < size * 5 / 4, "largest block " + largestBlock + " for up to " + size);
        }
    }

    /**
     * In {@link CheckMode#FULL} a side block is exactly its request, as every block of that mode is
     * (see {@link Heap#goodSize}), so the heap's redzone follows the slice and a write past its end
     * is reported at close.
     */
    @Test
    void inFullCheckModeASideBlockIsItsRequestSoAWritePastTheSliceIsReported() {
        try (Heap heap = Heap.builder().name("side-redzone").checkMode(CheckMode.FULL).build()) {
            BumpArena arena = BumpArena.ofConfined(heap, 256);
            MemorySegment slice = arena.allocate(1000, 16);
            assertEquals(1000, arena.heldBytes());
            assertEquals(0, arena.wastedBytes());
            MemorySegment.ofAddress(slice.address()).reinterpret(1001).set(JAVA_BYTE, 1000, (byte) 1);

            MemoryMisuseException e = assertThrows(MemoryMisuseException.class, arena::close);
            assertEquals(MemoryMisuseException.Kind.HEAP_BUFFER_OVERFLOW, e.kind());
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    @Test
    void rewindFreesWhatWasAllocatedAfterTheMark() {
        try (BumpArena arena = BumpArena.ofConfined(HEAP, CHUNK)) {
            arena.allocate(40, 8);
            BumpArena.Mark mark = arena.mark();
            long used = arena.usedBytes();
            long wasted = arena.wastedBytes();
            long firstAfterMark = arena.allocate(24, 8).address();
            for (int i = 0; i < 50; i++) {
                arena.allocate(100, 16);
            }
            arena.allocate(2000, 16);
            arena.rewind(mark);
            assertEquals(used, arena.usedBytes());
            assertEquals(wasted, arena.wastedBytes());
            assertEquals(firstAfterMark, arena.allocate(24, 8).address());
        }
    }

    @Test
    void aMarkStaysLiveAfterRewindingToIt() {
        try (BumpArena arena = BumpArena.ofConfined(HEAP)) {
            BumpArena.Mark mark = arena.mark();
            long first = arena.allocate(8, 8).address();
            arena.rewind(mark);
            arena.allocate(64, 8);
            arena.rewind(mark);
            assertEquals(first, arena.allocate(8, 8).address());
        }
    }

    @Test
    void theReadmeFrameLoopHoldsOneMarkHoweverLongItRuns() {
        try (BumpArena frame = BumpArena.ofConfined(HEAP, CHUNK)) {
            frame.allocate(40, 8); // kept across frames
            BumpArena.Mark first = frame.mark();
            frame.rewind(first);
            for (int i = 0; i < 100_000; i++) {
                BumpArena.Mark mark = frame.mark();
                assertSame(first, mark, "iteration " + i);
                frame.allocate(256, 64);
                frame.rewind(mark);
            }
            assertEquals(40, frame.usedBytes());
        }
    }

    @Test
    void aMarkAtTheNewestLiveMarksPositionIsThatMarkAndRewindsTheSame() {
        try (BumpArena arena = BumpArena.ofConfined(HEAP, CHUNK)) {
            BumpArena.Mark outer = arena.mark();
            assertSame(outer, arena.mark());
            long first = arena.allocate(24, 8).address();
            BumpArena.Mark inner = arena.mark();
            assertNotSame(outer, inner);
            arena.rewind(outer);
            assertSame(outer, arena.mark());
            assertThrows(IllegalArgumentException.class, () -> arena.rewind(inner));
            assertEquals(first, arena.allocate(24, 8).address());
            arena.rewind(outer);
            assertEquals(0, arena.usedBytes());
        }
    }

    @Test
    void nestedMarksRewindLikeAStack() {
        try (BumpArena arena = BumpArena.ofConfined(HEAP, CHUNK)) {
            BumpArena.Mark outer = arena.mark();
            long a = arena.allocate(100, 8).address();
            BumpArena.Mark inner = arena.mark();
            long b = arena.allocate(2000, 8).address(); // a side block
            arena.rewind(inner);
            assertEquals(b, arena.allocate(2000, 8).address()); // the spare side block again
            arena.rewind(outer);
            assertEquals(a, arena.allocate(100, 8).address());
            assertEquals(100, arena.usedBytes());
        }
    }

    @Test
    void rewindToAMarkTakenAfterTheMarkRewoundToThrowsIllegalArgumentException() {
        try (BumpArena arena = BumpArena.ofConfined(HEAP)) {
            BumpArena.Mark outer = arena.mark();
            arena.allocate(8, 8);
            BumpArena.Mark inner = arena.mark();
            arena.allocate(8, 8);
            arena.rewind(outer);
            arena.allocate(32, 8);
            long used = arena.usedBytes();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> arena.rewind(inner));
            assertTrue(e.getMessage().startsWith("stale mark"), e.getMessage());
            assertEquals(used, arena.usedBytes());
        }
    }

    @Test
    void rewindToAMarkTakenBeforeResetThrowsIllegalArgumentException() {
        try (BumpArena arena = BumpArena.ofConfined(HEAP)) {
            arena.allocate(8, 8);
            BumpArena.Mark mark = arena.mark();
            arena.allocate(8, 8);
            arena.reset();
            arena.allocate(100, 8);
            assertThrows(IllegalArgumentException.class, () -> arena.rewind(mark));
            assertEquals(100, arena.usedBytes());
        }
    }

    @Test
    void rewindToAnotherArenasMarkThrowsIllegalArgumentException() {
        try (BumpArena arena = BumpArena.ofConfined(HEAP); BumpArena other = BumpArena.ofConfined(HEAP)) {
            BumpArena.Mark foreign = other.mark();
            arena.allocate(8, 8);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> arena.rewind(foreign));
            assertTrue(e.getMessage().startsWith("mark belongs to another arena"), e.getMessage());
            assertEquals(8, arena.usedBytes());
        }
    }

    @Test
    void rewindToNullThrowsNullPointerException() {
        try (BumpArena arena = BumpArena.ofConfined(HEAP)) {
            assertThrows(NullPointerException.class, () -> arena.rewind(null));
        }
    }

    // ---- lifetime ----

    @Test
    void closeReturnsEveryChunkAndSideBlockToTheHeap() {
        long before = liveBlocks();
        BumpArena arena = BumpArena.ofConfined(HEAP, CHUNK);
        allocateSome(arena);
        assertTrue(liveBlocks() > before);
        arena.close();
        assertEquals(before, liveBlocks());
        assertTrue(arena.isClosed());
        assertEquals(0, arena.heldBytes());
    }

    /** A closed arena holds nothing, so it counts no bytes used or wasted either: used + wasted <= held holds. */
    @Test
    void aClosedArenaCountsNoUsedOrWastedBytes() {
        BumpArena arena = BumpArena.ofConfined(HEAP, CHUNK);
        arena.allocate(10, 1);
        arena.allocate(10, 64);
        arena.allocate(CHUNK * 2, 1);
        arena.close();
        assertEquals(0, arena.usedBytes());
        assertEquals(0, arena.wastedBytes());
        assertInvariant(arena);
    }

    /** A close that finds a chunk overflowed through a raw address reports it and still gives every block back. */
    @Test
    void aCloseThatFindsAnOverflowReportsItAndStillGivesEveryBlockBack() {
        try (Heap heap = Heap.builder().name("overflowed").checkMode(CheckMode.FULL).build()) {
            BumpArena arena = BumpArena.ofConfined(heap, 256);
            MemorySegment first = arena.allocate(256, 1);
            arena.allocate(256, 1);
            arena.allocate(1000, 1);
            MemorySegment.ofAddress(first.address()).reinterpret(257).set(JAVA_BYTE, 256, (byte) 1);

            MemoryMisuseException e = assertThrows(MemoryMisuseException.class, arena::close);
            assertEquals(MemoryMisuseException.Kind.HEAP_BUFFER_OVERFLOW, e.kind());
            assertTrue(arena.isClosed());
            assertEquals(0, heap.stats().liveBlocks());
            assertTrue(heap.leaks().isEmpty(), heap.leaks()::text);
        }
    }

    /** The heap's close reports the overflow its arena's close finds, once every block is back and the heap closed. */
    @Test
    void closingTheHeapReportsAnOverflowItsArenaFindsAndClosesAllTheSame() {
        Heap heap = Heap.builder().name("overflowed").checkMode(CheckMode.FULL).build();
        BumpArena arena = BumpArena.ofConfined(heap, 256);
        MemorySegment first = arena.allocate(256, 1);
        MemorySegment.ofAddress(first.address()).reinterpret(257).set(JAVA_BYTE, 256, (byte) 1);

        MemoryMisuseException e = assertThrows(MemoryMisuseException.class, heap::close);
        assertEquals(MemoryMisuseException.Kind.HEAP_BUFFER_OVERFLOW, e.kind());
        assertTrue(arena.isClosed());
        assertTrue(heap.isClosed());
        assertEquals(0, heap.stats().liveBlocks());
    }

    @Test
    void aSliceIsInaccessibleAfterTheArenaCloses() {
        BumpArena arena = BumpArena.ofConfined(HEAP);
        MemorySegment slice = arena.allocate(JAVA_LONG);
        MemorySegment side = arena.allocate(1 << 20, 8);
        arena.close();
        assertFalse(slice.scope().isAlive());
        assertThrows(IllegalStateException.class, () -> slice.get(JAVA_LONG, 0));
        assertThrows(IllegalStateException.class, () -> side.get(JAVA_LONG, 0));
    }

    @Test
    void everyOperationAfterCloseThrowsIllegalStateException() {
        BumpArena arena = BumpArena.ofConfined(HEAP);
        BumpArena.Mark mark = arena.mark();
        arena.close();
        assertThrows(IllegalStateException.class, () -> arena.allocate(8, 8));
        assertThrows(IllegalStateException.class, arena::mark);
        assertThrows(IllegalStateException.class, () -> arena.rewind(mark));
        assertThrows(IllegalStateException.class, arena::reset);
        assertThrows(IllegalStateException.class, arena::close);
    }

    @Test
    void everyOperationFromAnotherThreadThrowsWrongThreadException() throws Exception {
        try (BumpArena arena = BumpArena.ofConfined(HEAP)) {
            MemorySegment slice = arena.allocate(JAVA_LONG);
            BumpArena.Mark mark = arena.mark();
            long used = arena.usedBytes();
            assertInstanceOf(WrongThreadException.class, HeapScopeTest.thrownOnOtherThread(() -> arena.allocate(8, 8)));
            assertInstanceOf(WrongThreadException.class, HeapScopeTest.thrownOnOtherThread(arena::mark));
            assertInstanceOf(WrongThreadException.class, HeapScopeTest.thrownOnOtherThread(() -> arena.rewind(mark)));
            assertInstanceOf(WrongThreadException.class, HeapScopeTest.thrownOnOtherThread(arena::reset));
            assertInstanceOf(WrongThreadException.class, HeapScopeTest.thrownOnOtherThread(arena::close));
            assertInstanceOf(WrongThreadException.class,
                    HeapScopeTest.thrownOnOtherThread(() -> slice.get(JAVA_LONG, 0)));
            assertEquals(used, arena.usedBytes());
            assertFalse(arena.isClosed());
        }
    }

    // ---- bad input ----

    @Test
    void negativeSizeThrowsIllegalArgumentException() {
        try (BumpArena arena = BumpArena.ofConfined(HEAP)) {
            assertThrows(IllegalArgumentException.class, () -> arena.allocate(-1, 8));
            assertEquals(0, arena.usedBytes());
        }
    }

    @Test
    void alignmentThatIsNotAPositivePowerOfTwoThrowsIllegalArgumentException() {
        try (BumpArena arena = BumpArena.ofConfined(HEAP)) {
            for (long alignment : new long[] {0, -16, 3, 48, Long.MIN_VALUE}) {
                assertThrows(IllegalArgumentException.class, () -> arena.allocate(8, alignment));
            }
            assertEquals(0, arena.heldBytes());
        }
    }

    @Test
    void chunkSizeThatIsNotPositiveThrowsIllegalArgumentException() {
        assertThrows(IllegalArgumentException.class, () -> BumpArena.ofConfined(HEAP, 0));
        assertThrows(IllegalArgumentException.class, () -> BumpArena.ofConfined(HEAP, -1));
    }

    @Test
    void chunkSizeLargerThanTheLargestBlockThrowsIllegalArgumentExceptionNamingTheBound() {
        long liveBefore = liveBlocks();
        for (long tooLarge : new long[] {Heap.MAX_BLOCK_BYTE_SIZE + 1, 1L << 50, Long.MAX_VALUE}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> BumpArena.ofConfined(HEAP, tooLarge));
            assertEquals("chunkByteSize must be at most 70368744177664 bytes (Heap.MAX_BLOCK_BYTE_SIZE), the largest "
                    + "block a heap hands out: chunkByteSize=" + tooLarge, e.getMessage());
        }
        // Nothing was attached or taken: the heap closes and allocates as before.
        assertEquals(liveBefore, liveBlocks());
        try (BumpArena largest = BumpArena.ofConfined(HEAP, Heap.MAX_BLOCK_BYTE_SIZE);
                BumpArena usable = BumpArena.ofConfined(HEAP, CHUNK)) {
            assertEquals(Heap.MAX_BLOCK_BYTE_SIZE, largest.chunkByteSize());
            assertEquals(64, usable.allocate(64, 8).byteSize());
        }
    }

    @Test
    void nullHeapThrowsNullPointerException() {
        assertThrows(NullPointerException.class, () -> BumpArena.ofConfined(null));
    }

    @Test
    void exhaustionThrowsHeapExhaustedErrorAndChangesNothing() {
        try (Heap small = Heap.builder().name("small").maxCommittedBytes(1 << 20).build();
                BumpArena arena = BumpArena.ofConfined(small, CHUNK)) {
            arena.allocate(100, 8);
            long held = arena.heldBytes();
            assertThrows(HeapExhaustedError.class, () -> arena.allocate(8 << 20, 8));
            assertEquals(100, arena.usedBytes());
            assertEquals(held, arena.heldBytes());
            assertEquals(100, arena.allocate(100, 8).byteSize());
        }
    }

    @Test
    void closingTheHeapClosesTheArenaFirst() {
        Heap heap = Heap.builder().name("closing").build();
        BumpArena arena = BumpArena.ofConfined(heap);
        MemorySegment slice = arena.allocate(100, 8);
        heap.close();
        assertTrue(arena.isClosed());
        assertThrows(IllegalStateException.class, () -> slice.get(JAVA_BYTE, 0));
        assertThrows(IllegalStateException.class, () -> arena.allocate(1 << 20, 8));
        assertThrows(IllegalStateException.class, arena::close);
    }

    // ---- property: live slices never overlap, whatever the mix of operations ----

    record Op(int kind, long size, int alignmentShift) {
    }

    @Provide
    Arbitrary<List<Op>> operations() {
        Arbitrary<Op> op = Combinators.combine(
                Arbitraries.integers().between(0, 9),
                Arbitraries.longs().between(0, 3000),
                Arbitraries.integers().between(0, 12)).as(Op::new);
        return op.list().ofMaxSize(120);
    }

    /**
     * Random allocate / mark / rewind / reset sequences: every live slice (allocated since the last
     * reset and not rewound past) keeps its own bytes, and the accounting holds.
     */
    @Property(tries = 60)
    void liveSlicesKeepTheirContentsAcrossMarksRewindsAndResets(@ForAll("operations") List<Op> ops) {
        Heap heap = Heap.global();
        long before = heap.stats().liveBlocks();
        record Live(MemorySegment slice, byte fill) {
        }
        record Frame(BumpArena.Mark mark, int liveCount, long usedBytes) {
        }
        try (BumpArena arena = BumpArena.ofConfined(heap, 2048)) {
            List<Live> live = new ArrayList<>();
            List<Frame> frames = new ArrayList<>();
            byte fill = 0;
            for (Op op : ops) {
                if (op.kind() <= 5) {
                    long alignment = 1L << op.alignmentShift();
                    MemorySegment slice = arena.allocate(op.size(), alignment);
                    assertEquals(0, slice.address() % alignment);
                    slice.fill(++fill);
                    live.add(new Live(slice, fill));
                } else if (op.kind() <= 7) {
                    frames.add(new Frame(arena.mark(), live.size(), arena.usedBytes()));
                } else if (op.kind() == 8 && !frames.isEmpty()) {
                    int target = (int) (op.size() % frames.size());
                    Frame frame = frames.get(target);
                    arena.rewind(frame.mark());
                    frames.subList(target + 1, frames.size()).clear();
                    live.subList(frame.liveCount(), live.size()).clear();
                    assertEquals(frame.usedBytes(), arena.usedBytes());
                } else if (op.kind() == 9 && op.size() % 4 == 0) {
                    arena.reset();
                    frames.clear();
                    live.clear();
                }
                assertInvariant(arena);
            }
            long used = 0;
            for (Live l : live) {
                used += l.slice().byteSize();
                for (long offset = 0; offset < l.slice().byteSize(); offset++) {
                    assertEquals(l.fill(), l.slice().get(JAVA_BYTE, offset));
                }
            }
            assertEquals(used, arena.usedBytes());
        }
        assertEquals(before, heap.stats().liveBlocks());
    }

    // ---- property: marks go stale exactly as documented, and rewinding restores the position ----

    record MarkOp(int kind, int pick, long size, int alignmentShift) {
    }

    @Provide
    Arbitrary<List<MarkOp>> markOperations() {
        Arbitrary<MarkOp> op = Combinators.combine(
                Arbitraries.integers().between(0, 20),
                Arbitraries.integers().between(0, 1000),
                Arbitraries.longs().between(1, 700),
                Arbitraries.integers().between(0, 7)).as(MarkOp::new);
        return op.list().ofMaxSize(150);
    }

    /**
     * Random mark / allocate / rewind / reset sequences against a model of the documented rules: a
     * mark is live until a reset or a rewind to a mark taken before it; rewinding to a live mark
     * returns to its position (the same next slice, the same counts); rewinding to a stale or
     * foreign mark throws and changes nothing; and {@code mark()} at the newest live mark's
     * position returns that mark, so live marks never pile up at one position.
     */
    @Property(tries = 200)
    void marksGoStaleAsDocumentedAndRewindRestoresThePosition(@ForAll("markOperations") List<MarkOp> ops) {
        final class Taken {
            final BumpArena.Mark mark;
            final long usedBytes;
            final long wastedBytes;
            final int liveSlices;
            boolean live = true;
            long nextSize = -1;
            long nextAlignment;
            long nextAddress;

            Taken(BumpArena.Mark mark, long usedBytes, long wastedBytes, int liveSlices) {
                this.mark = mark;
                this.usedBytes = usedBytes;
                this.wastedBytes = wastedBytes;
                this.liveSlices = liveSlices;
            }
        }
        long chunk = 512;
        Heap heap = Heap.global(); // jqwik runs properties after JUnit closed HEAP
        try (BumpArena arena = BumpArena.ofConfined(heap, chunk); BumpArena other = BumpArena.ofConfined(heap)) {
            List<Taken> taken = new ArrayList<>();
            List<Taken> liveMarks = new ArrayList<>();
            List<MemorySegment> liveSlices = new ArrayList<>();
            Taken at = null; // the newest live mark, while the arena is at its position
            for (MarkOp op : ops) {
                long used = arena.usedBytes();
                long wasted = arena.wastedBytes();
                if (op.kind() <= 8) {
                    long alignment = 1L << op.alignmentShift();
                    MemorySegment slice = arena.allocate(op.size(), alignment);
                    assertEquals(0, slice.address() % alignment);
                    for (MemorySegment earlier : liveSlices) {
                        assertTrue(slice.address() + slice.byteSize() <= earlier.address()
                                || earlier.address() + earlier.byteSize() <= slice.address(), "overlap");
                    }
                    if (at != null && op.size() + alignment <= chunk) { // from a chunk, not a side block
                        if (at.nextSize < 0) {
                            at.nextSize = op.size();
                            at.nextAlignment = alignment;
                            at.nextAddress = slice.address();
                        } else if (at.nextSize == op.size() && at.nextAlignment == alignment) {
                            assertEquals(at.nextAddress, slice.address(), "first slice after a rewind");
                        }
                    }
                    liveSlices.add(slice);
                    at = null;
                } else if (op.kind() <= 12) {
                    BumpArena.Mark mark = arena.mark();
                    if (at != null) {
                        assertSame(at.mark, mark, "a mark at the newest live mark's position");
                    } else {
                        for (Taken t : taken) {
                            assertNotSame(t.mark, mark, "a mark away from the newest live mark's position");
                        }
                        at = new Taken(mark, used, wasted, liveSlices.size());
                        taken.add(at);
                        liveMarks.add(at);
                    }
                } else if (op.kind() <= 18 && !taken.isEmpty()) {
                    Taken target = taken.get(op.pick() % taken.size());
                    if (target.live) {
                        arena.rewind(target.mark);
                        List<Taken> above = liveMarks.subList(liveMarks.indexOf(target) + 1, liveMarks.size());
                        above.forEach(t -> t.live = false);
                        above.clear();
                        liveSlices.subList(target.liveSlices, liveSlices.size()).clear();
                        assertEquals(target.usedBytes, arena.usedBytes());
                        assertEquals(target.wastedBytes, arena.wastedBytes());
                        at = target;
                    } else {
                        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                                () -> arena.rewind(target.mark));
                        assertTrue(e.getMessage().startsWith("stale mark"), e.getMessage());
                        assertEquals(used, arena.usedBytes());
                        assertEquals(wasted, arena.wastedBytes());
                    }
                } else if (op.kind() == 19) {
                    BumpArena.Mark foreign = other.mark();
                    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                            () -> arena.rewind(foreign));
                    assertTrue(e.getMessage().startsWith("mark belongs to another arena"), e.getMessage());
                    assertEquals(used, arena.usedBytes());
                    assertEquals(wasted, arena.wastedBytes());
                } else if (op.kind() == 20 && op.pick() % 3 == 0) {
                    arena.reset();
                    taken.forEach(t -> t.live = false);
                    liveMarks.clear();
                    liveSlices.clear();
                    at = null;
                }
                assertEquals(liveSlices.stream().mapToLong(MemorySegment::byteSize).sum(), arena.usedBytes());
                assertInvariant(arena);
            }
        }
    }

    /**
     * {@code arena.allocate(byteSize, 16)} of a slice that must fit: a refusal fails the test here,
     * not thrown on, as JUnit takes an {@link OutOfMemoryError} for the end of the run.
     */
    static MemorySegment allocateFitting(BumpArena arena, long byteSize) {
        try {
            return arena.allocate(byteSize, 16);
        } catch (HeapExhaustedError e) {
            throw new AssertionError("refused a request that fits: " + e.getMessage());
        }
    }
}
