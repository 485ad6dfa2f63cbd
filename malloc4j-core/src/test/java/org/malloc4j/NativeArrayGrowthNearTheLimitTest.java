package org.malloc4j;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A growable array's growth step (half its capacity again) is room for later adds: where the heap
 * refuses it for want of memory, the array asks for less, down to what the call needs, and fails
 * only when that is refused too, naming it. A {@link FaultInjection} failure is not asked again.
 *
 * <p>Bug: under a 64 MiB limit, {@code add} failed at 58 MiB because the 1.5x step was refused,
 * naming 87 MiB, while {@code reserve(capacity() + 1)} succeeded.
 */
class NativeArrayGrowthNearTheLimitTest {
    private static final long LIMIT = 16L << 20;
    /** 32 bytes aligned to 32: more than realloc keeps, so the block moves by malloc, copy and free. */
    private static final MemoryLayout ALIGNED =
            MemoryLayout.structLayout(JAVA_LONG, MemoryLayout.paddingLayout(24)).withByteAlignment(32);

    /** A call that needs one more element than the array has. */
    enum Growth {
        ADD, INSERT_AT_THE_END, RESIZE_BY_ONE;

        void growByOne(NativeLongArray array, long value) {
            switch (this) {
                case ADD -> array.add(value);
                case INSERT_AT_THE_END -> array.insert(array.size(), value);
                case RESIZE_BY_ONE -> {
                    array.resize(array.size() + 1);
                    array.set(array.size() - 1, value);
                }
            }
        }
    }

    static Stream<Arguments> growthsInEveryMode() {
        return Stream.of(CheckMode.values())
                .flatMap(mode -> Stream.of(Growth.values()).map(growth -> Arguments.of(mode, growth)));
    }

    /** @return the refusal that ended the growth, once the array is as large as the heap lets it be */
    private static HeapExhaustedError growUntilRefused(NativeLongArray array, Growth growth) {
        long n = array.size();
        while (true) {
            try {
                growth.growByOne(array, n);
            } catch (HeapExhaustedError refused) {
                // Caught here, not thrown on: JUnit takes an OutOfMemoryError for the end of the run.
                return refused;
            }
            n++;
        }
    }

