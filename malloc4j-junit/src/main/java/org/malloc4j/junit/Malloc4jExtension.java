package org.malloc4j.junit;

import java.lang.annotation.Annotation;
import java.lang.reflect.AnnotatedElement;
import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.TestInstance.Lifecycle;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.DynamicTestInvocationContext;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ExtensionContext.Namespace;
import org.junit.jupiter.api.extension.InvocationInterceptor;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.jupiter.api.extension.ReflectiveInvocationContext;
import org.junit.jupiter.api.extension.TestInstanceFactoryContext;
import org.junit.jupiter.api.extension.TestInstancePostProcessor;
import org.junit.jupiter.api.extension.TestInstancePreConstructCallback;
import org.junit.jupiter.api.parallel.Isolated;
import org.junit.platform.commons.support.AnnotationSupport;
import org.malloc4j.CheckMode;
import org.malloc4j.FaultInjection;
import org.malloc4j.Heap;
import org.malloc4j.HeapExhaustedError;
import org.malloc4j.HeapStats;
import org.malloc4j.LeakReport;
import org.malloc4j.MemoryMisuseException;
import org.opentest4j.TestAbortedException;

/**
 * A JUnit 5 extension that gives each test a checked malloc4j {@link Heap} and fails the test if
 * it leaks: the "detected memory leaks" of LeakSanitizer, per test.
 *
 * <h2>What it does</h2>
 * <ul>
 *   <li><b>A heap per test.</b> A parameter of type {@link Heap} in a test method (or in a
 *       {@code @BeforeEach} or {@code @AfterEach} method, which get the same heap as their test) is
 *       resolved to a fresh heap made by {@link Heap#builder()}, in {@link CheckMode#FULL} unless
 *       {@link LeakCheck @LeakCheck} says otherwise, named after the test: the simple name of its
 *       class, a dot and its display name, as in {@code "DecoderTest.decodesWithoutLeaking(Heap)"}
 *       (the method's name comes first if the display name does not start with it, as in
 *       {@code "DecoderTest.decodesEachSize [2] 64"} for the second invocation of a
 *       {@code @ParameterizedTest}).
 *   <li><b>Verified after the test.</b> After the test and its {@code @AfterEach} methods, the heap
 *       is verified with {@link Heap#check()} (in a checked mode a damaged redzone or a write into
 *       a freed block fails the test with the sanitizer's report), then checked for leaks: if any
 *       block is still live, the test fails with an {@link AssertionError} whose message is the
 *       {@link LeakReport} text, naming each leaked block's size and allocation stack. Each stack
 *       of a report the extension fails a test with, a leak's or a misuse's (one the test's code
 *       let escape too, below), ends at the last frame of the test's class; JUnit's, reflection's,
 *       the extension's and the launcher's below it are left out. In
 *       {@link CheckMode#FAST} mode the heap records no allocation sites, so the message gives the
 *       count and bytes only. The report appears in the failure alone: the heap is built with
 *       {@link Heap.Builder#leakReportAtClose(boolean) leakReportAtClose(false)}, so its close does
 *       not print it again. The heap is then closed, whatever happened. If {@link Heap#close()}
 *       throws (say a confined scope or arena is still open on a thread that is still running), the
 *       test fails with that too: alone if nothing else was found, else as a suppressed exception of
 *       the leak or misuse failure, never in its place. The heap is then closed again after each
 *       later test and when the test run ends, so its memory is unmapped once that thread has ended
 *       (or the downcall using its memory has returned); one that still cannot be closed when the
 *       run ends is named on standard error, and its memory stays mapped until the JVM exits.
 *   <li><b>Fault injection.</b> {@link InjectFaults @InjectFaults} gives the test's heap a
 *       {@link FaultInjection} policy; a parameter of type {@link FaultInjection} receives it.
 *   <li><b>The global heap.</b> When the JVM runs {@link Heap#global()} in a checked mode, which
 *       needs {@code -Dmalloc4j.check=full} (or {@code sampled}) on the test JVM's command line, the
 *       global heap's {@link Heap#leaks()} are taken before each test and compared with those after
 *       it: blocks new at any allocation site fail the test, and so do blocks of a
 *       {@link org.malloc4j.FixedSizePool FixedSizePool} of the global heap that the test took and
 *       kept, when the pool was made before it (a pool shared by the tests), named by the stack
 *       that took them (in sampled mode, which records only some takes, by count). They are
 *       taken before JUnit makes the
 *       test's instance (and those of the classes a {@code @Nested} class runs in), so blocks its
 *       constructor and field initialisers allocate and never free are the test's leaks; the
 *       class's static initialiser (and those of the classes it is nested in) runs before that, so
 *       what static fields hold is no test's. An instance
 *       made once for all the tests of its class ({@code @TestInstance(Lifecycle.PER_CLASS)}, and the
 *       instances of the classes such a {@code @Nested} class runs in) outlives each of them: what it
 *       allocates, like what {@code @BeforeAll} methods allocate, counts against no test. With Maven
 *       Surefire:
 *       {@code <systemPropertyVariables><malloc4j.check>full</malloc4j.check></systemPropertyVariables>}.
 *       In fast mode (the default) the comparison is skipped. Turn it off with
 *       {@code @LeakCheck(globalHeap = false)}. A pool, arena, scope or growable array the test
 *       made and left open fails it with what it holds. One made before the test (shared by the
 *       tests, in a static field, say) may gain pages, chunks or storage during it without failing
 *       it: the extension takes {@link LeakReport#holdersMade()} with the leaks before the test, and
 *       leaves out the sites whose holders are all that old ({@link LeakReport.Site#newestHolder()}).
 *   <li><b>Exhaustion that escapes fails the test.</b> A {@link HeapExhaustedError} thrown out of a
 *       test method (a {@code @Test}, each invocation of a {@code @ParameterizedTest} or other test
 *       template, a {@code @TestFactory} and its dynamic tests) or out of a {@code @BeforeEach} or
 *       {@code @AfterEach} method fails that test; one thrown out of the test class's constructor
 *       or a {@code @BeforeAll} or {@code @AfterAll} method, when the extension is registered on
 *       the class, fails the class's tests as any error there does; one thrown while JUnit takes the next node of a
 *       lazy {@code Stream}, {@code Iterator} or {@code Iterable} a factory returned, or of a
 *       {@code DynamicContainer}'s children, fails that factory or container. It fails with an
 *       {@link AssertionError} saying the code under test let it escape, the error as its cause; the
 *       tests after it run as usual. JUnit
 *       treats every {@link OutOfMemoryError} as fatal and ends the whole run, but a
 *       {@code HeapExhaustedError} says only that a malloc4j heap could not serve a request: the
 *       Java heap is untouched, and the test's heap gives its memory back when it is closed. So
 *       this holds for every {@code HeapExhaustedError}, injected by {@link InjectFaults} or real
 *       (a heap's {@linkplain Heap.Builder#maxCommittedBytes limit} reached, the operating system
 *       refusing memory), from the test's heap or from any other. Other {@code OutOfMemoryError}s
 *       still end the run, and so does a {@code HeapExhaustedError} thrown outside the test's own
 *       code and callbacks listed above: while JUnit makes the arguments of a
 *       {@code @ParameterizedTest} (in a {@code @MethodSource} method or an {@code ArgumentsProvider},
 *       say), or in another extension's own callbacks (its {@code beforeEach}, say). JUnit rethrows
 *       every {@code OutOfMemoryError} it meets there and offers an extension no way to handle what
 *       JUnit itself or another extension throws. To have such an exhaustion fail only its test,
 *       allocate in the test method instead, from the heap it is given.
 *   <li><b>Misuse reports that escape keep the test's frames only.</b> A
 *       {@link MemoryMisuseException} that the test's code lets escape (a double free, an overflow
 *       that {@code free} finds, thrown by the test's heap or any other), out of the same methods
 *       and constructor as a {@code HeapExhaustedError} above, is thrown on as a copy of it, which
 *       fails what the heap's exception would have failed: the same
 *       {@link MemoryMisuseException#kind() kind}, {@link MemoryMisuseException#address() address},
 *       stack trace and cause, its report's stacks cut as the extension's own reports are, and its
 *       suppressed reports too. The heap's exception is not attached to the copy: printed with the
 *       failure, its stacks would bring the runner's frames back. What the test
 *       catches ({@code assertThrows(MemoryMisuseException.class, ...)}, say) is not touched, nor is
 *       any other exception, one that carries a misuse report as its cause or suppressed included.
 *       Nor is a report thrown while JUnit takes the next node of a factory's lazy {@code Stream},
 *       {@code Iterator}, {@code Iterable} or container, which fails that factory or container as
 *       the heap threw it.
 *   <li><b>A use after free through a segment gets a note.</b> A checked heap closes the segments
 *       of the blocks it checks once they are freed (every block in {@link CheckMode#FULL} mode, the
 *       sampled ones in {@link CheckMode#SAMPLED} mode), so the JDK refuses an access through one
 *       with a bare {@link IllegalStateException} whose message is "Already closed". When one escapes
 *       the same methods and constructor, and the test's heap (while open) or the global heap is
 *       checked, the extension adds a suppressed exception to it that names those heaps and says that
 *       {@link Heap#describe(java.lang.foreign.MemorySegment)} tells which block the segment was and
 *       where it was allocated and freed. The exception is thrown on as it was otherwise: a segment
 *       of any closed arena throws the same.
 * </ul>
 * A test that closes its heap itself is checked for leaks all the same: a closed heap still counts
 * the blocks live when it closed, and {@link Heap#leaks()} still names where they were allocated,
 * so the test fails with the same report. Only the scopes, bump arenas and fixed-size pools left
 * open are not among them: {@link Heap#close()} closes those first, as their owner, and frees what
 * they hold, so a test that closes its heap has closed them too (a growable array's storage, which
 * the heap's close takes without closing the array, is still reported). But {@link Heap#check()} cannot run on the closed heap,
 * so an overflow through a raw address goes unseen: leave the closing to the extension to have it
 * checked.
 *
 * <p>A {@code @TestFactory} is one test to the extension: a {@link Heap} parameter of the factory
 * method is its heap, which its dynamic tests share (they take no parameters, and JUnit runs no
 * {@code @BeforeEach} or {@code @AfterEach} around them), and it is checked once, after the last
 * of them. So a leak fails the factory, not the dynamic test that leaked: a block one dynamic test
 * leaves live may be one a later dynamic test frees, as the factory meant. To say where to look, the
 * failure names the dynamic tests (after the containers they are in) that ended with more blocks
 * live than they began with, with how many more blocks and bytes, up to ten of them; one that left a
 * block for a later dynamic test to free is named too. If none did, the factory method left the
 * blocks, or the code making its dynamic tests did; if dynamic tests ran at the same time (JUnit's
 * parallel execution), the failure says that they cannot be told apart. The global heap's comparison
 * (above) is made once for the factory as well, and its failure names, in the same way, the dynamic
 * tests that ended with more blocks live in the global heap than they began with (if none did, the
 * factory method, the test's instance or the code making its dynamic tests left the blocks). To have
 * each dynamic test checked on its own, write it as a {@code @ParameterizedTest}, whose every
 * invocation gets a heap of its own.
 *
 * <p>A test that has already failed (or was aborted) is not failed again for leaks (a failed test
 * rarely cleans up), but its heap is still verified with {@link Heap#check()}, since the misuse it
 * finds may be why the test failed: what {@code check()} throws (a {@link org.malloc4j.MemoryMisuseException}
 * with the sanitizer's report) is added to the test's exception as a suppressed exception, or, if that
 * exception takes no suppressed exceptions, printed to standard error with the heap's name, which
 * names the test. A test that was aborted (an assumption that did not hold) fails instead, with
 * that misuse as its failure: an abort says the test could not run here, not that the memory it
 * damaged meanwhile may go unreported as a skipped test. The heap is then closed, and the leaks it
 * was closed with, which no failure reports, are printed to standard error, as {@link Heap#close()}
 * prints those of a heap of one's own; so are those of a heap closed without its test being checked.
 *
 * <h2>Usage</h2>
 * {@snippet lang = java:
 * @LeakCheck                     // registers the extension; FULL mode
 * class RingBufferTest {
 *     @Test
 *     void wrapsAround(Heap heap) {
 *         RingBuffer ring = new RingBuffer(heap, 16);
 *         for (int i = 0; i < 100; i++) {
 *             ring.push(i);
 *         }
 *         ring.close();             // forget this and the test fails with the leak report
 *     }
 *
 *     @Test
 *     @InjectFaults(eachCallSiteOnce = true)
 *     void survivesOutOfMemory(Heap heap, FaultInjection faults) {
 *         assertThrows(HeapExhaustedError.class, () -> new RingBuffer(heap, 16));
 *         assertEquals(1, faults.injectedFailures());
 *     }                             // and nothing may leak on the failure path
 * }
 * }
 * {@code @ExtendWith(Malloc4jExtension.class)} registers it with the defaults, too. A class that
 * registers it more than once (by {@code @LeakCheck} and a {@code @RegisterExtension} field, say)
 * gets one heap per test all the same, checked once.
 *
 * <h2>Threads</h2>
 * Each test's heap is its own, so tests may run in parallel. The global heap is shared, and its
 * comparison counts every block allocated from it while the test runs, by any thread, for this test
 * or for any other: it cannot tell them apart. A test compared while another test allocates from
 * the global heap fails for that test's blocks, though it may never touch the global heap itself;
 * a block another test frees meanwhile can hide one of its leaks. So the comparison is exact only
 * while nothing else allocates or frees in the global heap:
 * <ul>
 *   <li>with JUnit's parallel execution off (the default), tests run one at a time, and only threads
 *       a test leaves running can disturb the next;
 *   <li>with it on, every test the extension compares must run alone: put
 *       {@link org.junit.jupiter.api.parallel.Isolated @Isolated} on its class, or turn the
 *       comparison off for it with {@code @LeakCheck(globalHeap = false)}. The comparison is on for
 *       every test the extension serves, not only those that use the global heap, and
 *       {@code @Execution(SAME_THREAD)} does not keep other classes' tests from running alongside.
 *       A failure of the comparison says, in a line after its first, that parallel execution is on,
 *       unless the test's class, or one it is nested in, is {@code @Isolated}.
 * </ul>
 */
