package org.malloc4j.junit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.malloc4j.junit.SampleRunner.assertSucceeded;
import static org.malloc4j.junit.SampleRunner.failure;

import java.lang.foreign.MemorySegment;
import java.net.URI;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.testkit.engine.EngineExecutionResults;
import org.malloc4j.CheckMode;
import org.malloc4j.FaultInjection;
import org.malloc4j.Heap;
import org.malloc4j.HeapExhaustedError;

/**
 * {@link InjectFaults}: each policy makes the test's heap fail allocations as configured. The
 * samples assert the failures themselves; the tests here run them through the test kit and check
 * that they passed, that a failure path that leaks fails its test, and that a malformed annotation
 * is reported.
 */
class InjectFaultsTest {
    /** What the probability samples saw, run after run: true where an allocation failed. */
    static final List<List<Boolean>> PROBABILITY_RUNS = new ArrayList<>();

    static List<Boolean> failurePattern(Heap heap, int requests) {
        List<Boolean> pattern = new ArrayList<>();
        for (int i = 0; i < requests; i++) {
            MemorySegment block = heap.tryMalloc(16);
            pattern.add(block.equals(MemorySegment.NULL));
            heap.free(block);
        }
        return pattern;
    }

    // ---- samples ----

    @SampleRunner.Sample
    static class PolicySample {
        @Test
        @InjectFaults(everyNth = 2)
        void everySecondAllocationFails(Heap heap, FaultInjection faults) {
            MemorySegment first = heap.malloc(16);
            assertThrows(HeapExhaustedError.class, () -> heap.malloc(16));
            MemorySegment third = heap.tryMalloc(16);
            assertNotSame(MemorySegment.NULL, third);
            assertSame(MemorySegment.NULL, heap.tryCalloc(2, 8));
            heap.free(first);
            heap.free(third);
            assertEquals(2, faults.injectedFailures());
        }

        @Test
        @InjectFaults(firstN = 3)
        void theFirstThreeFail(Heap heap, FaultInjection faults) {
            for (int i = 0; i < 3; i++) {
                assertSame(MemorySegment.NULL, heap.tryMalloc(16));
            }
            heap.free(heap.malloc(16));
            assertEquals(3, faults.injectedFailures());
        }

        @Test
        @InjectFaults(afterBytes = 100)
        void theHeapRunsDryAfterOneHundredBytes(Heap heap) {
            MemorySegment a = heap.malloc(60);
            assertSame(MemorySegment.NULL, heap.tryMalloc(41));
            MemorySegment b = heap.malloc(40);
            assertThrows(HeapExhaustedError.class, () -> heap.malloc(1));
            heap.free(a);
            heap.free(b);
        }

        @Test
        @InjectFaults(probability = 0.5, seed = 7)
        void failsAtRandomWithASeed(Heap heap, FaultInjection faults) {
            List<Boolean> pattern = failurePattern(heap, 64);
            PROBABILITY_RUNS.add(pattern);
            assertEquals(pattern.stream().filter(failed -> failed).count(), faults.injectedFailures());
        }

        @Test
        @InjectFaults(probability = 1)
        void probabilityOneFailsEverything(Heap heap) {
            assertTrue(failurePattern(heap, 10).stream().allMatch(failed -> failed));
        }

        @Test
        @InjectFaults(eachCallSiteOnce = true)
        void eachCallSiteFailsOnce(Heap heap, FaultInjection faults) {
            List<MemorySegment> blocks = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                blocks.add(heap.tryMalloc(16));
            }
            assertSame(MemorySegment.NULL, blocks.get(0));
            assertThrows(HeapExhaustedError.class, () -> heap.mallocAddress(16));
            blocks.subList(1, 3).forEach(heap::free);
            assertEquals(2, faults.injectedFailures());
        }

        @Test
        @InjectFaults(everyNth = 1)
        @LeakCheck(mode = CheckMode.FAST)
        void faultsInFastModeToo(Heap heap) {
            assertThrows(HeapExhaustedError.class, () -> heap.malloc(16));
        }

