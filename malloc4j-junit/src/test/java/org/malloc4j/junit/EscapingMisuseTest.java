package org.malloc4j.junit;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.malloc4j.junit.SampleRunner.assertSucceeded;
import static org.malloc4j.junit.SampleRunner.failure;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.foreign.MemorySegment;
import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.platform.engine.TestExecutionResult;
import org.malloc4j.Heap;
import org.malloc4j.MemoryMisuseException;

/**
 * A misuse report the heap throws in the test's own code, and the code lets escape, fails the test
 * with the report's stacks ending at the test's frames, as the reports the extension makes itself
 * do; what the test catches, and every other exception, is left as it is.
 */
class EscapingMisuseTest {
    /** The binary name of the sample's class, whose frames end each stack of its reports. */
    static final String SAMPLE = EscapingMisuseSample.class.getName();
    /** Where the runner's frames are: none of them may be in a report a sample fails with. */
    static final List<String> RUNNER_FRAMES = List.of("org.junit.", "java.lang.reflect.", "jdk.internal.reflect.",
            "org.malloc4j.junit.Malloc4jExtension", "org.malloc4j.junit.DynamicTestLeaks",
            "org.malloc4j.junit.ExhaustionFailingNodes", "org.apache.maven.surefire.");

    @SampleRunner.Sample
    @LeakCheck
    static class EscapingMisuseSample {
        /** What each sample threw, by the sample's name, to compare with what failed it. */
        static final Map<String, Throwable> THROWN = new ConcurrentHashMap<>();

        @Test
        void doubleFreeInBody(Heap heap) {
            MemorySegment block = heap.malloc(8);
            heap.free(block);
            recorded("doubleFreeInBody", () -> heap.free(block));
        }

        @Test
        void overflows(Heap heap) {
            MemorySegment block = heap.malloc(40);
            MemorySegment.ofAddress(block.address()).reinterpret(41).set(JAVA_BYTE, 40, (byte) 1);
            recorded("overflows", () -> heap.free(block));
        }

        @Test
        void doubleFreeInTheGlobalHeap() {
            MemorySegment block = Heap.global().malloc(8);
            Heap.global().free(block);
            recorded("doubleFreeInTheGlobalHeap", () -> Heap.global().free(block));
        }

        @TestFactory
        List<DynamicTest> freesTwiceInADynamicTest(Heap heap) {
            // a source of its own, so SampleRunner reports it by its name, apart from its factory
            return List.of(DynamicTest.dynamicTest("dynamicTestFreesTwice", URI.create("classpath:/dynamic"), () -> {
                MemorySegment block = heap.malloc(8);
                heap.free(block);
                recorded("dynamicTestFreesTwice", () -> heap.free(block));
            }));
        }

        @Test
        void catchesTheDoubleFree(Heap heap) {
            MemorySegment block = heap.malloc(8);
            heap.free(block);
            assertThrows(MemoryMisuseException.class, () -> heap.free(block));
        }

        @Test
        void failsWithAReportLikeTextOfItsOwn() {
            AssertionError own = new AssertionError(
                    "expected:\n    #0 app.A.a(A.java:1)\n    #1 org.junit.B.b(B.java:2)\n");
            THROWN.put("failsWithAReportLikeTextOfItsOwn", own);
            throw own;
        }

        @Test
        void wrapsTheReport(Heap heap) {
            MemorySegment block = heap.malloc(8);
            heap.free(block);
            try {
                heap.free(block);
            } catch (MemoryMisuseException misuse) {
                IllegalStateException wrapped = new IllegalStateException("the test's own failure", misuse);
                THROWN.put("wrapsTheReport", wrapped);
                throw wrapped;
            }
        }

        @Nested
        class FromBeforeEach {
            @BeforeEach
            void freeTwice(Heap heap) {
                MemorySegment block = heap.malloc(8);
                heap.free(block);
                recorded("beforeEachFreesTwice", () -> heap.free(block));
            }

            @Test
            void beforeEachFreesTwice() {
            }
        }

        @Nested
        class FromAfterEach {
            @AfterEach
            void freeTwice(Heap heap) {
                MemorySegment block = heap.malloc(8);
                heap.free(block);
                recorded("afterEachFreesTwice", () -> heap.free(block));
            }

            @Test
            void afterEachFreesTwice() {
            }
        }

        /** Runs {@code misuse}, noting under {@code test} the report it throws, and lets the report escape. */
        static void recorded(String test, Runnable misuse) {
            try {
                misuse.run();
            } catch (MemoryMisuseException report) {
                THROWN.put(test, report);
                throw report;
            }
        }
    }

