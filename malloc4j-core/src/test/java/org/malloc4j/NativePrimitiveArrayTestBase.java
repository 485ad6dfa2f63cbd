package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Arrays;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.Callable;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;

/**
 * The element-typed members every primitive {@link NativeArray} variant has (get, set, insert,
 * remove, pop, toArray), checked once for all of them; each variant's subclass supplies the typed
 * hooks. What every variant shares, struct arrays included, is in {@link NativeArrayTest}.
 *
 * @param <A> the array type
 * @param <E> its element type, boxed
 */
abstract class NativePrimitiveArrayTestBase<A extends NativeArray, E> {
    static final Heap HEAP = Heap.global();

    // ---- the typed hooks ----

    abstract A newArray(Heap heap);

    /** The element the generated number {@code n} stands for. */
    abstract E v(int n);

    /** The element a resize adds. */
    abstract E zero();

    abstract E get(A array, long index);

    abstract E set(A array, long index, E value);

    abstract void add(A array, E value);

    abstract void insert(A array, long index, E value);

    abstract E remove(A array, long index);

    abstract E pop(A array);

    /** {@code array.toArray()}: a primitive array. */
    abstract Object toArray(A array);

    /** The segment's contents as a primitive array of the element type. */
    abstract Object segmentElements(MemorySegment segment);

    /** The elements as a primitive array of the element type. */
    abstract Object primitive(Collection<E> elements);

    // ---- helpers ----

    private A arrayOf(int... values) {
        A array = newArray(HEAP);
        for (int value : values) {
            add(array, v(value));
        }
        return array;
    }

    /** The primitive array of the elements the numbers stand for. */
    private Object elements(int... numbers) {
        return primitive(Arrays.stream(numbers).mapToObj(this::v).toList());
    }

    /** {@link Assertions#assertArrayEquals} for two primitive arrays of the same element type. */
    private static void assertArrayEquals(Object expected, Object actual) {
        switch (expected) {
            case int[] e -> Assertions.assertArrayEquals(e, (int[]) actual);
            case long[] e -> Assertions.assertArrayEquals(e, (long[]) actual);
            case double[] e -> Assertions.assertArrayEquals(e, (double[]) actual);
            default -> throw new IllegalArgumentException("not a primitive array: " + expected);
        }
    }

    @Test
    void toStringShowsTheFirstHundredElementsAndSaysWhenClosed() {
        A array = newArray(HEAP);
        for (int i = 0; i < 150; i++) {
            add(array, v(i));
        }
        String text = array.toString();
        assertTrue(text.startsWith("[" + v(0) + ", " + v(1) + ", "), text);
        assertTrue(text.endsWith(v(99) + ", ... (size=150)]"), text);
        array.close();
        assertEquals(array.getClass().getSimpleName() + "[closed]", array.toString());
    }

    @Test
    void toStringOfAnArrayWhoseHeapClosedSaysSoInsteadOfThrowing() {
        Heap heap = Heap.builder().name("closed under the array").build();
        A array = newArray(heap);
        add(array, v(1));
        heap.close();
        assertEquals(array.getClass().getSimpleName() + "[heap closed, size=1]", array.toString());
    }

    @Test
    void addGetSetInsertRemovePop() {
        try (A array = arrayOf(1, 2, 3)) {
            assertEquals(v(2), get(array, 1));
            assertEquals(v(2), set(array, 1, v(9)));
            insert(array, 0, v(7));
            insert(array, 4, v(8));
            assertArrayEquals(elements(7, 1, 9, 3, 8), toArray(array));
            assertEquals(v(9), remove(array, 2));
            assertEquals(v(8), pop(array));
            assertArrayEquals(elements(7, 1, 3), toArray(array));
            assertEquals("[" + v(7) + ", " + v(1) + ", " + v(3) + "]", array.toString());
        }
    }

    @Test
    void theSegmentViewHoldsTheElementsInOrder() {
        try (A array = arrayOf(4, 5, 6)) {
            assertArrayEquals(toArray(array), segmentElements(array.asSegment()));
        }
    }

