package org.malloc4j.junit;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.malloc4j.junit.SampleRunner.failure;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.platform.engine.TestExecutionResult;
import org.malloc4j.CheckMode;
import org.malloc4j.Heap;

/**
 * A use after free in a {@link CheckMode#FULL} heap reaches the test as the JDK's bare "Already
 * closed": the extension notes beside it that {@link Heap#describe(MemorySegment)} names the block,
 * and leaves the exception itself as it was.
 */
class DescribeHintTest {
    @SampleRunner.Sample
    @LeakCheck
    static class FullHeapSample {
        /** What each sample threw, by the sample's name, to compare with what failed it. */
        static final Map<String, Throwable> THROWN = new ConcurrentHashMap<>();

        @Test
        void readsAFreedBlock(Heap heap) {
            MemorySegment block = heap.malloc(8);
            heap.free(block);
            recorded("readsAFreedBlock", () -> block.get(JAVA_BYTE, 0));
        }

        @Test
        void readsABlockAfterClosingItsHeap(Heap heap) {
            MemorySegment block = heap.malloc(8);
            heap.free(block);
            heap.close();
            recorded("readsABlockAfterClosingItsHeap", () -> block.get(JAVA_BYTE, 0));
        }

        @Test
        void throwsAnotherIllegalState(Heap heap) {
            recorded("throwsAnotherIllegalState", () -> {
                throw new IllegalStateException("not the JDK's");
            });
        }
    }

    @SampleRunner.Sample
    @LeakCheck(mode = CheckMode.FAST)
    static class FastHeapSample {
        @Test
        void readsAClosedArenasSegment(Heap heap) {
            MemorySegment segment;
            try (Arena arena = Arena.ofConfined()) {
                segment = arena.allocate(8);
            }
            segment.get(JAVA_BYTE, 0);
        }
    }

    static void recorded(String test, Runnable misuse) {
        try {
            misuse.run();
        } catch (RuntimeException e) {
            FullHeapSample.THROWN.put(test, e);
            throw e;
        }
    }

    @Test
    void aUseAfterFreeInAFullHeapGetsANoteNamingDescribe() {
        FullHeapSample.THROWN.clear();
        Map<String, TestExecutionResult> results = SampleRunner.run(FullHeapSample.class);
        Throwable failure = failure(results, "readsAFreedBlock");
        assertSame(FullHeapSample.THROWN.get("readsAFreedBlock"), failure, "the JDK's exception itself");
        assertEquals(Malloc4jExtension.JDK_ALREADY_CLOSED, failure.getMessage());
        assertEquals(1, failure.getSuppressed().length);
        DescribeHint hint = assertInstanceOf(DescribeHint.class, failure.getSuppressed()[0]);
        assertTrue(hint.getMessage().startsWith("Malloc4jExtension: the test's heap 'FullHeapSample.readsAFreedBlock"
                + "(Heap)' and the global heap are checked. A checked heap closes the segments of the checked blocks"
                + " it frees"), hint.getMessage());
        assertTrue(hint.getMessage().contains("heap.describe(segment) names the block"), hint.getMessage());
        assertEquals(0, hint.getStackTrace().length, "printed under the exception it explains");
    }

    @Test
    void anyOtherIllegalStateGetsNoNoteNorDoesAFastHeapGetNamed() {
        FullHeapSample.THROWN.clear();
        Throwable other = failure(SampleRunner.run(FullHeapSample.class), "throwsAnotherIllegalState");
        assertSame(FullHeapSample.THROWN.get("throwsAnotherIllegalState"), other);
        assertEquals(0, other.getSuppressed().length);
        Throwable closedArena = failure(SampleRunner.run(FastHeapSample.class), "readsAClosedArenasSegment");
        assertEquals(Malloc4jExtension.JDK_ALREADY_CLOSED, closedArena.getMessage());
        // A FAST test heap is not named; the global heap, FULL here, is.
        assertNamesTheGlobalHeapOnly(closedArena);
    }

    @Test
    void aHeapTheTestClosedIsNotNamed() {
        FullHeapSample.THROWN.clear();
        Throwable failure = failure(SampleRunner.run(FullHeapSample.class), "readsABlockAfterClosingItsHeap");
        assertSame(FullHeapSample.THROWN.get("readsABlockAfterClosingItsHeap"), failure);
        assertNamesTheGlobalHeapOnly(failure);
    }

    @BeforeEach
    void theGlobalHeapIsFull() {
        assertEquals(CheckMode.FULL, Heap.global().checkMode(), "this module's tests run it so (its pom)");
    }

    /** {@code failure} has one note, which names the global heap (FULL in this module's tests) and no other. */
    private static void assertNamesTheGlobalHeapOnly(Throwable failure) {
        assertEquals(1, failure.getSuppressed().length);
        String note = failure.getSuppressed()[0].getMessage();
        assertTrue(note.startsWith("Malloc4jExtension: the global heap is checked."), note);
    }
}
