package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * A program that calls the heap through the JDK ({@code forEach(heap::free)}, where the method
 * reference's own frame is hidden) is still named by its own line: the report's SUMMARY and a
 * call site of {@link FaultInjection#eachCallSiteOnce} are the first frame outside malloc4j and the
 * JDK, while the report's stack still starts at the JDK's frame.
 */
class CallSiteThroughTheJdkTest {
    private static final String TEST_CLASS = CallSiteThroughTheJdkTest.class.getName();

    static void freeEachAgain(Heap heap, List<MemorySegment> blocks) {
        blocks.forEach(heap::free);
    }

    @Test
    void aDoubleFreeThroughForEachIsSummarizedAtTheProgramsLine() {
        try (Heap heap = Heap.builder().name("through the jdk").checkMode(CheckMode.FULL).build()) {
            MemorySegment block = heap.malloc(48);
            heap.free(block);
            MemoryMisuseException e = assertThrows(MemoryMisuseException.class,
                    () -> freeEachAgain(heap, List.of(block)));
            assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE, e.kind());
            String[] lines = e.getMessage().split("\n");
            assertTrue(lines[1].startsWith("    #0 java.base/"), e.getMessage());
            String summary = lines[lines.length - 1];
            assertTrue(summary.startsWith("SUMMARY: malloc4j: double-free " + TEST_CLASS + ".freeEachAgain("
                    + "CallSiteThroughTheJdkTest.java:"), e.getMessage());
        }
    }

    @Test
    void twoLinesAllocatingThroughForEachAreTwoCallSites() {
        FaultInjection faults = FaultInjection.eachCallSiteOnce();
        try (Heap heap = Heap.builder().name("sites through the jdk").faultInjection(faults).build()) {
            List<MemorySegment> first = new ArrayList<>();
            List<MemorySegment> second = new ArrayList<>();
            // Both calls come from the same line of the JDK's stream code.
            List.of(32L, 32L).stream().map(heap::tryMalloc).forEach(first::add);
            List.of(32L, 32L).stream().map(heap::tryMalloc).forEach(second::add);
            assertEquals(List.of(true, false), first.stream().map(MemorySegment.NULL::equals).toList());
            assertEquals(List.of(true, false), second.stream().map(MemorySegment.NULL::equals).toList(),
                    "the second line is a site of its own");
            assertEquals(2, faults.injectedFailures());
            heap.free(first.get(1));
            heap.free(second.get(1));
        }
    }

    /** Frees through twelve nested stream stages: the program's frame lies below 24 of the JDK's. */
    static void freeDeep(Heap heap, MemorySegment block) {
        Stream<MemorySegment> blocks = Stream.of(block);
        for (int i = 0; i < 12; i++) {
            blocks = blocks.flatMap(Stream::of);
        }
        blocks.forEach(heap::free);
    }

    /** Allocates through twelve nested stream stages, as {@link #freeDeep} frees. */
    static MemorySegment mallocDeep(Heap heap) {
        Stream<Long> sizes = Stream.of(32L);
        for (int i = 0; i < 12; i++) {
            sizes = sizes.flatMap(Stream::of);
        }
        return sizes.map(heap::tryMalloc).findFirst().orElseThrow();
    }

    @Test
    void aDoubleFreeDeepInTheJdkIsSummarizedAtTheProgramsLineWhichTheReportShows() {
        try (Heap heap = Heap.builder().name("deep in the jdk").checkMode(CheckMode.FULL).build()) {
            MemorySegment block = heap.malloc(48);
            heap.free(block);
            MemoryMisuseException e = assertThrows(MemoryMisuseException.class, () -> freeDeep(heap, block));
            String frame = TEST_CLASS + ".freeDeep(CallSiteThroughTheJdkTest.java:";
            String[] lines = e.getMessage().split("\n");
            assertTrue(lines[lines.length - 1].startsWith("SUMMARY: malloc4j: double-free " + frame), e.getMessage());
            int shownAt = -1;
            for (int i = 1; i < lines.length && lines[i].startsWith("    #"); i++) {
                if (lines[i].contains(frame)) {
                    shownAt = i;
                }
            }
            assertTrue(shownAt > 24, "the frame the SUMMARY names is printed, below the JDK's: " + e.getMessage());
        }
    }

    @Test
    void twoLinesAllocatingDeepInTheJdkAreTwoCallSites() {
        FaultInjection faults = FaultInjection.eachCallSiteOnce();
        try (Heap heap = Heap.builder().name("deep sites").faultInjection(faults).build()) {
            assertEquals(MemorySegment.NULL, mallocDeep(heap));
            MemorySegment again = mallocDeep(heap);
            assertTrue(!again.equals(MemorySegment.NULL), "the same line a second time");
            Stream<Long> sizes = Stream.of(32L);
            for (int i = 0; i < 12; i++) {
                sizes = sizes.flatMap(Stream::of);
            }
            assertEquals(MemorySegment.NULL, sizes.map(heap::tryMalloc).findFirst().orElseThrow(),
                    "another line of the program is another site, however deep the JDK's frames above it");
            assertEquals(2, faults.injectedFailures());
            heap.free(again);
        }
    }
}