    @Test
    void getOutOfBoundsThrowsIndexOutOfBoundsException() {
        try (A array = arrayOf(1, 2, 3)) {
            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> get(array, 3));
            assertEquals("Index 3 out of bounds for length 3", e.getMessage());
            assertThrows(IndexOutOfBoundsException.class, () -> get(array, -1));
        }
    }

    /** An insert past the end names the array's size and the range an insert takes, not size + 1 as a length. */
    @Test
    void insertOutOfBoundsNamesTheSizeAndTheRangeAndChangesNothing() {
        try (A empty = newArray(HEAP); A array = arrayOf(1, 2, 3)) {
            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> insert(empty, 1, v(0)));
            assertEquals("Index 1 out of bounds for insert into size 0 (0 <= index <= size)", e.getMessage());
            e = assertThrows(IndexOutOfBoundsException.class, () -> insert(array, -1, v(0)));
            assertEquals("Index -1 out of bounds for insert into size 3 (0 <= index <= size)", e.getMessage());
            assertThrows(IndexOutOfBoundsException.class, () -> insert(array, Long.MAX_VALUE, v(0)));
            assertArrayEquals(elements(1, 2, 3), toArray(array));
            assertEquals(0, empty.size());
        }
    }

    @Test
    void setOutOfBoundsThrowsIndexOutOfBoundsExceptionAndChangesNothing() {
        try (A array = arrayOf(1, 2, 3)) {
            assertThrows(IndexOutOfBoundsException.class, () -> set(array, 3, v(0)));
            assertThrows(IndexOutOfBoundsException.class, () -> set(array, -1, v(0)));
            assertArrayEquals(elements(1, 2, 3), toArray(array));
        }
    }

    @Test
    void insertOutOfBoundsThrowsIndexOutOfBoundsExceptionAndChangesNothing() {
        try (A array = arrayOf(1, 2, 3)) {
            assertThrows(IndexOutOfBoundsException.class, () -> insert(array, 4, v(0)));
            assertThrows(IndexOutOfBoundsException.class, () -> insert(array, -1, v(0)));
            assertArrayEquals(elements(1, 2, 3), toArray(array));
        }
    }

    @Test
    void removeOutOfBoundsThrowsIndexOutOfBoundsExceptionAndChangesNothing() {
        try (A array = arrayOf(1, 2, 3)) {
            assertThrows(IndexOutOfBoundsException.class, () -> remove(array, 3));
            assertThrows(IndexOutOfBoundsException.class, () -> remove(array, -1));
            assertArrayEquals(elements(1, 2, 3), toArray(array));
        }
    }

    @Test
    void popOfAnEmptyArrayThrowsNoSuchElementException() {
        try (A array = arrayOf()) {
            assertThrows(NoSuchElementException.class, () -> pop(array));
            assertEquals(0, array.size());
        }
    }

    @Test
    void everyElementOperationAfterCloseThrowsIllegalStateException() {
        A array = arrayOf(1, 2);
        array.close();
        assertThrows(IllegalStateException.class, () -> get(array, 0));
        assertThrows(IllegalStateException.class, () -> set(array, 0, v(1)));
        assertThrows(IllegalStateException.class, () -> add(array, v(1)));
        assertThrows(IllegalStateException.class, () -> insert(array, 0, v(1)));
        assertThrows(IllegalStateException.class, () -> remove(array, 0));
        assertThrows(IllegalStateException.class, () -> pop(array));
        assertThrows(IllegalStateException.class, () -> toArray(array));
    }

    /**
     * Once the heap is closed the block is gone: every element operation throws
     * {@link IllegalStateException} naming the closed heap and, like every failed operation, leaves
     * the array unchanged.
     */
    @Test
    void everyElementOperationAfterTheHeapClosedThrowsAndLeavesTheArrayUnchanged() {
        Heap heap = Heap.builder().name("closed-under-an-array").build();
        A array = newArray(heap);
        add(array, v(1));
        add(array, v(2));
        long capacity = array.capacity();
        heap.close();
        List<Runnable> operations = List.of(
                () -> add(array, v(3)),
                () -> insert(array, 0, v(3)),
                () -> insert(array, 2, v(3)),
                () -> set(array, 1, v(3)),
                () -> get(array, 1),
                () -> remove(array, 0),
                () -> remove(array, 1),
                () -> pop(array),
                () -> toArray(array),
                array::asSegment);
        for (int i = 0; i < operations.size(); i++) {
            IllegalStateException e = assertThrows(IllegalStateException.class, operations.get(i)::run, "operation " + i);
            assertTrue(e.getMessage().contains("heap 'closed-under-an-array' of this " + array.getClass().getSimpleName()
                    + " is closed"), "operation " + i + " says what was closed: " + e.getMessage());
            assertEquals(2, array.size(), "operation " + i);
            assertEquals(capacity, array.capacity(), "operation " + i);
        }
        // What the array had when the heap closed, as its Javadoc says.
        assertFalse(array.isEmpty());
        array.close();
    }

    // ---- properties against java.util models ----

    record Op(int kind, int index, int value) {
    }

    @Provide
    Arbitrary<List<Op>> operations() {
        Arbitrary<Op> op = Combinators.combine(
                Arbitraries.integers().between(0, 14),
                Arbitraries.integers().between(-2, 1000),
                Arbitraries.integers()).as(Op::new);
        return op.list().ofMaxSize(250);
    }

    /** Every operation, in and out of bounds, does what it does to an {@link ArrayList}. */
    @Property(tries = 100)
    void behavesLikeAnArrayList(@ForAll("operations") List<Op> ops) {
        List<E> model = new ArrayList<>();
        try (A array = newArray(HEAP)) {
            for (Op op : ops) {
                apply(op, array, model);
                assertEquals(model.size(), array.size());
                assertTrue(array.capacity() >= array.size());
            }
            for (int i = 0; i < model.size(); i++) {
                assertEquals(model.get(i), get(array, i));
            }
        }
    }

    private void apply(Op op, A array, List<E> model) {
        int size = model.size();
        // Indices near the bounds (and past them) as often as anywhere else.
        int index = op.index() < 0 ? op.index() : size == 0 ? op.index() % 3 : op.index() % (size + 2);
        E value = v(op.value());
        switch (op.kind()) {
            case 0, 1, 2, 3 -> {
                add(array, value);
                model.add(value);
            }
            case 4 -> agree(() -> model.add(index, value), () -> insert(array, index, value));
            case 5 -> agree(() -> model.remove(index), () -> remove(array, index));
            case 6 -> agree(() -> model.set(index, value), () -> set(array, index, value));
            case 7 -> agree(() -> model.get(index), () -> get(array, index));
            case 8 -> agree(() -> model.removeLast(), () -> pop(array));
            case 9 -> array.reserve(size + Math.max(0, op.index()));
            case 10 -> array.shrinkToFit();
            case 11 -> {
                if (op.value() % 8 == 0) {
                    array.clear();
                    model.clear();
                }
            }
            case 12 -> {
                int newSize = Math.max(0, index);
                array.resize(newSize);
                while (model.size() > newSize) {
                    model.removeLast();
                }
                while (model.size() < newSize) {
                    model.add(zero());
                }
            }
            default -> {
                if (size > 0) {
                    int i = Math.floorMod(index, size);
                    assertEquals(model.get(i), get(array, i));
                }
            }
        }
    }

    /** Runs both; they must return equal values or both throw the same kind of exception. */
    private static void agree(Callable<Object> expected, Callable<Object> actual) {
        Object want;
        try {
            want = expected.call();
        } catch (Exception e) {
            Class<? extends Exception> kind = e instanceof IndexOutOfBoundsException ? IndexOutOfBoundsException.class
                    : e.getClass();
            assertThrows(kind, actual::call);
            return;
        }
        try {
            assertEquals(want, actual.call());
        } catch (Exception e) {
            throw new AssertionError("model returned " + want + " but the array threw", e);
        }
    }

    private static void agree(Runnable expected, Runnable actual) {
        agree(() -> {
            expected.run();
            return null;
        }, () -> {
            actual.run();
            return null;
        });
    }

    /** Used as a stack, it is an {@link ArrayDeque}: push is add, pop is removeLast. */
    @Property(tries = 100)
    void behavesLikeAnArrayDequeUsedAsAStack(@ForAll("operations") List<Op> ops) {
        ArrayDeque<E> model = new ArrayDeque<>();
        try (A array = newArray(HEAP)) {
            for (Op op : ops) {
                if (op.kind() < 8) {
                    add(array, v(op.value()));
                    model.addLast(v(op.value()));
                } else if (model.isEmpty()) {
                    assertThrows(NoSuchElementException.class, () -> pop(array));
                } else {
                    assertEquals(model.removeLast(), pop(array));
                }
                assertEquals(model.size(), array.size());
            }
            assertArrayEquals(primitive(model), toArray(array));
        }
    }
}
