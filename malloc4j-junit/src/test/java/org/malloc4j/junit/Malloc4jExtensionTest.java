package org.malloc4j.junit;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.malloc4j.junit.SampleRunner.assertSucceeded;
import static org.malloc4j.junit.SampleRunner.failure;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.testkit.engine.EngineExecutionResults;
import org.malloc4j.BumpArena;
import org.malloc4j.CheckMode;
import org.malloc4j.FaultInjection;
import org.malloc4j.Heap;
import org.malloc4j.HeapStats;
import org.malloc4j.LeakReport;
import org.malloc4j.MemoryMisuseException;
import org.malloc4j.NativeLongArray;

/**
 * {@link Malloc4jExtension} and {@link LeakCheck}, proven by running sample test classes through the
 * JUnit Platform test kit: a leaking test fails with the leak report naming the allocation site, a
 * clean test passes, misuse found by {@link Heap#check()} fails the test, and the annotation's
 * settings reach the heap.
 */
class Malloc4jExtensionTest {
    static final String SAMPLE_CLASS_PREFIX = Malloc4jExtensionTest.class.getName() + "$";
    /** Every heap a sample was given, to check afterwards that the extension closed it. */
    static final List<Heap> HEAPS = new CopyOnWriteArrayList<>();

    // ---- samples ----

    @SampleRunner.Sample
    @LeakCheck
    static class LeakingSample {
        static MemorySegment allocateTheLeakyBuffer(Heap heap) {
            return heap.malloc(48);
        }

        @Test
        void leaksOneBlock(Heap heap) {
            HEAPS.add(heap);
            MemorySegment block = allocateTheLeakyBuffer(heap);
            block.set(JAVA_BYTE, 0, (byte) 1);
        }

        @Test
        void freesEverything(Heap heap) {
            HEAPS.add(heap);
            MemorySegment block = heap.malloc(48);
            long raw = heap.mallocAddress(100);
            heap.free(block);
            heap.freeAddress(raw);
        }

        @Test
        void usesNoHeap() {
            assertTrue(true);
        }

        @ParameterizedTest
        @ValueSource(ints = {1, 2, 3})
        void leaksOnlyForTwo(int blocks, Heap heap) {
            HEAPS.add(heap);
            for (int i = 0; i < blocks; i++) {
                MemorySegment block = heap.malloc(10);
                if (blocks != 2) {
                    heap.free(block);
                }
            }
        }
    }

    @SampleRunner.Sample
    @LeakCheck(mode = CheckMode.FAST)
    static class FastModeSample {
        @Test
        void leaksTwoBlocks(Heap heap) {
            HEAPS.add(heap);
            heap.malloc(40);
            heap.mallocAddress(60);
        }
    }

    @SampleRunner.Sample
    @ExtendWith(Malloc4jExtension.class)
    static class MisuseSample {
        @Test
        void overflowsARawBlockAndNeverFreesIt(Heap heap) {
            long block = heap.mallocAddress(32);
            MemorySegment.ofAddress(block).reinterpret(33).set(JAVA_BYTE, 32, (byte) 1);
        }

        @Test
        void writesAfterFree(Heap heap) {
            long block = heap.mallocAddress(32);
            heap.freeAddress(block);
            MemorySegment.ofAddress(block).reinterpret(32).set(JAVA_BYTE, 4, (byte) 1);
        }

        @Test
        void failsAndLeaks(Heap heap) {
            heap.malloc(16);
            throw new IllegalStateException("the test's own failure");
        }

        @Test
        void overflowsARawBlockThenFailsOnItsOwn(Heap heap) {
            overflowARawBlock(heap);
            throw new IllegalStateException("the test's own failure");
        }

        @Test
        void overflowsARawBlockThenFailsWithAnExceptionThatTakesNoSuppressed(Heap heap) {
            overflowARawBlock(heap);
            throw new TakesNoSuppressed();
        }

        @Test
        void overflowsARawBlockThenIsAborted(Heap heap) {
            overflowARawBlock(heap);
            Assumptions.abort("the test's own abort");
        }

        @Test
        void leaksThenIsAborted(Heap heap) {
            heap.malloc(16);
            Assumptions.abort("the test's own abort");
        }

        static void overflowARawBlock(Heap heap) {
            long block = heap.mallocAddress(32);
            MemorySegment.ofAddress(block).reinterpret(33).set(JAVA_BYTE, 32, (byte) 1);
        }
    }

    /** A test failure that drops what is added to it as suppressed. */
    static final class TakesNoSuppressed extends RuntimeException {
        @java.io.Serial
        private static final long serialVersionUID = 1L;

        TakesNoSuppressed() {
            super("the test's own failure", null, false, false);
        }
    }

    /**
     * A confined arena of a heap, open on a thread that waits until it may end: the heap cannot be
     * closed until then, since only that thread can close the arena.
     */
    static final class ArenaOnAWaitingThread {
        private final CountDownLatch mayEnd = new CountDownLatch(1);
        private final Thread thread;

