package org.malloc4j.junit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.engine.DiscoverySelector;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.discovery.DiscoverySelectors;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.testkit.engine.EngineExecutionResults;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Event;
import org.junit.platform.testkit.engine.Events;

/**
 * Runs sample test classes, written to pass or fail on purpose, through the JUnit Platform test kit
 * and hands back how each test method ended. Samples carry {@link Sample}, so they run only here,
 * never as part of the build's own test run.
 */
final class SampleRunner {
    static final String SAMPLES_PARAMETER = "malloc4j.junit.samples";

    private SampleRunner() {
    }

    /** Marks a sample class: it is skipped unless {@link SampleRunner} runs it. */
    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.TYPE)
    @ExtendWith(OnlyInSampleRunner.class)
    @interface Sample {
    }

    /** Disables sample classes outside {@link SampleRunner}. */
    static final class OnlyInSampleRunner implements ExecutionCondition {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            return context.getConfigurationParameter(SAMPLES_PARAMETER).isPresent()
                    ? ConditionEvaluationResult.enabled("run by SampleRunner")
                    : ConditionEvaluationResult.disabled("a sample, run only by SampleRunner");
        }
    }

    /**
     * Runs the sample class, or only the named methods of it (each with no parameter but those the
     * extension resolves: they are selected by name).
     *
     * @return each test method's name (one entry per method; the last invocation wins) and how it ended
     */
    static Map<String, TestExecutionResult> run(Class<?> sample, String... methods) {
        return tests(execute(sample, methods));
    }

    /** {@link #run} with JUnit's configuration parameters {@code parameters} set as well. */
    static Map<String, TestExecutionResult> runWith(Map<String, String> parameters, Class<?> sample,
            String... methods) {
        return tests(execute(parameters, sample, methods));
    }

    /** Runs the sample class, or only the named methods of it, as {@link #run} does. */
    static EngineExecutionResults execute(Class<?> sample, String... methods) {
        return execute(Map.of(), sample, methods);
    }

    private static EngineExecutionResults execute(Map<String, String> parameters, Class<?> sample,
            String... methods) {
        DiscoverySelector[] selectors = methods.length == 0
                ? new DiscoverySelector[] {DiscoverySelectors.selectClass(sample)}
                : Arrays.stream(methods).map(method -> DiscoverySelectors.selectMethod(sample, method))
                        .toArray(DiscoverySelector[]::new);
        return EngineTestKit.engine("junit-jupiter")
                .selectors(selectors)
                .configurationParameter(SAMPLES_PARAMETER, "true")
                .configurationParameters(parameters)
                .execute();
    }

    /** @return how each test ended, named as {@link #run} names them */
    static Map<String, TestExecutionResult> tests(EngineExecutionResults execution) {
        return results(execution.testEvents());
    }

    /**
     * @return how each container ended: a {@code @TestFactory} or test template by its method's name, a
     *     dynamic container with a source of its own by its display name
     */
    static Map<String, TestExecutionResult> containers(EngineExecutionResults execution) {
        return results(execution.containerEvents());
    }

    private static Map<String, TestExecutionResult> results(Events events) {
        Map<String, TestExecutionResult> results = new LinkedHashMap<>();
        events.finished().stream()
                .forEach(event -> results.put(methodName(event), event.getRequiredPayload(TestExecutionResult.class)));
        return results;
    }

    private static String methodName(Event event) {
        return event.getTestDescriptor().getSource()
                .filter(MethodSource.class::isInstance)
                .map(source -> ((MethodSource) source).getMethodName())
                .orElse(event.getTestDescriptor().getDisplayName());
    }

    static TestExecutionResult result(Map<String, TestExecutionResult> results, String method) {
        TestExecutionResult result = results.get(method);
        assertNotNull(result, () -> "no result for " + method + " in " + results.keySet());
        return result;
    }

    static void assertSucceeded(Map<String, TestExecutionResult> results, String method) {
        TestExecutionResult result = result(results, method);
        assertEquals(TestExecutionResult.Status.SUCCESSFUL, result.getStatus(),
                () -> method + " failed: " + result.getThrowable().map(SampleRunner::describe).orElse(""));
    }

    /** @return why {@code method} failed; asserts it did */
    static Throwable failure(Map<String, TestExecutionResult> results, String method) {
        TestExecutionResult result = result(results, method);
        assertEquals(TestExecutionResult.Status.FAILED, result.getStatus(), () -> method + " did not fail");
        return result.getThrowable().orElseThrow();
    }

    static String describe(Throwable throwable) {
        StringBuilder text = new StringBuilder();
        for (Throwable t = throwable; t != null; t = t.getCause()) {
            text.append(t).append('\n');
        }
        return text.toString();
    }
}
