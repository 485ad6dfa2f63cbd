package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Misuses that no block record describes (memory of no heap, another heap's block, a segment of the
 * Java heap, a fast block of a sampled heap freed twice) still name the misusing call in a checked
 * heap: its frames under the title, and its first frame in the SUMMARY, as every other checked
 * report does. A fast heap walks no stack for them.
 */
class CallSiteOfPlainReportsTest {
    private static final String TEST_CLASS = CallSiteOfPlainReportsTest.class.getName();

    // The misusing calls, whose names the reports must show.

    static void freeTheForeignBlock(Heap heap, long address) {
        heap.freeAddress(address);
    }

    static void freeTheJavaHeapSegment(Heap heap, MemorySegment segment) {
        heap.free(segment);
    }

    static void reallocTheOtherHeapsBlock(Heap heap, long address) {
        heap.reallocAddress(address, 100);
    }

    static void freeTheFastBlockAgain(Heap heap, long address) {
        heap.freeAddress(address);
    }

    static void freeTheHeapBlockThroughThePool(FixedSizePool pool, long address) {
        pool.freeAddress(address);
    }

    /** Asserts the report's call-site frame under its title and in its SUMMARY. */
    private static void assertNamesTheCall(String report, String method, String kind, String place) {
        String[] lines = report.split("\n");
        String frame = TEST_CLASS + "." + method + "(CallSiteOfPlainReportsTest.java:";
        assertTrue(lines[1].startsWith("    #0 " + frame), report);
        String summary = lines[lines.length - 1];
        assertTrue(summary.startsWith("SUMMARY: malloc4j: " + kind + " " + frame), report);
        assertTrue(summary.endsWith(" in " + place), report);
    }

    private static void assertNamesNoCall(String report, String kind, String place) {
        assertFalse(report.contains("    #0 "), report);
        assertTrue(report.endsWith("\nSUMMARY: malloc4j: " + kind + " in " + place), report);
    }

    /** Names the call as {@link #assertNamesTheCall} in a checked heap; none in a fast one. */
    private static void assertNamesTheCallInACheckedHeap(CheckMode mode, String report, String method, String kind,
            String place) {
        if (mode == CheckMode.FAST) {
            assertNamesNoCall(report, kind, place);
        } else {
            assertNamesTheCall(report, method, kind, place);
        }
    }

