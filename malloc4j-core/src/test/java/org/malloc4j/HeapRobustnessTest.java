package org.malloc4j;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.malloc4j.MemoryMisuseException.Kind.BAD_FREE;
import static org.malloc4j.MemoryMisuseException.Kind.DOUBLE_FREE;
import static org.malloc4j.MemoryMisuseException.Kind.USE_AFTER_FREE;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Inputs a careless or hostile caller gives: each gets a clear exception, never a crash. */
class HeapRobustnessTest {
    private final Heap heap = Heap.builder().name("robust").purgeDelay(Duration.ZERO).build();

    @AfterEach
    void closeHeap() {
        if (!heap.isClosed()) {
            heap.close();
        }
    }

    @Test
    void aPoolBlockWhosePageWentBackToTheHeapThrowsInsteadOfReadingUnmappedMemory() {
        FixedSizePool pool = FixedSizePool.builder(heap, 4 << 20).blocksPerPage(2).build();
        List<MemorySegment> blocks = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            blocks.add(pool.allocate());
        }
        blocks.forEach(pool::free);
        heap.trim();
        MemorySegment stale = blocks.get(blocks.size() - 1);
        assertThrows(IllegalStateException.class, () -> stale.get(JAVA_BYTE, 0));
        assertThrows(IllegalStateException.class, () -> stale.set(JAVA_BYTE, 0, (byte) 1));
        pool.close();
    }

    @Test
    void aBlockLargerThanMemoryAndSwapIsRefusedNotGrantedUntilTheKernelKillsTheProcess() {
        assertEquals(MemorySegment.NULL, heap.tryMalloc(1L << 44));
        HeapExhaustedError error = assertThrows(HeapExhaustedError.class, () -> heap.malloc(1L << 45));
        assertEquals(1L << 45, error.requestedBytes());
        assertEquals(0, heap.stats().liveBlocks());
        heap.free(heap.malloc(64));
    }

    @Test
    void reallocToASizeNoBlockCanHaveIsRefusedAndTheBlockStaysAsItWas() {
        for (long size : new long[] {64, 40_000, 1 << 20, 20 << 20}) {
            long block = heap.mallocAddress(size);
            long usable = heap.usableSize(block);
            HeapStats before = heap.stats();
            for (long huge : new long[] {Long.MAX_VALUE, Long.MAX_VALUE - 100, Long.MAX_VALUE - 4096}) {
                HeapExhaustedError error = assertThrows(HeapExhaustedError.class,
                        () -> heap.reallocAddress(block, huge), "realloc of a " + size + "-byte block");
                assertEquals(huge, error.requestedBytes());
            }
            assertEquals(usable, heap.usableSize(block));
            assertEquals(before.requestedBytes(), heap.stats().requestedBytes());
            assertEquals(before.usableBytes(), heap.stats().usableBytes());
            heap.check();
            heap.freeAddress(block);
            MemorySegment segment = heap.malloc(size);
            assertEquals(MemorySegment.NULL, heap.tryRealloc(segment, Long.MAX_VALUE));
            assertEquals(size, segment.byteSize());
            heap.free(segment);
        }
        assertEquals(0, heap.stats().liveBlocks());
    }

    @Test
    void aHugeRequestTheOperatingSystemRefusesLeavesNoPeakBehind() {
        for (int i = 0; i < 3; i++) {
            assertThrows(HeapExhaustedError.class, () -> heap.mallocAddress(1L << 40));
        }
        HeapStats stats = heap.stats();
        assertEquals(0, stats.committedBytes());
        assertEquals(0, stats.peakCommittedBytes(), "a refused request counted as committed");
        assertEquals(0, stats.reservedBytes());
    }

    @Test
    void usingAFreedHugeBlockIsAUseAfterFreeAndFreeingItAgainADoubleFree() {
        long block = heap.mallocAddress(20 << 20);
        heap.freeAddress(block);
        assertEquals(MemoryMisuseException.Kind.USE_AFTER_FREE,
                assertThrows(MemoryMisuseException.class, () -> heap.usableSize(block)).kind());
        assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE,
                assertThrows(MemoryMisuseException.class, () -> heap.freeAddress(block)).kind());
        assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE,
                assertThrows(MemoryMisuseException.class, () -> heap.reallocAddress(block, 64)).kind());
    }

    private static final long HUGE = 20L << 20;
    /** A huge block's mapping starts at a multiple of this (a region's size). */
    private static final long MAPPING_ALIGNMENT = 32L << 20;

    /** A heap that keeps no freed block in quarantine: a trim gives its freed huge blocks back to the OS. */
    private static Heap hugeFreer(CheckMode mode, int sampleInterval) {
        return Heap.builder().name("freer").checkMode(mode).sampleInterval(sampleInterval).quarantineBytes(0).build();
    }

    /** @return the report of freeing {@code address}, which must be a bad free that changes nothing */
    private String rejectedAsBadFree(long address) {
        return rejectedAsBadFree(heap, address);
    }

    /** @return the report of freeing {@code address} on {@code heap}, which must be a bad free that changes nothing */
    private static String rejectedAsBadFree(Heap heap, long address) {
        HeapStats before = heap.stats();
        MemoryMisuseException misuse = assertThrows(MemoryMisuseException.class, () -> heap.freeAddress(address));
        assertEquals(BAD_FREE, misuse.kind(), misuse.getMessage());
        assertEquals(before, heap.stats());
        return misuse.getMessage();
    }

    private static void assertMisuse(MemoryMisuseException.Kind expected, Executable call, String what) {
        MemoryMisuseException e = assertThrows(MemoryMisuseException.class, call, what);
        assertEquals(expected, e.kind(), what + ": " + e.getMessage());
    }

    /**
     * Once a huge block is freed, only its start was ever a block: any other address in the old
     * mapping is a bad free, as an interior pointer of a live block is, while the mapping is kept
     * for reuse and once a trim gave it back to the OS. (A sampled heap's huge blocks are
     * unchecked with the default interval, checked with 1.)
     */
    @ParameterizedTest(name = "{0}, sampling one in {1}, trimmed {2}")
    @CsvSource({"FAST, 1, false", "SAMPLED, 65536, false", "SAMPLED, 1, false", "FULL, 1, false",
            "FAST, 1, true", "SAMPLED, 65536, true", "SAMPLED, 1, true", "FULL, 1, true"})
    void onlyTheStartOfAFreedHugeBlockIsADoubleFreeOtherAddressesInItAreBadFrees(CheckMode mode, int interval,
                                                                                 boolean trimmed) {
        try (Heap freer = hugeFreer(mode, interval)) {
            long block = freer.mallocAddress(HUGE);
            freer.freeAddress(block);
            if (trimmed) {
                freer.trim();
                assertEquals(0, freer.stats().reservedBytes(), freer.stats().toText());
            }
            for (long offset : new long[] {16, 12_345, HUGE - 1}) {
                long inside = block + offset;
                String what = offset + " bytes inside";
                assertMisuse(BAD_FREE, () -> freer.freeAddress(inside), "free of " + what);
                assertMisuse(BAD_FREE, () -> freer.reallocAddress(inside, 64), "realloc of " + what);
                assertMisuse(BAD_FREE, () -> freer.usableSize(inside), "usableSize of " + what);
            }
            assertMisuse(DOUBLE_FREE, () -> freer.freeAddress(block), "free of the start");
            assertMisuse(DOUBLE_FREE, () -> freer.reallocAddress(block, 64), "realloc of the start");
            assertMisuse(DOUBLE_FREE, () -> freer.reallocAddress(block, HUGE + 4096), "realloc growing the start");
            assertMisuse(USE_AFTER_FREE, () -> freer.usableSize(block), "usableSize of the start");
            assertEquals(0, freer.stats().liveBlocks());
            freer.freeAddress(freer.mallocAddress(HUGE));
        }
    }

    /**
     * A realloc of a freed large block, to a size it could grow to in place, is a double free
     * (the state is judged under the lock the resize in place takes), and it changes nothing: the
     * span's next block is whole.
     */
    @ParameterizedTest(name = "{0} to {1} bytes")
    @CsvSource({"FAST, 300000", "FAST, 200000", "FAST, 160000", "SAMPLED, 300000", "FULL, 300000"})
    void aReallocOfAFreedLargeBlockIsADoubleFreeAndChangesNothing(CheckMode mode, long newSize) {
        try (Heap heap = Heap.builder().name("large-realloc").checkMode(mode).build()) {
            long block = heap.mallocAddress(200_000);
            heap.freeAddress(block);
            assertMisuse(DOUBLE_FREE, () -> heap.reallocAddress(block, newSize), "realloc to " + newSize);
            assertEquals(0, heap.stats().liveBlocks(), heap.stats().toText());
            MemorySegment again = heap.malloc(200_000);
            again.fill((byte) 7);
            assertTrue(heap.usableSize(again) >= 200_000, heap.stats().toText());
            assertEquals(7, again.get(JAVA_BYTE, 199_999));
            heap.free(again);
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    /**
     * A block that another heap has had in the range of a huge block this heap freed, that heap
     * closed since, is no block of this heap's, freed or not: a bad free, even at the very address
     * this heap's block started at.
     */
    @ParameterizedTest(name = "{0}, sampling one in {1}")
    @CsvSource({"FAST, 1", "SAMPLED, 65536", "SAMPLED, 1", "FULL, 1"})
    void aBlockOfAnotherHeapInTheRangeOfAFreedHugeBlockIsABadFreeOnceThatHeapIsClosed(CheckMode mode,
                                                                                     int interval) {
        try (Heap freer = hugeFreer(mode, interval)) {
            long block = freer.mallocAddress(HUGE);
            freer.freeAddress(block);
            // The kept mapping goes back to the OS, which may give the range to another heap.
            freer.trim();
            long range = block & -MAPPING_ALIGNMENT;
            long theirs = 0;
            try (Heap other = Heap.builder().name("other").build()) {
                for (int i = 0; i < 8 && theirs == 0; i++) {
                    long candidate = other.mallocAddress(HUGE);
                    if ((candidate & -MAPPING_ALIGNMENT) == range) {
                        theirs = candidate;
                    }
                }
            }
            assumeTrue(theirs != 0, "the OS gave the range to no other heap");
            long stale = theirs;
            assertMisuse(BAD_FREE, () -> freer.freeAddress(stale), "free of the other heap's block");
            assertMisuse(BAD_FREE, () -> freer.usableSize(stale), "usableSize of the other heap's block");
            assertEquals(0, freer.stats().liveBlocks());
        }
    }

    /**
     * A block of a heap closed since is in no heap's memory any more: a bad free, whose report
     * says the memory may be a closed heap's instead of calling it foreign or stack memory.
     */
    @Test
    void aBlockOfAClosedHeapIsNotCalledForeignOrStackMemory() {
        long stale;
        try (Heap closed = Heap.builder().name("gone").build()) {
            stale = closed.mallocAddress(64);
        }
        String report = rejectedAsBadFree(stale);
        assertTrue(report.contains(Long.toHexString(stale) + " is not in the memory of any open malloc4j heap: foreign"
                + " or stack memory, or memory a heap has given back to the OS (a closed heap's, say)"), report);
    }

    @Test
    void freeingABlockAScopeHoldsIsAMismatchInFastModeToo() {
        try (Arena scope = heap.newScope()) {
            MemorySegment block = scope.allocate(64);
            MemoryMisuseException misuse = assertThrows(MemoryMisuseException.class, () -> heap.free(block));
            assertEquals(MemoryMisuseException.Kind.ALLOC_DEALLOC_MISMATCH, misuse.kind());
            assertEquals(MemoryMisuseException.Kind.ALLOC_DEALLOC_MISMATCH,
                    assertThrows(MemoryMisuseException.class, () -> heap.realloc(block, 128)).kind());
            block.set(JAVA_BYTE, 63, (byte) 1);
        }
        assertEquals(0, heap.stats().liveBlocks());
    }

    @Test
    void aStaleAddressInAPageLaidOutAgainForAnotherClassIsABadFreeThatNamesNoBlockNeverHandedOut() {
        long first = heap.mallocAddress(4000);
        long second = heap.mallocAddress(4000);
        heap.freeAddress(first);
        heap.freeAddress(second);
        // The emptied page is the 4000-byte class's spare; the 48-byte class takes it over.
        long other = heap.mallocAddress(48);
        String report = rejectedAsBadFree(second);
        assertTrue(report.contains("a stale one whose block was freed before"), report);
        assertTrue(report.contains("blocks of 48 bytes"), report);
        assertTrue(!report.contains("inside the 48-byte block"), report);
        heap.freeAddress(other);
        assertEquals(0, heap.stats().liveBlocks());
    }

    @Test
    void anInteriorAddressOfAFreeBlockSaysNoLiveBlockStartsThere() {
        long kept = heap.mallocAddress(100);
        long freed = heap.mallocAddress(100);
        heap.freeAddress(freed);
        String report = rejectedAsBadFree(freed + 16);
        assertTrue(report.contains("inside the free 112-byte block"), report);
        heap.freeAddress(kept);
    }

    /**
     * A large or huge block's span runs past its usable size (address space it keeps to grow in
     * place): an address there is past the end of the block, and the report says so, with the
     * block's size, instead of calling it bytes inside a block shorter than that.
     */
    @Test
    void anAddressPastTheEndOfALargeOrHugeBlockIsReportedAsPastItsEndNotInsideIt() {
        for (long size : new long[] {300_000, (40L << 20) + 5}) {
            long block = heap.mallocAddress(size);
            long usable = heap.usableSize(block);
            String report = rejectedAsBadFree(block + usable + 4096);
            assertTrue(report.contains("is 4096 bytes past the end of the " + usable + "-byte "), report);
            assertTrue(!report.contains("bytes inside"), report);
            String inside = rejectedAsBadFree(block + usable - 16);
            assertTrue(inside.contains("is " + (usable - 16) + " bytes inside the "), inside);
            heap.freeAddress(block);
        }
        assertEquals(0, heap.stats().liveBlocks());
    }

    /**
     * A freed huge block's mapping, kept for reuse or given back by a trim, runs past the block as
     * its live span did (rounded up to a region, or twice its size once realloc grew it): an address
     * there is reported past the end of the block, with the size the block had, not inside it.
     */
    @ParameterizedTest(name = "trimmed {0}")
    @CsvSource({"false", "true"})
    void anAddressPastTheEndOfAFreedHugeBlockIsReportedAsPastItsEndNotInsideIt(boolean trimmed) {
        try (Heap freer = Heap.builder().name("freer").purgeDelay(Duration.ofHours(1)).build()) {
            long plain = freer.mallocAddress((40L << 20) + 5);
            long grown = freer.reallocAddress(freer.mallocAddress(HUGE), HUGE + (HUGE >> 1));
            for (long block : new long[] {plain, grown}) {
                long usable = freer.usableSize(block);
                freer.freeAddress(block);
                if (trimmed) {
                    freer.trim();
                }
                String hex = Long.toHexString(block);
                String past = rejectedAsBadFree(freer, block + usable + 4096);
                assertTrue(past.contains("is 4096 bytes past the end of the " + usable + "-byte huge block at 0x" + hex
                        + " that heap 'freer' freed"), past);
                assertTrue(!past.contains("bytes inside"), past);
                String inside = rejectedAsBadFree(freer, block + usable - 16);
                assertTrue(inside.contains("is " + (usable - 16) + " bytes inside the " + usable + "-byte huge block at 0x"
                        + hex), inside);
            }
            assertEquals(0, freer.stats().liveBlocks());
        }
    }

    /**
     * Virtual threads allocate from striped heaps and free into them under the stripe's lock: the
     * same misuse is caught there, by virtual and platform threads, and changes nothing.
     */
    @Test
    void misuseOfAVirtualThreadsBlocksIsCaughtWhoeverFreesThem() throws Exception {
        long[] blocks = new long[3];
        Thread.ofVirtual().start(() -> {
            for (int i = 0; i < blocks.length; i++) {
                blocks[i] = heap.mallocAddress(64);
            }
        }).join();
        HeapStats before = heap.stats();
        List<MemoryMisuseException.Kind> kinds = new ArrayList<>();
        Thread.ofVirtual().start(() -> {
            kinds.add(assertThrows(MemoryMisuseException.class, () -> heap.freeAddress(blocks[0] + 16)).kind());
            kinds.add(assertThrows(MemoryMisuseException.class, () -> heap.freeAddress(blocks[2] + 64)).kind());
        }).join();
        kinds.add(assertThrows(MemoryMisuseException.class, () -> heap.freeAddress(blocks[1] + 8)).kind());
        assertEquals(List.of(BAD_FREE, BAD_FREE, BAD_FREE), kinds);
        assertEquals(before, heap.stats());
        Thread.ofVirtual().start(() -> heap.freeAddress(blocks[0])).join();
        heap.freeAddress(blocks[1]);
        Thread.ofVirtual().start(() -> {
            kinds.add(assertThrows(MemoryMisuseException.class, () -> heap.freeAddress(blocks[0])).kind());
            heap.freeAddress(blocks[2]);
        }).join();
        kinds.add(assertThrows(MemoryMisuseException.class, () -> heap.freeAddress(blocks[1])).kind());
        kinds.add(assertThrows(MemoryMisuseException.class, () -> heap.freeAddress(blocks[2])).kind());
        assertEquals(List.of(BAD_FREE, BAD_FREE, BAD_FREE, DOUBLE_FREE, DOUBLE_FREE, DOUBLE_FREE), kinds);
        assertEquals(0, heap.stats().liveBlocks());
    }

    @Test
    void aSegmentOfTheJavaHeapIsABadFreeNotANoOp() {
        MemorySegment onHeap = MemorySegment.ofArray(new byte[10]);
        assertEquals(MemoryMisuseException.Kind.BAD_FREE,
                assertThrows(MemoryMisuseException.class, () -> heap.free(onHeap)).kind());
        assertEquals(MemoryMisuseException.Kind.BAD_FREE,
                assertThrows(MemoryMisuseException.class, () -> heap.realloc(onHeap, 20)).kind());
        assertEquals(MemoryMisuseException.Kind.BAD_FREE,
                assertThrows(MemoryMisuseException.class, () -> heap.usableSize(onHeap)).kind());
    }

    @Test
    void aDoubleFreeAfterTrimReturnedTheMemoryIsStillADoubleFree() {
        long block = heap.mallocAddress(64);
        heap.freeAddress(block);
        heap.trim();
        MemoryMisuseException misuse = assertThrows(MemoryMisuseException.class, () -> heap.freeAddress(block));
        assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE, misuse.kind());
    }

    /**
     * Once a trim gave a region of pages back to the OS, its blocks' bounds are gone, but an address
     * off a multiple of 16 bytes was never a block's start: it is a bad free (or a bad query of its
     * usable size), not a double free or a use after free, and the report says why.
     */
    @Test
    void anInteriorAddressOfAFreedBlockInMemoryGivenBackToTheOsIsABadFreeNotADoubleFree() {
        long block = heap.mallocAddress(5000);
        heap.freeAddress(block);
        heap.trim();
        assertEquals(0, heap.stats().reservedBytes(), heap.stats().toText());
        String report = rejectedAsBadFree(block + 8);
        assertTrue(report.contains("attempting free on address which was not malloc()-ed"), report);
        assertTrue(report.contains("no block ever started there: every block starts at a multiple of 16 bytes"),
                report);
        assertMisuse(BAD_FREE, () -> heap.usableSize(block + 8), "usableSize of an interior address");
        assertMisuse(BAD_FREE, () -> heap.reallocAddress(block + 8, 64), "realloc of an interior address");
        assertMisuse(DOUBLE_FREE, () -> heap.freeAddress(block), "free of the start");
        assertEquals(0, heap.stats().liveBlocks());
    }

    @Test
    void aPurgeDelayTooLongToCountInNanosecondsMeansNeverPurgeByTime() {
        try (Heap patient = Heap.builder().purgeDelay(Duration.ofSeconds(Long.MAX_VALUE)).build()) {
            patient.free(patient.malloc(1 << 20));
            assertTrue(patient.stats().committedBytes() > 0);
            patient.trim();
            assertEquals(0, patient.stats().committedBytes());
        }
    }

    @Test
    void anAlignmentNoMappingCanHonourIsReportedWithTheAlignment() {
        HeapExhaustedError error = assertThrows(HeapExhaustedError.class, () -> heap.mallocAligned(16, 1L << 62));
        assertTrue(error.getMessage().contains("aligned to " + (1L << 62)), error.getMessage());
    }
}
