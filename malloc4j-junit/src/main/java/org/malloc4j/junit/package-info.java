/**
 * malloc4j for JUnit 5: a checked heap per test that fails the test when it leaks, and fault
 * injection per test.
 *
 * <ul>
 *   <li>{@link org.malloc4j.junit.Malloc4jExtension} — resolves {@link org.malloc4j.Heap} (and
 *       {@link org.malloc4j.FaultInjection}) parameters, verifies and leak-checks the heap after each
 *       test, closes it, and compares the global heap's leaks before and after each test when the
 *       JVM runs with {@code -Dmalloc4j.check=full}.
 *   <li>{@link org.malloc4j.junit.LeakCheck @LeakCheck} — registers the extension and sets the check
 *       mode, quarantine and sample interval of each test's heap.
 *   <li>{@link org.malloc4j.junit.InjectFaults @InjectFaults} — makes the test's heap fail allocations
 *       every n-th time, the first n times, past a byte budget, at random with a seed, or once per call
 *       site.
 * </ul>
 *
 * {@snippet lang = java:
 * @LeakCheck
 * class IndexTest {
 *     @Test
 *     void insertsAndFrees(Heap heap) {
 *         try (NativeLongArray keys = new NativeLongArray(heap, 16)) {
 *             keys.add(42);
 *         }
 *     }
 *
 *     @Test
 *     @InjectFaults(everyNth = 2)
 *     void everySecondAllocationFails(Heap heap) {
 *         MemorySegment first = heap.malloc(16);
 *         assertThrows(HeapExhaustedError.class, () -> heap.malloc(16));
 *         heap.free(first);
 *     }
 * }
 * }
 *
 * <h2>JUnit versions</h2>
 * This module is built against JUnit 5.11.4 and depends on its {@code junit-jupiter-api}. To run
 * tests on a newer JUnit, import that version's BOM ({@code org.junit:junit-bom}, with
 * {@code <scope>import</scope>} in Maven's {@code <dependencyManagement>}, or as a Gradle
 * {@code platform}), so that every JUnit artifact has the same version. Without it, Maven may pair
 * this module's {@code junit-jupiter-api} 5.11.4 with the newer {@code junit-jupiter} engine, and
 * the engine fails to discover the tests.
 */
package org.malloc4j.junit;
