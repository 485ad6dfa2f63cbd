package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.malloc4j.MemoryMisuseException.Kind.BAD_FREE;
import static org.malloc4j.MemoryMisuseException.Kind.DOUBLE_FREE;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The contract of {@link Heap} as its Javadoc states it: one test per {@code @throws} clause, and the
 * edge cases the class documentation chooses.
 *
 * <p>Every heap here has a purge delay of an hour, so no purge runs in the background and a stats
 * snapshot taken before a call can be compared with one taken after it.
 */
class HeapContractTest {
    static final long KIB = 1024;
    static final long MIB = 1024 * KIB;
    static final Duration NO_BACKGROUND_PURGE = Duration.ofHours(1);

    /** A request size in each tier the Javadoc names. */
    enum Tier {
        ZERO(0), SMALL(100), LARGEST_SMALL(8 * KIB), MEDIUM(100_000), LARGE(MIB), HUGE(20 * MIB);

        final long byteSize;

        Tier(long byteSize) {
            this.byteSize = byteSize;
        }
    }

    /** The members that take a block and must reject an address that is not a live block's start. */
    enum BlockCall {
        FREE(heap -> address -> heap.free(MemorySegment.ofAddress(address))),
        FREE_ADDRESS(heap -> heap::freeAddress),
        REALLOC(heap -> address -> heap.realloc(MemorySegment.ofAddress(address), 64)),
        TRY_REALLOC(heap -> address -> heap.tryRealloc(MemorySegment.ofAddress(address), 64)),
        REALLOC_ADDRESS(heap -> address -> heap.reallocAddress(address, 64)),
        USABLE_SIZE(heap -> address -> heap.usableSize(MemorySegment.ofAddress(address))),
        USABLE_SIZE_OF_ADDRESS(heap -> address -> heap.usableSize(address));

        private final java.util.function.Function<Heap, java.util.function.LongConsumer> call;

        BlockCall(java.util.function.Function<Heap, java.util.function.LongConsumer> call) {
            this.call = call;
        }

        void on(Heap heap, long address) {
            call.apply(heap).accept(address);
        }
    }

    Heap heap;

    @BeforeEach
    void makeHeap() {
        heap = Heap.builder().name("contract").purgeDelay(NO_BACKGROUND_PURGE).build();
    }

    @AfterEach
    void closeHeap() {
        if (!heap.isClosed()) {
            heap.close();
        }
    }

    static MemoryMisuseException misuse(Executable call) {
        return assertThrows(MemoryMisuseException.class, call);
    }

    static Stream<Arguments> everyCallOnEveryTier(Tier... tiers) {
        return Stream.of(tiers).flatMap(tier -> Stream.of(BlockCall.values()).map(call -> Arguments.of(tier, call)));
    }

    /** Asserts that {@code call} throws misuse of {@code kind} and changes nothing the stats show. */
    void assertMisuseChangesNothing(MemoryMisuseException.Kind kind, long address, BlockCall call) {
        boolean query = call == BlockCall.USABLE_SIZE || call == BlockCall.USABLE_SIZE_OF_ADDRESS;
        // ASan names a bad pointer given to malloc_usable_size apart from a bad free.
        String name = query && kind == MemoryMisuseException.Kind.BAD_FREE ? "bad-malloc_usable_size" : kind.asanName();
        HeapStats before = heap.stats();
        MemoryMisuseException e = misuse(() -> call.on(heap, address));
        assertAll(
                () -> assertEquals(kind, e.kind(), e.getMessage()),
                () -> assertEquals(address, e.address()),
                () -> assertTrue(e.getMessage().contains("SUMMARY: malloc4j: " + name + " "), e.getMessage()),
                () -> assertTrue(e.getMessage().contains(Long.toHexString(address)), e.getMessage()),
                () -> assertEquals(before, heap.stats(), "the failed call changed the heap's counters"));
    }

    @Nested
    class IllegalArguments {
        @Test
        void mallocRejectsANegativeSize() {
            assertThrows(IllegalArgumentException.class, () -> heap.malloc(-1));
            assertThrows(IllegalArgumentException.class, () -> heap.malloc(Long.MIN_VALUE));
        }

        @Test
        void tryMallocRejectsANegativeSize() {
            assertThrows(IllegalArgumentException.class, () -> heap.tryMalloc(-1));
        }

        @Test
        void mallocAddressRejectsANegativeSize() {
            assertThrows(IllegalArgumentException.class, () -> heap.mallocAddress(-1));
        }

        @Test
        void callocRejectsANegativeCountOrElementSize() {
            assertThrows(IllegalArgumentException.class, () -> heap.calloc(-1, 8));
            assertThrows(IllegalArgumentException.class, () -> heap.calloc(8, -1));
            assertThrows(IllegalArgumentException.class, () -> heap.tryCalloc(-1, 8));
            assertThrows(IllegalArgumentException.class, () -> heap.tryCalloc(8, -1));
        }

        @ParameterizedTest
        @MethodSource("org.malloc4j.HeapContractTest#overflowingProducts")
        void callocRejectsACountTimesSizeThatOverflowsALong(long count, long byteSize) {
            assertThrows(IllegalArgumentException.class, () -> heap.calloc(count, byteSize));
            assertThrows(IllegalArgumentException.class, () -> heap.tryCalloc(count, byteSize));
            assertEquals(0, heap.stats().mallocCount());
        }

        @Test
        void reallocRejectsANegativeSizeAndKeepsTheBlock() {
            MemorySegment block = heap.malloc(32);
            assertEquals("newByteSize must not be negative: -1",
                    assertThrows(IllegalArgumentException.class, () -> heap.realloc(block, -1)).getMessage());
            assertThrows(IllegalArgumentException.class, () -> heap.tryRealloc(block, -1));
            assertThrows(IllegalArgumentException.class, () -> heap.reallocAddress(block.address(), -1));
            // A realloc of NULL mallocs, yet names the size by the realloc's parameter.
            assertEquals("newByteSize must not be negative: -1", assertThrows(IllegalArgumentException.class,
                    () -> heap.realloc(MemorySegment.NULL, -1)).getMessage());
            assertEquals("newByteSize must not be negative: -1", assertThrows(IllegalArgumentException.class,
                    () -> heap.reallocAddress(0, -1)).getMessage());
            assertEquals(1, heap.stats().liveBlocks());
            heap.free(block);
        }

        @ParameterizedTest
        @EnumSource(CheckMode.class)
        void aReallocOfNullNamesItsOwnParameterInEveryMode(CheckMode mode) {
            try (Heap checked = Heap.builder().name("modes").checkMode(mode).build()) {
                assertEquals("newByteSize must not be negative: -1", assertThrows(IllegalArgumentException.class,
                        () -> checked.reallocAddress(0, -1)).getMessage());
                assertEquals(0, checked.stats().mallocCount());
            }
        }

