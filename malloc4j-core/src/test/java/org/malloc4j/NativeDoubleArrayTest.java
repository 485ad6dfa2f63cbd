package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.Callable;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/** The double-specific members; what every variant shares is in {@link NativeArrayTest}. */
class NativeDoubleArrayTest {
    private static final Heap HEAP = Heap.global();
    private static final Double ZERO = 0.0;

    /** The element the generated number {@code n} stands for. */
    private static double v(int n) {
        return n * 0.5 + 0.25;
    }

    private static NativeDoubleArray arrayOf(int... values) {
        NativeDoubleArray array = new NativeDoubleArray(HEAP);
        for (int value : values) {
            array.add(v(value));
        }
        return array;
    }

    @Test
    void addGetSetInsertRemovePop() {
        try (NativeDoubleArray array = arrayOf(1, 2, 3)) {
            assertEquals(v(2), array.get(1));
            assertEquals(v(2), array.set(1, v(9)));
            array.insert(0, v(7));
            array.insert(4, v(8));
            assertArrayEquals(new double[] {v(7), v(1), v(9), v(3), v(8)}, array.toArray());
            assertEquals(v(9), array.remove(2));
            assertEquals(v(8), array.pop());
            assertArrayEquals(new double[] {v(7), v(1), v(3)}, array.toArray());
            assertEquals("[" + v(7) + ", " + v(1) + ", " + v(3) + "]", array.toString());
        }
    }

    @Test
    void theSegmentViewHoldsTheElementsInOrder() {
        try (NativeDoubleArray array = arrayOf(4, 5, 6)) {
            assertArrayEquals(array.toArray(), array.asSegment().toArray(ValueLayout.JAVA_DOUBLE));
        }
    }

    @Test
    void getOutOfBoundsThrowsIndexOutOfBoundsException() {
        try (NativeDoubleArray array = arrayOf(1, 2, 3)) {
            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> array.get(3));
            assertEquals("Index 3 out of bounds for length 3", e.getMessage());
            assertThrows(IndexOutOfBoundsException.class, () -> array.get(-1));
        }
    }

    @Test
    void setOutOfBoundsThrowsIndexOutOfBoundsExceptionAndChangesNothing() {
        try (NativeDoubleArray array = arrayOf(1, 2, 3)) {
            assertThrows(IndexOutOfBoundsException.class, () -> array.set(3, v(0)));
            assertThrows(IndexOutOfBoundsException.class, () -> array.set(-1, v(0)));
            assertArrayEquals(new double[] {v(1), v(2), v(3)}, array.toArray());
        }
    }

    @Test
    void insertOutOfBoundsThrowsIndexOutOfBoundsExceptionAndChangesNothing() {
        try (NativeDoubleArray array = arrayOf(1, 2, 3)) {
            assertThrows(IndexOutOfBoundsException.class, () -> array.insert(4, v(0)));
            assertThrows(IndexOutOfBoundsException.class, () -> array.insert(-1, v(0)));
            assertArrayEquals(new double[] {v(1), v(2), v(3)}, array.toArray());
        }
    }

    @Test
    void removeOutOfBoundsThrowsIndexOutOfBoundsExceptionAndChangesNothing() {
        try (NativeDoubleArray array = arrayOf(1, 2, 3)) {
            assertThrows(IndexOutOfBoundsException.class, () -> array.remove(3));
            assertThrows(IndexOutOfBoundsException.class, () -> array.remove(-1));
            assertArrayEquals(new double[] {v(1), v(2), v(3)}, array.toArray());
        }
    }

    @Test
    void popOfAnEmptyArrayThrowsNoSuchElementException() {
        try (NativeDoubleArray array = arrayOf()) {
            assertThrows(NoSuchElementException.class, array::pop);
            assertEquals(0, array.size());
        }
    }

    @Test
    void everyElementOperationAfterCloseThrowsIllegalStateException() {
        NativeDoubleArray array = arrayOf(1, 2);
        array.close();
        assertThrows(IllegalStateException.class, () -> array.get(0));
        assertThrows(IllegalStateException.class, () -> array.set(0, v(1)));
        assertThrows(IllegalStateException.class, () -> array.add(v(1)));
        assertThrows(IllegalStateException.class, () -> array.insert(0, v(1)));
        assertThrows(IllegalStateException.class, () -> array.remove(0));
        assertThrows(IllegalStateException.class, array::pop);
        assertThrows(IllegalStateException.class, array::toArray);
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
        List<Double> model = new ArrayList<>();
        try (NativeDoubleArray array = new NativeDoubleArray(HEAP)) {
            for (Op op : ops) {
                apply(op, array, model);
                assertEquals(model.size(), array.size());
                assertTrue(array.capacity() >= array.size());
            }
            for (int i = 0; i < model.size(); i++) {
                assertEquals(model.get(i), array.get(i));
            }
        }
    }

    private static void apply(Op op, NativeDoubleArray array, List<Double> model) {
        int size = model.size();
        // Indices near the bounds (and past them) as often as anywhere else.
        int index = op.index() < 0 ? op.index() : size == 0 ? op.index() % 3 : op.index() % (size + 2);
        double value = v(op.value());
        switch (op.kind()) {
            case 0, 1, 2, 3 -> {
                array.add(value);
                model.add(value);
            }
            case 4 -> agree(() -> model.add(index, value), () -> array.insert(index, value));
            case 5 -> agree(() -> model.remove(index), () -> array.remove(index));
            case 6 -> agree(() -> model.set(index, value), () -> array.set(index, value));
            case 7 -> agree(() -> model.get(index), () -> array.get(index));
            case 8 -> agree(() -> model.removeLast(), array::pop);
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
                    model.add(ZERO);
                }
            }
            default -> {
                if (size > 0) {
                    int i = Math.floorMod(index, size);
                    assertEquals(model.get(i), array.get(i));
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
        ArrayDeque<Double> model = new ArrayDeque<>();
        try (NativeDoubleArray array = new NativeDoubleArray(HEAP)) {
            for (Op op : ops) {
                if (op.kind() < 8) {
                    array.add(v(op.value()));
                    model.addLast(v(op.value()));
                } else if (model.isEmpty()) {
                    assertThrows(NoSuchElementException.class, array::pop);
                } else {
                    assertEquals(model.removeLast(), array.pop());
                }
                assertEquals(model.size(), array.size());
            }
            assertArrayEquals(model.stream().mapToDouble(Double::doubleValue).toArray(), array.toArray());
        }
    }
}