    private static Heap heap(CheckMode mode) {
        // Every block of a sampled heap checked but the ones this test makes fast on purpose.
        return Heap.builder().name("calls").checkMode(mode).build();
    }

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void foreignMemoryNamesTheCallInACheckedHeapOnly(CheckMode mode) {
        try (Heap heap = heap(mode); Arena arena = Arena.ofConfined()) {
            long foreign = arena.allocate(64, 16).address();
            MemoryMisuseException e = assertThrows(MemoryMisuseException.class,
                    () -> freeTheForeignBlock(heap, foreign));
            assertEquals(MemoryMisuseException.Kind.BAD_FREE, e.kind());
            assertEquals(foreign, e.address());
            assertTrue(e.getMessage().startsWith("ERROR: malloc4j: attempting free on address which was not"
                    + " malloc()-ed: 0x" + Long.toHexString(foreign) + " in thread \""), e.getMessage());
            // Every mode says what the address is: in no heap's memory.
            assertTrue(e.getMessage().contains("\n0x" + Long.toHexString(foreign) + " is not in the memory of any"
                    + " open malloc4j heap"), e.getMessage());
            assertNamesTheCallInACheckedHeap(mode, e.getMessage(), "freeTheForeignBlock", "bad-free", "heap 'calls'");
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void aSegmentOfTheJavaHeapNamesTheCallInACheckedHeapOnly(CheckMode mode) {
        try (Heap heap = heap(mode)) {
            MemorySegment onHeap = MemorySegment.ofArray(new byte[32]);
            MemoryMisuseException e = assertThrows(MemoryMisuseException.class,
                    () -> freeTheJavaHeapSegment(heap, onHeap));
            assertEquals(MemoryMisuseException.Kind.BAD_FREE, e.kind());
            assertEquals(0, e.address());
            String report = e.getMessage();
            assertTrue(report.startsWith("ERROR: malloc4j: attempting free on a segment of the Java heap, which was"
                    + " not malloc()-ed in thread \""), report);
            assertTrue(report.contains("\n" + onHeap + " is a segment of the Java heap: it was never a block of any"
                    + " heap.\n"), report);
            assertNamesTheCallInACheckedHeap(mode, report, "freeTheJavaHeapSegment", "bad-free", "heap 'calls'");
        }
    }

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void anotherHeapsBlockNamesTheCallInACheckedHeapOnly(CheckMode mode) {
        try (Heap heap = heap(mode); Heap other = Heap.builder().name("other").build()) {
            long theirs = other.mallocAddress(48);
            MemoryMisuseException e = assertThrows(MemoryMisuseException.class,
                    () -> reallocTheOtherHeapsBlock(heap, theirs));
            assertEquals(MemoryMisuseException.Kind.BAD_FREE, e.kind());
            assertTrue(e.getMessage().contains("0x" + Long.toHexString(theirs) + " belongs to heap 'other', not"
                    + " 'calls'"), e.getMessage());
            // It was malloc()-ed, by the other heap: the title says by which it was not.
            assertTrue(e.getMessage().startsWith("ERROR: malloc4j: attempting realloc on address which was not"
                    + " malloc()-ed by heap 'calls': 0x" + Long.toHexString(theirs)), e.getMessage());
            assertNamesTheCallInACheckedHeap(mode, e.getMessage(), "reallocTheOtherHeapsBlock", "bad-free",
                    "heap 'calls'");
            assertEquals(48, other.usableSize(theirs));
            other.freeAddress(theirs);
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    @Test
    void aFastBlockOfASampledHeapFreedTwiceNamesTheSecondFree() {
        // Sampling one malloc in 2^20: the block below is a fast block, described with no records.
        try (Heap heap = Heap.builder().name("calls").checkMode(CheckMode.SAMPLED).sampleInterval(1 << 20)
                .build()) {
            long block = heap.mallocAddress(48);
            heap.freeAddress(block);
            MemoryMisuseException e = assertThrows(MemoryMisuseException.class,
                    () -> freeTheFastBlockAgain(heap, block));
            assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE, e.kind());
            assertTrue(e.getMessage().contains("is the start of a 48-byte block (size class"), e.getMessage());
            assertNamesTheCall(e.getMessage(), "freeTheFastBlockAgain", "double-free", "heap 'calls'");
            assertEquals(0, heap.stats().liveBlocks());
            heap.check();
        }
    }

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void aHeapBlockFreedThroughAPoolNamesTheCallInACheckedHeapOnly(CheckMode mode) {
        try (Heap heap = heap(mode); FixedSizePool pool = FixedSizePool.builder(heap, 48).name("p").build()) {
            long block = heap.mallocAddress(48);
            MemoryMisuseException e = assertThrows(MemoryMisuseException.class,
                    () -> freeTheHeapBlockThroughThePool(pool, block));
            assertEquals(MemoryMisuseException.Kind.ALLOC_DEALLOC_MISMATCH, e.kind());
            assertTrue(e.getMessage().contains("\n0x" + Long.toHexString(block) + " is a live block of heap 'calls',"
                    + " not of this pool: free it with Heap.free.\n"), e.getMessage());
            assertNamesTheCallInACheckedHeap(mode, e.getMessage(), "freeTheHeapBlockThroughThePool",
                    "alloc-dealloc-mismatch", "pool 'p'");
            heap.freeAddress(block);
            assertEquals(0, heap.stats().liveBlocks());
        }
    }
}