        @ParameterizedTest
        @ValueSource(longs = {0, -1, -16, 3, 24, 48, 1000, Long.MIN_VALUE, Long.MAX_VALUE})
        void mallocAlignedRejectsAnAlignmentThatIsNotAPositivePowerOfTwo(long byteAlignment) {
            assertThrows(IllegalArgumentException.class, () -> heap.mallocAligned(64, byteAlignment));
            assertThrows(IllegalArgumentException.class, () -> heap.allocate(64, byteAlignment));
            assertEquals(0, heap.stats().mallocCount());
        }

        @Test
        void mallocAlignedRejectsANegativeSize() {
            assertThrows(IllegalArgumentException.class, () -> heap.mallocAligned(-1, 16));
            assertThrows(IllegalArgumentException.class, () -> heap.mallocAligned(-1, 4096));
            assertThrows(IllegalArgumentException.class, () -> heap.mallocAligned(-1, 1 << 20));
        }

        @Test
        void goodSizeRejectsANegativeSize() {
            assertThrows(IllegalArgumentException.class, () -> heap.goodSize(-1));
        }

        @Test
        void theBuilderRejectsWhatItsJavadocRejects() {
            assertThrows(NullPointerException.class, () -> Heap.builder().name(null));
            assertThrows(IllegalArgumentException.class, () -> Heap.builder().maxCommittedBytes(0));
            assertThrows(IllegalArgumentException.class, () -> Heap.builder().maxCommittedBytes(-1));
            assertThrows(IllegalArgumentException.class, () -> Heap.builder().purgeDelay(Duration.ofMillis(-1)));
            assertThrows(NullPointerException.class, () -> Heap.builder().purgeDelay(null));
        }

        @Test
        void aNullBlockThrowsNullPointerExceptionNamingItAndChangesNothing() {
            HeapStats before = heap.stats();
            for (Executable call : List.<Executable>of(() -> heap.free(null), () -> heap.realloc(null, 8),
                    () -> heap.tryRealloc(null, 8), () -> heap.usableSize((MemorySegment) null))) {
                assertEquals("block", assertThrows(NullPointerException.class, call).getMessage());
            }
            assertEquals(before, heap.stats());
        }

        @Test
        void theBuilderNamesTheArgumentThatIsNull() {
            assertEquals("name", assertThrows(NullPointerException.class, () -> Heap.builder().name(null)).getMessage());
            assertEquals("purgeDelay",
                    assertThrows(NullPointerException.class, () -> Heap.builder().purgeDelay(null)).getMessage());
            assertEquals("checkMode",
                    assertThrows(NullPointerException.class, () -> Heap.builder().checkMode(null)).getMessage());
            assertEquals("faultInjection",
                    assertThrows(NullPointerException.class, () -> Heap.builder().faultInjection(null)).getMessage());
        }
    }

    static Stream<Arguments> overflowingProducts() {
        return Stream.of(
                Arguments.of(Long.MAX_VALUE, 2),
                Arguments.of(2, Long.MAX_VALUE),
                Arguments.of(1L << 32, 1L << 31),
                Arguments.of(1L << 62, 4),
                Arguments.of(Long.MAX_VALUE, Long.MAX_VALUE));
    }

    @Nested
    class Misuse {
        static Stream<Arguments> blocksOfPagesAndOfLargeBlocks() {
            return everyCallOnEveryTier(Tier.ZERO, Tier.SMALL, Tier.LARGEST_SMALL, Tier.MEDIUM, Tier.LARGE);
        }

        static Stream<Arguments> blocksOfEveryTier() {
            return everyCallOnEveryTier(Tier.values());
        }

        /** free and realloc of a freed block are double frees (as ASan names them), usableSize a use after free. */
        @ParameterizedTest(name = "{1} of a freed {0} block")
        @MethodSource("blocksOfPagesAndOfLargeBlocks")
        void aFreedBlockIsADoubleFreeOrAUseAfterFree(Tier tier, BlockCall call) {
            MemorySegment block = heap.malloc(tier.byteSize);
            heap.free(block);
            boolean freeing = call != BlockCall.USABLE_SIZE && call != BlockCall.USABLE_SIZE_OF_ADDRESS;
            assertMisuseChangesNothing(freeing ? DOUBLE_FREE : MemoryMisuseException.Kind.USE_AFTER_FREE,
                    block.address(), call);
            assertHeapStillServes();
        }

        /** What every mode knows of a freed block asked its usable size, it words the same: title and summary. */
        @ParameterizedTest
        @EnumSource(CheckMode.class)
        void usableSizeOfAFreedBlockIsTitledAlikeInEveryMode(CheckMode mode) {
            // Sampling one in one, SAMPLED checks the block as FULL does; FAST stands for its unsampled ones.
            try (Heap any = Heap.builder().name("freed-" + mode).checkMode(mode).sampleInterval(1).build()) {
                for (Tier tier : List.of(Tier.SMALL, Tier.LARGE)) {
                    MemorySegment block = any.malloc(tier.byteSize);
                    any.free(block);
                    for (Executable call : List.<Executable>of(() -> any.usableSize(block),
                            () -> any.usableSize(block.address()))) {
                        MemoryMisuseException e = misuse(call);
                        String report = e.getMessage();
                        assertEquals(MemoryMisuseException.Kind.USE_AFTER_FREE, e.kind(), report);
                        assertTrue(report.startsWith("ERROR: malloc4j: heap-use-after-free on address 0x"
                                + Long.toHexString(block.address()) + " (usableSize) in thread \""
                                + Thread.currentThread().getName() + "\"\n"), mode + ": " + report);
                        String summary = report.substring(report.lastIndexOf('\n') + 1);
                        assertTrue(summary.startsWith("SUMMARY: malloc4j: heap-use-after-free ")
                                && summary.endsWith(" in heap 'freed-" + mode + "'"), mode + ": " + report);
                    }
                }
            }
        }

        @Test
        void aHugeBlockFreedTwiceIsReportedAsADoubleFree() {
            MemorySegment block = heap.malloc(Tier.HUGE.byteSize);
            heap.free(block);
            MemoryMisuseException e = misuse(() -> heap.free(block));
            assertEquals(DOUBLE_FREE, e.kind(), e.getMessage());
        }

        @ParameterizedTest(name = "{1} of an address inside a {0} block")
        @MethodSource("blocksOfEveryTier")
        void anInteriorPointerIsABadFree(Tier tier, BlockCall call) {
            MemorySegment block = heap.malloc(tier.byteSize);
            assertMisuseChangesNothing(BAD_FREE, block.address() + 8, call);
            assertEquals(goodSize(tier.byteSize), heap.usableSize(block), "the block is still live");
            heap.free(block);
            assertHeapStillServes();
        }

