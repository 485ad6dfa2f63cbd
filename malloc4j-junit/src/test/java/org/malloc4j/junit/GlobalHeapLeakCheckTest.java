package org.malloc4j.junit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.malloc4j.junit.SampleRunner.assertSucceeded;
import static org.malloc4j.junit.SampleRunner.failure;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.platform.engine.TestExecutionResult;
import org.malloc4j.Heap;
import org.malloc4j.LeakReport;

/**
 * The extension's check of {@link Heap#global()}: it needs the global heap in a checked mode, which
 * this module's Surefire configuration sets with {@code -Dmalloc4j.check=full}; run elsewhere
 * without it, these tests are skipped.
 */
class GlobalHeapLeakCheckTest {
    /** Blocks the samples leak on purpose, freed after each test to keep the global heap clean. */
    static final List<MemorySegment> LEAKED = new CopyOnWriteArrayList<>();

    @SampleRunner.Sample
    @ExtendWith(Malloc4jExtension.class)
    static class GlobalSample {
        static MemorySegment allocateFromTheGlobalHeap(long byteSize) {
            MemorySegment block = Heap.global().malloc(byteSize);
            LEAKED.add(block);
            return block;
        }

        @Test
        void leaksFromTheGlobalHeap() {
            for (int i = 0; i < 2; i++) {
                allocateFromTheGlobalHeap(32);
            }
        }

        @Test
        void freesWhatItTakes() {
            MemorySegment block = Heap.global().malloc(64);
            Heap.global().free(block);
        }

        @Test
        @LeakCheck(globalHeap = false)
        void optedOut() {
            allocateFromTheGlobalHeap(8);
        }

        @Test
        void freesABlockLeakedBeforeItRan() {
            MemorySegment old = LEAKED.removeFirst();
            Heap.global().free(old);
        }
    }

    @BeforeEach
    void requireACheckedGlobalHeap() {
        assumeTrue(Malloc4jExtension.globalHeapIsChecked(), "needs -Dmalloc4j.check=full");
    }

    @AfterEach
    void freeWhatTheSamplesLeaked() {
        LEAKED.forEach(Heap.global()::free);
        LEAKED.clear();
    }

    @Test
    void newGlobalLeaksFailTheTestNamingTheirSite() {
        LeakReport before = Heap.global().leaks();
        Map<String, TestExecutionResult> results = SampleRunner.run(GlobalSample.class,
                "leaksFromTheGlobalHeap", "freesWhatItTakes", "optedOut");
        Throwable leak = failure(results, "leaksFromTheGlobalHeap");
        assertInstanceOf(AssertionError.class, leak);
        String message = leak.getMessage();
        assertTrue(message.startsWith("Malloc4jExtension: the test left 2 new block(s), 64 byte(s), live in the "
                + "global heap"), message);
        assertTrue(message.contains("Direct leak of 64 byte(s) in 2 object(s) allocated from:\n    #0 "
                + GlobalSample.class.getName() + ".allocateFromTheGlobalHeap("), message);
        assertSucceeded(results, "freesWhatItTakes");
        assertSucceeded(results, "optedOut");
        assertEquals(before.blocks() + LEAKED.size(), Heap.global().leaks().blocks());
    }

    @Test
    void freeingOlderBlocksIsNoLeak() {
        LEAKED.add(Heap.global().malloc(16));
        Map<String, TestExecutionResult> results = SampleRunner.run(GlobalSample.class, "freesABlockLeakedBeforeItRan");
        assertSucceeded(results, "freesABlockLeakedBeforeItRan");
        assertTrue(LEAKED.isEmpty());
    }

    @Test
    void theComparisonIsPerSite() {
        StackTraceElement site = new StackTraceElement("Example", "allocate", "Example.java", 10);
        StackTraceElement other = new StackTraceElement("Example", "allocate", "Example.java", 20);
        LeakReport before = new LeakReport(3, 30, List.of(new LeakReport.Site(3, 30, List.of(site))), "");
        LeakReport after = new LeakReport(5, 70, List.of(
                new LeakReport.Site(2, 20, List.of(site)),
                new LeakReport.Site(3, 50, List.of(other))), "");
        String report = Malloc4jExtension.newLeaks(before, after);
        assertTrue(report.contains("Direct leak of 50 byte(s) in 3 object(s) allocated from:\n    #0 Example.allocate("
                + "Example.java:20)"), report);
        assertTrue(!report.contains("Example.java:10"), report);
        assertEquals(null, Malloc4jExtension.newLeaks(after, after), "nothing new");
        LeakReport fewer = new LeakReport(1, 10, List.of(new LeakReport.Site(1, 10, List.of(site))), "");
        assertEquals(null, Malloc4jExtension.newLeaks(before, fewer), "blocks freed, none new");
    }
}