        ArenaOnAWaitingThread(Heap heap) throws InterruptedException {
            CountDownLatch opened = new CountDownLatch(1);
            thread = new Thread(() -> {
                BumpArena.ofConfined(heap).allocate(8);
                opened.countDown();
                try {
                    mayEnd.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            thread.start();
            opened.await();
        }

        void end() throws InterruptedException {
            mayEnd.countDown();
            thread.join();
        }
    }

    /** Leaves a scope whose cleanup action throws: the heap's close closes it, then throws that. */
    @SampleRunner.Sample
    @LeakCheck
    static class ThrowingCleanupSample {
        @Test
        void leavesAScopeWhoseCleanupThrows(Heap heap) {
            java.lang.foreign.Arena scope = heap.newScope();
            scope.allocate(8).reinterpret(8, scope, ignored -> {
                throw new IllegalArgumentException("the cleanup failed");
            });
        }

        @Test
        void leavesAScopeWhoseCleanupThrowsAnError(Heap heap) {
            java.lang.foreign.Arena scope = heap.newScope();
            scope.allocate(40);
            scope.allocate(16).reinterpret(16, scope, ignored -> {
                throw new AssertionError("the cleanup's error");
            });
        }
    }

    /**
     * Bug: a heap whose close threw after closing completely (what a scope's cleanup action threw)
     * was kept to be closed again, and the end of the run reported it as not closed, its memory
     * mapped until the JVM exits.
     */
    @Test
    void aHeapWhoseCloseThrewAfterClosingIsNotReportedAsLeftOpen() {
        HEAPS.clear();
        Map<String, TestExecutionResult> results = new HashMap<>();
        String printed = standardErrorOf(ThrowingCleanupSample.class, results);
        Throwable failure = failure(results, "leavesAScopeWhoseCleanupThrows");
        assertInstanceOf(AssertionError.class, failure);
        assertTrue(failure.getMessage().contains("Direct leak of 8 byte(s)"), failure.getMessage());
        assertEquals(1, failure.getSuppressed().length, () -> List.of(failure.getSuppressed()).toString());
        assertEquals("the cleanup failed", failure.getSuppressed()[0].getMessage());
        assertTrue(HEAPS.isEmpty() || HEAPS.stream().allMatch(Heap::isClosed), HEAPS::toString);
        // An Error from the cleanup rides along the leak report too, instead of replacing it.
        Throwable withError = failure(results, "leavesAScopeWhoseCleanupThrowsAnError");
        assertTrue(withError.getMessage().contains("the test left 2 block(s), 56 byte(s)"), withError.getMessage());
        assertEquals("the cleanup's error", withError.getSuppressed()[0].getMessage());
        assertFalse(printed.contains("could not be closed"), printed);
    }

    /** Leaves the heap unclosable: a confined arena of a thread that is still alive cannot be closed. */
    @SampleRunner.Sample
    @LeakCheck
    static class UnclosableSample {
        static volatile ArenaOnAWaitingThread arena;

        static MemorySegment allocateTheLeakedBlock(Heap heap) {
            return heap.malloc(24);
        }

        @Test
        void leaksAndLeavesAnArenaItCannotClose(Heap heap) throws InterruptedException {
            HEAPS.add(heap);
            allocateTheLeakedBlock(heap);
            arena = new ArenaOnAWaitingThread(heap);
        }
    }

    /** Leaves its heap unclosable until a later test lets the arena's thread end. */
    @SampleRunner.Sample
    @LeakCheck
    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    static class ClosedAfterALaterTestSample {
        static volatile Heap unclosable;
        static volatile ArenaOnAWaitingThread arena;

        @Test
        @Order(1)
        void leavesAnArenaOpenOnALiveThread(Heap heap) throws InterruptedException {
            unclosable = heap;
            arena = new ArenaOnAWaitingThread(heap);
        }

        @Test
        @Order(2)
        void letsTheArenasThreadEnd() throws InterruptedException {
            arena.end();
        }

        @Test
        @Order(3)
        void findsTheHeapClosed() {
            assertTrue(unclosable.isClosed(), "closed after the test before this one");
        }
    }

    /** Leaves its heap unclosable until all its tests have run. */
    @SampleRunner.Sample
    @LeakCheck
    static class ClosedWhenTheRunEndsSample {
        static volatile Heap unclosable;
        static volatile ArenaOnAWaitingThread arena;

        @Test
        void leavesAnArenaOpenOnALiveThread(Heap heap) throws InterruptedException {
            unclosable = heap;
            arena = new ArenaOnAWaitingThread(heap);
        }

        @AfterAll
        static void letTheArenasThreadEnd() throws InterruptedException {
            arena.end();
        }
    }

    @SampleRunner.Sample
    @LeakCheck(quarantineBytes = 0)
    static class ConfigSample {
        Heap fromBeforeEach;

        @BeforeEach
        void keep(Heap heap) {
            fromBeforeEach = heap;
        }

        @AfterEach
        void cleanUpInAfterEach(Heap heap) {
            assertSame(fromBeforeEach, heap);
            assertFalse(heap.isClosed(), "the heap closes after @AfterEach methods");
            if (heap.stats().liveBlocks() == 1 && heap.leaks().blocks() == 1) {
                assertEquals("leftForAfterEach", heap.leaks().sites().get(0).stack().get(0).getMethodName());
            }
        }

        @Test
        void beforeEachGetsTheTestsHeap(Heap heap) {
            assertSame(fromBeforeEach, heap);
            assertEquals("ConfigSample.beforeEachGetsTheTestsHeap(Heap)", heap.name());
        }

        @Test
        void classQuarantineIsZero(Heap heap) {
            long freed = heap.mallocAddress(40);
            heap.freeAddress(freed);
            long next = heap.mallocAddress(40);
            heap.freeAddress(next);
            assertEquals(freed, next, "nothing held in quarantine: the freed block is reused at once");
        }

        @Test
        @LeakCheck
        void methodAnnotationOverridesTheClass(Heap heap) {
            long freed = heap.mallocAddress(40);
            heap.freeAddress(freed);
            long next = heap.mallocAddress(40);
            heap.freeAddress(next);
            assertNotEquals(freed, next, "the freed block waits in the default quarantine, so it is not reused");
        }

        @Test
        void checkedModeByDefault(Heap heap) {
            MemorySegment block = heap.malloc(40);
            assertEquals(40, heap.usableSize(block), "checked blocks are exactly their size");
            assertEquals(CheckMode.JUNK_BYTE, block.get(JAVA_BYTE, 0));
            heap.free(block);
        }

        @Test
        @LeakCheck(mode = CheckMode.FAST)
        void fastModeOnRequest(Heap heap) {
            MemorySegment block = heap.malloc(40);
            assertEquals(48, heap.usableSize(block), "fast blocks round up to their size class");
            heap.free(block);
        }

        @Test
        @LeakCheck(mode = CheckMode.SAMPLED, sampleInterval = 1)
        void sampledModeWithIntervalOne(Heap heap) {
            MemorySegment block = heap.malloc(40);
            assertEquals(40, heap.usableSize(block), "interval 1 samples every block");
            heap.free(block);
        }

        @Test
        void aBlockLeftForAfterEachStillLeaks(Heap heap) {
            leftForAfterEach(heap);
        }

        static void leftForAfterEach(Heap heap) {
            heap.malloc(8);
        }

        @Nested
        class Inner {
            @Test
            void inheritsTheEnclosingClassesSettings(Heap heap) {
                long freed = heap.mallocAddress(40);
                heap.freeAddress(freed);
                long next = heap.mallocAddress(40);
                heap.freeAddress(next);
                assertEquals(freed, next, "quarantineBytes = 0 from the enclosing class: the freed block is reused");
            }
        }
    }

    /** Tests that close their heap themselves, before the extension checks it. */
    @SampleRunner.Sample
    @LeakCheck
    static class ClosingSample {
        @Test
        void leaksThenClosesTheHeap(Heap heap) {
            HEAPS.add(heap);
            heap.malloc(100);
            heap.close();
        }

        @Test
        @LeakCheck(mode = CheckMode.FAST)
        void leaksInFastModeThenClosesTheHeap(Heap heap) {
            heap.malloc(40);
            heap.mallocAddress(60);
            heap.close();
        }

        @Test
        void freesEverythingThenClosesTheHeap(Heap heap) {
            heap.free(heap.malloc(100));
            heap.close();
        }

        @Test
        void closesTheHeapWithAScopeOpen(Heap heap) {
            // closing the heap closes the scope, which frees its blocks: nothing leaks
            heap.newSharedScope().allocate(64);
            heap.close();
        }

        @Test
        void closesTheHeapWithAnArrayOpen(Heap heap) {
            // the heap's close takes the array's storage without closing the array: a leak
            NativeLongArray array = new NativeLongArray(heap, 8);
            array.add(1);
            heap.close();
        }
    }

    @SampleRunner.Sample
    static class BadSettingsSample {
        @Test
        @LeakCheck(mode = CheckMode.SAMPLED, sampleInterval = -5)
        void negativeSampleInterval(Heap heap) {
        }

        @Test
        @LeakCheck(sampleInterval = -1)
        void negativeSampleIntervalAndNoHeap() {
        }
    }

    @SampleRunner.Sample
    @ExtendWith(Malloc4jExtension.class)
    static class ParameterSample {
        final Heap inConstructor;

        ParameterSample(Heap heap) {
            inConstructor = heap;
        }

        @Test
        void neverRuns() {
        }
    }

    /** Registers the extension twice: by {@code @LeakCheck} and by a {@code @RegisterExtension} field. */
    @SampleRunner.Sample
    @LeakCheck(mode = CheckMode.FAST)
    static class RegisteredTwiceSample {
        @RegisterExtension
        static final Malloc4jExtension EXTENSION = new Malloc4jExtension();
        static final List<MemorySegment> GLOBAL_BLOCKS = new CopyOnWriteArrayList<>();
        final MemorySegment globalBuffer = global(24);
        Heap beforeEachHeap;

        static MemorySegment global(long byteSize) {
            MemorySegment block = Heap.global().malloc(byteSize);
            GLOBAL_BLOCKS.add(block);
            return block;
        }

        @BeforeEach
        void before(Heap heap) {
            beforeEachHeap = heap;
        }

        @Test
        void freesEverything(Heap heap) {
            assertSame(beforeEachHeap, heap);
            assertEquals(CheckMode.FAST, heap.checkMode());
            heap.free(heap.malloc(16));
            Heap.global().free(globalBuffer);
            GLOBAL_BLOCKS.remove(globalBuffer);
        }

        @Test
        void leaksOneBlock(Heap heap) {
            Heap.global().free(globalBuffer);
            GLOBAL_BLOCKS.remove(globalBuffer);
            heap.malloc(16);
        }

        @Test
        void leaksItsInstancesGlobalBlock() {
        }

        @Test
        @InjectFaults(firstN = 1)
        void failsOnce(Heap heap, FaultInjection faults) {
            assertSame(MemorySegment.NULL, heap.tryMalloc(16));
            heap.free(heap.malloc(16));
            assertEquals(1, faults.injectedFailures());
            Heap.global().free(globalBuffer);
            GLOBAL_BLOCKS.remove(globalBuffer);
        }
    }

    /** Factories whose heap, shared by their dynamic tests, is left with blocks live. */
    @SampleRunner.Sample
    @LeakCheck
    static class DynamicTestsSample {
        @TestFactory
        Stream<DynamicNode> oneDynamicTestLeaks(Heap heap) {
            MemorySegment shared = heap.malloc(16); // freed by the last dynamic test
            return Stream.of(
                    DynamicTest.dynamicTest("allocatesAndFrees", () -> heap.free(heap.malloc(32))),
                    DynamicContainer.dynamicContainer("box", Stream.of(
                            DynamicTest.dynamicTest("leaksTwo", () -> {
                                heap.malloc(40);
                                heap.mallocAddress(2);
                            }))),
                    DynamicTest.dynamicTest("freesTheShared", () -> heap.free(shared)));
        }

        @TestFactory
        List<DynamicTest> leaksInTheFactoryMethod(Heap heap) {
            heap.malloc(24);
            return List.of(DynamicTest.dynamicTest("clean", () -> heap.free(heap.malloc(8))));
        }
    }

    /** A factory whose dynamic test frees a larger block than the ones it leaves live. */
    @SampleRunner.Sample
    @LeakCheck
    static class DynamicTestFreeingMoreBytesSample {
        @TestFactory
        List<DynamicTest> freesALargerBlockThanItLeaves(Heap heap) {
            MemorySegment shared = heap.malloc(1000);
            return List.of(DynamicTest.dynamicTest("freesTheSharedLeaksTwo", () -> {
                heap.free(shared);
                heap.malloc(10);
                heap.malloc(20);
            }));
        }
    }

    // ---- the tests ----

    @Test
    void aLeakingTestFailsWithTheReportNamingTheAllocationSite() {
        HEAPS.clear();
        Map<String, TestExecutionResult> results = SampleRunner.run(LeakingSample.class);
        Throwable leak = failure(results, "leaksOneBlock");
        assertInstanceOf(AssertionError.class, leak);
        String message = leak.getMessage();
        String sample = SAMPLE_CLASS_PREFIX + "LeakingSample";
        assertTrue(message.startsWith("Malloc4jExtension: the test left 1 block(s), 48 byte(s), live in heap "
                + "'LeakingSample.leaksOneBlock(Heap)'\n"), message);
        assertTrue(message.contains("ERROR: malloc4j: detected memory leaks in heap 'LeakingSample.leaksOneBlock(Heap)'"),
                message);
        assertTrue(message.contains("Direct leak of 48 byte(s) in 1 object(s) allocated from:\n"
                + "    #0 " + sample + ".allocateTheLeakyBuffer(Malloc4jExtensionTest.java:"), message);
        assertTrue(message.contains("    #1 " + sample + ".leaksOneBlock(Malloc4jExtensionTest.java:"), message);
        // The runner's frames below the test's (JUnit, reflection) are left out: the test's are the last.
        assertTrue(message.contains(".leaksOneBlock(Malloc4jExtensionTest.java:") && !message.contains("    #2 "),
                message);
        assertTrue(message.contains("SUMMARY: malloc4j: 48 byte(s) leaked in 1 allocation(s)."), message);

        assertSucceeded(results, "freesEverything");
        assertSucceeded(results, "usesNoHeap");
        assertEquals(5, HEAPS.size(), "one heap per test and per invocation");
        assertEquals(5, HEAPS.stream().distinct().count());
        assertTrue(HEAPS.stream().anyMatch(heap -> heap.name().equals("LeakingSample.leaksOnlyForTwo [2] 2")),
                HEAPS::toString);
        assertTrue(HEAPS.stream().allMatch(Heap::isClosed), "the extension closes every heap");
    }

    @Test
    void eachInvocationOfAParameterizedTestIsCheckedOnItsOwn() {
        List<TestExecutionResult.Status> statuses = new CopyOnWriteArrayList<>();
        org.junit.platform.testkit.engine.EngineTestKit.engine("junit-jupiter")
                .selectors(org.junit.platform.engine.discovery.DiscoverySelectors.selectMethod(LeakingSample.class,
                        "leaksOnlyForTwo", "int," + Heap.class.getName()))
                .configurationParameter(SampleRunner.SAMPLES_PARAMETER, "true")
                .execute().testEvents().finished().stream()
                .forEach(event -> statuses.add(event.getRequiredPayload(TestExecutionResult.class).getStatus()));
        assertEquals(List.of(TestExecutionResult.Status.SUCCESSFUL, TestExecutionResult.Status.FAILED,
                TestExecutionResult.Status.SUCCESSFUL), statuses);
    }

    @Test
    void inFastModeALeakIsCountedWithoutSites() {
        Map<String, TestExecutionResult> results = SampleRunner.run(FastModeSample.class);
        String message = failure(results, "leaksTwoBlocks").getMessage();
        assertTrue(message.startsWith("Malloc4jExtension: the test left 2 block(s), 100 byte(s), live in heap "
                + "'FastModeSample.leaksTwoBlocks(Heap)'"), message);
        assertTrue(message.contains("no allocation sites recorded"), message);
    }

    @Test
    void theLeakMessagesHintFollowsTheHeapsModeNotARacingCount() {
        // A thread the test left running frees and allocates between the counters and the sites
        // being read: the two need not agree, but the heap's mode says what the report can hold.
        StackTraceElement frame = new StackTraceElement("Example", "allocate", "Example.java", 10);
        LeakReport oneSite = new LeakReport(1, 32, List.of(new LeakReport.Site(1, 32, List.of(frame))),
                "ERROR: malloc4j: detected memory leaks in heap 'h'\n");
        LeakReport none = new LeakReport(0, 0, List.of(), "");
        HeapStats threeLive = new HeapStats("h", 3, 0, 96, 96, 4096, 4096, 1 << 25, 1 << 25, 0, 1, 0, 0, 0);
        String modeHints = "(no allocation sites recorded|sampled mode|@LeakCheck\\(mode)";

        String fullWithFewerSites = Malloc4jExtension.leakMessage(CheckMode.FULL, threeLive, oneSite);
        assertFalse(Pattern.compile(modeHints).matcher(fullWithFewerSites).find(), fullWithFewerSites);
        assertTrue(fullWithFewerSites.contains(oneSite.text()), fullWithFewerSites);
        String fullWithNoSites = Malloc4jExtension.leakMessage(CheckMode.FULL, threeLive, none);
        assertFalse(Pattern.compile(modeHints).matcher(fullWithNoSites).find(), fullWithNoSites);

        assertTrue(Malloc4jExtension.leakMessage(CheckMode.SAMPLED, threeLive, oneSite)
                .contains("(sampled mode: 1 of them have a recorded site)"));
        assertTrue(Malloc4jExtension.leakMessage(CheckMode.FAST, threeLive, none)
                .contains("(no allocation sites recorded: run the test with @LeakCheck(mode = CheckMode.FULL)"));
    }

    @Test
    void misuseThatCheckFindsFailsTheTestWithTheSanitizerReport() {
        Map<String, TestExecutionResult> results = SampleRunner.run(MisuseSample.class);

        Throwable overflow = failure(results, "overflowsARawBlockAndNeverFreesIt");
        MemoryMisuseException e = assertInstanceOf(MemoryMisuseException.class, overflow);
        assertEquals(MemoryMisuseException.Kind.HEAP_BUFFER_OVERFLOW, e.kind());
        assertTrue(e.getMessage().contains("0 bytes after the 32-byte region"), e.getMessage());
        assertTrue(e.getMessage().contains(".overflowsARawBlockAndNeverFreesIt("), e.getMessage());
        // The report's stacks end at the test's frames, and the check's at the extension's: none of JUnit's.
        assertFalse(e.getMessage().contains("org.junit."), e.getMessage());
        // the leak of the same block is reported too, as a suppressed failure
        assertEquals(1, overflow.getSuppressed().length);
        assertFalse(overflow.getSuppressed()[0].getMessage().contains("org.junit."),
                overflow.getSuppressed()[0].getMessage());
        assertTrue(overflow.getSuppressed()[0].getMessage().contains("Direct leak of 32 byte(s)"));

        Throwable afterFree = failure(results, "writesAfterFree");
        assertEquals(MemoryMisuseException.Kind.USE_AFTER_FREE,
                assertInstanceOf(MemoryMisuseException.class, afterFree).kind());
        assertTrue(afterFree.getMessage().contains("4 bytes inside of the 32-byte region"), afterFree.getMessage());
    }

    @Test
    void aTestThatFailsOnItsOwnIsNotFailedAgainForLeaks() {
        Throwable own = failure(SampleRunner.run(MisuseSample.class), "failsAndLeaks");
        assertInstanceOf(IllegalStateException.class, own);
        assertEquals("the test's own failure", own.getMessage());
        assertEquals(0, own.getSuppressed().length);
    }

    @Test
    void misuseInATestThatFailsOnItsOwnIsAttachedToItsFailure() {
        Map<String, TestExecutionResult> results = SampleRunner.run(MisuseSample.class);
        Throwable own = failure(results, "overflowsARawBlockThenFailsOnItsOwn");
        assertInstanceOf(IllegalStateException.class, own);
        assertEquals("the test's own failure", own.getMessage());
        assertEquals(1, own.getSuppressed().length, () -> List.of(own.getSuppressed()).toString());
        MemoryMisuseException misuse = assertInstanceOf(MemoryMisuseException.class, own.getSuppressed()[0]);
        assertEquals(MemoryMisuseException.Kind.HEAP_BUFFER_OVERFLOW, misuse.kind());
        assertTrue(misuse.getMessage().contains(".overflowARawBlock("), misuse.getMessage());
    }

    @Test
    void misuseInAnAbortedTestFailsIt() {
        Map<String, TestExecutionResult> results = SampleRunner.run(MisuseSample.class);
        MemoryMisuseException misuse = assertInstanceOf(MemoryMisuseException.class,
                failure(results, "overflowsARawBlockThenIsAborted"));
        assertEquals(MemoryMisuseException.Kind.HEAP_BUFFER_OVERFLOW, misuse.kind());
        assertTrue(misuse.getMessage().contains(".overflowARawBlock("), misuse.getMessage());
        assertEquals("the test's own abort", misuse.getSuppressed()[0].getMessage());
        assertEquals(TestExecutionResult.Status.ABORTED, SampleRunner.result(results, "leaksThenIsAborted").getStatus(),
                "an aborted test is not failed for leaks");
    }

    /** @return what running {@code sample} printed to standard error; its results go to {@code results} */
    static String standardErrorOf(Class<?> sample, Map<String, TestExecutionResult> results) {
        PrintStream err = System.err;
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        System.setErr(new PrintStream(printed, true, StandardCharsets.UTF_8));
        try {
            results.putAll(SampleRunner.run(sample));
        } finally {
            System.setErr(err);
        }
        return printed.toString(StandardCharsets.UTF_8);
    }

    @Test
    void aLeakIsReportedOnceInTheFailureAndNotAgainWhenTheHeapCloses() {
        HEAPS.clear();
        Map<String, TestExecutionResult> results = new HashMap<>();
        String printed = standardErrorOf(LeakingSample.class, results);
        assertTrue(failure(results, "leaksOneBlock").getMessage()
                .contains("ERROR: malloc4j: detected memory leaks in heap 'LeakingSample.leaksOneBlock(Heap)'"));
        assertFalse(printed.contains("detected memory leaks"), printed);

        // nor when the test closed the heap itself, before the extension checked it
        String closedByTheTest = standardErrorOf(ClosingSample.class, results);
        assertTrue(failure(results, "leaksThenClosesTheHeap").getMessage()
                .contains("ERROR: malloc4j: detected memory leaks in heap 'ClosingSample.leaksThenClosesTheHeap(Heap)'"));
        assertFalse(closedByTheTest.contains("detected memory leaks"), closedByTheTest);
        assertTrue(HEAPS.stream().allMatch(Heap::isClosed), "the extension closes every heap");
    }

    @Test
    void leaksOfATestThatFailedOrWasAbortedOnItsOwnGoToStandardErrorWhenTheHeapCloses() {
        Map<String, TestExecutionResult> results = new HashMap<>();
        String printed = standardErrorOf(MisuseSample.class, results);
        assertEquals("the test's own failure", failure(results, "failsAndLeaks").getMessage());
        assertTrue(printed.contains("ERROR: malloc4j: detected memory leaks in heap 'MisuseSample.failsAndLeaks(Heap)'\n\n"
                + "Direct leak of 16 byte(s) in 1 object(s) allocated from:\n    #0 " + SAMPLE_CLASS_PREFIX
                + "MisuseSample.failsAndLeaks("), printed);
        assertTrue(printed.contains("ERROR: malloc4j: detected memory leaks in heap 'MisuseSample.leaksThenIsAborted(Heap)'"),
                printed);
        // a leak the failure carries is not printed again
        assertFalse(printed.contains("detected memory leaks in heap 'MisuseSample.overflowsARawBlockAndNeverFreesIt(Heap)'"),
                printed);
    }

    @Test
    void misuseInATestWhoseFailureTakesNoSuppressedGoesToStandardError() {
        Map<String, TestExecutionResult> results = new HashMap<>();
        String text = standardErrorOf(MisuseSample.class, results);
        assertInstanceOf(TakesNoSuppressed.class,
                failure(results, "overflowsARawBlockThenFailsWithAnExceptionThatTakesNoSuppressed"));
        assertTrue(text.contains("'MisuseSample.overflowsARawBlockThenFailsWithAnExceptionThatTakesNoSuppressed(Heap)'"),
                text);
        assertTrue(text.contains("ERROR: malloc4j: heap-buffer-overflow"), text);
    }

    @Test
    void aHeapThatCannotBeClosedStillReportsTheLeakWithTheCloseFailure() throws InterruptedException {
        HEAPS.clear();
        Map<String, TestExecutionResult> results = new HashMap<>();
        String printed = standardErrorOf(UnclosableSample.class, results);
        Throwable leak = failure(results, "leaksAndLeavesAnArenaItCannotClose");
        assertInstanceOf(AssertionError.class, leak);
        assertTrue(leak.getMessage().contains("Direct leak of 24 byte(s) in 1 object(s) allocated from:\n    #0 "
                + SAMPLE_CLASS_PREFIX + "UnclosableSample.allocateTheLeakedBlock("), leak.getMessage());
        assertEquals(1, leak.getSuppressed().length, () -> List.of(leak.getSuppressed()).toString());
        Throwable close = assertInstanceOf(IllegalStateException.class, leak.getSuppressed()[0]);
        assertTrue(close.getMessage().contains("is not closed"), close.getMessage());
        // Tried again when the run ended, it still could not be closed: the arena's thread is alive.
        assertTrue(printed.contains("Malloc4jExtension: heap 'UnclosableSample.leaksAndLeavesAnArenaItCannotClose(Heap)'"
                + " could not be closed before the test run ended"), printed);
        // Once the arena's thread has ended, the heap closes.
        UnclosableSample.arena.end();
        HEAPS.get(0).close();
        assertTrue(HEAPS.get(0).isClosed());
    }

    @Test
    void aHeapThatCouldNotBeClosedIsClosedAfterALaterTest() {
        Map<String, TestExecutionResult> results = SampleRunner.run(ClosedAfterALaterTestSample.class);
        // it fails for the arena's block, with the close failure suppressed
        Throwable close = failure(results, "leavesAnArenaOpenOnALiveThread").getSuppressed()[0];
        assertTrue(close.getMessage().contains("is not closed"), close.getMessage());
        assertSucceeded(results, "letsTheArenasThreadEnd");
        assertSucceeded(results, "findsTheHeapClosed");
    }

    @Test
    void aHeapThatCouldNotBeClosedIsClosedWhenTheRunEnds() {
        Map<String, TestExecutionResult> results = SampleRunner.run(ClosedWhenTheRunEndsSample.class);
        failure(results, "leavesAnArenaOpenOnALiveThread");
        assertTrue(ClosedWhenTheRunEndsSample.unclosable.isClosed());
    }

    @Test
    void theAnnotationsSettingsReachTheHeap() {
        Map<String, TestExecutionResult> results = SampleRunner.run(ConfigSample.class);
        for (String method : List.of("beforeEachGetsTheTestsHeap", "classQuarantineIsZero",
                "methodAnnotationOverridesTheClass", "checkedModeByDefault", "fastModeOnRequest",
                "sampledModeWithIntervalOne", "inheritsTheEnclosingClassesSettings")) {
            assertSucceeded(results, method);
        }
        // @AfterEach methods run before the leak check, but do not free for the test
        assertTrue(failure(results, "aBlockLeftForAfterEachStillLeaks").getMessage().contains(".leftForAfterEach("));
    }

    @Test
    void aTestThatLeaksAndThenClosesItsHeapStillFails() {
        HEAPS.clear();
        Map<String, TestExecutionResult> results = SampleRunner.run(ClosingSample.class);

        Throwable leak = failure(results, "leaksThenClosesTheHeap");
        assertInstanceOf(AssertionError.class, leak);
        String message = leak.getMessage();
        assertTrue(message.startsWith("Malloc4jExtension: the test left 1 block(s), 100 byte(s), live in heap "
                + "'ClosingSample.leaksThenClosesTheHeap(Heap)'\n"), message);
        assertTrue(message.contains("closed the heap with them live"), message);
        // The closed heap still names where the leaked block was allocated.
        assertTrue(message.contains("Direct leak of 100 byte(s) in 1 object(s) allocated from:"), message);
        assertTrue(message.contains("ClosingSample.leaksThenClosesTheHeap("), message);
        assertEquals(0, leak.getSuppressed().length, () -> List.of(leak.getSuppressed()).toString());
        assertTrue(HEAPS.get(0).isClosed());

        String fast = failure(results, "leaksInFastModeThenClosesTheHeap").getMessage();
        assertTrue(fast.startsWith("Malloc4jExtension: the test left 2 block(s), 100 byte(s), live in heap "
                + "'ClosingSample.leaksInFastModeThenClosesTheHeap(Heap)'\n"), fast);
        assertTrue(fast.contains("closed the heap with them live"), fast);
        assertTrue(fast.contains("no allocation sites recorded"), fast);

        assertSucceeded(results, "freesEverythingThenClosesTheHeap");
        assertSucceeded(results, "closesTheHeapWithAScopeOpen");
        String array = failure(results, "closesTheHeapWithAnArrayOpen").getMessage();
        assertTrue(array.startsWith("Malloc4jExtension: the test left 1 block(s), 64 byte(s), live in heap "), array);
        assertTrue(array.contains("closed the heap with them live"), array);
    }

    @Test
    void aFactoryThatLeaksNamesTheDynamicTestsThatLeftMoreBlocksLiveThanTheyFound() {
        EngineExecutionResults execution = SampleRunner.execute(DynamicTestsSample.class);
        Map<String, TestExecutionResult> containers = SampleRunner.containers(execution);

        String message = failure(containers, "oneDynamicTestLeaks").getMessage();
        assertTrue(message.startsWith("Malloc4jExtension: the test left 2 block(s), 42 byte(s), live in heap "
                + "'DynamicTestsSample.oneDynamicTestLeaks(Heap)'\n(dynamic tests that ended with more blocks live "
                + "than they began with: 'box > leaksTwo' (2 block(s), 42 byte(s)))\n"), message);
        assertTrue(message.contains("Direct leak of 40 byte(s) in 1 object(s)"), message);
        // each dynamic test passes: a block one leaves may be freed by a later one, so only the factory fails
        assertEquals(4, execution.testEvents().succeeded().count(), () -> execution.testEvents().list().toString());
        assertEquals(0, execution.testEvents().failed().count());

        String inFactory = failure(containers, "leaksInTheFactoryMethod").getMessage();
        assertTrue(inFactory.startsWith("Malloc4jExtension: the test left 1 block(s), 24 byte(s), live in heap "
                + "'DynamicTestsSample.leaksInTheFactoryMethod(Heap)'\n(no dynamic test ended with more blocks live "
                + "than it began with: the factory method left them, or the code making its dynamic tests)\n"),
                inFactory);
    }

    @Test
    void aDynamicTestThatFreedMoreBytesThanItLeftIsNamedWithoutANegativeByteCount() {
        Map<String, TestExecutionResult> containers =
                SampleRunner.containers(SampleRunner.execute(DynamicTestFreeingMoreBytesSample.class));
        String message = failure(containers, "freesALargerBlockThanItLeaves").getMessage();
        assertTrue(message.startsWith("Malloc4jExtension: the test left 2 block(s), 30 byte(s), live in heap "
                + "'DynamicTestFreeingMoreBytesSample.freesALargerBlockThanItLeaves(Heap)'\n(dynamic tests that ended "
                + "with more blocks live than they began with: 'freesTheSharedLeaksTwo' (1 block(s), but 970 byte(s) "
                + "fewer: it freed larger blocks than it left))\n"), message);
    }

    @Test
    void aNegativeSampleIntervalFailsTheTestWithAConfigurationError() {
        Map<String, TestExecutionResult> results = SampleRunner.run(BadSettingsSample.class);
        for (String method : List.of("negativeSampleInterval", "negativeSampleIntervalAndNoHeap")) {
            Throwable cause = assertInstanceOf(ExtensionConfigurationException.class, failure(results, method), method);
            assertTrue(cause.getMessage().contains("sampleInterval must be 0 (the heap's default) or at least 1: -"),
                    cause.getMessage());
            assertTrue(cause.getMessage().contains("@org.malloc4j.junit.LeakCheck("), cause.getMessage());
        }
    }

    @Test
    void anExtensionRegisteredTwiceServesEachTestOnce() {
        Map<String, TestExecutionResult> results;
        try {
            results = SampleRunner.run(RegisteredTwiceSample.class);
        } finally {
            RegisteredTwiceSample.GLOBAL_BLOCKS.forEach(Heap.global()::free);
            RegisteredTwiceSample.GLOBAL_BLOCKS.clear();
        }
        assertSucceeded(results, "freesEverything");
        assertSucceeded(results, "failsOnce");
        Throwable leak = failure(results, "leaksOneBlock");
        assertInstanceOf(AssertionError.class, leak);
        assertTrue(leak.getMessage().startsWith("Malloc4jExtension: the test left 1 block(s), 16 byte(s), live in heap "
                + "'RegisteredTwiceSample.leaksOneBlock(Heap)'"), leak.getMessage());
        if (Malloc4jExtension.globalHeapIsChecked()) {
            Throwable globalLeak = failure(results, "leaksItsInstancesGlobalBlock");
            assertTrue(globalLeak.getMessage().contains("left 1 new block(s), 24 byte(s), live in the global heap"),
                    globalLeak.getMessage());
        }
    }

    @Test
    void aHeapParameterOutsideATestMethodIsRejectedWithAnExplanation() {
        Map<String, TestExecutionResult> results = SampleRunner.run(ParameterSample.class);
        Throwable failure = failure(results, "neverRuns");
        assertInstanceOf(ParameterResolutionException.class, failure);
        assertTrue(failure.getMessage().contains("one heap per test"), failure.getMessage());
    }
}
