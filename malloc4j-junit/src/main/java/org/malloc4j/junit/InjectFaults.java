package org.malloc4j.junit;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Makes the test's {@link org.malloc4j.Heap} fail allocations on purpose, as one
 * {@link org.malloc4j.FaultInjection} policy says, so the test walks its code's out-of-memory paths.
 * Set exactly one policy: {@link #everyNth()}, {@link #firstN()}, {@link #afterBytes()},
 * {@link #probability()} (with {@link #seed()}), or {@link #eachCallSiteOnce()}; anything else, or a
 * {@link #seed()} with a policy other than {@link #probability()}, fails the test with
 * {@link org.junit.jupiter.api.extension.ExtensionConfigurationException}.
 *
 * <p>Put it on a test method, or on a class for all its tests, those of its subclasses and of the
 * {@link org.junit.jupiter.api.Nested @Nested} classes that run in it (its own and those it inherits);
 * on a method it overrides the one on the class, on a {@code @Nested} class the one on the class it
 * runs in. Registers {@link Malloc4jExtension}. The policy is made fresh for each test; a test may
 * take it as a {@link org.malloc4j.FaultInjection} parameter to read
 * {@link org.malloc4j.FaultInjection#injectedFailures()}. Only the test's own heap fails: the
 * {@linkplain org.malloc4j.Heap#global() global heap} is never affected. An injected
 * {@link org.malloc4j.HeapExhaustedError} that the code under test lets escape fails that test alone,
 * with the error as the cause; the run goes on.
 *
 * {@snippet lang = java:
 * @Test
 * @InjectFaults(everyNth = 3)
 * void everyThirdAllocationFails(Heap heap, FaultInjection faults) {
 *     Cache cache = new Cache(heap);
 *     for (int i = 0; i < 30; i++) {
 *         cache.put(i, "value " + i); // must cope with HeapExhaustedError and free what it holds
 *     }
 *     cache.close();
 *     assertTrue(faults.injectedFailures() > 0);
 * } // fails here if the cache leaked on any failure path
 * }
 */
@Documented
@Inherited
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.METHOD, ElementType.TYPE, ElementType.ANNOTATION_TYPE})
@ExtendWith(Malloc4jExtension.class)
public @interface InjectFaults {
    /**
     * @return fail requests n, 2n, 3n, … ({@link org.malloc4j.FaultInjection#everyNth}), n 1 or more;
     *     0: not this policy; a negative value fails the test
     */
    long everyNth() default 0;

    /** @return fail the first n requests ({@link org.malloc4j.FaultInjection#firstN}); negative: not this policy */
    long firstN() default -1;

    /**
     * @return fail each request that would take the bytes of requests that succeeded past this budget
     *     ({@link org.malloc4j.FaultInjection#afterBytes}); negative: not this policy
     */
    long afterBytes() default -1;

    /**
     * @return fail each request with this probability, from 0 to 1, drawn from a generator seeded
     *     with {@link #seed()} ({@link org.malloc4j.FaultInjection#withProbability}); negative: not
     *     this policy
     */
    double probability() default -1;

    /**
     * @return the seed of {@link #probability()}'s generator, so a failing run repeats exactly; a seed
     *     other than 0 with another policy fails the test, as that policy would ignore it
     */
    long seed() default 0;

    /**
     * @return fail the first request from each distinct call site
     *     ({@link org.malloc4j.FaultInjection#eachCallSiteOnce})
     */
    boolean eachCallSiteOnce() default false;
}
