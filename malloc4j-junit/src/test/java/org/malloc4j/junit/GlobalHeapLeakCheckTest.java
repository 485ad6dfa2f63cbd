package org.malloc4j.junit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.malloc4j.junit.SampleRunner.assertSucceeded;
import static org.malloc4j.junit.SampleRunner.failure;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.parallel.Isolated;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.testkit.engine.EngineExecutionResults;
import org.malloc4j.FixedSizePool;
import org.malloc4j.Heap;
import org.malloc4j.LeakReport;
import org.malloc4j.NativeLongArray;

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

    /** Leaks from the global heap in a class that runs alone even with parallel execution on. */
    @SampleRunner.Sample
    @Isolated
    @ExtendWith(Malloc4jExtension.class)
    static class IsolatedSample {
        @Test
        void leaksFromTheGlobalHeap() {
            GlobalSample.allocateFromTheGlobalHeap(16);
        }
    }

    /** Allocates from the global heap in its field initialisers: each test's instance leaks its block. */
    @SampleRunner.Sample
    @ExtendWith(Malloc4jExtension.class)
    static class FieldSample {
        final MemorySegment buffer = GlobalSample.allocateFromTheGlobalHeap(256);

        @Test
        void usesItsBuffer() {
            buffer.fill((byte) 1);
        }

        @Nested
        class Inner {
            final MemorySegment innerBuffer = GlobalSample.allocateFromTheGlobalHeap(128);

            @Test
            void usesBothBuffers() {
                buffer.fill((byte) 2);
                innerBuffer.fill((byte) 2);
            }
        }

        /** Made once for its tests, and so is the instance of the outer class it runs in. */
        @Nested
        @TestInstance(TestInstance.Lifecycle.PER_CLASS)
        class SharedInner {
            final MemorySegment innerBuffer = GlobalSample.allocateFromTheGlobalHeap(16);

            @Test
            void usesBothSharedBuffers() {
                buffer.fill((byte) 3);
                innerBuffer.fill((byte) 3);
            }
        }
    }

    /** One instance for all its tests: what its field initialisers allocate is no test's leak. */
    @SampleRunner.Sample
    @ExtendWith(Malloc4jExtension.class)
    @TestInstance(TestInstance.Lifecycle.PER_CLASS)
    static class PerClassSample {
        final MemorySegment sharedBuffer = GlobalSample.allocateFromTheGlobalHeap(64);

        @Test
        void usesTheSharedBuffer() {
            sharedBuffer.fill((byte) 1);
        }

        @Nested
        class PerMethodInner {
            final MemorySegment innerBuffer = GlobalSample.allocateFromTheGlobalHeap(32);

            @Test
            void usesBothBuffers() {
                sharedBuffer.fill((byte) 2);
                innerBuffer.fill((byte) 2);
            }
        }
    }

    /** Factories that leave blocks live in the global heap, from a dynamic test or from the factory method. */
    @SampleRunner.Sample
    @ExtendWith(Malloc4jExtension.class)
    static class FactorySample {
        @TestFactory
        Stream<DynamicNode> oneDynamicTestLeaks() {
            MemorySegment shared = Heap.global().malloc(16); // freed by the last dynamic test
            return Stream.of(
                    DynamicTest.dynamicTest("allocatesAndFrees", () -> Heap.global().free(Heap.global().malloc(32))),
                    DynamicContainer.dynamicContainer("box", Stream.of(
                            DynamicTest.dynamicTest("leaksTwo", () -> {
                                GlobalSample.allocateFromTheGlobalHeap(40);
                                GlobalSample.allocateFromTheGlobalHeap(32);
                            }))),
                    DynamicTest.dynamicTest("freesTheShared", () -> Heap.global().free(shared)));
        }

        @TestFactory
        List<DynamicTest> leaksInTheFactoryMethod() {
            GlobalSample.allocateFromTheGlobalHeap(24);
            return List.of(DynamicTest.dynamicTest("clean", () -> Heap.global().free(Heap.global().malloc(8))));
        }
    }

    /** A pool of the global heap that outlives every test, its page made before the samples run. */
    static FixedSizePool sharedPool;
    /** Blocks the pool sample keeps on purpose, given back after each test. */
    static final List<MemorySegment> KEPT = new CopyOnWriteArrayList<>();

    /** Tests taking blocks from {@link #sharedPool}, whose page was live before they ran. */
    @SampleRunner.Sample
    @ExtendWith(Malloc4jExtension.class)
    static class SharedPoolSample {
        static void keepThree() {
            for (int i = 0; i < 3; i++) {
                KEPT.add(sharedPool.allocate());
            }
        }

        @Test
        void keepsBlocksOfTheSharedPool() {
            keepThree();
        }

        @Test
        void givesBackWhatItTakes() {
            sharedPool.free(sharedPool.allocate());
        }
    }

    /** Holders of the global heap that outlive every test, made empty before the samples run. */
    static FixedSizePool growingPool;
    static NativeLongArray growingArray;
    /** What the growing sample keeps of {@link #growingPool}, and pools its tests make and leave open. */
    static final List<MemorySegment> KEPT_FROM_GROWING = new CopyOnWriteArrayList<>();
    static final List<FixedSizePool> LEFT_OPEN = new CopyOnWriteArrayList<>();

    /** Tests during which holders made before them grow: a pool's new pages, an array's larger storage. */
    @SampleRunner.Sample
    @ExtendWith(Malloc4jExtension.class)
    static class SharedHoldersGrowingSample {
        /** Takes three pages' worth of blocks from the shared pool, and gives back all but {@code keep}. */
        static void growThePool(int keep) {
            List<MemorySegment> taken = new java.util.ArrayList<>();
            for (int i = 0; i < 3 * growingPool.blocksPerPage(); i++) {
                taken.add(growingPool.allocate());
            }
            KEPT_FROM_GROWING.addAll(taken.subList(0, keep));
            taken.subList(keep, taken.size()).forEach(growingPool::free);
        }

        @Test
        void growsTheSharedPoolAndGivesBackAll() {
            growThePool(0);
        }

        @Test
        void growsTheSharedArray() {
            for (long i = 0; i < 100_000; i++) {
                growingArray.add(i);
            }
        }

        @Test
        void growsTheSharedPoolAndKeepsOne() {
            growThePool(1);
        }

        @Test
        void leavesAPoolItMadeOpen() {
            FixedSizePool own = FixedSizePool.builder(Heap.global(), 32).name("made-in-the-test").build();
            LEFT_OPEN.add(own);
            own.free(own.allocate());
        }
    }

    /** A pool in a static field of the test class itself, made when JUnit first needs the class. */
    @SampleRunner.Sample
    @ExtendWith(Malloc4jExtension.class)
    static class StaticPoolSample {
        static final FixedSizePool NODES = FixedSizePool.builder(Heap.global(), 64).name("static").build();

        @Test
        void firstTakesAndGivesBack() {
            NODES.free(NODES.allocate());
        }

        @Test
        void secondTakesAndGivesBack() {
            NODES.free(NODES.allocate());
        }
    }

    /** A test that keeps a block of a shared pool and leaves open a pool of its own of the same name. */
    @SampleRunner.Sample
    @ExtendWith(Malloc4jExtension.class)
    static class SameNameSample {
        @Test
        void keepsASharedBlockAndLeavesItsOwnPoolOpen() {
            KEPT_FROM_GROWING.add(growingPool.allocate());
            FixedSizePool own = FixedSizePool.builder(Heap.global(), 48).name("growing").build();
            LEFT_OPEN.add(own);
            own.allocate();
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
        KEPT.forEach(block -> sharedPool.free(block));
        KEPT.clear();
        if (sharedPool != null) {
            sharedPool.close();
            sharedPool = null;
        }
        KEPT_FROM_GROWING.forEach(block -> growingPool.free(block));
        KEPT_FROM_GROWING.clear();
        LEFT_OPEN.forEach(FixedSizePool::close);
        LEFT_OPEN.clear();
        if (growingPool != null) {
            growingPool.close();
            growingArray.close();
            growingPool = null;
            growingArray = null;
        }
    }

    /**
     * With JUnit's parallel execution on, other tests' blocks count in a test's comparison: its
     * failure says so, and how to make the test run alone; a class that does ({@code @Isolated}) is
     * not told.
     */
    @Test
    void aGlobalLeakUnderParallelExecutionSaysOtherTestsMayHaveLeftTheBlocks() {
        String note = "JUnit's parallel execution is on: blocks that tests running at the same time left live in the"
                + " global heap may count here too; put @Isolated on the test's class";
        Map<String, String> parallel = Map.of("junit.jupiter.execution.parallel.enabled", "true");
        String underParallel = failure(SampleRunner.runWith(parallel, GlobalSample.class, "leaksFromTheGlobalHeap"),
                "leaksFromTheGlobalHeap").getMessage();
        assertTrue(underParallel.lines().skip(1).findFirst().orElseThrow().contains(note), underParallel);

        String alone = failure(SampleRunner.run(GlobalSample.class, "leaksFromTheGlobalHeap"),
                "leaksFromTheGlobalHeap").getMessage();
        assertFalse(alone.contains("parallel"), alone);
        String isolated = failure(SampleRunner.runWith(parallel, IsolatedSample.class), "leaksFromTheGlobalHeap")
                .getMessage();
        assertTrue(isolated.startsWith("Malloc4jExtension: the test left 1 new block(s), 16 byte(s)"), isolated);
        assertFalse(isolated.contains("parallel"), isolated);
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
    void blocksTheTestInstanceAllocatesAreTheTestsLeaks() {
        Map<String, TestExecutionResult> results = SampleRunner.run(FieldSample.class);
        String outer = failure(results, "usesItsBuffer").getMessage();
        assertTrue(outer.startsWith("Malloc4jExtension: the test left 1 new block(s), 256 byte(s), live in the "
                + "global heap"), outer);
        assertTrue(outer.contains("    #1 " + FieldSample.class.getName() + ".<init>("), outer);
        String nested = failure(results, "usesBothBuffers").getMessage();
        assertTrue(nested.startsWith("Malloc4jExtension: the test left 2 new block(s), 384 byte(s), live in the "
                + "global heap"), nested);
        assertSucceeded(results, "usesBothSharedBuffers");
    }

    @Test
    void blocksOfAnInstanceSharedByTheClassesTestsAreNoTestsLeaks() {
        Map<String, TestExecutionResult> results = SampleRunner.run(PerClassSample.class);
        assertSucceeded(results, "usesTheSharedBuffer");
        String nested = failure(results, "usesBothBuffers").getMessage();
        assertTrue(nested.startsWith("Malloc4jExtension: the test left 1 new block(s), 32 byte(s), live in the "
                + "global heap"), nested);
    }

    @Test
    void aFactoryThatLeaksNamesTheDynamicTestsThatLeftMoreBlocksLiveThanTheyFound() {
        EngineExecutionResults execution = SampleRunner.execute(FactorySample.class);
        Map<String, TestExecutionResult> containers = SampleRunner.containers(execution);

        String message = failure(containers, "oneDynamicTestLeaks").getMessage();
        assertTrue(message.startsWith("Malloc4jExtension: the test left 2 new block(s), 72 byte(s), live in the global "
                + "heap\n(dynamic tests that ended with more blocks live than they began with: 'box > leaksTwo' "
                + "(2 block(s), 72 byte(s)))\nERROR: malloc4j: detected memory leaks in heap 'global'\n"), message);
        assertTrue(message.contains("Direct leak of 40 byte(s) in 1 object(s) allocated from:\n    #0 "
                + GlobalSample.class.getName() + ".allocateFromTheGlobalHeap("), message);
        // each dynamic test passes: a block one leaves may be freed by a later one, so only the factory fails
        assertEquals(4, execution.testEvents().succeeded().count(), () -> execution.testEvents().list().toString());

        String inFactory = failure(containers, "leaksInTheFactoryMethod").getMessage();
        assertTrue(inFactory.startsWith("Malloc4jExtension: the test left 1 new block(s), 24 byte(s), live in the "
                + "global heap\n(no dynamic test ended with more blocks live than it began with: the factory method "
                + "left them, or the test's instance, or the code making its dynamic tests)\n"), inFactory);
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

    @Test
    void blocksOfAHolderAreASiteOfTheirOwnAndNameIt() {
        StackTraceElement site = new StackTraceElement("Example", "allocate", "Example.java", 10);
        LeakReport before = new LeakReport(1, 10, List.of(new LeakReport.Site(1, 10, List.of(site))), "");
        LeakReport after = new LeakReport(2, 65_546, List.of(
                new LeakReport.Site(1, 65_536, List.of(site), "FixedSizePool 'nodes'", 1),
                new LeakReport.Site(1, 10, List.of(site))), "");
        String report = Malloc4jExtension.newLeaks(before, after);
        assertTrue(report.startsWith("Malloc4jExtension: the test left 1 new block(s), 65536 byte(s)"), report);
        assertTrue(report.contains("Direct leak of 65536 byte(s) in 1 object(s) held by FixedSizePool 'nodes', which "
                + "was not closed (closing it frees them), allocated from:\n    #0 Example.allocate(Example.java:10)"),
                report);
        // A second pool of that name leaking from that line: one more holder at the site.
        LeakReport pools = new LeakReport(3, 131_082, List.of(
                new LeakReport.Site(2, 131_072, List.of(site), "FixedSizePool 'nodes'", 2),
                new LeakReport.Site(1, 10, List.of(site))), "");
        String one = Malloc4jExtension.newLeaks(after, pools);
        assertTrue(one.startsWith("Malloc4jExtension: the test left 1 new block(s), 65536 byte(s)"), one);
        assertTrue(one.contains(" held by FixedSizePool 'nodes', which was not closed"), one);
        String two = Malloc4jExtension.newLeaks(before, pools);
        assertTrue(two.contains("Direct leak of 131072 byte(s) in 2 object(s) held by 2 holders named FixedSizePool"
                + " 'nodes', none of them closed (closing them frees them), allocated from:"), two);
    }

    @Test
    void aNewLeakOfPoolPagesListsThePoolsBlocksStillHandedOut() {
        StackTraceElement page = new StackTraceElement("Example", "allocate", "Example.java", 10);
        StackTraceElement take = new StackTraceElement("ExampleTest", "takes", "ExampleTest.java", 42);
        LeakReport before = new LeakReport(0, 0, List.of(), "");
        LeakReport after = poolPages(1, 1024, page, "FixedSizePool 'nodes'", 1,
                new LeakReport.HandedOut(3, 48, List.of(take), true),
                        new LeakReport.HandedOut(1, 16, List.of(), false));
        String report = Malloc4jExtension.newLeaks(before, after);
        assertTrue(report.contains("allocated from:\n    #0 Example.allocate(Example.java:10)\n"
                + "  Inside it, 64 byte(s) in 4 block(s) of FixedSizePool 'nodes' still handed out, never given back:\n"
                + "    48 byte(s) in 3 block(s) taken from:\n        #0 ExampleTest.takes(ExampleTest.java:42)\n"
                + "    16 byte(s) in 1 block(s) whose take was not recorded\n"), report);
    }

    @Test
    void newBlocksAtASiteThatHoldsFewerBytesAreNotReportedAsZeroBytes() {
        // The test freed a 100-byte block allocated at the site before it and left two 10-byte blocks
        // from there: one block more, 80 bytes fewer.
        StackTraceElement site = new StackTraceElement("Example", "allocate", "Example.java", 10);
        LeakReport before = new LeakReport(1, 100, List.of(new LeakReport.Site(1, 100, List.of(site))), "");
        LeakReport after = new LeakReport(2, 20, List.of(new LeakReport.Site(2, 20, List.of(site))), "");
        String report = Malloc4jExtension.newLeaks(before, after);
        assertTrue(report.startsWith("Malloc4jExtension: the test left 1 new block(s), at least 0 byte(s), live in "
                + "the global heap"), report);
        assertTrue(report.contains("Direct leak of 1 object(s) of unknown size (the site holds 80 byte(s) less than "
                + "before the test, which freed blocks allocated here before it) allocated from:\n    #0 "
                + "Example.allocate(Example.java:10)"), report);
        assertTrue(!report.contains("Direct leak of 0 byte(s)"), report);
    }

    @Test
    void zeroByteBlocksLeftAtASiteAreReportedAsZeroBytesNotOfUnknownSize() {
        // The test left two malloc(0) blocks from a new site, and one more from a site that held
        // only zero-byte blocks before it: their size is known, and nothing was freed.
        StackTraceElement fresh = new StackTraceElement("Example", "allocateNone", "Example.java", 20);
        StackTraceElement zeros = new StackTraceElement("Example", "allocateZeros", "Example.java", 30);
        LeakReport before = new LeakReport(1, 0, List.of(new LeakReport.Site(1, 0, List.of(zeros))), "");
        LeakReport after = new LeakReport(4, 0, List.of(new LeakReport.Site(2, 0, List.of(fresh)),
                new LeakReport.Site(2, 0, List.of(zeros))), "");
        String report = Malloc4jExtension.newLeaks(before, after);
        assertTrue(report.startsWith("Malloc4jExtension: the test left 3 new block(s), 0 byte(s), live in the global heap"),
                report);
        assertTrue(report.contains("Direct leak of 0 byte(s) in 2 object(s) allocated from:\n    #0 "
                + "Example.allocateNone(Example.java:20)"), report);
        assertTrue(report.contains("Direct leak of 0 byte(s) in 1 object(s) allocated from:\n    #0 "
                + "Example.allocateZeros(Example.java:30)"), report);
        assertTrue(!report.contains("unknown size") && !report.contains("at least"), report);
    }

    @Test
    void blocksATestKeepsFromASharedPoolAreItsLeaks() {
        sharedPool = FixedSizePool.builder(Heap.global(), 48).name("shared").build();
        sharedPool.free(sharedPool.allocate());
        Map<String, TestExecutionResult> results = SampleRunner.run(SharedPoolSample.class);
        assertKeptFromAPoolMadeBefore(failure(results, "keepsBlocksOfTheSharedPool").getMessage(), 3, 144,
                "FixedSizePool 'shared'", SharedPoolSample.class.getName() + ".keepThree(");
        assertSucceeded(results, "givesBackWhatItTakes");
    }

    /** Asserts that {@code message} fails a test for keeping {@code blocks} taken from a pool made before it, at {@code frame}. */
    private static void assertKeptFromAPoolMadeBefore(String message, long blocks, long bytes, String pool, String frame) {
        assertTrue(message.startsWith("Malloc4jExtension: the test left " + blocks + " new block(s), " + bytes
                + " byte(s), live in the global heap"), message);
        assertTrue(message.contains("Direct leak of " + bytes + " byte(s) in " + blocks + " object(s) taken from "
                + pool + ", made before the test, at:\n    #0 " + frame), message);
    }

    /**
     * A pool or array that tests share, made before them, may gain pages or storage during one
     * without failing it; what the test takes from the pool and keeps still fails it, and so does a
     * pool it makes and leaves open.
     */
    @Test
    void holdersMadeBeforeATestMayGrowDuringIt() {
        growingPool = FixedSizePool.builder(Heap.global(), 48).name("growing").build();
        growingArray = new NativeLongArray(Heap.global());
        Map<String, TestExecutionResult> results = SampleRunner.run(SharedHoldersGrowingSample.class);
        assertSucceeded(results, "growsTheSharedPoolAndGivesBackAll");
        assertSucceeded(results, "growsTheSharedArray");
        assertKeptFromAPoolMadeBefore(failure(results, "growsTheSharedPoolAndKeepsOne").getMessage(), 1, 48,
                "FixedSizePool 'growing'", SharedHoldersGrowingSample.class.getName() + ".growThePool(");
        String leftOpen = failure(results, "leavesAPoolItMadeOpen").getMessage();
        assertTrue(leftOpen.contains("held by FixedSizePool 'made-in-the-test', which was not closed"), leftOpen);
    }

    /**
     * JUnit initialises a test class when it makes the first test's instance: a pool in a static
     * field is made before that test's baseline all the same, and no test's leak.
     */
    @Test
    void aPoolInAStaticFieldOfTheTestClassIsNoTestsLeak() {
        Map<String, TestExecutionResult> results = SampleRunner.run(StaticPoolSample.class);
        try {
            assertSucceeded(results, "firstTakesAndGivesBack");
            assertSucceeded(results, "secondTakesAndGivesBack");
        } finally {
            StaticPoolSample.NODES.close();
        }
    }

    @Test
    void aKeptBlockOfASharedPoolIsReportedBesideAnOpenPoolOfTheSameName() {
        growingPool = FixedSizePool.builder(Heap.global(), 48).name("growing").build();
        growingArray = new NativeLongArray(Heap.global());
        String message = failure(SampleRunner.run(SameNameSample.class), "keepsASharedBlockAndLeavesItsOwnPoolOpen")
                .getMessage();
        assertTrue(message.contains("taken from FixedSizePool 'growing', made before the test, at:\n    #0 "
                + SameNameSample.class.getName() + ".keepsASharedBlockAndLeavesItsOwnPoolOpen("), message);
        assertTrue(message.contains("held by FixedSizePool 'growing', which was not closed"), message);
    }

    @Test
    void blocksTakenFromOlderPoolPagesCountOnlyBeyondWhatWasHandedOutBefore() {
        StackTraceElement page = new StackTraceElement("Example", "allocate", "Example.java", 10);
        StackTraceElement take = new StackTraceElement("ExampleTest", "takes", "ExampleTest.java", 42);
        StackTraceElement other = new StackTraceElement("ExampleTest", "takesElsewhere", "ExampleTest.java", 50);
        LeakReport before = poolPages(1, 1024, page, "FixedSizePool 'nodes'", 1,
                new LeakReport.HandedOut(2, 32, List.of(take), true),
                        new LeakReport.HandedOut(1, 16, List.of(other), true));
        assertEquals(null, Malloc4jExtension.newLeaks(before, before), "nothing more handed out");
        LeakReport after = poolPages(1, 1024, page, "FixedSizePool 'nodes'", 1,
                new LeakReport.HandedOut(5, 80, List.of(take), true));
        String report = Malloc4jExtension.newLeaks(before, after);
        assertTrue(report.startsWith("Malloc4jExtension: the test left 3 new block(s), 48 byte(s), live in the "
                + "global heap"), report);
        assertTrue(report.contains("Direct leak of 48 byte(s) in 3 object(s) taken from FixedSizePool 'nodes', "
                + "made before the test, at:\n    #0 ExampleTest.takes(ExampleTest.java:42)\n"), report);
        assertTrue(!report.contains("takesElsewhere") && !report.contains("Example.allocate"), report);
    }

    /** A block taken where an older one was given back may land in another of the pool's pages. */
    @Test
    void aBlockTakenIntoAnotherPageOfThePoolForOneGivenBackIsNoLeak() {
        StackTraceElement first = new StackTraceElement("Example", "grow", "Example.java", 10);
        StackTraceElement second = new StackTraceElement("Example", "growMore", "Example.java", 11);
        StackTraceElement take = new StackTraceElement("ExampleTest", "takes", "ExampleTest.java", 42);
        LeakReport before = twoPages(first, second, new LeakReport.HandedOut(2, 32, List.of(take), true),
                new LeakReport.HandedOut(1, 16, List.of(take), true));
        LeakReport after = twoPages(first, second, new LeakReport.HandedOut(1, 16, List.of(take), true),
                new LeakReport.HandedOut(2, 32, List.of(take), true));
        assertEquals(null, Malloc4jExtension.newLeaks(before, after));
    }

    /**
     * Sampled mode records a take by chance: a recorded block given back for an unrecorded one
     * taken is no leak, and only the growth of the pool's total is one.
     */
    @Test
    void inSampledModeOnlyThePoolsTotalGrowthIsALeak() {
        StackTraceElement page = new StackTraceElement("Example", "allocate", "Example.java", 10);
        StackTraceElement take = new StackTraceElement("ExampleTest", "takes", "ExampleTest.java", 42);
        LeakReport before = poolPages(1, 1024, page, "FixedSizePool 'nodes'", 1,
                new LeakReport.HandedOut(1, 16, List.of(take), true),
                        new LeakReport.HandedOut(1, 16, List.of(), false));
        LeakReport swapped = poolPages(1, 1024, page, "FixedSizePool 'nodes'", 1,
                new LeakReport.HandedOut(2, 32, List.of(), false));
        assertEquals(null, Malloc4jExtension.newLeaks(before, swapped));
        LeakReport grown = poolPages(1, 1024, page, "FixedSizePool 'nodes'", 1,
                new LeakReport.HandedOut(2, 32, List.of(take), true),
                        new LeakReport.HandedOut(1, 16, List.of(), false));
        String report = Malloc4jExtension.newLeaks(before, grown);
        assertTrue(report.startsWith("Malloc4jExtension: the test left 1 new block(s), 16 byte(s)"), report);
        assertTrue(report.contains("Direct leak of 16 byte(s) in 1 object(s) taken from FixedSizePool 'nodes', "
                + "made before the test, by count (sampled mode records where only some blocks were "
                + "taken)\n"), report);
    }

    /**
     * Pools of one name may hand out blocks of different sizes, taken at one place (through a
     * helper deeper than a stack keeps): a test that gives back a 256-byte block and keeps two of
     * 16 bytes kept 32 bytes, where counting blocks and bytes over both sizes would give one block
     * of -224 bytes.
     */
    @Test
    void poolsOfOneNameAreComparedPerBlockSize() {
        StackTraceElement page = new StackTraceElement("Example", "allocate", "Example.java", 10);
        StackTraceElement take = new StackTraceElement("Helper", "take", "Helper.java", 7);
        LeakReport before = poolPages(2, 2048, page, "FixedSizePool 'pool'", 2,
                new LeakReport.HandedOut(1, 256, List.of(take), true));
        LeakReport after = poolPages(2, 2048, page, "FixedSizePool 'pool'", 2,
                new LeakReport.HandedOut(2, 32, List.of(take), true));
        String report = Malloc4jExtension.newLeaks(before, after);
        assertTrue(report.startsWith("Malloc4jExtension: the test left 2 new block(s), 32 byte(s)"), report);
        assertTrue(report.contains("Direct leak of 32 byte(s) in 2 object(s) taken from FixedSizePool 'pool', "
                + "made before the test, at:\n    #0 Helper.take(Helper.java:7)\n"), report);

        LeakReport sampledBefore = poolPages(2, 2048, page, "FixedSizePool 'pool'", 2,
                new LeakReport.HandedOut(1, 256, List.of(), false));
        LeakReport sampledAfter = poolPages(2, 2048, page, "FixedSizePool 'pool'", 2,
                new LeakReport.HandedOut(2, 32, List.of(), false));
        String sampled = Malloc4jExtension.newLeaks(sampledBefore, sampledAfter);
        assertTrue(sampled.startsWith("Malloc4jExtension: the test left 2 new block(s), 32 byte(s)"), sampled);
    }

    /** A take recorded on a native thread has no frame: it is still a recorded take, not sampled mode's. */
    @Test
    void aKeptBlockTakenWithNoFrameIsReportedAsTaken() {
        StackTraceElement page = new StackTraceElement("Example", "allocate", "Example.java", 10);
        LeakReport before = poolPages(1, 1024, page, "FixedSizePool 'pool'", 1);
        LeakReport after = poolPages(1, 1024, page, "FixedSizePool 'pool'", 1,
                new LeakReport.HandedOut(2, 64, List.of(), true));
        String report = Malloc4jExtension.newLeaks(before, after);
        assertTrue(report.contains("Direct leak of 64 byte(s) in 2 object(s) taken from FixedSizePool 'pool', "
                + "made before the test, at:\n    (no frames outside malloc4j)\n"), report);
    }

    /** @return a report of one site of pool pages allocated at {@code page}, with the blocks handed out from them */
    private static LeakReport poolPages(long blocks, long bytes, StackTraceElement page, String pool, long holders,
            LeakReport.HandedOut... handedOut) {
        return new LeakReport(blocks, bytes, List.of(new LeakReport.Site(blocks, bytes, List.of(page), pool, holders,
                true, List.of(handedOut))), "");
    }

    /** @return a report of one pool's two pages, grown at {@code first} and {@code second} */
    private static LeakReport twoPages(StackTraceElement first, StackTraceElement second,
            LeakReport.HandedOut inFirst, LeakReport.HandedOut inSecond) {
        return new LeakReport(2, 2048, List.of(
                new LeakReport.Site(1, 1024, List.of(first), "FixedSizePool 'nodes'", 1, true, List.of(inFirst)),
                new LeakReport.Site(1, 1024, List.of(second), "FixedSizePool 'nodes'", 1, true, List.of(inSecond))),
                "");
    }

    @Test
    void newPoolPagesListOnlyTheBlocksHandedOutBeyondBefore() {
        StackTraceElement page = new StackTraceElement("Example", "allocate", "Example.java", 10);
        StackTraceElement take = new StackTraceElement("ExampleTest", "takes", "ExampleTest.java", 42);
        LeakReport before = poolPages(1, 1024, page, "FixedSizePool 'nodes'", 1,
                new LeakReport.HandedOut(60, 960, List.of(take), true));
        LeakReport after = poolPages(2, 2048, page, "FixedSizePool 'nodes'", 1,
                new LeakReport.HandedOut(70, 1120, List.of(take), true));
        String report = Malloc4jExtension.newLeaks(before, after);
        assertTrue(report.contains("Direct leak of 1024 byte(s) in 1 object(s)"), report);
        assertTrue(report.contains("  Inside them, 160 byte(s) in 10 block(s) of FixedSizePool 'nodes' still handed "
                + "out, never given back:\n    160 byte(s) in 10 block(s) taken from:\n        #0 "
                + "ExampleTest.takes(ExampleTest.java:42)\n"), report);
    }
}