    @ParameterizedTest(name = "{0}, {1}")
    @MethodSource("growthsInEveryMode")
    void anArrayGrowsUntilEvenOneMoreElementIsRefusedAndTheRefusalNamesIt(CheckMode mode, Growth growth) {
        try (Heap heap = Heap.builder().name("limited").checkMode(mode).sampleInterval(1).maxCommittedBytes(LIMIT)
                .build()) {
            NativeLongArray array = new NativeLongArray(heap);
            HeapExhaustedError refused = growUntilRefused(array, growth);
            long size = array.size();
            long needed = (size + 1) * JAVA_LONG.byteSize();
            assertEquals(needed, refused.requestedBytes(), refused.getMessage());
            assertTrue(refused.getMessage().startsWith("heap 'limited' cannot allocate " + needed + " bytes"),
                    refused.getMessage());
            // Full, and no larger block to be had: the refused growth is what reserve would ask.
            assertEquals(size, array.capacity());
            assertEquals(needed, assertThrows(HeapExhaustedError.class,
                    () -> array.reserve(array.capacity() + 1)).requestedBytes());
            assertTrue(size * JAVA_LONG.byteSize() > LIMIT / 4, "size " + size);
            // Unchanged by the refusals: every element as added.
            for (long i = 0; i < size; i += 4099) {
                assertEquals(i, array.get(i));
            }
            assertEquals(size - 1, array.get(size - 1));
            array.close();
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    /** An array whose block moves as it grows (aligned past 16 bytes) still fills what the limit allows. */
    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void anAlignedStructArrayGrowsUntilEvenOneMoreElementIsRefused(CheckMode mode) {
        try (Heap heap = Heap.builder().name("limited").checkMode(mode).sampleInterval(1).maxCommittedBytes(LIMIT)
                .build();
                NativeStructArray array = new NativeStructArray(heap, ALIGNED)) {
            HeapExhaustedError refused = null;
            while (refused == null) {
                try {
                    array.addZeroed().set(JAVA_LONG, 0, array.size());
                } catch (HeapExhaustedError e) {
                    refused = e;
                }
            }
            long size = array.size();
            assertEquals((size + 1) * 32, refused.requestedBytes(), refused.getMessage());
            assertEquals(size, array.capacity());
            assertThrows(HeapExhaustedError.class, () -> array.reserve(array.capacity() + 1));
            assertEquals(size, array.get(size - 1).get(JAVA_LONG, 0));
        }
    }

    /** A refusal for want of memory is told apart from an injected one where a policy is set. */
    @Test
    void aRefusedStepIsAskedAgainThoughAFaultInjectionIsSet() {
        FaultInjection faults = FaultInjection.firstN(0);
        try (Heap heap = Heap.builder().name("limited").maxCommittedBytes(LIMIT).faultInjection(faults).build()) {
            NativeLongArray array = new NativeLongArray(heap);
            HeapExhaustedError refused = growUntilRefused(array, Growth.ADD);
            assertEquals((array.size() + 1) * JAVA_LONG.byteSize(), refused.requestedBytes(), refused.getMessage());
            assertThrows(HeapExhaustedError.class, () -> array.reserve(array.capacity() + 1));
            assertEquals(0, faults.injectedFailures());
            array.close();
        }
    }

    // ---- fault injection: one call, one request ----

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void anInjectedFailureOfTheFirstGrowthNamesTheOneElementTheAddNeeded(CheckMode mode) {
        FaultInjection faults = FaultInjection.firstN(1);
        try (Heap heap = FaultyHeaps.heap(mode, faults); NativeLongArray array = new NativeLongArray(heap)) {
            HeapExhaustedError refused = assertThrows(HeapExhaustedError.class, () -> array.add(7));
            assertEquals(8, refused.requestedBytes());
            assertEquals(FaultyHeaps.injectedRefusalOf(8, 8), refused.getMessage());
            assertEquals(1, faults.injectedFailures());
            assertEquals(0, array.size());
            assertEquals(0, array.capacity());

            array.add(7);
            assertEquals(NativeArray.MIN_GROWTH_CAPACITY, array.capacity(), "the step, once the policy lets it be");
            assertEquals(7, array.get(0));
            assertEquals(1, faults.injectedFailures());
        }
    }

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void everyNthTwoFailsTheGrowthItFallsOnOnceAndTheNextSucceeds(CheckMode mode) {
        FaultInjection faults = FaultInjection.everyNth(2);
        try (Heap heap = FaultyHeaps.heap(mode, faults); NativeLongArray array = new NativeLongArray(heap, 8)) {
            for (long i = 0; i < 8; i++) {
                array.add(i);
            }
            MemorySegment before = array.asSegment();
            HeapExhaustedError refused = assertThrows(HeapExhaustedError.class, () -> array.add(8));
            assertEquals(9 * 8, refused.requestedBytes());
            assertEquals(FaultyHeaps.injectedRefusalOf(9 * 8, 8), refused.getMessage());
            assertEquals(1, faults.injectedFailures());
            assertEquals(8, array.capacity());
            assertEquals(before.address(), array.asSegment().address());

            array.add(8);
            assertEquals(12, array.capacity());
            assertEquals(1, faults.injectedFailures());
        }
    }

    /** The refusal names the alignment too, as the heap's own does. */
    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void anInjectedFailureOfAnAlignedArraysGrowthNamesItsSizeAndAlignment(CheckMode mode) {
        FaultInjection faults = FaultInjection.firstN(1);
        try (Heap heap = FaultyHeaps.heap(mode, faults);
                NativeStructArray array = new NativeStructArray(heap, ALIGNED)) {
            HeapExhaustedError refused = assertThrows(HeapExhaustedError.class, array::addZeroed);
            assertEquals(32, refused.requestedBytes());
            assertEquals(FaultyHeaps.injectedRefusalOf(32, 32), refused.getMessage());
            assertEquals(0, array.capacity());
        }
    }

    /**
     * A budget of bytes judges a growth by its size: a step the budget would not hold is asked
     * again for less, as near a heap's limit, down to the one more element the add needs, and only
     * the failure the program sees is counted. The adds from 0 grow the capacity to 8, 12, 18, 27,
     * 40, 60, 90, 135, 202 and 303 ints, 3,580 bytes in all; 1,216 more hold 304 ints exactly.
     */
    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void aByteBudgetAStepWouldPassStillTakesTheAddsItHolds(CheckMode mode) {
        FaultInjection faults = FaultInjection.afterBytes(3_580 + 1_216);
        try (Heap heap = FaultyHeaps.heap(mode, faults); NativeIntArray array = new NativeIntArray(heap)) {
            for (int i = 0; i < 304; i++) {
                try {
                    array.add(i);
                } catch (HeapExhaustedError e) {
                    throw new AssertionError("add " + i + " refused within the budget: " + e.getMessage());
                }
            }
            assertEquals(304, array.capacity());
            assertEquals(0, faults.injectedFailures());
            HeapExhaustedError refused = assertThrows(HeapExhaustedError.class, () -> array.add(304));
            assertTrue(refused.injected());
            assertEquals(305 * Integer.BYTES, refused.requestedBytes());
            assertEquals(1, faults.injectedFailures());
            assertEquals(303, array.get(303));
        }
    }
}