    @Test
    void aMisuseReportThatEscapesEndsEachStackAtTheTestsFrames() {
        EscapingMisuseSample.THROWN.clear();
        Map<String, TestExecutionResult> results = SampleRunner.run(EscapingMisuseSample.class);
        Map<String, MemoryMisuseException.Kind> kinds = new LinkedHashMap<>();
        kinds.put("doubleFreeInBody", MemoryMisuseException.Kind.DOUBLE_FREE);
        kinds.put("overflows", MemoryMisuseException.Kind.HEAP_BUFFER_OVERFLOW);
        kinds.put("dynamicTestFreesTwice", MemoryMisuseException.Kind.DOUBLE_FREE);
        kinds.put("beforeEachFreesTwice", MemoryMisuseException.Kind.DOUBLE_FREE);
        kinds.put("afterEachFreesTwice", MemoryMisuseException.Kind.DOUBLE_FREE);
        if (Malloc4jExtension.globalHeapIsChecked()) {
            kinds.put("doubleFreeInTheGlobalHeap", MemoryMisuseException.Kind.DOUBLE_FREE);
        }
        kinds.forEach((test, kind) -> {
            MemoryMisuseException failure = assertInstanceOf(MemoryMisuseException.class, failure(results, test), test);
            MemoryMisuseException thrown = assertInstanceOf(MemoryMisuseException.class,
                    EscapingMisuseSample.THROWN.get(test), test);
            assertEquals(kind, failure.kind(), test);
            assertEquals(thrown.address(), failure.address(), test);
            // The heap's report, with each stack ending at the sample's last frame: its runner's frames gone.
            assertTrue(thrown.getMessage().contains("org.junit."), () -> test + " threw no runner frame to cut");
            assertEquals(stacksCut(thrown.getMessage()), failure.getMessage(), test);
            assertEndsAtTheTestsFrames(test, failure.getMessage());
            // The same report otherwise: thrown where the heap threw it (JUnit prunes the runner's
            // frames from the failure's stack trace, so its top is compared), with the same cause.
            // The heap's exception is not attached: printed with the failure, it would bring the cut
            // frames back.
            assertEquals(thrown.getStackTrace()[0], failure.getStackTrace()[0], test);
            assertSame(thrown.getCause(), failure.getCause(), test);
            assertNoRunnerFrames(test, printed(failure));
        });
    }

    @Test
    void whatTheTestCatchesOrThrowsOfItsOwnIsLeftAsItIs() {
        EscapingMisuseSample.THROWN.clear();
        Map<String, TestExecutionResult> results = SampleRunner.run(EscapingMisuseSample.class);
        assertSucceeded(results, "catchesTheDoubleFree");
        for (String test : List.of("failsWithAReportLikeTextOfItsOwn", "wrapsTheReport")) {
            Throwable thrown = EscapingMisuseSample.THROWN.get(test);
            assertNotNull(thrown, test);
            assertSame(thrown, failure(results, test), test);
        }
        assertTrue(failure(results, "failsWithAReportLikeTextOfItsOwn").getMessage().contains("#1 org.junit.B.b("));
        assertTrue(failure(results, "wrapsTheReport").getCause().getMessage().contains("org.junit."),
                "a report inside the test's own exception is the test's to show");
    }

    /** Asserts that each stack of a report's {@code text} ends at a frame of the sample's class. */
    static void assertEndsAtTheTestsFrames(String test, String text) {
        List<List<String>> stacks = stacks(text);
        assertFalse(stacks.isEmpty(), () -> test + ": no stack in " + text);
        for (List<String> stack : stacks) {
            String last = stack.get(stack.size() - 1);
            assertTrue(last.contains(" " + SAMPLE + ".") || last.contains(" " + SAMPLE + "$"),
                    () -> test + ": a stack ends at " + last + " in " + text);
        }
        assertNoRunnerFrames(test, text);
    }

    /** Asserts that no stack of the reports in {@code text} lists a frame of the runner's. */
    static void assertNoRunnerFrames(String test, String text) {
        for (List<String> stack : stacks(text)) {
            for (String frame : stack) {
                assertTrue(RUNNER_FRAMES.stream().noneMatch(frame::contains),
                        () -> test + ": " + frame + " in " + text);
            }
        }
    }

    /** @return {@code failure} as a test report prints it: its stack trace, causes and suppressed included */
    static String printed(Throwable failure) {
        StringWriter text = new StringWriter();
        failure.printStackTrace(new PrintWriter(text));
        return text.toString();
    }

    /** @return each run of {@code "    #N frame"} lines in {@code text} */
    static List<List<String>> stacks(String text) {
        List<List<String>> stacks = new ArrayList<>();
        List<String> stack = new ArrayList<>();
        for (String line : text.split("\n", -1)) {
            if (line.matches(" *#\\d+ .*")) {
                stack.add(line);
            } else if (!stack.isEmpty()) {
                stacks.add(stack);
                stack = new ArrayList<>();
            }
        }
        if (!stack.isEmpty()) {
            stacks.add(stack);
        }
        return stacks;
    }

    /** @return {@code report} as the extension cuts its reports, for the sample's class */
    static String stacksCut(String report) {
        return RunnerFrames.cut(report, List.of(EscapingMisuseTest.class.getName()));
    }
}
