package org.malloc4j.junit;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;
import org.malloc4j.CheckMode;

/**
 * Registers {@link Malloc4jExtension} and configures the heap it gives each test: every
 * {@link org.malloc4j.Heap} parameter of a test (and of its {@code @BeforeEach} and
 * {@code @AfterEach} methods) is a fresh heap in this {@link #mode()}, verified with
 * {@link org.malloc4j.Heap#check()} and checked for leaks after the test, then closed.
 *
 * <p>On a method it overrides the one on the class; on a class it applies to every test of the class,
 * of its subclasses and of the {@link org.junit.jupiter.api.Nested @Nested} classes that run in it (its
 * own and those it inherits), unless a {@code @Nested} class has its own.
 *
 * {@snippet lang = java:
 * @LeakCheck(mode = CheckMode.FULL, quarantineBytes = 1 << 20)
 * class DecoderTest {
 *     @Test
 *     void decodesWithoutLeaking(Heap heap) {
 *         MemorySegment frame = heap.malloc(64);
 *         // ...
 *         heap.free(frame); // forget this and the test fails, naming where frame was allocated
 *     }
 * }
 * }
 */
@Documented
@Inherited
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.TYPE, ElementType.METHOD, ElementType.ANNOTATION_TYPE})
@ExtendWith(Malloc4jExtension.class)
public @interface LeakCheck {
    /**
     * How much the test's heap checks. {@link CheckMode#FULL} (the default) names the allocation
     * site of every leaked block and catches use after free and overflows; {@link CheckMode#FAST}
     * still fails a leaking test, by the count of live blocks, but cannot say where they came from.
     *
     * @return the check mode of each test's heap
     */
    CheckMode mode() default CheckMode.FULL;

    /**
     * @return the bytes of freed blocks the heap holds back from reuse
     *     ({@link org.malloc4j.Heap.Builder#quarantineBytes}); negative (the default) keeps the
     *     heap's default of 20 MiB
     */
    long quarantineBytes() default -1;

    /**
     * In {@link CheckMode#SAMPLED} mode, one allocation in this many is checked
     * ({@link org.malloc4j.Heap.Builder#sampleInterval}, which rounds it up to a power of two). Valid
     * values are 0 (the default), which keeps the heap's default, and 1 or more; a negative value
     * fails the test with {@link org.junit.jupiter.api.extension.ExtensionConfigurationException}.
     * Other modes ignore it.
     *
     * @return the sampling interval: 0, or 1 or more
     */
    int sampleInterval() default 0;

    /**
     * Whether to fail a test that leaves new blocks live in {@link org.malloc4j.Heap#global()}. This
     * needs the global heap in a checked mode, chosen when the test JVM starts with
     * {@code -Dmalloc4j.check=full} (or {@code sampled}); in fast mode there is nothing to compare and
     * the check is skipped. It counts the blocks of every thread, so with JUnit's parallel execution
     * on, it is exact only for tests of {@link org.junit.jupiter.api.parallel.Isolated @Isolated}
     * classes (see {@link Malloc4jExtension}'s Threads section).
     *
     * @return whether to compare the global heap's leaks before and after each test (default true)
     */
    boolean globalHeap() default true;
}