public final class Malloc4jExtension
        implements ParameterResolver, BeforeEachCallback, AfterEachCallback, InvocationInterceptor,
        TestInstancePreConstructCallback, TestInstancePostProcessor {
    private static final Namespace NAMESPACE = Namespace.create(Malloc4jExtension.class);
    private static final String TEST_HEAP = "testHeap";
    private static final String FAULTS = "faults";
    private static final String GLOBAL_BASELINE = "globalLeaksBefore";
    /** JUnit's configuration parameter that turns parallel execution on. */
    private static final String PARALLEL_EXECUTION = "junit.jupiter.execution.parallel.enabled";
    private static final String GLOBAL_DYNAMIC_TESTS = "globalDynamicTestLeaks";
    private static final String UNCLOSED_HEAPS = "unclosedHeaps";
    private static final String SERVING = "servingInstance:";
    /** The global heap's leaks before the test instance being made on this thread. */
    private static final ThreadLocal<GlobalBaseline> GLOBAL_BEFORE_CONSTRUCTION = new ThreadLocal<>();
    /**
     * The global heap's leaks before each test instance made on this thread since its last
     * beforeEach: JUnit makes a test's instances and calls its beforeEach on the same thread.
     */
    private static final ThreadLocal<Map<Object, GlobalBaseline>> GLOBAL_BEFORE_INSTANCES =
            ThreadLocal.withInitial(IdentityHashMap::new);

    /** Made by JUnit. */
    public Malloc4jExtension() {
    }

    // ---- parameters ----

    /**
     * Called by JUnit, on the thread that runs the test.
     *
     * @return whether the parameter is a {@link Heap} or a {@link FaultInjection} and this instance
     *     serves the test (the first of those registered for it)
     */
    @Override
    public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        Class<?> type = parameterContext.getParameter().getType();
        return (type == Heap.class || type == FaultInjection.class) && servesTest(extensionContext);
    }

    /**
     * Whether this instance, of those registered for the test, is the one that serves it. A test
     * class may register the extension more than once ({@code @LeakCheck} or {@code @ExtendWith}
     * and a {@code @RegisterExtension} field, say): JUnit refuses a parameter that two resolvers
     * offer, and a second {@code beforeEach} would take the global heap's baseline again, after the
     * test's instance was made. The first instance asked serves the test alone; the others step aside.
     */
    private boolean servesTest(ExtensionContext context) {
        // Keyed by the test's id: a store also answers with what its parents' stores hold.
        return context.getStore(NAMESPACE).getOrComputeIfAbsent(SERVING + context.getUniqueId(), key -> this) == this;
    }

    /**
     * Called by JUnit, on the thread that runs the test.
     *
     * @return the test's heap, made at the first call for the test, or its {@link FaultInjection}
     *     policy
     * @throws ParameterResolutionException if the parameter is declared on a constructor, or on a
     *     method that runs outside any one test (a {@code @BeforeAll} or {@code @AfterAll} method);
     *     or if it is a {@link FaultInjection} and no {@link InjectFaults @InjectFaults} applies to
     *     the test
     */
    @Override
    public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        if (!(parameterContext.getDeclaringExecutable() instanceof Method)
                || extensionContext.getTestMethod().isEmpty()) {
            throw new ParameterResolutionException("Malloc4jExtension makes one heap per test: declare "
                    + parameterContext.getParameter().getType().getSimpleName()
                    + " parameters on @Test, @BeforeEach or @AfterEach methods, not on "
                    + parameterContext.getDeclaringExecutable());
        }
        TestHeap testHeap = testHeap(extensionContext);
        if (parameterContext.getParameter().getType() == Heap.class) {
            return testHeap.heap;
        }
        if (testHeap.faults == null) {
            throw new ParameterResolutionException("a FaultInjection parameter needs @InjectFaults on the test "
                    + "method or on a class it runs in");
        }
        return testHeap.faults;
    }

    private static TestHeap testHeap(ExtensionContext context) {
        return context.getStore(NAMESPACE).getOrComputeIfAbsent(TEST_HEAP, key -> createTestHeap(context),
                TestHeap.class);
    }

    private static TestHeap createTestHeap(ExtensionContext context) {
        Optional<LeakCheck> config = find(context, LeakCheck.class);
        // The extension reports the leaks itself, in the test's failure or, if none carries them, on
        // standard error: the heap's own report at close would repeat the failure's.
        Heap.Builder builder = Heap.builder().name(heapName(context))
                .checkMode(config.map(LeakCheck::mode).orElse(CheckMode.FULL)).leakReportAtClose(false);
        config.ifPresent(check -> {
            if (check.quarantineBytes() >= 0) {
                builder.quarantineBytes(check.quarantineBytes());
            }
            if (check.sampleInterval() > 0) {
                builder.sampleInterval(check.sampleInterval());
            }
        });
        FaultInjection faults = context.getStore(NAMESPACE).get(FAULTS, FaultInjection.class);
        if (faults != null) {
            builder.faultInjection(faults);
        }
        return new TestHeap(builder.build(), faults, context.getUniqueId(), testClassNames(context),
                context.getRoot().getStore(NAMESPACE));
    }

    /** @return {@code "Class.method(Params)"}, or {@code "Class.method [2] args"} for an invocation of a template */
    private static String heapName(ExtensionContext context) {
        String method = context.getRequiredTestMethod().getName();
        String display = context.getDisplayName();
        return context.getRequiredTestClass().getSimpleName() + "."
                + (display.startsWith(method + "(") ? display : method + " " + display);
    }

    /** @throws ExtensionConfigurationException if {@code annotation} sets a value out of its range */
    static void validate(LeakCheck annotation) {
        // 0 means the heap's default, so only a negative interval is out of range; the builder's own
        // message ("at least 1") would wrongly rule out 0.
        if (annotation.sampleInterval() < 0) {
            throw new ExtensionConfigurationException("invalid " + annotation + ": sampleInterval must be 0 "
                    + "(the heap's default) or at least 1: " + annotation.sampleInterval());
        }
    }

    /**
     * @return the one policy {@code annotation} sets
     * @throws ExtensionConfigurationException if it sets none or several, a value out of its policy's
     *     range, or a seed other than 0 with a policy other than probability
     */
    static FaultInjection policy(InjectFaults annotation) {
        List<FaultInjection> chosen = new ArrayList<>();
        String chosenName = null;
        try {
            if (annotation.everyNth() != 0) {
                chosen.add(FaultInjection.everyNth(annotation.everyNth()));
                chosenName = "everyNth";
            }
            if (annotation.firstN() >= 0) {
                chosen.add(FaultInjection.firstN(annotation.firstN()));
                chosenName = "firstN";
            }
            if (annotation.afterBytes() >= 0) {
                chosen.add(FaultInjection.afterBytes(annotation.afterBytes()));
                chosenName = "afterBytes";
            }
            if (annotation.probability() >= 0 || Double.isNaN(annotation.probability())) {
                chosen.add(FaultInjection.withProbability(annotation.probability(), annotation.seed()));
                chosenName = "probability";
            }
            if (annotation.eachCallSiteOnce()) {
                chosen.add(FaultInjection.eachCallSiteOnce());
                chosenName = "eachCallSiteOnce";
            }
        } catch (IllegalArgumentException e) {
            throw new ExtensionConfigurationException("invalid " + annotation + ": " + e.getMessage(), e);
        }
        if (chosen.size() != 1) {
            throw new ExtensionConfigurationException("@InjectFaults must set exactly one of everyNth, firstN, "
                    + "afterBytes, probability, eachCallSiteOnce; it sets " + chosen.size() + ": " + annotation
                    + (chosen.isEmpty() ? unsetValues(annotation) : ""));
        }
        // The other policies draw nothing at random: a seed given with one of them would be ignored,
        // and the test would not repeat the run its author thought it pinned down.
        if (annotation.seed() != 0 && !chosenName.equals("probability")) {
            throw new ExtensionConfigurationException("invalid " + annotation + ": seed=" + annotation.seed()
                    + " is used only with a probability, not with " + chosenName);
        }
        return chosen.get(0);
    }

    /**
     * @return why values {@code annotation} gives set no policy (a negative value other than the
     *     default, a seed without a probability), or "" if it gives none
     */
    private static String unsetValues(InjectFaults annotation) {
        List<String> unset = new ArrayList<>();
        if (annotation.firstN() < -1) {
            unset.add("firstN=" + annotation.firstN());
        }
        if (annotation.afterBytes() < -1) {
            unset.add("afterBytes=" + annotation.afterBytes());
        }
        if (annotation.probability() < 0 && annotation.probability() != -1) {
            unset.add("probability=" + annotation.probability());
        }
        String text = unset.isEmpty() ? ""
                : "; a negative firstN, afterBytes or probability sets no policy: " + String.join(", ", unset);
        if (annotation.seed() != 0) {
            text += "; seed=" + annotation.seed() + " is used only with a probability from 0 to 1";
        }
        return text;
    }

    /**
     * @return {@code type} on the test method, else on its class, else on the classes a
     *     {@code @Nested} class runs in, innermost first
     */
    private static <A extends Annotation> Optional<A> find(ExtensionContext context, Class<A> type) {
        // The contexts name the classes JUnit instantiated: a @Nested class declared in a superclass
        // runs inside the subclass, while its getEnclosingClass() is the superclass.
        AnnotatedElement searched = null;
        for (ExtensionContext scope = context; scope != null; scope = scope.getParent().orElse(null)) {
            AnnotatedElement element = scope.getElement().orElse(null);
            if (element == null || element.equals(searched)) {
                continue;
            }
            Optional<A> found = AnnotationSupport.findAnnotation(element, type);
            if (found.isPresent()) {
                return found;
            }
            searched = element;
        }
        return Optional.empty();
    }

    // ---- exhaustion and misuse reports that escape ----

    @Override
    public void interceptTestMethod(Invocation<Void> invocation, ReflectiveInvocationContext<Method> invocationContext,
                                    ExtensionContext extensionContext) throws Throwable {
        proceed(invocation, extensionContext);
    }

    @Override
    public void interceptTestTemplateMethod(Invocation<Void> invocation,
                                            ReflectiveInvocationContext<Method> invocationContext,
                                            ExtensionContext extensionContext) throws Throwable {
        proceed(invocation, extensionContext);
    }

    @Override
    public <T> T interceptTestFactoryMethod(Invocation<T> invocation,
                                            ReflectiveInvocationContext<Method> invocationContext,
                                            ExtensionContext extensionContext) throws Throwable {
        // JUnit takes the nodes after this returns: a lazy stream, iterator or container makes them then
        @SuppressWarnings("unchecked")
        T nodes = (T) ExhaustionFailingNodes.of(proceed(invocation, extensionContext));
        return nodes;
    }

    @Override
    public void interceptDynamicTest(Invocation<Void> invocation, DynamicTestInvocationContext invocationContext,
                                     ExtensionContext extensionContext) throws Throwable {
        DynamicTestLeaks.DynamicTestRun test = () -> proceed(invocation, extensionContext);
        if (servesTest(extensionContext)) {
            for (DynamicTestLeaks leaks : dynamicTestLeaks(extensionContext.getStore(NAMESPACE))) {
                DynamicTestLeaks.DynamicTestRun inner = test;
                test = () -> leaks.run(extensionContext, inner);
            }
        }
        test.run();
    }

    /**
     * @return what notes the leaks of a factory's dynamic tests in each heap the factory is checked
     *     on, once after its last dynamic test: its own heap, if it took one, which its dynamic tests
     *     share, and the global heap, if it is compared
     */
    private static List<DynamicTestLeaks> dynamicTestLeaks(ExtensionContext.Store store) {
        TestHeap testHeap = store.get(TEST_HEAP, TestHeap.class);
        return Stream.of(testHeap != null ? testHeap.dynamicTests : null,
                store.get(GLOBAL_DYNAMIC_TESTS, DynamicTestLeaks.class)).filter(Objects::nonNull).toList();
    }

    @Override
    public void interceptBeforeEachMethod(Invocation<Void> invocation,
                                          ReflectiveInvocationContext<Method> invocationContext,
                                          ExtensionContext extensionContext) throws Throwable {
        proceed(invocation, extensionContext);
    }

    @Override
    public void interceptAfterEachMethod(Invocation<Void> invocation,
                                         ReflectiveInvocationContext<Method> invocationContext,
                                         ExtensionContext extensionContext) throws Throwable {
        proceed(invocation, extensionContext);
    }

    @Override
    public <T> T interceptTestClassConstructor(Invocation<T> invocation,
                                               ReflectiveInvocationContext<Constructor<T>> invocationContext,
                                               ExtensionContext extensionContext) throws Throwable {
        return proceed(invocation, extensionContext);
    }

    @Override
    public void interceptBeforeAllMethod(Invocation<Void> invocation,
                                         ReflectiveInvocationContext<Method> invocationContext,
                                         ExtensionContext extensionContext) throws Throwable {
        proceed(invocation, extensionContext);
    }

    @Override
    public void interceptAfterAllMethod(Invocation<Void> invocation,
                                        ReflectiveInvocationContext<Method> invocationContext,
                                        ExtensionContext extensionContext) throws Throwable {
        proceed(invocation, extensionContext);
    }

    /**
     * Runs {@code invocation}, code of the test's. A {@link HeapExhaustedError} it throws becomes a
     * test failure, so JUnit does not take it, as an {@link OutOfMemoryError}, for a fatal error that
     * ends the run. A {@link MemoryMisuseException} it throws is the heap's report of a misuse in the
     * test: its stacks lose the runner's frames, as those of the reports the extension makes do.
     */
    private static <T> T proceed(Invocation<T> invocation, ExtensionContext context) throws Throwable {
        try {
            return invocation.proceed();
        } catch (HeapExhaustedError e) {
            throw escaped(e);
        } catch (MemoryMisuseException e) {
            throw RunnerFrames.cut(e, testClassNames(context));
        } catch (IllegalStateException e) {
            throw withDescribeHint(e, context);
        }
    }

    /** What the JDK says, and only that, when a segment whose scope is closed is accessed. */
    static final String JDK_ALREADY_CLOSED = "Already closed";

    /**
     * A checked heap closes the segments of the blocks it checks once they are freed (every block in
     * {@link CheckMode#FULL} mode, the sampled ones in {@link CheckMode#SAMPLED} mode), so the JDK
     * refuses a use after free with a bare "Already closed", naming no block: when a heap the test
     * may have used is checked and open, {@code e} gets a suppressed note ({@link DescribeHint}).
     * The note is a guess (the segment may be of any closed arena), so it is added beside the
     * exception, which stays as it was.
     *
     * @return {@code e}
     */
    static IllegalStateException withDescribeHint(IllegalStateException e, ExtensionContext context) {
        if (!JDK_ALREADY_CLOSED.equals(e.getMessage())
                || Arrays.stream(e.getSuppressed()).anyMatch(DescribeHint.class::isInstance)) {
            return e;
        }
        List<String> checkedHeaps = new ArrayList<>();
        TestHeap testHeap = context.getStore(NAMESPACE).get(TEST_HEAP, TestHeap.class);
        // A heap the test closed closed every segment it made, and describes nothing any more.
        if (testHeap != null && testHeap.heap.checkMode() != CheckMode.FAST && !testHeap.heap.isClosed()) {
            checkedHeaps.add("the test's heap '" + testHeap.heap.name() + "'");
        }
        if (globalHeapIsChecked()) {
            checkedHeaps.add("the global heap");
        }
        if (!checkedHeaps.isEmpty()) {
            e.addSuppressed(new DescribeHint(checkedHeaps));
        }
        return e;
    }

    /** @return the failure of a test that let {@code exhaustion} escape */
    static AssertionError escaped(HeapExhaustedError exhaustion) {
        return new AssertionError("Malloc4jExtension: the code under test let a HeapExhaustedError escape: "
                + exhaustion.getMessage(), exhaustion);
    }

    // ---- the global heap's baseline, taken before the test's instances are made ----

    @Override
    public void preConstructTestInstance(TestInstanceFactoryContext factoryContext, ExtensionContext context) {
        GLOBAL_BEFORE_CONSTRUCTION.remove();
        // An instance made once for all the tests of its class (PER_CLASS) outlives each of them: what
        // it allocates is no test's leak.
        if (globalHeapIsChecked()
                && context.getTestInstanceLifecycle().orElse(Lifecycle.PER_METHOD) == Lifecycle.PER_METHOD) {
            initialize(factoryContext.getTestClass());
            GLOBAL_BEFORE_CONSTRUCTION.set(GlobalBaseline.now());
        }
    }

    /**
     * Runs the static initialisers of {@code type} and the classes it is nested in, if they have not
     * run: JUnit makes the first test's instance after the baseline is taken, and what a static
     * field holds (a pool the tests share) is no test's leak.
     */
    private static void initialize(Class<?> type) {
        for (Class<?> each = type; each != null; each = each.getEnclosingClass()) {
            try {
                Class.forName(each.getName(), true, each.getClassLoader());
            } catch (ClassNotFoundException e) {
                throw new IllegalStateException("the test class cannot be found by its own loader: " + each, e);
            }
        }
    }

    @Override
    public void postProcessTestInstance(Object testInstance, ExtensionContext context) {
        GlobalBaseline before = GLOBAL_BEFORE_CONSTRUCTION.get();
        GLOBAL_BEFORE_CONSTRUCTION.remove();
        if (before != null) {
            GLOBAL_BEFORE_INSTANCES.get().put(testInstance, before);
        }
    }

    /**
     * @return the global heap's leaks from before the outermost of the instances made for this test
     *     alone (the innermost ones, up to one its class shares between tests), or null if there are
     *     none
     */
    private static GlobalBaseline globalLeaksBeforeInstances(ExtensionContext context) {
        Map<Object, GlobalBaseline> beforeInstances = GLOBAL_BEFORE_INSTANCES.get();
        List<Object> instances = context.getRequiredTestInstances().getAllInstances();
        GlobalBaseline baseline = null;
        for (int i = instances.size() - 1; i >= 0; i--) {
            GlobalBaseline before = beforeInstances.get(instances.get(i));
            if (before == null) {
                break;
            }
            baseline = before;
        }
        beforeInstances.clear();
        return baseline;
    }

    // ---- before and after each test ----

    /**
     * Called by JUnit before each test, on the thread that runs it: reads the test's
     * {@link LeakCheck @LeakCheck} and {@link InjectFaults @InjectFaults}, and takes the global heap's
     * leaks before the test (see the class description).
     *
     * @throws ExtensionConfigurationException if the {@code @InjectFaults} that applies sets no
     *     policy, several, a value out of its policy's range, or a seed with a policy other than
     *     {@code probability}; or if the {@code @LeakCheck} that applies has a negative
     *     {@code sampleInterval}
     */
    @Override
    public void beforeEach(ExtensionContext context) {
        if (!servesTest(context)) {
            return;
        }
        GlobalBaseline beforeInstances = globalLeaksBeforeInstances(context);
        // Checked and made here, before any parameter is resolved, so that a malformed @LeakCheck or
        // @InjectFaults fails the test with its ExtensionConfigurationException, not wrapped in a
        // ParameterResolutionException, and fails it even if the test takes no heap.
        find(context, LeakCheck.class).ifPresent(Malloc4jExtension::validate);
        find(context, InjectFaults.class).map(Malloc4jExtension::policy)
                .ifPresent(faults -> context.getStore(NAMESPACE).put(FAULTS, faults));
        if (checksGlobalHeap(context)) {
            context.getStore(NAMESPACE).put(GLOBAL_BASELINE,
                    beforeInstances != null ? beforeInstances : GlobalBaseline.now());
            // Only a @TestFactory's dynamic tests fill it; for any other test it stays empty and adds nothing.
            context.getStore(NAMESPACE).put(GLOBAL_DYNAMIC_TESTS, new DynamicTestLeaks(Heap.global(),
                    context.getUniqueId(), "the factory method left them, or the test's instance, or the code "
                            + "making its dynamic tests"));
        }
    }

    @Override
    public void afterEach(ExtensionContext context) {
        if (!servesTest(context)) {
            return;
        }
        ExtensionContext.Store store = context.getStore(NAMESPACE);
        Throwable testFailure = context.getExecutionException().orElse(null);
        boolean testFailed = testFailure != null;
        List<Throwable> problems = new ArrayList<>();
        UnclosedHeaps unclosed = context.getRoot().getStore(NAMESPACE).get(UNCLOSED_HEAPS, UnclosedHeaps.class);
        if (unclosed != null) {
            unclosed.closeAgain();
        }
        TestHeap testHeap = store.remove(TEST_HEAP, TestHeap.class);
        if (testHeap != null) {
            try {
                if (testFailure instanceof TestAbortedException) {
                    // JUnit reports a failure thrown after an abort as the test's result, the abort suppressed.
                    testHeap.checkAfterAbort(problems);
                } else if (testFailed) {
                    testHeap.checkAfter(testFailure);
                } else {
                    testHeap.verify(problems);
                }
            } finally {
                testHeap.close(problems);
            }
        }
        GlobalBaseline before = store.remove(GLOBAL_BASELINE, GlobalBaseline.class);
        DynamicTestLeaks globalDynamicTests = store.remove(GLOBAL_DYNAMIC_TESTS, DynamicTestLeaks.class);
        if (before != null && !testFailed) {
            String newLeaks = newLeaks(before.leaks(), before.holdersMade(), Heap.global().leaks());
            if (newLeaks != null) {
                problems.add(new AssertionError(afterFirstLine(newLeaks,
                        globalDynamicTests.line() + parallelNote(context))));
            }
        }
        if (!problems.isEmpty()) {
            Set<String> testClasses = testClassNames(context);
            problems.replaceAll(problem -> RunnerFrames.cut(problem, testClasses));
            Throwable first = problems.get(0);
            problems.subList(1, problems.size()).forEach(first::addSuppressed);
            if (first instanceof RuntimeException unchecked) {
                throw unchecked;
            }
            throw (AssertionError) first;
        }
    }

    /**
     * @return the binary names of the outermost classes of the test's class and of the classes it
     *     extends (a test method may be inherited), whose frames a report's stacks keep
     *     ({@link RunnerFrames}); none if the test has no class
     */
    private static Set<String> testClassNames(ExtensionContext context) {
        Set<String> names = new java.util.LinkedHashSet<>();
        // A dynamic test's context names no class: the factory's does.
        Class<?> testClass = null;
        for (ExtensionContext scope = context; scope != null && testClass == null;
                scope = scope.getParent().orElse(null)) {
            testClass = scope.getTestClass().orElse(null);
        }
        for (Class<?> type = testClass; type != null && type != Object.class; type = type.getSuperclass()) {
            Class<?> outermost = type;
            while (outermost.getEnclosingClass() != null) {
                outermost = outermost.getEnclosingClass();
            }
            names.add(outermost.getName());
        }
        return names;
    }

    /**
     * For a global heap's failure: a line saying that other tests may have left the blocks, if JUnit's
     * parallel execution is on and nothing isolates the test (class description, "Threads"); or nothing.
     */
    private static String parallelNote(ExtensionContext context) {
        if (!context.getConfigurationParameter(PARALLEL_EXECUTION).map(Boolean::parseBoolean).orElse(false)) {
            return "";
        }
        for (Optional<ExtensionContext> level = Optional.of(context); level.isPresent();
                level = level.get().getParent()) {
            if (AnnotationSupport.isAnnotated(level.get().getElement(), Isolated.class)) {
                return "";
            }
        }
        return "(JUnit's parallel execution is on: blocks that tests running at the same time left "
                + "live in the global heap may count here too; put @Isolated on the test's class, or turn this "
                + "comparison off with @LeakCheck(globalHeap = false))\n";
    }

    /** Whether this test compares the global heap's leaks: it is checked and no annotation says no. */
    private static boolean checksGlobalHeap(ExtensionContext context) {
        return globalHeapIsChecked() && find(context, LeakCheck.class).map(LeakCheck::globalHeap).orElse(true);
    }

    /** Whether {@link Heap#global()} runs in a checked mode (set by {@code -Dmalloc4j.check}). */
    static boolean globalHeapIsChecked() {
        return Heap.global().checkMode() != CheckMode.FAST;
    }

    /**
     * The global heap's leaks at a moment, and the holders' mark then ({@link LeakReport#holdersMade()}):
     * the holders made since are the test's, and those made before it shares with other tests.
     */
    private record GlobalBaseline(LeakReport leaks, long holdersMade) {
        static GlobalBaseline now() {
            // Marked first: a holder made while the report is taken is the test's.
            long made = LeakReport.holdersMade();
            return new GlobalBaseline(Heap.global().leaks(), made);
        }
    }

    /** {@link #newLeaks(LeakReport, long, LeakReport)} with every holder taken for the test's own. */
    static String newLeaks(LeakReport before, LeakReport after) {
        return newLeaks(before, 0, after);
    }

    /**
     * @param holdersMadeBefore the holders' mark when {@code before} was taken
     *     ({@link LeakReport#holdersMade()}): a site whose holders are all as old
     *     ({@link LeakReport.Site#newestHolder()}) is memory that holders shared with earlier tests
     *     made during this one (a shared pool's new page, a shared array's larger storage), no leak
     *     of this test's; what such a pool handed out to the test and did not get back still is
     * @return a LeakSanitizer-style report of the blocks at each allocation site of {@code after}
     *     beyond those {@code before} had there, or null if there are none
     */
    static String newLeaks(LeakReport before, long holdersMadeBefore, LeakReport after) {
        Map<List<Object>, LeakReport.Site> old = byStackAndHolder(before);
        StringBuilder text = new StringBuilder();
        long blocks = 0;
        long bytes = 0;
        boolean sizesUnknown = false;
        Set<String> grownPools = new HashSet<>();
        for (Map.Entry<List<Object>, LeakReport.Site> entry : byStackAndHolder(after).entrySet()) {
            LeakReport.Site site = entry.getValue();
            LeakReport.Site previous = old.get(entry.getKey());
            long newBlocks = site.blocks() - (previous == null ? 0 : previous.blocks());
            if (newBlocks <= 0 || heldByEarlierHolders(site, holdersMadeBefore)) {
                continue;
            }
            if (site.poolPages()) {
                grownPools.add(site.heldBy());
            }
            long newBytes = site.bytes() - (previous == null ? 0 : previous.bytes());
            blocks += newBlocks;
            // A new site, or one whose blocks are all of zero bytes, tells the new blocks' size
            // exactly, zero-byte blocks (malloc(0)) included: nothing allocated there was freed.
            if (newBytes > 0 || previous == null || site.bytes() == 0) {
                bytes += newBytes;
                text.append("Direct leak of ").append(newBytes).append(" byte(s) in ").append(newBlocks)
                        .append(" object(s)").append(newHolders(site, previous).heldByWords())
                        .append(" allocated from:\n");
            } else {
                // The test freed larger blocks allocated here before it: the site holds more blocks
                // but no more bytes, so the new blocks' size cannot be told from the two reports.
                sizesUnknown = true;
                text.append("Direct leak of ").append(newBlocks).append(" object(s) of unknown size (the site holds ")
                        .append(-newBytes).append(" byte(s) less than before the test, which freed blocks allocated "
                                + "here before it)").append(newHolders(site, previous).heldByWords())
                        .append(" allocated from:\n");
            }
            appendFrames(text, site.stack(), "    ");
            appendHandedOut(text, site, previous);
            text.append('\n');
        }
        // A pool made before the test (its pages live before it, or new pages of it no leak of the
        // test's): what the test took from it and kept.
        Map<String, Map<Taken, Long>> earlier = handedOutByPool(before, holdersMadeBefore);
        for (Map.Entry<String, Map<Taken, Long>> pool : handedOutByPool(after, holdersMadeBefore).entrySet()) {
            // Without holder numbers, a pool whose pages grew said what it handed out with its pages.
            if (holdersMadeBefore == 0 && grownPools.contains(pool.getKey())) {
                continue;
            }
            for (LeakReport.HandedOut taken : keptFromPool(earlier.getOrDefault(pool.getKey(), Map.of()), pool.getValue())) {
                blocks += taken.blocks();
                bytes += taken.bytes();
                text.append("Direct leak of ").append(taken.bytes()).append(" byte(s) in ").append(taken.blocks())
                        .append(" object(s) taken from ").append(pool.getKey())
                        .append(", made before the test,")
                        .append(taken.recorded() ? " at:\n"
                                : " by count (sampled mode records where only some blocks were taken)\n");
                if (taken.recorded()) {
                    appendFrames(text, taken.stack(), "    ");
                }
                text.append('\n');
            }
        }
        if (blocks == 0) {
            return null;
        }
        String byteCount = (sizesUnknown ? "at least " : "") + bytes + " byte(s)";
        return "Malloc4jExtension: the test left " + blocks + " new block(s), " + byteCount
                + ", live in the global heap\n"
                + "ERROR: malloc4j: detected memory leaks in heap 'global'\n\n" + text
                + "SUMMARY: malloc4j: " + byteCount + " leaked in " + blocks + " allocation(s).";
    }

    /** Appends {@code frames} as the heap's reports number them; a thread with none (a native thread's) says so. */
    private static void appendFrames(StringBuilder text, List<StackTraceElement> frames, String indent) {
        if (frames.isEmpty()) {
            text.append(indent).append("(no frames outside malloc4j)\n");
        }
        for (int i = 0; i < frames.size(); i++) {
            text.append(indent).append('#').append(i).append(' ').append(frames.get(i)).append('\n');
        }
    }

    /**
     * Of a new leak of a pool's pages, the pool's blocks still handed out that the test took, by
     * where they were taken, as the heap's own report lists them: the test's own {@code allocate()}
     * calls.
     */
    private static void appendHandedOut(StringBuilder text, LeakReport.Site site, LeakReport.Site previous) {
        List<LeakReport.HandedOut> taken = newlyHandedOut(site, previous);
        if (taken.isEmpty()) {
            return;
        }
        long takenBlocks = taken.stream().mapToLong(LeakReport.HandedOut::blocks).sum();
        long takenBytes = taken.stream().mapToLong(LeakReport.HandedOut::bytes).sum();
        text.append("  Inside ").append(site.blocks() == 1 ? "it" : "them").append(", ").append(takenBytes)
                .append(" byte(s) in ").append(takenBlocks).append(" block(s) of ").append(site.heldBy())
                .append(" still handed out, never given back:\n");
        for (LeakReport.HandedOut group : taken) {
            text.append("    ").append(group.bytes()).append(" byte(s) in ").append(group.blocks()).append(" block(s)")
                    .append(group.recorded() ? " taken from:\n" : " whose take was not recorded\n");
            if (group.recorded()) {
                appendFrames(text, group.stack(), "        ");
            }
        }
    }

    /**
     * Blocks of a pool taken at one place, of one size: the heap's report groups a pool's handed-out
     * blocks so, as pools of one name may hand out blocks of different sizes. A recorded take may
     * have no frame (a native thread's, through an upcall); the takes nothing recorded have none.
     */
    private record Taken(List<StackTraceElement> stack, long blockSize, boolean recorded) {
        static Taken of(LeakReport.HandedOut group) {
            return new Taken(group.stack(), group.bytes() / group.blocks(), group.recorded());
        }

        LeakReport.HandedOut times(long blocks) {
            return new LeakReport.HandedOut(blocks, blocks * blockSize, stack, recorded);
        }
    }

    /**
     * @return the blocks of {@code site}'s pool pages handed out beyond what {@code previous} (the
     *     same site before the test, or null) had handed out from the same place: per place and
     *     size, the growth of its group; empty if {@code site} is not a pool's
     */
    private static List<LeakReport.HandedOut> newlyHandedOut(LeakReport.Site site, LeakReport.Site previous) {
        if (!site.poolPages()) {
            return List.of();
        }
        Map<Taken, Long> before = new LinkedHashMap<>();
        if (previous != null && previous.poolPages()) {
            count(previous.handedOut(), before);
        }
        Map<Taken, Long> after = new LinkedHashMap<>();
        count(site.handedOut(), after);
        return grownPerPlace(before, after);
    }

    /** Adds {@code groups}' blocks to {@code counts}, by place and size. */
    private static void count(List<LeakReport.HandedOut> groups, Map<Taken, Long> counts) {
        for (LeakReport.HandedOut group : groups) {
            counts.merge(Taken.of(group), group.blocks(), Long::sum);
        }
    }

    /** @return for each place and size, the blocks {@code after} has beyond {@code before}, where it has more */
    private static List<LeakReport.HandedOut> grownPerPlace(Map<Taken, Long> before, Map<Taken, Long> after) {
        List<LeakReport.HandedOut> grown = new ArrayList<>();
        after.forEach((taken, blocks) -> {
            long more = blocks - before.getOrDefault(taken, 0L);
            if (more > 0) {
                grown.add(taken.times(more));
            }
        });
        return grown;
    }

    /**
     * @param holdersMadeBefore with a count of holders ({@link LeakReport#holdersMade()}), only the
     *     pages of pools made by then count: a pool made since said what it handed out with its pages
     * @return per pool (by its name), the blocks still handed out from all its pages, by the place
     *     that took them and their size: how many
     */
    private static Map<String, Map<Taken, Long>> handedOutByPool(LeakReport report, long holdersMadeBefore) {
        Map<String, Map<Taken, Long>> pools = new LinkedHashMap<>();
        for (LeakReport.Site site : report.sites()) {
            if (!site.poolPages() || holdersMadeBefore != 0 && !heldByEarlierHolders(site, holdersMadeBefore)) {
                continue;
            }
            count(site.handedOut(), pools.computeIfAbsent(site.heldBy(), name -> new LinkedHashMap<>()));
        }
        return pools;
    }

    /**
     * What a test took from a pool and kept, from the pool's blocks handed out {@code before} and
     * {@code after} it, over all its pages: a block taken where an older one was given back moves
     * between pages, and is no leak. Where every take is recorded, the growth of each place's
     * group, per block size; where some are not (sampled mode, which records a take by chance),
     * only the growth of the total of each block size, as a group without a stack.
     */
    private static List<LeakReport.HandedOut> keptFromPool(Map<Taken, Long> before, Map<Taken, Long> after) {
        boolean sampled = before.keySet().stream().anyMatch(taken -> !taken.recorded())
                || after.keySet().stream().anyMatch(taken -> !taken.recorded());
        if (!sampled) {
            return grownPerPlace(before, after);
        }
        List<LeakReport.HandedOut> kept = new ArrayList<>();
        Map<Long, Long> growthBySize = new LinkedHashMap<>();
        after.forEach((taken, blocks) -> growthBySize.merge(taken.blockSize(), blocks, Long::sum));
        before.forEach((taken, blocks) -> growthBySize.merge(taken.blockSize(), -blocks, Long::sum));
        growthBySize.forEach((size, grown) -> {
            if (grown > 0) {
                kept.add(new Taken(List.of(), size, false).times(grown));
            }
        });
        return kept;
    }

    /** @return whether only holders made before the test ({@code holdersMadeBefore} or fewer) hold {@code site}'s blocks */
    private static boolean heldByEarlierHolders(LeakReport.Site site, long holdersMadeBefore) {
        return site.newestHolder() != 0 && site.newestHolder() <= holdersMadeBefore;
    }

    /** The sites of {@code report} by stack and holder name, as the report groups them, in its order. */
    private static Map<List<Object>, LeakReport.Site> byStackAndHolder(LeakReport report) {
        Map<List<Object>, LeakReport.Site> sites = new LinkedHashMap<>();
        for (LeakReport.Site site : report.sites()) {
            sites.put(List.of(site.heldBy(), site.stack()), site);
        }
        return sites;
    }

    /** @return {@code site} counting only the holders it has beyond {@code previous} (at least one) */
    private static LeakReport.Site newHolders(LeakReport.Site site, LeakReport.Site previous) {
        long before = previous == null ? 0 : previous.holders();
        long holders = site.holders() == 0 ? 0 : Math.max(1, site.holders() - before);
        return new LeakReport.Site(site.blocks(), site.bytes(), site.stack(), site.heldBy(), holders,
                site.poolPages(), site.handedOut(), site.newestHolder());
    }

    /** @return the first line of the failure of a test that left the blocks {@code stats} counts live */
    private static String leftLive(HeapStats stats) {
        return "Malloc4jExtension: the test left " + stats.liveBlocks() + " block(s), " + stats.requestedBytes()
                + " byte(s), live in heap '" + stats.name() + "'\n";
    }

    /**
     * @return the failure of a test that left the blocks {@code stats} counts live in its open heap of
     *     {@code mode}, whose {@link Heap#leaks()} read {@code leaks} afterwards
     */
    static String leakMessage(CheckMode mode, HeapStats stats, LeakReport leaks) {
        // The hint comes from the mode: with a thread the test left running, the counters and the
        // sites are read at different moments and need not agree.
        String runInFullMode = "run the test with @LeakCheck(mode = CheckMode.FULL) to see where they were allocated";
        StringBuilder message = new StringBuilder(leftLive(stats));
        switch (mode) {
            case FAST -> message.append("(no allocation sites recorded: ").append(runInFullMode).append(')');
            case SAMPLED -> {
                if (leaks.isEmpty()) {
                    message.append("(sampled mode: none of them was sampled, so no allocation site is recorded: ")
                            .append(runInFullMode).append(')');
                } else if (leaks.blocks() < stats.liveBlocks()) {
                    message.append("(sampled mode: ").append(leaks.blocks()).append(" of them have a recorded site)\n");
                }
                message.append(leaks.text());
            }
            case FULL -> message.append(leaks.isEmpty()
                    ? "(none was live any more when their allocation sites were read: a thread the test left "
                            + "running is freeing blocks of the heap)"
                    : leaks.text());
        }
        return message.toString();
    }

    /**
     * @return {@code message} with {@code lines} after its first line, which says what was left live
     *     (the rest is the leak report)
     */
    private static String afterFirstLine(String message, String lines) {
        int lineEnd = message.indexOf('\n') + 1;
        return message.substring(0, lineEnd) + lines + message.substring(lineEnd);
    }

    /** One test's heap and its fault policy; closed with the test's context even if afterEach is skipped. */
    private static final class TestHeap implements ExtensionContext.Store.CloseableResource {
        final Heap heap;
        final FaultInjection faults;
        /** Which dynamic tests left blocks live in the heap, when the test is a {@code @TestFactory}. */
        final DynamicTestLeaks dynamicTests;
        /** The test's outermost classes, whose frames the reports' stacks keep ({@link RunnerFrames}). */
        private final Set<String> testClasses;
        /** The store of the whole test run, which keeps the heap for closing again if its close throws. */
        private final ExtensionContext.Store runStore;
        /** Why the last close threw. */
        private Throwable closeFailure;
        /** Whether the last close threw with the heap closed, leaving memory a downcall uses mapped. */
        private boolean closedButMapped;
        /** Whether the leaks were reported: by the test's failure, or on standard error once the heap closed. */
        private boolean leaksReported;

        TestHeap(Heap heap, FaultInjection faults, String testId, Set<String> testClasses,
                ExtensionContext.Store runStore) {
            this.heap = heap;
            this.faults = faults;
            this.testClasses = testClasses;
            // The heap is a test method's parameter: only the factory method or its dynamic tests can use it.
            this.dynamicTests = new DynamicTestLeaks(heap, testId,
                    "the factory method left them, or the code making its dynamic tests");
            this.runStore = runStore;
        }

        /**
         * Adds to {@code problems} the misuse {@link Heap#check()} finds and, if any, the leaks. A
         * heap the test closed itself is checked for leaks too, by its counters alone.
         */
        void verify(List<Throwable> problems) {
            // A closed heap refuses check(), but its stats() and leaks() still report the blocks
            // that were live when it closed: those are the test's leaks.
            boolean closed = heap.isClosed();
            if (!closed) {
                try {
                    heap.check();
                } catch (RuntimeException misuse) {
                    problems.add(misuse);
                }
            }
            HeapStats stats = heap.stats();
            if (stats.liveBlocks() == 0) {
                return;
            }
            String message = afterFirstLine(leakMessage(heap.checkMode(), stats, heap.leaks()),
                    (closed ? "(the test closed the heap with them live)\n" : "") + dynamicTests.line());
            problems.add(new AssertionError(message));
            synchronized (this) {
                leaksReported = true;
            }
        }

        /** Adds to {@code problems} the misuse {@link Heap#check()} finds after the test was aborted. */
        void checkAfterAbort(List<Throwable> problems) {
            RuntimeException misuse = misuseFound();
            if (misuse != null) {
                problems.add(misuse);
            }
        }

        /**
         * Runs {@link Heap#check()} after the test failed with {@code failure}: the misuse it finds may
         * be why the test failed, so it is added to {@code failure} as a suppressed exception, or
         * printed to standard error, with the heap's name (the test's), if {@code failure} takes none.
         */
        void checkAfter(Throwable failure) {
            RuntimeException misuse = misuseFound();
            if (misuse == null) {
                return;
            }
            Throwable report = RunnerFrames.cut(misuse, testClasses);
            failure.addSuppressed(report);
            if (!List.of(failure.getSuppressed()).contains(report)) {
                System.err.println("Malloc4jExtension: the test of heap '" + heap.name() + "' failed with "
                        + failure + ", and Heap.check() found this too:");
                report.printStackTrace();
            }
        }

        /** @return what {@link Heap#check()} throws, or null if it finds nothing or the test closed the heap */
        private RuntimeException misuseFound() {
            if (heap.isClosed()) {
                return null;
            }
            try {
                heap.check();
                return null;
            } catch (RuntimeException misuse) {
                return misuse;
            }
        }

        /**
         * Closes the heap unless the test closed it. If {@link Heap#close()} throws, the heap is kept
         * in the run's {@link UnclosedHeaps}, to be closed again later.
         */
        @Override
        public void close() {
            try {
                if (!heap.isClosed()) {
                    heap.close();
                }
            } catch (RuntimeException | Error e) {
                // An Error too: what a cleanup action attached to a scope's segment threw.
                failedToClose(e);
                if (!heap.isClosed() || closedButMapped) {
                    runStore.getOrComputeIfAbsent(UNCLOSED_HEAPS, key -> new UnclosedHeaps(), UnclosedHeaps.class)
                            .add(this);
                }
                throw e;
            } finally {
                printLeaksNoFailureReported();
            }
        }

        /** @return whether the heap is closed now, closing it again if a close left it open or mapped */
        boolean closedAgain() {
            try {
                // A heap left open that the test's code has closed since is done; one a downcall kept
                // mapped is finished only by closing it again.
                if (heap.isClosed() && !closedButMapped) {
                    return true;
                }
                heap.close();
                return true;
            } catch (RuntimeException e) {
                failedToClose(e);
                return false;
            } finally {
                printLeaksNoFailureReported();
            }
        }

        /**
         * Once the heap is closed, prints on standard error the leaks it was closed with, as a heap's
         * own close prints them, unless the test's failure carried them: a test that failed on its
         * own or was aborted, or a heap closed without its test being checked, still shows its leaks.
         */
        private synchronized void printLeaksNoFailureReported() {
            // Read once closed, as the heap's own report at close was: the close first frees the blocks
            // of the scopes, arenas and pools still open on it.
            if (leaksReported || !heap.isClosed()) {
                return;
            }
            leaksReported = true;
            LeakReport leaks = heap.leaks();
            if (!leaks.isEmpty()) {
                System.err.println(RunnerFrames.cut(leaks.text(), testClasses));
            }
        }

        private void failedToClose(Throwable e) {
            closeFailure = e;
            // A close that threw with the heap closed still keeps memory mapped only where a downcall
            // uses it (Heap.close's IllegalStateException); a misuse report, or what a cleanup action
            // threw, comes after a complete close, which nothing is left to finish.
            closedButMapped = heap.isClosed() && e instanceof IllegalStateException
                    && String.valueOf(e.getMessage()).contains("is closed, but a downcall is using its memory");
        }

        /** Closes the heap, adding to {@code problems} why it could not be closed, if it could not. */
        void close(List<Throwable> problems) {
            try {
                close();
            } catch (RuntimeException | Error closeFailure) {
                problems.add(closeFailure);
            }
        }
    }

    /**
     * The heaps whose close threw (a confined scope left open on a live thread, a downcall using
     * their memory), closed again after each later test and when the test run ends, so that once
     * the thread ends or the downcall returns, their memory is unmapped.
     */
    private static final class UnclosedHeaps implements ExtensionContext.Store.CloseableResource {
        private final List<TestHeap> heaps = new ArrayList<>();

        synchronized void add(TestHeap testHeap) {
            heaps.add(testHeap);
        }

        synchronized void closeAgain() {
            heaps.removeIf(TestHeap::closedAgain);
        }

        /** Closes them again as the test run ends, naming on standard error those that still cannot be. */
        @Override
        public synchronized void close() {
            closeAgain();
            for (TestHeap testHeap : heaps) {
                System.err.println("Malloc4jExtension: heap '" + testHeap.heap.name() + "' could not be closed "
                        + "before the test run ended, so its memory stays mapped until the JVM exits: "
                        + testHeap.closeFailure.getMessage());
            }
            heaps.clear();
        }
    }
}
