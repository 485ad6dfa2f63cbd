package org.malloc4j;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.function.BiFunction;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The contract every {@link NativeArray} variant shares, run against each (JCTools' idea). */
class NativeArrayTest {
    private static final Heap HEAP = Heap.builder().name("array-test").build();
    private static final MemoryLayout TRIPLE =
            MemoryLayout.structLayout(JAVA_INT, JAVA_INT, JAVA_INT).withName("triple");

    @AfterAll
    static void closeHeap() {
        HEAP.close();
    }

    /** One variant: how to make one and how to append an element derived from a number. */
    record Variant(String name, BiFunction<Heap, Long, NativeArray> factory, Adder adder) {
        NativeArray make(long initialCapacity) {
            return factory.apply(HEAP, initialCapacity);
        }

        NativeArray make() {
            return make(0);
        }

        NativeArray filled(long count) {
            NativeArray array = make();
            for (long i = 0; i < count; i++) {
                adder.add(array, i);
            }
            return array;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    interface Adder {
        void add(NativeArray array, long n);
    }

    static Stream<Variant> variants() {
        return Stream.of(
                new Variant("NativeIntArray", NativeIntArray::new, (a, n) -> ((NativeIntArray) a).add((int) n + 1)),
                new Variant("NativeLongArray", NativeLongArray::new, (a, n) -> ((NativeLongArray) a).add(n + 1)),
                new Variant("NativeDoubleArray", NativeDoubleArray::new, (a, n) -> ((NativeDoubleArray) a).add(n + 1.5)),
                new Variant("NativeStructArray", (heap, capacity) -> new NativeStructArray(heap, TRIPLE, capacity),
                        (a, n) -> ((NativeStructArray) a).addZeroed().set(JAVA_INT, 4, (int) n + 1)));
    }

    private static long liveBlocks() {
        return HEAP.stats().liveBlocks();
    }

    private static byte[] bytes(NativeArray array) {
        return array.asSegment().toArray(JAVA_BYTE);
    }

    static Stream<Arguments> variantsInEveryMode() {
        return variants().flatMap(variant -> Stream.of(CheckMode.values()).map(mode -> Arguments.of(variant, mode)));
    }

    private static void assertHeldByTheArray(Heap heap, MemorySegment block) {
        List<org.junit.jupiter.api.function.Executable> calls = List.of(
                () -> heap.free(block),
                () -> heap.freeAddress(block.address()),
                () -> heap.realloc(block, 4 * block.byteSize()),
                () -> heap.reallocAddress(block.address(), 0));
        for (var call : calls) {
            assertEquals(MemoryMisuseException.Kind.ALLOC_DEALLOC_MISMATCH,
                    assertThrows(MemoryMisuseException.class, call).kind());
        }
    }

    // ---- ownership ----

    @ParameterizedTest
    @MethodSource("variantsInEveryMode")
    void theArrayHoldsItsBlockSoTheHeapNeitherFreesNorResizesIt(Variant variant, CheckMode mode) {
        try (Heap heap = Heap.builder().name("held").checkMode(mode).build()) {
            NativeArray array = variant.factory.apply(heap, 0L);
            for (long i = 0; i < 20; i++) {
                variant.adder.add(array, i);
            }
            byte[] before = bytes(array);
            assertHeldByTheArray(heap, array.asSegment());
            assertArrayEquals(before, bytes(array));
            // Had the free gone through, the next block of that size would take the array's address.
            MemorySegment other = heap.malloc(array.asSegment().byteSize());
            assertNotEquals(array.asSegment().address(), other.address());
            heap.free(other);
            // Growth, shrinking and a move keep the hold.
            for (long i = 20; i < 2_000; i++) {
                variant.adder.add(array, i);
            }
            assertHeldByTheArray(heap, array.asSegment());
            array.resize(3);
            array.shrinkToFit();
            assertHeldByTheArray(heap, array.asSegment());
            array.close();
            assertEquals(0, heap.stats().liveBlocks());
            heap.check();
        }
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(CheckMode.class)
    void anArrayOfOverAlignedElementsHoldsItsBlockToo(CheckMode mode) {
        MemoryLayout line = MemoryLayout.structLayout(JAVA_LONG, MemoryLayout.paddingLayout(56)).withByteAlignment(64);
        try (Heap heap = Heap.builder().name("held").checkMode(mode).build()) {
            NativeStructArray array = new NativeStructArray(heap, line, 1);
            for (int i = 0; i < 100; i++) {
                array.addZeroed().set(JAVA_LONG, 0, i);
                assertHeldByTheArray(heap, array.asSegment());
            }
            assertEquals(99, array.get(99).get(JAVA_LONG, 0));
            assertEquals(0, array.asSegment().address() % 64);
            array.close();
            assertEquals(0, heap.stats().liveBlocks());
            heap.check();
        }
    }

    /** An overflow found when the array grows leaves the block as it was: still the array's. */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(value = CheckMode.class, names = {"SAMPLED", "FULL"})
    void aGrowthThatFindsAnOverflowLeavesTheBlockHeldByTheArray(CheckMode mode) {
        try (Heap heap = Heap.builder().name("overflowed").checkMode(mode).sampleInterval(1).build()) {
            NativeLongArray array = new NativeLongArray(heap, 8);
            for (long i = 0; i < 8; i++) {
                array.add(i);
            }
            MemorySegment past = MemorySegment.ofAddress(array.asSegment().address()).reinterpret(72);
            long redzone = past.get(JAVA_LONG, 64);
            past.set(JAVA_LONG, 64, 0xBADL);
            MemoryMisuseException overflow = assertThrows(MemoryMisuseException.class, () -> array.add(8));
            assertEquals(MemoryMisuseException.Kind.HEAP_BUFFER_OVERFLOW, overflow.kind());
            // The program called add, not realloc: the report names the array's resize.
            assertTrue(overflow.getMessage().contains("found when a NativeLongArray resized it"),
                    overflow.getMessage());
            assertEquals(8, array.size());
            assertHeldByTheArray(heap, array.asSegment());
            past.set(JAVA_LONG, 64, redzone);
            array.add(8);
            assertEquals(8, array.get(8));
            array.close();
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    /** Over-aligned elements move by malloc, copy and free: a free that finds the overflow gives the new block back. */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(value = CheckMode.class, names = {"SAMPLED", "FULL"})
    void aMoveThatFindsAnOverflowGivesTheNewBlockBack(CheckMode mode) {
        MemoryLayout element = MemoryLayout.structLayout(JAVA_LONG, MemoryLayout.paddingLayout(24)).withByteAlignment(32);
        try (Heap heap = Heap.builder().name("overflowed").checkMode(mode).sampleInterval(1).build()) {
            NativeStructArray array = new NativeStructArray(heap, element, 2);
            array.addZeroed();
            array.addZeroed();
            MemorySegment past = MemorySegment.ofAddress(array.asSegment().address()).reinterpret(65);
            byte redzone = past.get(JAVA_BYTE, 64);
            past.set(JAVA_BYTE, 64, (byte) (redzone ^ 0x55));
            MemoryMisuseException overflow = assertThrows(MemoryMisuseException.class, array::addZeroed);
            assertEquals(MemoryMisuseException.Kind.HEAP_BUFFER_OVERFLOW, overflow.kind());
            // Worded as a growth by realloc is: the array resized its block.
            assertTrue(overflow.getMessage().contains("found when a NativeStructArray resized it"),
                    overflow.getMessage());
            assertEquals(1, heap.stats().liveBlocks());
            assertHeldByTheArray(heap, array.asSegment());
            past.set(JAVA_BYTE, 64, redzone);
            array.addZeroed();
            array.close();
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    /** A close that finds the block overflowed reports it, and closes the array and frees the block all the same. */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(value = CheckMode.class, names = {"SAMPLED", "FULL"})
    void aCloseThatFindsAnOverflowStillClosesTheArrayAndFreesItsBlock(CheckMode mode) {
        try (Heap heap = Heap.builder().name("overflowed").checkMode(mode).sampleInterval(1).build()) {
            NativeLongArray array = new NativeLongArray(heap, 4);
            array.add(1);
            MemorySegment past = MemorySegment.ofAddress(array.asSegment().address()).reinterpret(40);
            past.set(JAVA_LONG, 32, 0xBADL);
            MemoryMisuseException overflow = assertThrows(MemoryMisuseException.class, array::close);
            assertEquals(MemoryMisuseException.Kind.HEAP_BUFFER_OVERFLOW, overflow.kind());
            // The array freed the block, not the program: the report says which.
            assertTrue(overflow.getMessage().contains("found when a NativeLongArray freed it"), overflow.getMessage());
            assertTrue(array.isClosed());
            assertEquals(0, heap.stats().liveBlocks());
            assertThrows(IllegalStateException.class, array::close);
        }
    }

    /** A heap that injects faults still reports a misuse as one, and spends no injected failure on it. */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(CheckMode.class)
    void aMisusedReallocIsAMisuseEvenWhereFaultsAreInjected(CheckMode mode) {
        // Every request that would take the heap past 1 MiB fails; the calls below ask for 2 MiB.
        FaultInjection faults = FaultInjection.afterBytes(1 << 20);
        try (Heap heap = Heap.builder().name("faulty").checkMode(mode).faultInjection(faults).build()) {
            NativeLongArray array = new NativeLongArray(heap);
            for (long i = 0; i < 100; i++) {
                array.add(i);
            }
            MemorySegment block = heap.malloc(64);
            heap.free(block);
            long injected = faults.injectedFailures();
            assertEquals(MemoryMisuseException.Kind.ALLOC_DEALLOC_MISMATCH, assertThrows(MemoryMisuseException.class,
                    () -> heap.realloc(array.asSegment(), 2 << 20)).kind());
            MemoryMisuseException freed = assertThrows(MemoryMisuseException.class, () -> heap.realloc(block, 2 << 20));
            assertTrue(freed.getMessage().contains("realloc"), freed.getMessage());
            MemoryMisuseException interior = assertThrows(MemoryMisuseException.class,
                    () -> heap.reallocAddress(array.asSegment().address() + 8, 2 << 20));
            // An address inside the block the array holds: the array, not the heap, gives it back.
            assertEquals(MemoryMisuseException.Kind.ALLOC_DEALLOC_MISMATCH, interior.kind());
            assertTrue(interior.getMessage().contains("vs Heap.realloc"), interior.getMessage());
            assertEquals(injected, faults.injectedFailures());
            array.close();
        }
    }

    @ParameterizedTest
    @MethodSource("variants")
    void anArrayOnAClosedHeapCannotBeMade(Variant variant) {
        Heap closed = Heap.builder().name("closed").build();
        closed.close();
        assertThrows(IllegalStateException.class, () -> variant.factory.apply(closed, 0L));
        assertThrows(IllegalStateException.class, () -> variant.factory.apply(closed, 10L));
    }

    @ParameterizedTest
    @MethodSource("variants")
    void changingTheCountAfterTheHeapClosedThrowsAndChangesNothing(Variant variant) {
        Heap heap = Heap.builder().name("closed-under").build();
        NativeArray array = variant.factory.apply(heap, 0L);
        for (long i = 0; i < 5; i++) {
            variant.adder.add(array, i);
        }
        NativeArray empty = variant.factory.apply(heap, 0L);
        heap.close();
        assertThrows(IllegalStateException.class, empty::clear);
        assertThrows(IllegalStateException.class, () -> empty.resize(0));
        empty.close();
        assertThrows(IllegalStateException.class, array::clear);
        assertThrows(IllegalStateException.class, () -> array.resize(0));
        assertThrows(IllegalStateException.class, () -> array.resize(4));
        assertEquals(5, array.size());
        array.close();
    }

    // ---- construction ----

    @ParameterizedTest
    @MethodSource("variants")
    void aNewArrayIsEmptyAndTakesNoMemory(Variant variant) {
        long before = liveBlocks();
        try (NativeArray array = variant.make()) {
            assertEquals(0, array.size());
            assertTrue(array.isEmpty());
            assertEquals(0, array.capacity());
            assertEquals(0, array.asSegment().byteSize());
            assertEquals(before, liveBlocks());
        }
    }

    @ParameterizedTest
    @MethodSource("variants")
    void anInitialCapacityTakesOneBlockOfThatMany(Variant variant) {
        long before = liveBlocks();
        try (NativeArray array = variant.make(100)) {
            assertEquals(100, array.capacity());
            assertEquals(0, array.size());
            assertEquals(before + 1, liveBlocks());
        }
        assertEquals(before, liveBlocks());
    }

    @ParameterizedTest
    @MethodSource("variants")
    void aNegativeOrOverflowingInitialCapacityThrowsIllegalArgumentException(Variant variant) {
        assertThrows(IllegalArgumentException.class, () -> variant.make(-1));
        assertThrows(IllegalArgumentException.class, () -> variant.make(Long.MAX_VALUE));
    }

    @ParameterizedTest
    @MethodSource("variants")
    void aNullHeapThrowsNullPointerException(Variant variant) {
        assertThrows(NullPointerException.class, () -> variant.factory.apply(null, 0L));
    }

    // ---- capacity ----

    @ParameterizedTest
    @MethodSource("variants")
    void growthIsGeometricSoAddingIsAmortisedConstant(Variant variant) {
        try (NativeArray array = variant.make()) {
            long capacity = 0;
            int growths = 0;
            for (long i = 0; i < 100_000; i++) {
                variant.adder.add(array, i);
                if (array.capacity() != capacity) {
                    assertTrue(capacity == 0 || array.capacity() >= capacity + capacity / 2,
                            "capacity=" + capacity + " grew to " + array.capacity());
                    capacity = array.capacity();
                    growths++;
                }
            }
            assertTrue(growths <= 30, "growths=" + growths);
            assertEquals(100_000, array.size());
        }
    }

    @ParameterizedTest
    @MethodSource("variants")
    void growthKeepsTheElements(Variant variant) {
        try (NativeArray array = variant.filled(50)) {
            byte[] before = bytes(array);
            array.reserve(100_000);
            assertArrayEquals(before, bytes(array));
            array.shrinkToFit();
            assertArrayEquals(before, bytes(array));
        }
    }

    @ParameterizedTest
    @MethodSource("variants")
    void reserveGrowsToExactlyTheCapacityAskedAndNeverShrinks(Variant variant) {
        try (NativeArray array = variant.make()) {
            array.reserve(37);
            assertEquals(37, array.capacity());
            array.reserve(10);
            assertEquals(37, array.capacity());
            array.reserve(0);
            assertEquals(37, array.capacity());
        }
    }

    @ParameterizedTest
    @MethodSource("variants")
    void reserveOfANegativeOrOverflowingCapacityThrowsIllegalArgumentException(Variant variant) {
        try (NativeArray array = variant.filled(3)) {
            assertThrows(IllegalArgumentException.class, () -> array.reserve(-1));
            assertThrows(IllegalArgumentException.class, () -> array.reserve(Long.MAX_VALUE));
            assertEquals(3, array.size());
        }
    }

    @ParameterizedTest
    @MethodSource("variants")
    void exhaustionThrowsHeapExhaustedErrorAndLeavesTheArrayUnchanged(Variant variant) {
        try (Heap small = Heap.builder().name("small").maxCommittedBytes(1 << 20).build();
                NativeArray array = variant.factory.apply(small, 0L)) {
            for (int i = 0; i < 8; i++) {
                variant.adder.add(array, i);
            }
            long capacity = array.capacity();
            byte[] before = bytes(array);
            assertThrows(HeapExhaustedError.class, () -> array.reserve(1 << 24));
            assertEquals(capacity, array.capacity());
            assertArrayEquals(before, bytes(array));
            assertThrows(HeapExhaustedError.class, () -> array.resize(1 << 24));
            assertEquals(8, array.size());
        }
    }

    @ParameterizedTest
    @MethodSource("variants")
    void shrinkToFitThatTheHeapFailsThrowsHeapExhaustedErrorAndLeavesTheArrayUnchanged(Variant variant) {
        try (Heap flaky = Heap.builder().name("flaky").faultInjection(FaultInjection.everyNth(2)).build();
                NativeArray array = variant.factory.apply(flaky, 100L)) {                 // request 1
            for (int i = 0; i < 3; i++) {
                variant.adder.add(array, i);
            }
            byte[] before = bytes(array);
            assertThrows(HeapExhaustedError.class, array::shrinkToFit);                    // request 2
            assertEquals(100, array.capacity());
            assertArrayEquals(before, bytes(array));
            array.shrinkToFit();                                                           // request 3
            assertEquals(3, array.capacity());
            assertArrayEquals(before, bytes(array));
        }
    }

    @ParameterizedTest
    @MethodSource("variants")
    void resizeAddsZeroedElementsOrDropsTheLastOnes(Variant variant) {
        try (NativeArray array = variant.filled(5)) {
            byte[] first = bytes(array);
            array.resize(20);
            assertEquals(20, array.size());
            MemorySegment view = array.asSegment();
            for (long offset = first.length; offset < view.byteSize(); offset++) {
                assertEquals(0, view.get(JAVA_BYTE, offset));
            }
            array.resize(5);
            assertArrayEquals(first, bytes(array));
            array.resize(0);
            assertTrue(array.isEmpty());
        }
    }

    @ParameterizedTest
    @MethodSource("variants")
    void resizeInSmallStepsGrowsGeometricallyAsAddingDoes(Variant variant) {
        try (NativeArray array = variant.make()) {
            long capacity = 0;
            int growths = 0;
            for (long size = 1; size <= 10_000; size++) {
                array.resize(size);
                if (array.capacity() != capacity) {
                    capacity = array.capacity();
                    growths++;
                }
            }
            assertTrue(growths <= 20, "growths=" + growths);
        }
    }

    @ParameterizedTest
    @MethodSource("variants")
    void resizeToANegativeSizeThrowsIllegalArgumentException(Variant variant) {
        try (NativeArray array = variant.filled(2)) {
            assertThrows(IllegalArgumentException.class, () -> array.resize(-1));
            assertEquals(2, array.size());
        }
    }

    @ParameterizedTest
    @MethodSource("variants")
    void clearKeepsTheCapacity(Variant variant) {
        try (NativeArray array = variant.filled(20)) {
            long capacity = array.capacity();
            array.clear();
            assertEquals(0, array.size());
            assertEquals(capacity, array.capacity());
        }
    }

    @ParameterizedTest
    @MethodSource("variants")
    void shrinkToFitMakesTheCapacityTheSizeAndAnEmptyArrayGivesItsBlockBack(Variant variant) {
        long before = liveBlocks();
        try (NativeArray array = variant.filled(20)) {
            array.shrinkToFit();
            assertEquals(20, array.capacity());
            array.clear();
            array.shrinkToFit();
            assertEquals(0, array.capacity());
            assertEquals(before, liveBlocks());
            variant.adder.add(array, 1);
            assertEquals(1, array.size());
        }
    }

    @ParameterizedTest
    @MethodSource("variants")
    void theSegmentViewCoversExactlyTheElements(Variant variant) {
        try (NativeArray array = variant.filled(7)) {
            assertEquals(7 * array.elementByteSize(), array.asSegment().byteSize());
            assertTrue(array.asSegment().isNative());
        }
    }

    // ---- lifetime ----

    @ParameterizedTest
    @MethodSource("variants")
    void closeFreesTheBlock(Variant variant) {
        long before = liveBlocks();
        NativeArray array = variant.filled(1000);
        assertEquals(before + 1, liveBlocks());
        array.close();
        assertTrue(array.isClosed());
        assertEquals(before, liveBlocks());
    }

    @ParameterizedTest
    @MethodSource("variants")
    void everyOperationAfterCloseThrowsIllegalStateException(Variant variant) {
        NativeArray array = variant.filled(3);
        array.close();
        assertThrows(IllegalStateException.class, array::size);
        assertThrows(IllegalStateException.class, array::isEmpty);
        assertThrows(IllegalStateException.class, array::capacity);
        assertThrows(IllegalStateException.class, () -> array.reserve(10));
        assertThrows(IllegalStateException.class, () -> array.resize(10));
        assertThrows(IllegalStateException.class, array::clear);
        assertThrows(IllegalStateException.class, array::shrinkToFit);
        assertThrows(IllegalStateException.class, array::asSegment);
        assertThrows(IllegalStateException.class, () -> variant.adder.add(array, 1));
        IllegalStateException e = assertThrows(IllegalStateException.class, array::close);
        assertTrue(e.getMessage().contains(variant.name()), e.getMessage());
        assertFalse(array.toString().isEmpty());
    }

    @ParameterizedTest
    @MethodSource("variants")
    void closingAfterTheHeapClosedThrowsNothing(Variant variant) {
        Heap heap = Heap.builder().name("closing").build();
        NativeArray array = variant.factory.apply(heap, 10L);
        heap.close();
        array.close();
        assertTrue(array.isClosed());
    }

    @ParameterizedTest
    @MethodSource("variants")
    void sizeAndCapacityOperationsAfterTheHeapClosedThrowAndLeaveTheArrayUnchanged(Variant variant) {
        Heap heap = Heap.builder().name("closed-under-an-array").build();
        NativeArray array = variant.factory.apply(heap, 0L);
        variant.adder.add(array, 1);
        variant.adder.add(array, 2);
        long capacity = array.capacity();
        heap.close();
        List<Runnable> operations = List.of(
                () -> variant.adder.add(array, 3),
                () -> array.resize(capacity),
                () -> array.resize(capacity + 100),
                () -> array.reserve(capacity + 100),
                array::shrinkToFit,
                () -> array.asSegment().get(JAVA_BYTE, 0));
        for (int i = 0; i < operations.size(); i++) {
            assertThrows(IllegalStateException.class, operations.get(i)::run, "operation " + i);
            assertEquals(2, array.size(), "operation " + i);
            assertEquals(capacity, array.capacity(), "operation " + i);
        }
        array.close();
    }

    @ParameterizedTest
    @MethodSource("variants")
    void reserveAndShrinkToFitAfterTheHeapClosedNameTheClosedHeapAsElementOperationsDo(Variant variant) {
        Heap heap = Heap.builder().name("closed-under-an-array").build();
        NativeArray array = variant.factory.apply(heap, 0L);
        variant.adder.add(array, 1);
        NativeArray fit = variant.factory.apply(heap, 1L);
        variant.adder.add(fit, 1);
        NativeArray empty = variant.factory.apply(heap, 0L);
        heap.close();
        String expected = "the heap 'closed-under-an-array' of this " + variant.name() + " is closed, and its elements "
                + "with it";
        assertEquals(expected, assertThrows(IllegalStateException.class, array::clear).getMessage());
        for (NativeArray closedUnder : List.of(array, fit, empty)) {
            long capacity = closedUnder.capacity();
            List<Runnable> operations = List.of(
                    () -> closedUnder.reserve(capacity + 100),
                    () -> closedUnder.reserve(capacity),
                    closedUnder::shrinkToFit);
            for (int i = 0; i < operations.size(); i++) {
                IllegalStateException e = assertThrows(IllegalStateException.class, operations.get(i)::run,
                        "operation " + i);
                assertEquals(expected, e.getMessage(), "operation " + i);
                assertEquals(capacity, closedUnder.capacity(), "operation " + i);
            }
            closedUnder.close();
        }
    }

    @ParameterizedTest
    @MethodSource("variants")
    void elementsAreStoredInNativeOrderAtTheirOffsets(Variant variant) {
        try (NativeArray array = variant.filled(3)) {
            MemorySegment view = array.asSegment();
            switch (array) {
                case NativeIntArray ints -> assertEquals(3, view.getAtIndex(JAVA_INT, 2));
                case NativeLongArray longs -> assertEquals(3, view.getAtIndex(JAVA_LONG, 2));
                case NativeDoubleArray doubles -> assertEquals(3.5, view.getAtIndex(JAVA_DOUBLE, 2));
                case NativeStructArray structs -> assertEquals(3, view.get(JAVA_INT, 2 * 12 + 4));
            }
        }
    }
}
