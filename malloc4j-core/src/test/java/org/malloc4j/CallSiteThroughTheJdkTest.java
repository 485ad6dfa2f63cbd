package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
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
}
