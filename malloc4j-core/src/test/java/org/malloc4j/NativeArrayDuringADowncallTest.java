package org.malloc4j;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemoryLayout;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What Downcalls in {@link NativeArray} says: a method that would move, resize or free the block
 * while a downcall uses it throws {@link IllegalStateException} where the heap can tell (every such
 * change in {@link CheckMode#FULL}, a move of a huge block in every mode) and leaves the array
 * unchanged, so the same call succeeds once the downcall returns; in {@link CheckMode#FAST} a block
 * that is not huge is resized all the same.
 */
class NativeArrayDuringADowncallTest {
    private static final MemoryLayout PAIR = MemoryLayout.structLayout(JAVA_INT, JAVA_INT);

    /** An array made ready for a call that changes its capacity, and that call. */
    record Change(String name, Function<Heap, NativeArray> make, Consumer<NativeArray> call) {
        @Override
        public String toString() {
            return name;
        }
    }

    /** @return an array of {@code size} longs 0, 1, 2, ... at capacity {@code capacity} */
    private static NativeLongArray longs(Heap heap, long capacity, long size) {
        NativeLongArray array = new NativeLongArray(heap, capacity);
        for (long i = 0; i < size; i++) {
            array.add(i);
        }
        return array;
    }

    static Stream<Change> changes() {
        return Stream.of(
                new Change("add to a full array", heap -> longs(heap, 8, 8), a -> ((NativeLongArray) a).add(8)),
                new Change("insert into a full array", heap -> longs(heap, 8, 8),
                        a -> ((NativeLongArray) a).insert(0, -1)),
                new Change("addZeroed to a full array", heap -> {
                    NativeStructArray pairs = new NativeStructArray(heap, PAIR, 8);
                    for (int i = 0; i < 8; i++) {
                        pairs.addZeroed().set(JAVA_INT, 0, i);
                    }
                    return pairs;
                }, a -> ((NativeStructArray) a).addZeroed()),
                new Change("reserve", heap -> longs(heap, 8, 8), a -> a.reserve(64)),
                new Change("resize", heap -> longs(heap, 8, 8), a -> a.resize(64)),
                new Change("shrinkToFit", heap -> longs(heap, 16, 8), NativeArray::shrinkToFit),
                new Change("shrinkToFit of an empty array", heap -> longs(heap, 16, 0), NativeArray::shrinkToFit));
    }

    @ParameterizedTest
    @MethodSource("changes")
    void inFullModeAChangeOfTheCapacityDuringADowncallThrowsAndChangesNothing(Change change) throws Throwable {
        try (Heap heap = Heap.builder().name("full").checkMode(CheckMode.FULL).build()) {
            NativeArray array = change.make().apply(heap);
            long size = array.size();
            long capacity = array.capacity();
            long address = array.asSegment().address();
            byte[] elements = array.asSegment().toArray(JAVA_BYTE);
            // The downcall holds the block's segment: a slice of it, at the start of the block.
            Downcalls.whileHeldByADowncall(array.asSegment().asSlice(0, 0).reinterpret(16), () -> {
                IllegalStateException refused = assertThrows(IllegalStateException.class,
                        () -> change.call().accept(array));
                assertTrue(refused.getMessage().contains("while a downcall is using it"), refused.getMessage());
                assertEquals(size, array.size());
                assertEquals(capacity, array.capacity());
                assertEquals(address, array.asSegment().address());
                assertArrayEquals(elements, array.asSegment().toArray(JAVA_BYTE));
            });
            change.call().accept(array); // once the downcall returned
            assertTrue(array.capacity() != capacity, "the same call changes the capacity now");
            array.close();
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    /** In FAST mode a block that is not huge is resized, and may move, all the same. */
    @Test
    void inFastModeASmallBlockGrowsDuringADowncall() throws Throwable {
        try (Heap heap = Heap.builder().name("fast").build(); NativeLongArray array = longs(heap, 8, 8)) {
            Downcalls.whileHeldByADowncall(array.asSegment().asSlice(0, 16), () -> array.add(8));
            assertEquals(12, array.capacity());
            assertEquals(8, array.get(8));
        }
    }

    /** In FAST mode the heap tells a huge block (over 16 MiB, in a mapping of its own) that must move. */
    @Test
    void inFastModeAHugeBlockThatMustMoveDuringADowncallThrowsAndChangesNothing() throws Throwable {
        long capacity = 4L << 20; // 32 MiB of longs
        try (Heap heap = Heap.builder().name("fast").build();
                NativeLongArray array = new NativeLongArray(heap, capacity)) {
            array.resize(capacity);
            array.set(capacity - 1, 42);
            long address = array.asSegment().address();
            Downcalls.whileHeldByADowncall(array.asSegment().asSlice(0, 16), () -> {
                IllegalStateException refused = assertThrows(IllegalStateException.class,
                        () -> array.reserve(capacity * 4));
                assertTrue(refused.getMessage().contains("while a downcall is using it"), refused.getMessage());
                assertEquals(capacity, array.capacity());
                assertEquals(address, array.asSegment().address());
                assertEquals(42, array.get(capacity - 1));
            });
            array.reserve(capacity * 4);
            assertEquals(capacity * 4, array.capacity());
            assertEquals(42, array.get(capacity - 1));
        }
    }
}