        @Test
        @LeakCheck
        void noFaultsWithoutTheAnnotation(Heap heap) {
            for (int i = 0; i < 100; i++) {
                heap.free(heap.malloc(16));
            }
        }
    }

    /** A failure path that forgets to free: the extension fails the test and names the block. */
    @SampleRunner.Sample
    static class LeakyFailurePathSample {
        static MemorySegment allocateTheKey(Heap heap) {
            return heap.malloc(24);
        }

        static boolean insert(Heap heap) {
            MemorySegment key = allocateTheKey(heap);
            MemorySegment value = heap.tryMalloc(100);
            if (value.equals(MemorySegment.NULL)) {
                return false; // the bug: key is not freed
            }
            heap.free(value);
            heap.free(key);
            return true;
        }

        @Test
        @InjectFaults(everyNth = 2)
        void insertFailsOnTheSecondAllocation(Heap heap) {
            assertEquals(false, insert(heap));
        }
    }

    /**
     * Code under test that lets {@link HeapExhaustedError} escape, injected or real, from test methods
     * and lifecycle methods; the test ordered last must still run.
     */
    @SampleRunner.Sample
    @LeakCheck
    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    static class EscapingExhaustionSample {
        @Test
        @Order(1)
        @InjectFaults(everyNth = 1)
        void letsAnInjectedFailureEscape(Heap heap) {
            heap.malloc(8);
        }

        @Test
        @Order(2)
        void letsALimitedHeapsExhaustionEscape() {
            try (Heap small = Heap.builder().name("small").maxCommittedBytes(1 << 20).build()) {
                small.malloc(4 << 20);
            }
        }

        @ParameterizedTest
        @Order(3)
        @ValueSource(ints = 8)
        @InjectFaults(everyNth = 1)
        void letsItEscapeFromAnInvocation(int byteSize, Heap heap) {
            heap.malloc(byteSize);
        }

        @TestFactory
        @Order(4)
        @InjectFaults(everyNth = 1)
        List<DynamicTest> letsItEscapeFromADynamicTest(Heap heap) {
            // a source of its own, so SampleRunner reports it by its name, apart from its factory
            return List.of(DynamicTest.dynamicTest("dynamicTestLetsItEscape", URI.create("classpath:/dynamic"),
                    () -> heap.malloc(8)));
        }

        @Test
        @Order(5)
        void runsNext(Heap heap) {
            heap.free(heap.malloc(8));
        }

        @Nested
        @InjectFaults(everyNth = 1)
        class FromBeforeEach {
            @BeforeEach
            void allocate(Heap heap) {
                heap.malloc(8);
            }

            @Test
            void beforeEachLetsItEscape() {
            }
        }

        @Nested
        @InjectFaults(everyNth = 1)
        class FromAfterEach {
            @AfterEach
            void allocate(Heap heap) {
                heap.malloc(8);
            }

            @Test
            void afterEachLetsItEscape() {
            }
        }
    }

    /**
     * Factories whose nodes are made lazily, while JUnit runs them: each lets {@link HeapExhaustedError}
     * escape on its second allocation, after the first node has run; the test ordered last must still
     * run. Each node has a source of its own, so SampleRunner reports it by its display name.
     */
    @SampleRunner.Sample
    @LeakCheck
    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    static class ExhaustionInALazyFactorySample {
        /** The streams whose close handlers ran. */
        static final List<String> CLOSED = new ArrayList<>();

        static DynamicTest madeWith(Heap heap, String displayName) {
            heap.free(heap.malloc(16));
            return DynamicTest.dynamicTest(displayName, URI.create("classpath:/" + displayName), () -> { });
        }

        @TestFactory
        @Order(1)
        @InjectFaults(everyNth = 2)
        Stream<DynamicTest> lazyStreamLetsItEscape(Heap heap) {
            return IntStream.range(0, 3).mapToObj(i -> madeWith(heap, "streamed" + i))
                    .onClose(() -> CLOSED.add("lazyStream"));
        }

        @TestFactory
        @Order(2)
        @InjectFaults(everyNth = 2)
        DynamicContainer lazyNestedContainerLetsItEscape(Heap heap) {
            Stream<DynamicTest> inner = IntStream.range(0, 3).mapToObj(i -> madeWith(heap, "nested" + i))
                    .onClose(() -> CLOSED.add("innerContainer"));
            return DynamicContainer.dynamicContainer("outerContainer", URI.create("classpath:/outerContainer"),
                    Stream.of(DynamicContainer.dynamicContainer("innerContainer",
                            URI.create("classpath:/innerContainer"), inner)));
        }

        @TestFactory
        @Order(3)
        @InjectFaults(everyNth = 2)
        Iterator<DynamicTest> iteratorLetsItEscape(Heap heap) {
            return new Iterator<>() {
                private int made;

                @Override
                public boolean hasNext() {
                    return made < 3;
                }

                @Override
                public DynamicTest next() {
                    return madeWith(heap, "iterated" + made++);
                }
            };
        }

        @TestFactory
        @Order(4)
        @InjectFaults(everyNth = 2)
        List<DynamicContainer> listedContainerLetsItEscape(Heap heap) {
            Stream<DynamicTest> listed = IntStream.range(0, 3).mapToObj(i -> madeWith(heap, "listed" + i));
            return List.of(DynamicContainer.dynamicContainer("listedContainer",
                    URI.create("classpath:/listedContainer"), listed));
        }

        @Test
        @Order(5)
        void runsAfterwards(Heap heap) {
            heap.free(heap.malloc(8));
        }
    }

    @InjectFaults(everyNth = 1)
    abstract static class FaultyBase {
    }

    /** Takes its policy, and the extension, from its superclass. */
    @SampleRunner.Sample
    static class InheritedPolicySample extends FaultyBase {
        @Test
        void everyAllocationFails(Heap heap, FaultInjection faults) {
            assertThrows(HeapExhaustedError.class, () -> heap.malloc(16));
            assertEquals(1, faults.injectedFailures());
        }
    }

    /** Declares a {@code @Nested} class that runs inside each concrete subclass, not inside this class. */
    abstract static class NestedInABase {
        @Nested
        class Inner {
            @Test
            void takesTheSubclassesSettings(Heap heap, FaultInjection faults) {
                assertEquals(CheckMode.FAST, heap.checkMode());
                assertThrows(HeapExhaustedError.class, () -> heap.malloc(16));
                assertEquals(1, faults.injectedFailures());
            }

            @Test
            @LeakCheck(mode = CheckMode.SAMPLED)
            @InjectFaults(firstN = 0)
            void methodAnnotationsStillOverrideThem(Heap heap) {
                assertEquals(CheckMode.SAMPLED, heap.checkMode());
                heap.free(heap.malloc(16));
            }
        }
    }

    /** Configures the {@code @Nested} class it inherits: JUnit runs it nested in this class. */
    @SampleRunner.Sample
    @InjectFaults(everyNth = 1)
    @LeakCheck(mode = CheckMode.FAST)
    static class InheritedNestedSample extends NestedInABase {
    }

    @SampleRunner.Sample
    static class MalformedSample {
        @Test
        @InjectFaults(everyNth = 2, firstN = 1)
        void twoPolicies(Heap heap) {
        }

        @Test
        @InjectFaults
        void noPolicy(Heap heap) {
        }

        @Test
        @InjectFaults(probability = 1.5)
        void probabilityOutOfRange(Heap heap) {
        }

        @Test
        @InjectFaults(everyNth = 2, firstN = 1)
        void twoPoliciesAndNoHeap() {
        }

        @Test
        @LeakCheck
        void faultInjectionParameterWithoutTheAnnotation(Heap heap, FaultInjection faults) {
        }

        @Test
        @InjectFaults(firstN = -5)
        void negativeFirstN(Heap heap) {
        }

        @Test
        @InjectFaults(probability = -0.5, seed = 7)
        void negativeProbabilityWithASeed(Heap heap) {
        }

        @Test
        @InjectFaults(everyNth = 3, seed = 5)
        void seedWithEveryNth(Heap heap) {
        }

        @Test
        @InjectFaults(eachCallSiteOnce = true, seed = -2)
        void seedWithEachCallSiteOnce(Heap heap) {
        }
    }

    // ---- the tests ----

    @Test
    void eachPolicyFailsAllocationsAsConfigured() {
        PROBABILITY_RUNS.clear();
        Map<String, TestExecutionResult> results = SampleRunner.run(PolicySample.class);
        for (String method : List.of("everySecondAllocationFails", "theFirstThreeFail",
                "theHeapRunsDryAfterOneHundredBytes", "failsAtRandomWithASeed", "probabilityOneFailsEverything",
                "eachCallSiteFailsOnce", "faultsInFastModeToo", "noFaultsWithoutTheAnnotation")) {
            assertSucceeded(results, method);
        }
    }

    @Test
    void aSeededProbabilityRepeatsTheSameFailuresRunAfterRun() {
        PROBABILITY_RUNS.clear();
        SampleRunner.run(PolicySample.class);
        SampleRunner.run(PolicySample.class);
        assertEquals(2, PROBABILITY_RUNS.size());
        assertEquals(PROBABILITY_RUNS.get(0), PROBABILITY_RUNS.get(1));
        try (Heap heap = Heap.builder().faultInjection(FaultInjection.withProbability(0.5, 7)).build()) {
            assertEquals(PROBABILITY_RUNS.get(0), failurePattern(heap, 64), "the same as FaultInjection.withProbability");
        }
        long failed = PROBABILITY_RUNS.get(0).stream().filter(f -> f).count();
        assertTrue(failed > 10 && failed < 54, failed + " of 64 failed at p = 0.5");
    }

    @Test
    void aFailurePathThatLeaksFailsTheTestNamingTheBlock() {
        Throwable leak = failure(SampleRunner.run(LeakyFailurePathSample.class), "insertFailsOnTheSecondAllocation");
        assertInstanceOf(AssertionError.class, leak);
        assertTrue(leak.getMessage().contains("Direct leak of 24 byte(s) in 1 object(s) allocated from:\n    #0 "
                + LeakyFailurePathSample.class.getName() + ".allocateTheKey("), leak.getMessage());
    }

    @Test
    void aPolicyOnASuperclassAppliesToTheSubclassesTests() {
        assertSucceeded(SampleRunner.run(InheritedPolicySample.class), "everyAllocationFails");
    }

    @Test
    void classSettingsReachANestedClassInheritedFromASuperclass() {
        Map<String, TestExecutionResult> results = SampleRunner.run(InheritedNestedSample.class);
        assertSucceeded(results, "takesTheSubclassesSettings");
        assertSucceeded(results, "methodAnnotationsStillOverrideThem");
    }

    @Test
    void exhaustionThatEscapesFailsItsTestAndTheRunGoesOn() {
        Map<String, TestExecutionResult> results = SampleRunner.run(EscapingExhaustionSample.class);
        for (String method : List.of("letsAnInjectedFailureEscape", "letsALimitedHeapsExhaustionEscape",
                "letsItEscapeFromAnInvocation", "dynamicTestLetsItEscape", "beforeEachLetsItEscape",
                "afterEachLetsItEscape")) {
            Throwable failure = assertInstanceOf(AssertionError.class, failure(results, method), method);
            assertTrue(failure.getMessage().startsWith("Malloc4jExtension: the code under test let a "
                    + "HeapExhaustedError escape: heap '"), failure.getMessage());
            HeapExhaustedError cause = assertInstanceOf(HeapExhaustedError.class, failure.getCause(), method);
            assertTrue(failure.getMessage().endsWith(cause.getMessage()), failure.getMessage());
        }
        assertTrue(failure(results, "letsAnInjectedFailureEscape").getMessage()
                .endsWith("cannot allocate 8 bytes: failure injected by FaultInjection"));
        assertTrue(failure(results, "letsALimitedHeapsExhaustionEscape").getMessage()
                .contains("heap 'small' cannot allocate " + (4 << 20) + " bytes"));
        assertSucceeded(results, "runsNext");
    }

    @Test
    void exhaustionThatEscapesClassLevelCodeFailsTheClassAndTheRunGoesOn() {
        for (Class<?> sample : List.of(ExhaustionInBeforeAllSample.class, ExhaustionInAfterAllSample.class,
                ExhaustionInConstructorSample.class)) {
            EngineExecutionResults execution = SampleRunner.execute(sample);
            Throwable failure = execution.allEvents().finished().stream()
                    .map(event -> event.getRequiredPayload(TestExecutionResult.class).getThrowable())
                    .flatMap(java.util.Optional::stream)
                    .findFirst()
                    .orElseThrow(() -> new AssertionError(sample.getSimpleName() + " failed nothing"));
            assertInstanceOf(AssertionError.class, failure, sample.getSimpleName());
            assertTrue(failure.getMessage().startsWith("Malloc4jExtension: the code under test let a "
                    + "HeapExhaustedError escape: heap 'small' cannot allocate"), failure.getMessage());
            assertInstanceOf(HeapExhaustedError.class, failure.getCause(), sample.getSimpleName());
        }
        // The run went on: a sample after them runs as usual.
        assertSucceeded(SampleRunner.run(EscapingExhaustionSample.class), "runsNext");
    }

    /** Asks a heap limited to 1 MiB for 4 MiB, and lets the error escape. */
    static void exhaustASmallHeap() {
        try (Heap small = Heap.builder().name("small").maxCommittedBytes(1 << 20).build()) {
            small.malloc(4 << 20);
        }
    }

    @SampleRunner.Sample
    @LeakCheck
    static class ExhaustionInBeforeAllSample {
        @org.junit.jupiter.api.BeforeAll
        static void letsItEscape() {
            exhaustASmallHeap();
        }

        @Test
        void neverRuns() {
        }
    }

    @SampleRunner.Sample
    @LeakCheck
    static class ExhaustionInAfterAllSample {
        @org.junit.jupiter.api.AfterAll
        static void letsItEscape() {
            exhaustASmallHeap();
        }

        @Test
        void runs() {
        }
    }

    @SampleRunner.Sample
    @LeakCheck
    static class ExhaustionInConstructorSample {
        ExhaustionInConstructorSample() {
            exhaustASmallHeap();
        }

        @Test
        void neverRuns() {
        }
    }

    @Test
    void exhaustionWhileALazyFactoryMakesItsNodesFailsTheFactoryAndTheRunGoesOn() {
        ExhaustionInALazyFactorySample.CLOSED.clear();
        EngineExecutionResults execution = SampleRunner.execute(ExhaustionInALazyFactorySample.class);
        Map<String, TestExecutionResult> tests = SampleRunner.tests(execution);
        Map<String, TestExecutionResult> containers = SampleRunner.containers(execution);
        for (String node : List.of("lazyStreamLetsItEscape", "innerContainer", "iteratorLetsItEscape",
                "listedContainer")) {
            Throwable failure = assertInstanceOf(AssertionError.class, failure(containers, node), node);
            assertTrue(failure.getMessage().startsWith("Malloc4jExtension: the code under test let a "
                    + "HeapExhaustedError escape: heap '"), failure.getMessage());
            assertTrue(failure.getMessage().endsWith("cannot allocate 16 bytes: failure injected by FaultInjection"),
                    failure.getMessage());
            assertInstanceOf(HeapExhaustedError.class, failure.getCause(), node);
        }
        for (String node : List.of("streamed0", "nested0", "iterated0", "listed0", "runsAfterwards")) {
            assertSucceeded(tests, node);
        }
        for (String node : List.of("outerContainer", "lazyNestedContainerLetsItEscape",
                "listedContainerLetsItEscape")) {
            assertSucceeded(containers, node);
        }
        assertFalse(tests.containsKey("streamed1"), tests.keySet()::toString);
        assertEquals(List.of("lazyStream", "innerContainer"), ExhaustionInALazyFactorySample.CLOSED);
    }

    @Test
    void aMalformedAnnotationFailsTheTestWithAConfigurationError() {
        Map<String, TestExecutionResult> results = SampleRunner.run(MalformedSample.class);
        for (String method : List.of("twoPolicies", "noPolicy", "probabilityOutOfRange", "twoPoliciesAndNoHeap")) {
            Throwable cause = assertInstanceOf(ExtensionConfigurationException.class, failure(results, method), method);
            if (!method.equals("probabilityOutOfRange")) {
                assertTrue(cause.getMessage().contains("exactly one of everyNth, firstN, afterBytes, probability, "
                        + "eachCallSiteOnce"), cause.getMessage());
            } else {
                assertTrue(cause.getMessage().contains("probability must be within [0, 1]"), cause.getMessage());
            }
        }
        String noPolicy = failure(results, "noPolicy").getMessage();
        assertTrue(!noPolicy.contains("sets no policy") && !noPolicy.contains("used only with"), noPolicy);
        String negativeFirstN = assertInstanceOf(ExtensionConfigurationException.class,
                failure(results, "negativeFirstN")).getMessage();
        assertTrue(negativeFirstN.contains("it sets 0: ") && negativeFirstN.endsWith(
                "; a negative firstN, afterBytes or probability sets no policy: firstN=-5"), negativeFirstN);
        String seeded = assertInstanceOf(ExtensionConfigurationException.class,
                failure(results, "negativeProbabilityWithASeed")).getMessage();
        assertTrue(seeded.endsWith("; a negative firstN, afterBytes or probability sets no policy: probability=-0.5"
                + "; seed=7 is used only with a probability from 0 to 1"), seeded);
        String seedWithEveryNth = assertInstanceOf(ExtensionConfigurationException.class,
                failure(results, "seedWithEveryNth")).getMessage();
        assertTrue(seedWithEveryNth.startsWith("invalid @") && seedWithEveryNth.endsWith(
                ": seed=5 is used only with a probability, not with everyNth"), seedWithEveryNth);
        String seedWithEachCallSiteOnce = assertInstanceOf(ExtensionConfigurationException.class,
                failure(results, "seedWithEachCallSiteOnce")).getMessage();
        assertTrue(seedWithEachCallSiteOnce.endsWith(
                ": seed=-2 is used only with a probability, not with eachCallSiteOnce"), seedWithEachCallSiteOnce);
        Throwable noAnnotation = failure(results, "faultInjectionParameterWithoutTheAnnotation");
        assertTrue(noAnnotation.getMessage().contains("needs @InjectFaults"), noAnnotation.getMessage());
    }
}