        @ParameterizedTest
        @EnumSource(BlockCall.class)
        void foreignMemoryIsABadFree(BlockCall call) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment foreign = arena.allocate(64, 16);
                assertMisuseChangesNothing(BAD_FREE, foreign.address(), call);
            }
            assertHeapStillServes();
        }

        @ParameterizedTest
        @EnumSource(BlockCall.class)
        void anAddressOutsideTheUserAddressSpaceIsABadFree(BlockCall call) {
            assertMisuseChangesNothing(BAD_FREE, -4096, call);
        }

        @ParameterizedTest(name = "{1} of a {0} block of another heap")
        @MethodSource("blocksOfEveryTier")
        void aBlockOfAnotherHeapIsABadFree(Tier tier, BlockCall call) {
            try (Heap other = Heap.builder().name("other").purgeDelay(NO_BACKGROUND_PURGE).build()) {
                MemorySegment theirs = other.malloc(tier.byteSize);
                assertMisuseChangesNothing(BAD_FREE, theirs.address(), call);
                assertTrue(misuse(() -> call.on(heap, theirs.address())).getMessage().contains("'other'"),
                        "the report names the heap the block belongs to");
                assertEquals(1, other.stats().liveBlocks());
                other.free(theirs);
                assertEquals(0, other.stats().liveBlocks());
            }
        }

        @ParameterizedTest
        @EnumSource(BlockCall.class)
        void theBlockSlotAfterTheOnlyBlockOfAPageIsABadFree(BlockCall call) {
            MemorySegment only = heap.malloc(16);
            assertMisuseChangesNothing(BAD_FREE, only.address() + 16, call);
            heap.free(only);
        }

        @ParameterizedTest
        @EnumSource(BlockCall.class)
        void anAddressInTheHeapsReservationThatNoPageCoversIsABadFree(BlockCall call) {
            MemorySegment first = heap.malloc(16);
            // A fresh heap's first block starts its first 32 MiB region; 4 MiB further on is no page.
            assertMisuseChangesNothing(BAD_FREE, first.address() + 4 * MIB, call);
            heap.free(first);
        }

        @ParameterizedTest
        @EnumSource(BlockCall.class)
        void anAddressInTheSpanOfAFailedLargeAllocationIsABadFree(BlockCall call) {
            try (Heap limited = Heap.builder().maxCommittedBytes(MIB).purgeDelay(NO_BACKGROUND_PURGE).build()) {
                MemorySegment first = limited.malloc(16);
                assertEquals(MemorySegment.NULL, limited.tryMalloc(2 * MIB));
                // The failed request took the slices after the first block's 64 KiB page, then gave up.
                long inFailedSpan = first.address() + 64 * KIB;
                Throwable thrown = assertThrows(Throwable.class, () -> call.on(limited, inFailedSpan));
                MemoryMisuseException e = assertInstanceOf(MemoryMisuseException.class, thrown,
                        "an address the heap never handed out must be a BAD_FREE, not " + thrown);
                assertEquals(BAD_FREE, e.kind());
            }
        }

        @Test
        void aZeroLengthBlockFreedTwiceIsADoubleFree() {
            MemorySegment empty = heap.malloc(0);
            heap.free(empty);
            assertEquals(DOUBLE_FREE, misuse(() -> heap.free(empty)).kind());
        }

        @Test
        void aBlockFreedByReallocToZeroIsADoubleFreeAfterwards() {
            MemorySegment block = heap.malloc(64);
            heap.realloc(block, 0);
            assertEquals(DOUBLE_FREE, misuse(() -> heap.free(block)).kind());
        }

        @Test
        void aBlockLeftBehindByAMovingReallocIsADoubleFreeAfterwards() {
            MemorySegment block = heap.malloc(64);
            MemorySegment moved = heap.realloc(block, 64 * KIB);
            assertNotEquals(block.address(), moved.address());
            assertEquals(DOUBLE_FREE, misuse(() -> heap.free(block)).kind());
            heap.free(moved);
        }

        @Test
        void theReportFollowsAddressSanitizersLayout() {
            MemorySegment block = heap.malloc(48);
            heap.free(block);
            String report = misuse(() -> heap.free(block)).getMessage();
            assertTrue(report.startsWith("ERROR: malloc4j: attempting double-free on 0x"
                    + Long.toHexString(block.address())), report);
            assertTrue(report.contains("SUMMARY: malloc4j: double-free in heap 'contract'"), report);
            assertTrue(report.contains(Thread.currentThread().getName()), report);
        }

        void assertHeapStillServes() {
            MemorySegment block = heap.malloc(200);
            Patterns.fill(block, 7);
            assertEquals(-1, Patterns.firstMismatch(block, 7, 200));
            heap.free(block);
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    static Stream<Arguments> callsOnAClosedHeap() {
        List<Arguments> calls = new ArrayList<>();
        add(calls, "malloc", (h, b) -> h.malloc(16));
        add(calls, "malloc of a large block", (h, b) -> h.malloc(MIB));
        add(calls, "tryMalloc", (h, b) -> h.tryMalloc(16));
        add(calls, "mallocAddress", (h, b) -> h.mallocAddress(16));
        add(calls, "calloc", (h, b) -> h.calloc(2, 8));
        add(calls, "tryCalloc", (h, b) -> h.tryCalloc(2, 8));
        add(calls, "mallocAligned", (h, b) -> h.mallocAligned(16, 64));
        add(calls, "allocate", (h, b) -> h.allocate(16, 8));
        add(calls, "realloc", (h, b) -> h.realloc(b, 100));
        add(calls, "realloc of NULL", (h, b) -> h.realloc(MemorySegment.NULL, 100));
        add(calls, "tryRealloc", (h, b) -> h.tryRealloc(b, 100));
        add(calls, "reallocAddress", (h, b) -> h.reallocAddress(b.address(), 100));
        add(calls, "free", (h, b) -> h.free(b));
        add(calls, "freeAddress", (h, b) -> h.freeAddress(b.address()));
        add(calls, "usableSize", (h, b) -> h.usableSize(b));
        add(calls, "usableSize of an address", (h, b) -> h.usableSize(b.address()));
        add(calls, "trim", (h, b) -> h.trim());
        add(calls, "close", (h, b) -> h.close());
        return calls.stream();
    }

    interface HeapCall {
        void call(Heap heap, MemorySegment liveBlock);
    }

    static void add(List<Arguments> calls, String name, HeapCall call) {
        calls.add(Arguments.of(name, call));
    }

    @Nested
    class Closing {
        @ParameterizedTest(name = "{0}")
        @MethodSource("org.malloc4j.HeapContractTest#callsOnAClosedHeap")
        void everyMemberThatDocumentsItThrowsIllegalStateExceptionAfterClose(String name, HeapCall call) {
            MemorySegment block = heap.malloc(64);
            heap.close();
            assertThrows(IllegalStateException.class, () -> call.call(heap, block));
        }

        @Test
        void closeMarksTheHeapClosed() {
            assertFalse(heap.isClosed());
            heap.close();
            assertTrue(heap.isClosed());
        }

        @ParameterizedTest
        @EnumSource(Tier.class)
        void segmentsOfAClosedHeapThrowIllegalStateExceptionOnAccess(Tier tier) {
            MemorySegment block = heap.malloc(Math.max(8, tier.byteSize));
            block.set(ValueLayout.JAVA_LONG, 0, 42);
            heap.close();
            assertThrows(IllegalStateException.class, () -> block.get(ValueLayout.JAVA_LONG, 0));
            assertThrows(IllegalStateException.class, () -> block.set(ValueLayout.JAVA_LONG, 0, 1));
        }

        /** As HeapStats says: memory goes, the blocks left live stay counted. */
        @Test
        void closeReleasesAllMemory() {
            heap.malloc(100);
            heap.malloc(MIB);
            heap.malloc(20 * MIB);
            heap.close();
            HeapStats stats = heap.stats();
            assertEquals(0, stats.committedBytes());
            assertEquals(0, stats.reservedBytes());
            assertEquals(3, stats.liveBlocks(), stats.toString());
            assertTrue(stats.usableBytes() >= 100 + 21 * MIB, stats.toString());
        }

        @Test
        void theGlobalHeapCannotBeClosedAndStillServesAfterTheAttempt() {
            Heap global = Heap.global();
            assertSame(global, Heap.global());
            assertThrows(UnsupportedOperationException.class, global::close);
            assertFalse(global.isClosed());
            MemorySegment block = global.malloc(64);
            block.set(ValueLayout.JAVA_LONG, 0, 1);
            global.free(block);
            assertEquals("global", global.name());
        }

        @Test
        void theGlobalHeapRejectsTheBlocksOfAnotherHeap() {
            MemorySegment ours = heap.malloc(64);
            assertEquals(BAD_FREE, misuse(() -> Heap.global().free(ours)).kind());
            heap.free(ours);
        }
    }

    @Nested
    class Exhaustion {
        @Test
        void mallocThrowsHeapExhaustedErrorWhereTryMallocReturnsNull() {
            try (Heap limited = limitedTo(MIB)) {
                HeapExhaustedError error = assertThrows(HeapExhaustedError.class, () -> limited.malloc(2 * MIB));
                assertEquals(2 * MIB, error.requestedBytes());
                assertInstanceOf(OutOfMemoryError.class, error);
                assertSame(MemorySegment.NULL, limited.tryMalloc(2 * MIB));
                assertThrows(HeapExhaustedError.class, () -> limited.mallocAddress(2 * MIB));
                assertThrows(HeapExhaustedError.class, () -> limited.mallocAligned(2 * MIB, 4096));
                assertThrows(HeapExhaustedError.class, () -> limited.allocate(2 * MIB, 8));
                assertEquals(0, limited.stats().liveBlocks());
            }
        }

        @Test
        void callocThrowsHeapExhaustedErrorWhereTryCallocReturnsNull() {
            try (Heap limited = limitedTo(MIB)) {
                HeapExhaustedError error = assertThrows(HeapExhaustedError.class, () -> limited.calloc(2, MIB));
                assertEquals(2 * MIB, error.requestedBytes());
                assertSame(MemorySegment.NULL, limited.tryCalloc(2, MIB));
                assertEquals(0, limited.stats().liveBlocks());
            }
        }

        @ParameterizedTest
        @EnumSource(CheckMode.class)
        void aRequestPastWhatAHeapCanHandOutSaysSoInEveryMode(CheckMode mode) {
            try (Heap any = Heap.builder().checkMode(mode).build()) {
                MemorySegment block = any.malloc(16);
                for (long tooBig : new long[] {(1L << 46) + 1, 1L << 62, Long.MAX_VALUE}) {
                    List<Executable> calls = List.of(
                            () -> any.malloc(tooBig),
                            () -> any.mallocAddress(tooBig),
                            () -> any.mallocAligned(tooBig, 4096),
                            () -> any.calloc(1, tooBig),
                            () -> any.realloc(block, tooBig));
                    for (Executable call : calls) {
                        HeapExhaustedError error = assertThrows(HeapExhaustedError.class, call);
                        assertEquals(tooBig, error.requestedBytes());
                        assertTrue(error.getMessage().contains(tooBig + " bytes")
                                && error.getMessage().contains("more than the 70368744177664 bytes a heap can hand out"),
                                mode + ": " + error.getMessage());
                    }
                }
                HeapExhaustedError aligned = assertThrows(HeapExhaustedError.class, () -> any.mallocAligned(8, 1L << 50));
                assertTrue(aligned.getMessage().contains("8 bytes aligned to 1125899906842624")
                        && aligned.getMessage().contains("an alignment past the 70368744177664 bytes a heap can hand out"),
                        mode + ": " + aligned.getMessage());
                assertEquals(1, any.stats().liveBlocks());
                any.free(block);
            }
        }

        @Test
        void aCheckedBlockThatFitsButWhoseRedzonesDoNotSaysSo() {
            try (Heap full = Heap.builder().checkMode(CheckMode.FULL).build()) {
                long justFits = (1L << 46) - 1;
                HeapExhaustedError error = assertThrows(HeapExhaustedError.class,
                        () -> full.mallocAligned(justFits, 1 << 20));
                assertEquals(justFits, error.requestedBytes());
                assertTrue(error.getMessage().contains(justFits + " bytes aligned to 1048576 (checked mode, ")
                        && error.getMessage().endsWith(" bytes with redzones): more than the 70368744177664 bytes a heap"
                                + " can hand out"), error.getMessage());
                assertSame(MemorySegment.NULL, full.tryMalloc(justFits));
                assertEquals(0, full.stats().committedBytes());
            }
        }

        @Test
        void aRequestNoMappingCanHoldIsExhaustionEvenWithoutALimit() {
            long tooBig = 1L << 50;
            assertEquals(tooBig, assertThrows(HeapExhaustedError.class, () -> heap.malloc(tooBig)).requestedBytes());
            assertSame(MemorySegment.NULL, heap.tryMalloc(tooBig));
            assertSame(MemorySegment.NULL, heap.tryCalloc(1L << 25, 1L << 25));
            assertSame(MemorySegment.NULL, heap.tryMalloc(Long.MAX_VALUE));
            assertThrows(HeapExhaustedError.class, () -> heap.mallocAligned(tooBig, 1 << 20));
        }

        @Test
        void smallBlocksRunOutAtTheLimitAndComeBackWhenOneIsFreed() {
            long limit = MIB;
            try (Heap limited = limitedTo(limit)) {
                List<MemorySegment> blocks = new ArrayList<>();
                MemorySegment block;
                while ((block = limited.tryMalloc(4000)) != MemorySegment.NULL) {
                    blocks.add(block);
                    assertTrue(blocks.size() < 10_000, "the limit never refused");
                }
                assertTrue(blocks.size() >= limit / 2 / 4096, "refused far below the limit: " + blocks.size());
                assertTrue(limited.stats().committedBytes() <= limit);
                assertThrows(HeapExhaustedError.class, () -> limited.malloc(4000));
                limited.free(blocks.removeLast());
                blocks.add(limited.tryMalloc(4000));
                assertNotEquals(MemorySegment.NULL, blocks.getLast(), "a freed block did not make room");
                assertEquals(blocks.size(), limited.stats().liveBlocks());
                blocks.forEach(limited::free);
            }
        }

        @ParameterizedTest
        @ValueSource(longs = {64 * 1024, 256 * 1024})
        void aFailedTryReallocLeavesTheOldBlockLiveWithItsContents(long oldSize) {
            try (Heap limited = limitedTo(MIB)) {
                MemorySegment block = limited.malloc(oldSize);
                Patterns.fill(block, 11);
                long usable = limited.usableSize(block);
                HeapStats before = limited.stats();

                assertSame(MemorySegment.NULL, limited.tryRealloc(block, 2 * MIB));

                assertEquals(-1, Patterns.firstMismatch(block, 11, oldSize));
                assertEquals(usable, limited.usableSize(block));
                HeapStats after = limited.stats();
                assertEquals(before.liveBlocks(), after.liveBlocks());
                assertEquals(before.requestedBytes(), after.requestedBytes());
                assertEquals(before.usableBytes(), after.usableBytes());
                limited.free(block);
            }
        }

        @ParameterizedTest
        @ValueSource(longs = {64 * 1024, 256 * 1024})
        void aFailedReallocThrowsAndLeavesTheOldBlockLiveWithItsContents(long oldSize) {
            try (Heap limited = limitedTo(MIB)) {
                MemorySegment block = limited.malloc(oldSize);
                Patterns.fill(block, 12);
                assertThrows(HeapExhaustedError.class, () -> limited.realloc(block, 2 * MIB));
                assertThrows(HeapExhaustedError.class, () -> limited.reallocAddress(block.address(), 2 * MIB));
                assertEquals(-1, Patterns.firstMismatch(block, 12, oldSize));
                assertEquals(1, limited.stats().liveBlocks());
                limited.free(block);
                assertEquals(0, limited.stats().liveBlocks());
            }
        }

        @Test
        void aFailedTryMallocChangesNoCounter() {
            try (Heap limited = limitedTo(MIB)) {
                MemorySegment block = limited.malloc(100);
                HeapStats before = limited.stats();
                assertSame(MemorySegment.NULL, limited.tryMalloc(2 * MIB));
                assertEquals(before.liveBlocks(), limited.stats().liveBlocks());
                assertEquals(before.committedBytes(), limited.stats().committedBytes());
                assertEquals(before.metadataBytes(), limited.stats().metadataBytes(),
                        "metadata of a page that was never laid out was taken off the estimate");
                limited.free(block);
            }
        }

        @Test
        void metadataBytesStayPositiveAfterManyFailedLargeRequests() {
            try (Heap limited = limitedTo(MIB)) {
                MemorySegment block = limited.malloc(100);
                for (int i = 0; i < 1000; i++) {
                    assertSame(MemorySegment.NULL, limited.tryMalloc(2 * MIB));
                }
                assertTrue(limited.stats().metadataBytes() > 0, limited.stats().toText());
                limited.free(block);
            }
        }

        @ParameterizedTest(name = "a request of {0} bytes")
        @ValueSource(longs = {4 * 1024, 100 * 1024, 10 * 1024 * 1024, 20 * 1024 * 1024})
        void memoryFreedButNotYetPurgedIsPurgedToMakeRoomUnderTheLimit(long byteSize) {
            long limit = Math.max(64 * MIB, 10 * byteSize);
            try (Heap limited = limitedTo(limit)) {
                List<MemorySegment> blocks = new ArrayList<>();
                MemorySegment filler;
                while (blocks.size() < 1000 && (filler = limited.tryMalloc(MIB)) != MemorySegment.NULL) {
                    blocks.add(filler);
                }
                // Free a ninth: those pages wait in the pool, still committed; the rest stay live.
                List<MemorySegment> freed = blocks.subList(blocks.size() - blocks.size() / 9, blocks.size());
                long freedBytes = freed.size() * MIB;
                freed.forEach(limited::free);
                freed.clear();
                assertTrue(freedBytes >= byteSize, "the test frees enough for the request");
                assertTrue(limited.stats().committedBytes() + byteSize > limit, "the test needs a full pool");
                MemorySegment block = limited.tryMalloc(byteSize);
                assertNotEquals(MemorySegment.NULL, block, freedBytes + " B were freed, yet a request of " + byteSize
                        + " B under a " + limit + " B limit failed\n" + limited.stats().toText());
                limited.free(block);
                blocks.forEach(limited::free);
                assertEquals(0, limited.stats().liveBlocks());
            }
        }

        Heap limitedTo(long maxCommittedBytes) {
            return Heap.builder().name("limited").maxCommittedBytes(maxCommittedBytes)
                    .purgeDelay(NO_BACKGROUND_PURGE).build();
        }
    }

    @Nested
    class EdgeCases {
        @Test
        void mallocOfZeroReturnsUniqueZeroLengthBlocksThatMustBeFreed() {
            Set<Long> addresses = new HashSet<>();
            List<MemorySegment> blocks = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                MemorySegment block = heap.malloc(0);
                assertEquals(0, block.byteSize());
                assertTrue(addresses.add(block.address()), "malloc(0) returned a live block's address again");
                blocks.add(block);
            }
            assertEquals(100, heap.stats().liveBlocks());
            assertEquals(0, heap.stats().requestedBytes());
            assertEquals(goodSize(0), heap.usableSize(blocks.getFirst()));
            blocks.forEach(heap::free);
            assertEquals(0, heap.stats().liveBlocks());
        }

        @Test
        void aZeroLengthBlockHasNoAccessibleByte() {
            MemorySegment block = heap.malloc(0);
            assertThrows(IndexOutOfBoundsException.class, () -> block.get(ValueLayout.JAVA_BYTE, 0));
            heap.free(block);
        }

        @Test
        void reallocOfNullIsMalloc() {
            MemorySegment block = heap.realloc(MemorySegment.NULL, 300);
            assertEquals(300, block.byteSize());
            assertEquals(goodSize(300), heap.usableSize(block));
            assertEquals(1, heap.stats().liveBlocks());
            MemorySegment other = heap.tryRealloc(MemorySegment.NULL, 3 * MIB);
            assertEquals(3 * MIB, other.byteSize());
            long raw = heap.reallocAddress(0, 40);
            assertEquals(goodSize(40), heap.usableSize(raw));
            assertEquals(3, heap.stats().liveBlocks());
            heap.free(block);
            heap.free(other);
            heap.freeAddress(raw);
        }

        @Test
        void reallocToZeroFreesTheBlockAndReturnsANewZeroLengthBlock() {
            MemorySegment block = heap.malloc(500);
            MemorySegment empty = heap.realloc(block, 0);
            assertEquals(0, empty.byteSize());
            assertNotEquals(MemorySegment.NULL, empty);
            assertNotEquals(block.address(), empty.address());
            assertEquals(1, heap.stats().liveBlocks());
            assertEquals(0, heap.stats().requestedBytes());
            assertEquals(MemoryMisuseException.Kind.USE_AFTER_FREE, misuse(() -> heap.usableSize(block)).kind());
            heap.free(empty);
            assertEquals(0, heap.stats().liveBlocks());
        }

        @Test
        void tryReallocToZeroNeverReturnsNull() {
            MemorySegment block = heap.malloc(2 * MIB);
            MemorySegment empty = heap.tryRealloc(block, 0);
            assertNotEquals(MemorySegment.NULL, empty);
            assertEquals(0, empty.byteSize());
            heap.free(empty);
        }

        @Test
        void freeOfNullDoesNothing() {
            HeapStats before = heap.stats();
            heap.free(MemorySegment.NULL);
            heap.freeAddress(0);
            assertEquals(before, heap.stats());
        }

        @Test
        void freeOfNullDoesNothingOnAClosedHeapToo() {
            Heap closed = Heap.builder().name("closed, freeing null").build();
            closed.close();
            closed.free(MemorySegment.NULL);
            closed.freeAddress(0);
            assertThrows(IllegalStateException.class, () -> closed.freeAddress(16));
        }

        @ParameterizedTest
        @ValueSource(longs = {1, 7, 15, 16, 17, 100, 128, 129, 1000, 8191, 8192, 8193, 100_000, 131_072, 131_073,
                1_000_000, 4 * 1024 * 1024 + 1, 16 * 1024 * 1024, 16 * 1024 * 1024 + 1})
        void aSegmentIsExactlyTheRequestedSize(long byteSize) {
            MemorySegment block = heap.malloc(byteSize);
            assertEquals(byteSize, block.byteSize());
            block.set(ValueLayout.JAVA_BYTE, byteSize - 1, (byte) 1);
            block.set(ValueLayout.JAVA_BYTE, 0, (byte) 1);
            assertThrows(IndexOutOfBoundsException.class, () -> block.get(ValueLayout.JAVA_BYTE, byteSize));
            assertThrows(IndexOutOfBoundsException.class, () -> block.get(ValueLayout.JAVA_BYTE, -1));
            assertTrue(block.isNative());
            heap.free(block);
        }

        @Test
        void everyBlockIsAlignedToSixteenBytes() {
            List<MemorySegment> blocks = new ArrayList<>();
            for (long size = 0; size <= 600; size++) {
                blocks.add(heap.malloc(size));
            }
            for (long size : new long[] {5000, 70_000, 200_000, 3 * MIB, 17 * MIB}) {
                blocks.add(heap.malloc(size));
                blocks.add(heap.calloc(1, size));
            }
            long raw = heap.mallocAddress(33);
            for (MemorySegment block : blocks) {
                assertEquals(0, block.address() % Heap.MIN_ALIGNMENT, () -> "size " + block.byteSize());
            }
            assertEquals(0, raw % Heap.MIN_ALIGNMENT);
            blocks.forEach(heap::free);
            heap.freeAddress(raw);
        }

        @ParameterizedTest
        @ValueSource(longs = {0, 1, 15, 16, 17, 100, 128, 129, 1024, 1025, 8191, 8192, 8193, 100_000, 131_072,
                131_073, 1024 * 1024, 1024 * 1024 + 1, 16 * 1024 * 1024, 16 * 1024 * 1024 + 1, 20 * 1024 * 1024})
        void usableSizeIsAtLeastTheRequestAndIsWhatGoodSizePromised(long byteSize) {
            MemorySegment block = heap.malloc(byteSize);
            long raw = heap.mallocAddress(byteSize);
            assertTrue(heap.usableSize(block) >= byteSize);
            assertEquals(heap.goodSize(byteSize), heap.usableSize(block));
            assertEquals(heap.goodSize(byteSize), heap.usableSize(raw));
            assertEquals(2 * heap.goodSize(byteSize), heap.stats().usableBytes());
            assertEquals(2 * byteSize, heap.stats().requestedBytes());
            heap.free(block);
            heap.freeAddress(raw);
        }

        @Test
        void goodSizeRoundsToTheSizeClassesAndThenToFourKibibytes() {
            assertAll(
                    () -> assertEquals(16, heap.goodSize(0)),
                    () -> assertEquals(16, heap.goodSize(1)),
                    () -> assertEquals(32, heap.goodSize(17)),
                    () -> assertEquals(128, heap.goodSize(128)),
                    () -> assertEquals(160, heap.goodSize(129)),
                    () -> assertEquals(8 * KIB, heap.goodSize(8 * KIB)),
                    () -> assertEquals(128 * KIB, heap.goodSize(128 * KIB)),
                    () -> assertEquals(132 * KIB, heap.goodSize(128 * KIB + 1)),
                    () -> assertEquals(MIB + 4 * KIB, heap.goodSize(MIB + 1)),
                    () -> assertEquals(32 * MIB, heap.goodSize(32 * MIB)));
        }

        @Test
        void theRawApiHandsOutUsableAlignedAddresses() {
            long address = heap.mallocAddress(100);
            assertNotEquals(0, address);
            MemorySegment view = MemorySegment.ofAddress(address).reinterpret(heap.usableSize(address));
            Patterns.fill(view, 5);
            long grown = heap.reallocAddress(address, 10_000);
            MemorySegment grownView = MemorySegment.ofAddress(grown).reinterpret(10_000);
            assertEquals(-1, Patterns.firstMismatch(grownView, 5, 100));
            heap.freeAddress(grown);
            assertEquals(0, heap.stats().liveBlocks());
        }

        @Test
        void statsAddUpToZeroOnceEveryBlockIsFreed() {
            List<MemorySegment> blocks = new ArrayList<>();
            for (long size : new long[] {0, 1, 300, 9000, 100_000, 300_000, 5 * MIB, 18 * MIB}) {
                blocks.add(heap.malloc(size));
                blocks.add(heap.calloc(3, size / 3));
                blocks.add(heap.mallocAligned(size, 256));
            }
            HeapStats live = heap.stats();
            assertEquals(blocks.size(), live.liveBlocks());
            assertEquals(blocks.stream().mapToLong(MemorySegment::byteSize).sum(), live.requestedBytes());
            assertEquals(blocks.stream().mapToLong(heap::usableSize).sum(), live.usableBytes());
            assertTrue(live.requestedBytes() <= live.usableBytes());
            assertTrue(live.usableBytes() <= live.committedBytes());
            assertTrue(live.committedBytes() <= live.reservedBytes());
            blocks.forEach(heap::free);
            HeapStats empty = heap.stats();
            assertEquals(0, empty.liveBlocks());
            assertEquals(0, empty.requestedBytes());
            assertEquals(0, empty.usableBytes());
            assertEquals(empty.mallocCount(), empty.freeCount());
        }

        @Test
        void aHeapHasTheNameItWasBuiltWith() {
            try (Heap named = Heap.builder().name("cache").build()) {
                assertEquals("cache", named.name());
                assertEquals("cache", named.stats().name());
                assertTrue(named.toString().contains("cache"));
            }
        }
    }

    @Nested
    class Alignment {
        static Stream<Long> alignments() {
            return Stream.iterate(32L, a -> a <= (1L << 24), a -> a * 2);
        }

        static final long[] SIZES = {0, 1, 100, 5000, 100_000, 131_072, MIB, 5 * MIB, 20 * MIB};

        @ParameterizedTest(name = "alignment {0}")
        @MethodSource("alignments")
        void mallocAlignedAlignsBlocksOfEveryTier(long alignment) {
            List<MemorySegment> blocks = new ArrayList<>();
            for (long size : SIZES) {
                MemorySegment block = heap.mallocAligned(size, alignment);
                assertEquals(0, block.address() % alignment, () -> "size " + size);
                assertEquals(size, block.byteSize());
                assertTrue(heap.usableSize(block) >= size);
                if (size > 0) {
                    block.set(ValueLayout.JAVA_BYTE, 0, (byte) 1);
                    block.set(ValueLayout.JAVA_BYTE, size - 1, (byte) 1);
                }
                blocks.add(block);
            }
            assertNoOverlap(blocks);
            assertEquals(blocks.size(), heap.stats().liveBlocks());
            assertEquals(blocks.stream().mapToLong(heap::usableSize).sum(), heap.stats().usableBytes());
            blocks.forEach(heap::free);
            assertEquals(0, heap.stats().liveBlocks());
            assertEquals(0, heap.stats().usableBytes());
        }

        @ParameterizedTest
        @ValueSource(longs = {1, 2, 4, 8, 16})
        void alignmentsBelowSixteenGiveSixteen(long alignment) {
            MemorySegment block = heap.mallocAligned(24, alignment);
            assertEquals(0, block.address() % 16);
            assertEquals(goodSize(24), heap.usableSize(block));
            heap.free(block);
        }

        @Test
        void manyAlignedSmallBlocksAreAllAlignedAndDisjoint() {
            List<MemorySegment> blocks = new ArrayList<>();
            for (int i = 0; i < 500; i++) {
                long alignment = 32L << (i % 8);
                blocks.add(heap.mallocAligned(1 + (i * 37L) % 3000, alignment));
                assertEquals(0, blocks.getLast().address() % alignment);
            }
            assertNoOverlap(blocks);
            blocks.forEach(heap::free);
        }

        void assertNoOverlap(List<MemorySegment> blocks) {
            List<MemorySegment> sorted = new ArrayList<>(blocks);
            sorted.sort((a, b) -> Long.compareUnsigned(a.address(), b.address()));
            for (int i = 1; i < sorted.size(); i++) {
                MemorySegment previous = sorted.get(i - 1);
                long end = previous.address() + heap.usableSize(previous);
                assertTrue(end <= sorted.get(i).address(), "blocks overlap at 0x" + Long.toHexString(end));
            }
        }
    }

    @Nested
    class Calloc {
        @ParameterizedTest
        @EnumSource(Tier.class)
        void callocReturnsZerosInMemoryADirtyBlockJustFreed(Tier tier) {
            long size = tier.byteSize;
            MemorySegment dirty = heap.malloc(size);
            dirty.fill((byte) 0xFF);
            heap.free(dirty);
            MemorySegment clean = heap.calloc(1, size);
            assertEquals(size, clean.byteSize());
            assertEquals(-1, Patterns.firstNonZero(clean, size));
            heap.free(clean);
        }

        @Test
        void callocReturnsZerosInEveryReusedSlotOfAPage() {
            List<MemorySegment> dirty = new ArrayList<>();
            for (int i = 0; i < 3000; i++) {
                MemorySegment block = heap.malloc(48);
                block.fill((byte) 0xA5);
                dirty.add(block);
            }
            dirty.forEach(heap::free);
            for (int i = 0; i < 3000; i++) {
                MemorySegment block = heap.calloc(3, 16);
                assertEquals(-1, Patterns.firstNonZero(block, 48), "block " + i);
                dirty.set(i, block);
            }
            dirty.forEach(heap::free);
        }

        @Test
        void callocReturnsZerosInAPageReusedForAnotherSizeClass() {
            List<MemorySegment> blocks = new ArrayList<>();
            for (int i = 0; i < 600; i++) {
                MemorySegment block = heap.malloc(1000);
                block.fill((byte) 0xFF);
                blocks.add(block);
            }
            blocks.forEach(heap::free);
            blocks.clear();
            for (int i = 0; i < 600; i++) {
                MemorySegment block = heap.calloc(1, 1500);
                assertEquals(-1, Patterns.firstNonZero(block, 1500), "block " + i);
                blocks.add(block);
            }
            blocks.forEach(heap::free);
        }

        @Test
        void callocReturnsZerosWhereALargeBlockShrunkInPlaceHadWrittenBefore() {
            MemorySegment large = heap.malloc(500 * KIB);
            large.fill((byte) 0xFF);
            MemorySegment shrunk = heap.realloc(large, 300 * KIB);
            assertEquals(large.address(), shrunk.address(), "expected an in-place shrink");
            heap.free(shrunk);
            // The freed span is 8 slices, the size of a medium page: the next medium page reuses it.
            for (int i = 0; i < 4; i++) {
                MemorySegment block = heap.calloc(1, 100 * KIB);
                long dirtyAt = Patterns.firstNonZero(block, block.byteSize());
                assertEquals(-1, dirtyAt, "calloc block " + i + " at 0x" + Long.toHexString(block.address())
                        + " has a non-zero byte at offset " + dirtyAt);
            }
        }

        @Test
        void callocSizesTheBlockCountTimesElementSize() {
            MemorySegment block = heap.calloc(7, 24);
            assertEquals(168, block.byteSize());
            MemorySegment none = heap.calloc(0, 24);
            assertEquals(0, none.byteSize());
            MemorySegment alsoNone = heap.calloc(24, 0);
            assertEquals(0, alsoNone.byteSize());
            assertNotEquals(none.address(), alsoNone.address());
            MemorySegment viaTry = heap.tryCalloc(1000, 1000);
            assertEquals(-1, Patterns.firstNonZero(viaTry, 1_000_000));
            heap.free(block);
            heap.free(none);
            heap.free(alsoNone);
            heap.free(viaTry);
        }
    }

    @Nested
    class Realloc {
        @Test
        void aLargeBlockGrowsInPlaceWhenTheSlicesAfterItAreFree() {
            MemorySegment block = heap.malloc(256 * KIB);
            Patterns.fill(block, 21);
            MemorySegment grown = heap.realloc(block, 2 * MIB);
            assertEquals(block.address(), grown.address());
            assertEquals(2 * MIB, grown.byteSize());
            assertEquals(-1, Patterns.firstMismatch(grown, 21, 256 * KIB));
            assertEquals(goodSize(2 * MIB), heap.usableSize(grown));
            assertEquals(2 * MIB, heap.stats().requestedBytes());
            assertEquals(goodSize(2 * MIB), heap.stats().usableBytes());
            grown.set(ValueLayout.JAVA_BYTE, 2 * MIB - 1, (byte) 3);
            heap.free(grown);
            assertEquals(0, heap.stats().usableBytes());
        }

        @Test
        void aBufferGrownByDoublingMovesOnlyWhileItIsSmall() {
            MemorySegment block = heap.malloc(16);
            long seed = 30;
            Patterns.fill(block, seed);
            int movesPast32KiB = 0;
            for (long size = 32; size <= MIB; size *= 2) {
                MemorySegment grown = heap.realloc(block, size);
                assertEquals(-1, Patterns.firstMismatch(grown, seed, size / 2), "contents lost growing to " + size);
                if (size > 64 * KIB && grown.address() != block.address()) {
                    movesPast32KiB++;
                }
                Patterns.fill(grown, ++seed);
                block = grown;
            }
            // Past 32 KiB the block became a large one with room: 64 KiB -> 1 MiB grows in place.
            assertEquals(0, movesPast32KiB, "moves of the block while it grew from 64 KiB to 1 MiB");
            assertEquals(MIB, heap.stats().requestedBytes());
            assertEquals(heap.usableSize(block), heap.stats().usableBytes());
            heap.free(block);
            assertEquals(0, heap.stats().usableBytes());
        }

        @Test
        void aBlockShrunkByHalvingNeverHoldsMoreThanTwiceItsSize() {
            MemorySegment block = heap.malloc(16);
            for (long size = 32; size <= 64 * MIB; size *= 2) {
                block = heap.realloc(block, size);
            }
            long seed = 40;
            Patterns.fill(block, seed);
            for (long size = 32 * MIB; size >= 16 * KIB; size /= 2) {
                block = heap.realloc(block, size);
                assertEquals(-1, Patterns.firstMismatch(block, seed, size), "contents lost shrinking to " + size);
                heap.trim();
                HeapStats stats = heap.stats();
                assertTrue(stats.committedBytes() <= 2 * size + MIB, "a block of " + size + " B keeps "
                        + stats.committedBytes() + " B committed\n" + stats.toText());
                Patterns.fill(block, ++seed);
            }
            heap.free(block);
        }

        @Test
        void aLargeBlockMovesWhenTheSlicesAfterItAreTakenAndKeepsItsContents() {
            MemorySegment block = heap.malloc(256 * KIB);
            MemorySegment neighbour = heap.malloc(256 * KIB);
            Patterns.fill(block, 22);
            Patterns.fill(neighbour, 23);
            MemorySegment grown = heap.realloc(block, 2 * MIB);
            assertEquals(-1, Patterns.firstMismatch(grown, 22, 256 * KIB));
            assertEquals(-1, Patterns.firstMismatch(neighbour, 23, 256 * KIB));
            heap.free(grown);
            heap.free(neighbour);
        }

        @Test
        void aBlockKeepsItsContentsAcrossEveryTier() {
            long[] sizes = {10, 100, 5000, 60_000, 130_000, MIB, 17 * MIB, 30 * MIB, 3 * MIB, 90_000, 700, 0, 50};
            MemorySegment block = heap.malloc(sizes[0]);
            Patterns.fill(block, 100);
            for (int i = 1; i < sizes.length; i++) {
                long kept = Math.min(block.byteSize(), sizes[i]);
                long seed = 100 + i - 1;
                MemorySegment next = heap.realloc(block, sizes[i]);
                assertEquals(sizes[i], next.byteSize());
                long mismatch = Patterns.firstMismatch(next, seed, kept);
                assertEquals(-1, mismatch, "realloc " + sizes[i - 1] + " -> " + sizes[i] + " lost byte " + mismatch);
                assertEquals(1, heap.stats().liveBlocks());
                assertEquals(sizes[i], heap.stats().requestedBytes());
                assertEquals(heap.usableSize(next), heap.stats().usableBytes());
                Patterns.fill(next, seed + 1);
                block = next;
            }
            heap.free(block);
        }

        @Test
        void aSmallBlockResizesInPlaceWithinItsUsableSize() {
            MemorySegment block = heap.malloc(100);
            Patterns.fill(block, 31);
            long usable = heap.usableSize(block);
            MemorySegment same = heap.realloc(block, usable);
            assertEquals(block.address(), same.address());
            assertEquals(usable, same.byteSize());
            assertEquals(-1, Patterns.firstMismatch(same, 31, 100));
            MemorySegment smaller = heap.realloc(same, 97);
            assertEquals(block.address(), smaller.address());
            assertEquals(97, heap.stats().requestedBytes());
            heap.free(smaller);
        }

        @Test
        void aLargeBlockShrinksInPlaceByLessThanHalf() {
            MemorySegment block = heap.malloc(MIB);
            Patterns.fill(block, 32);
            MemorySegment smaller = heap.realloc(block, 700 * KIB);
            assertEquals(block.address(), smaller.address());
            assertEquals(-1, Patterns.firstMismatch(smaller, 32, 700 * KIB));
            assertEquals(goodSize(700 * KIB), heap.usableSize(smaller));
            assertEquals(goodSize(700 * KIB), heap.stats().usableBytes());
            heap.free(smaller);
        }

        @Test
        void reallocFromAnotherThreadKeepsTheContents() throws Exception {
            MemorySegment block = heap.malloc(200);
            Patterns.fill(block, 33);
            MemorySegment[] moved = new MemorySegment[1];
            Thread other = Thread.ofPlatform().start(() -> moved[0] = heap.realloc(block, 50_000));
            other.join();
            assertEquals(-1, Patterns.firstMismatch(moved[0], 33, 200));
            assertEquals(1, heap.stats().liveBlocks());
            heap.free(moved[0]);
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    @Nested
    class SegmentAllocatorUse {
        @Test
        void allocateSizesBlocksFromALayout() {
            MemorySegment longs = heap.allocate(ValueLayout.JAVA_LONG, 100);
            assertEquals(800, longs.byteSize());
            assertEquals(0, longs.address() % ValueLayout.JAVA_LONG.byteAlignment());
            for (int i = 0; i < 100; i++) {
                longs.setAtIndex(ValueLayout.JAVA_LONG, i, i * 3L);
            }
            assertEquals(297, longs.getAtIndex(ValueLayout.JAVA_LONG, 99));
            heap.free(longs);
            assertEquals(0, heap.stats().liveBlocks());
        }

        @Test
        void allocateFromCopiesAStringWithItsTerminator() {
            MemorySegment text = heap.allocateFrom("text");
            assertEquals(5, text.byteSize());
            assertEquals("text", text.getString(0));
            assertEquals(0, text.get(ValueLayout.JAVA_BYTE, 4));
            assertEquals(1, heap.stats().liveBlocks());
            heap.free(text);
            assertEquals(0, heap.stats().liveBlocks());
        }

        @Test
        void allocateWithAnAlignmentAlignsTheBlock() {
            MemorySegment block = heap.allocate(100, 4096);
            assertEquals(0, block.address() % 4096);
            heap.free(block);
        }
    }

    static long goodSize(long byteSize) {
        return Heap.global().goodSize(byteSize);
    }
}
