package org.malloc4j;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/** The struct-specific members; what every variant shares is in {@link NativeArrayTest}. */
class NativeStructArrayTest {
    private static final Heap HEAP = Heap.global();
    private static final StructLayout POINT =
            MemoryLayout.structLayout(JAVA_INT.withName("x"), JAVA_INT.withName("y"));
    private static final VarHandle X = POINT.varHandle(PathElement.groupElement("x"));
    private static final VarHandle Y = POINT.varHandle(PathElement.groupElement("y"));
    /** 16 bytes: a key and its complement, so a torn or shifted copy shows. */
    private static final StructLayout ENTRY =
            MemoryLayout.structLayout(JAVA_LONG.withName("key"), JAVA_LONG.withName("check"));

    private static MemorySegment point(int x, int y) {
        MemorySegment p = Arena.ofAuto().allocate(POINT);
        X.set(p, 0L, x);
        Y.set(p, 0L, y);
        return p;
    }

    private static int x(MemorySegment p) {
        return (int) X.get(p, 0L);
    }

    private static NativeStructArray points(int... xs) {
        NativeStructArray array = new NativeStructArray(HEAP, POINT);
        for (int x : xs) {
            array.add(point(x, -x));
        }
        return array;
    }

    private static int[] xs(NativeStructArray array) {
        int[] xs = new int[(int) array.size()];
        for (int i = 0; i < xs.length; i++) {
            xs[i] = x(array.get(i));
        }
        return xs;
    }

    @Test
    void elementsAreReadAndWrittenThroughTheLayoutsVarHandles() {
        try (NativeStructArray array = points(1, 2)) {
            MemorySegment p = array.addZeroed();
            assertEquals(0, x(p));
            X.set(p, 0L, 3);
            Y.set(array.get(0), 0L, 10);
            assertEquals(3, x(array.get(2)));
            assertEquals(10, (int) Y.get(array.get(0), 0L));
            assertEquals(POINT, array.elementLayout());
            assertEquals(8, array.elementByteSize());
        }
    }

    @Test
    void setInsertRemovePopCopyWholeElements() {
        try (NativeStructArray array = points(1, 2, 3)) {
            array.set(1, point(9, -9));
            array.insert(0, point(7, -7));
            array.insert(4, point(8, -8));
            assertEquals(List.of(7, 1, 9, 3, 8), boxed(xs(array)));
            array.remove(2);
            MemorySegment last = Arena.ofAuto().allocate(POINT);
            array.pop(last);
            assertEquals(8, x(last));
            assertEquals(-8, (int) Y.get(last, 0L));
            assertEquals(List.of(7, 1, 3), boxed(xs(array)));
        }
    }

    private static List<Integer> boxed(int[] values) {
        List<Integer> list = new ArrayList<>();
        for (int value : values) {
            list.add(value);
        }
        return list;
    }

    @Test
    void aValueThatIsAViewOfTheSameArraySurvivesGrowthAndShifts() {
        try (NativeStructArray array = points(5)) {
            for (int i = 0; i < 100; i++) {
                array.add(array.get(0)); // the block moves under the view during some of these
            }
            array.insert(0, array.get(array.size() - 1));
            array.insert(1, array.get(1));
            for (long i = 0; i < array.size(); i++) {
                assertEquals(5, x(array.get(i)));
                assertEquals(-5, (int) Y.get(array.get(i), 0L));
            }
            array.set(3, array.get(3));
            assertEquals(5, x(array.get(3)));
        }
    }

    /** A view of the array's own bytes, at any byte offset, inserted anywhere: as a copy taken first would be. */
    @Property(tries = 300)
    void aViewOfTheArraysOwnBytesIsInsertedAsACopyTakenFirstWouldBe(
            @ForAll("sizes") int count, @ForAll("fractions") double at, @ForAll("fractions") double source,
            @ForAll boolean full) {
        try (NativeStructArray array = new NativeStructArray(HEAP, ENTRY)) {
            for (int i = 0; i < count; i++) {
                array.add(entry(i));
            }
            if (full) {
                array.shrinkToFit(); // the insert must grow, and the block may move
            }
            long elementBytes = ENTRY.byteSize();
            long index = (long) (at * count);
            long from = (long) (source * ((count - 1) * elementBytes));
            byte[] before = array.asSegment().toArray(JAVA_BYTE);
            byte[] expected = new byte[before.length + (int) elementBytes];
            System.arraycopy(before, 0, expected, 0, (int) (index * elementBytes));
            System.arraycopy(before, (int) from, expected, (int) (index * elementBytes), (int) elementBytes);
            System.arraycopy(before, (int) (index * elementBytes), expected, (int) ((index + 1) * elementBytes),
                    (int) ((count - index) * elementBytes));
            MemorySegment view = array.asSegment().asSlice(from, elementBytes);
            if (index == count && source < 0.5) {
                array.add(view);
            } else {
                array.insert(index, view);
            }
            assertEquals(java.util.Arrays.toString(expected), java.util.Arrays.toString(array.asSegment().toArray(JAVA_BYTE)));
        }
    }

    @Provide
    Arbitrary<Integer> sizes() {
        return Arbitraries.integers().between(1, 40);
    }

    @Provide
    Arbitrary<Double> fractions() {
        return Arbitraries.doubles().between(0, 1);
    }

    /** The value is found again in the block, not copied to the Java heap: an element may be larger than any Java array. */
    @Test
    void addingAnElementOfTheSameArrayCopiesNothingToTheJavaHeap() throws ReflectiveOperationException {
        MemoryLayout mebibyte = MemoryLayout.sequenceLayout(1 << 20, JAVA_BYTE);
        try (NativeStructArray array = new NativeStructArray(HEAP, mebibyte, 4)) {
            array.addZeroed().set(JAVA_LONG, 8, 42);
            for (int i = 0; i < 3; i++) {
                long allocated = javaHeapBytesAllocated();
                array.add(array.get(0));
                long javaHeapBytes = javaHeapBytesAllocated() - allocated;
                assertTrue(javaHeapBytes < (1 << 18), "Java heap bytes allocated by add: " + javaHeapBytes);
            }
            array.insert(1, array.get(3));
            assertEquals(5, array.size());
            for (long i = 0; i < 5; i++) {
                assertEquals(42, array.get(i).get(JAVA_LONG, 8));
            }
        }
    }

    /** The calling thread's Java heap allocation so far (the tests run on the class path, where the JDK's bean is readable). */
    private static long javaHeapBytesAllocated() throws ReflectiveOperationException {
        Object threads = Class.forName("java.lang.management.ManagementFactory").getMethod("getThreadMXBean").invoke(null);
        return (long) Class.forName("com.sun.management.ThreadMXBean").getMethod("getCurrentThreadAllocatedBytes")
                .invoke(threads);
    }

    @Test
    void elementsOfAnOverAlignedLayoutStayAlignedThroughGrowth() {
        MemoryLayout line = MemoryLayout.structLayout(JAVA_LONG, MemoryLayout.paddingLayout(56)).withByteAlignment(64);
        try (NativeStructArray array = new NativeStructArray(HEAP, line)) {
            for (long i = 0; i < 200; i++) {
                array.addZeroed().set(JAVA_LONG, 0, i);
                assertEquals(0, array.asSegment().address() % 64);
            }
            for (long i = 0; i < 200; i++) {
                assertEquals(i, array.get(i).get(JAVA_LONG, 0));
            }
            array.shrinkToFit();
            assertEquals(0, array.asSegment().address() % 64);
            assertEquals(199, array.get(199).get(JAVA_LONG, 0));
        }
    }

    // ---- @throws ----

    @Test
    void anEmptyLayoutThrowsIllegalArgumentException() {
        assertThrows(IllegalArgumentException.class, () -> new NativeStructArray(HEAP, MemoryLayout.structLayout()));
    }

    @Test
    void aLayoutWhoseSizeIsNotAMultipleOfItsAlignmentThrowsIllegalArgumentException() {
        MemoryLayout unpadded = MemoryLayout.structLayout(JAVA_INT, JAVA_BYTE);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new NativeStructArray(HEAP, unpadded));
        assertTrue(e.getMessage().contains("byteSize=5, byteAlignment=4"), e.getMessage());
    }

    @Test
    void aNullLayoutOrValueThrowsNullPointerException() {
        assertThrows(NullPointerException.class, () -> new NativeStructArray(HEAP, null));
        try (NativeStructArray array = points(1)) {
            assertThrows(NullPointerException.class, () -> array.add(null));
            assertThrows(NullPointerException.class, () -> array.set(0, null));
            assertThrows(NullPointerException.class, () -> array.insert(0, null));
            assertThrows(NullPointerException.class, () -> array.pop(null));
            assertEquals(1, array.size());
        }
    }

    @Test
    void aValueOfTheWrongSizeThrowsIllegalArgumentExceptionAndChangesNothing() {
        try (NativeStructArray array = points(1)) {
            MemorySegment wrong = Arena.ofAuto().allocate(12);
            assertThrows(IllegalArgumentException.class, () -> array.add(wrong));
            assertThrows(IllegalArgumentException.class, () -> array.set(0, wrong));
            assertThrows(IllegalArgumentException.class, () -> array.insert(0, wrong));
            assertEquals(List.of(1), boxed(xs(array)));
        }
    }

    @Test
    void anIndexOutOfBoundsThrowsIndexOutOfBoundsExceptionAndChangesNothing() {
        try (NativeStructArray array = points(1, 2)) {
            assertThrows(IndexOutOfBoundsException.class, () -> array.get(2));
            assertThrows(IndexOutOfBoundsException.class, () -> array.get(-1));
            assertThrows(IndexOutOfBoundsException.class, () -> array.set(2, point(0, 0)));
            assertThrows(IndexOutOfBoundsException.class, () -> array.insert(3, point(0, 0)));
            assertThrows(IndexOutOfBoundsException.class, () -> array.insert(-1, point(0, 0)));
            assertThrows(IndexOutOfBoundsException.class, () -> array.remove(2));
            assertEquals(List.of(1, 2), boxed(xs(array)));
        }
    }

    @Test
    void popOfAnEmptyArrayThrowsNoSuchElementException() {
        try (NativeStructArray array = points()) {
            assertThrows(NoSuchElementException.class, () -> array.pop(Arena.ofAuto().allocate(POINT)));
        }
    }

    @Test
    void popIntoADestinationTooSmallThrowsIndexOutOfBoundsExceptionAndChangesNothing() {
        try (NativeStructArray array = points(1, 2)) {
            assertThrows(IndexOutOfBoundsException.class, () -> array.pop(Arena.ofAuto().allocate(4)));
            assertEquals(2, array.size());
        }
    }

    @Test
    void aValueWhoseScopeIsClosedThrowsIllegalStateException() {
        MemorySegment dead;
        try (Arena arena = Arena.ofConfined()) {
            dead = arena.allocate(POINT);
        }
        try (NativeStructArray array = points(1)) {
            assertThrows(IllegalStateException.class, () -> array.add(dead));
            assertThrows(IllegalStateException.class, () -> array.set(0, dead));
            assertThrows(IllegalStateException.class, () -> array.insert(0, dead));
            assertThrows(IllegalStateException.class, () -> array.pop(dead));
            assertEquals(1, array.size());
        }
    }

    @Test
    void aValueConfinedToAnotherThreadThrowsWrongThreadException() throws Exception {
        try (NativeStructArray array = points(1)) {
            Throwable[] thrown = new Throwable[1];
            Thread thread = new Thread(() -> {
                try (Arena confined = Arena.ofConfined()) {
                    MemorySegment p = confined.allocate(POINT);
                    Thread main = new Thread(() -> {
                        try {
                            array.add(p);
                        } catch (Throwable t) {
                            thrown[0] = t;
                        }
                    });
                    main.start();
                    main.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            thread.start();
            thread.join();
            assertTrue(thrown[0] instanceof WrongThreadException, String.valueOf(thrown[0]));
            assertEquals(1, array.size());
        }
    }

    @Test
    void popIntoAReadOnlyDestinationThrowsIllegalArgumentExceptionAndChangesNothing() {
        try (NativeStructArray array = points(1, 2)) {
            MemorySegment readOnly = Arena.ofAuto().allocate(POINT).asReadOnly();
            assertThrows(IllegalArgumentException.class, () -> array.pop(readOnly));
            assertEquals(2, array.size());
        }
    }

    @Test
    void everyElementOperationAfterCloseThrowsIllegalStateException() {
        NativeStructArray array = points(1);
        array.close();
        MemorySegment p = point(1, 1);
        assertThrows(IllegalStateException.class, () -> array.get(0));
        assertThrows(IllegalStateException.class, () -> array.set(0, p));
        assertThrows(IllegalStateException.class, () -> array.add(p));
        assertThrows(IllegalStateException.class, array::addZeroed);
        assertThrows(IllegalStateException.class, () -> array.insert(0, p));
        assertThrows(IllegalStateException.class, () -> array.remove(0));
        assertThrows(IllegalStateException.class, () -> array.pop(p));
    }

    /**
     * Once the heap is closed the block is gone: every element operation throws
     * {@link IllegalStateException} and, like every failed operation, leaves the array unchanged.
     */
    @Test
    void everyElementOperationAfterTheHeapClosedThrowsAndLeavesTheArrayUnchanged() {
        Heap heap = Heap.builder().name("closed-under-an-array").build();
        NativeStructArray array = new NativeStructArray(heap, POINT);
        array.add(point(1, -1));
        array.add(point(2, -2));
        long capacity = array.capacity();
        heap.close();
        MemorySegment p = point(3, -3);
        List<Runnable> operations = List.of(
                () -> array.add(p),
                array::addZeroed,
                () -> array.insert(0, p),
                () -> array.insert(2, p),
                () -> array.set(1, p),
                () -> array.get(1).get(JAVA_INT, 0),
                () -> array.remove(0),
                () -> array.remove(1), // moves no bytes, so only an explicit check catches it
                () -> array.pop(point(0, 0)));
        for (int i = 0; i < operations.size(); i++) {
            IllegalStateException e = assertThrows(IllegalStateException.class, operations.get(i)::run, "operation " + i);
            assertTrue(e.getMessage().contains("heap 'closed-under-an-array' of this NativeStructArray is closed"),
                    "operation " + i + " says what was closed: " + e.getMessage());
            assertEquals(2, array.size(), "operation " + i);
            assertEquals(capacity, array.capacity(), "operation " + i);
        }
        assertEquals("NativeStructArray[heap closed, size=2]", array.toString());
        array.close();
        assertEquals("NativeStructArray[closed]", array.toString());
    }

    // ---- property against ArrayList ----

    record Op(int kind, int index, long key) {
    }

    @Provide
    Arbitrary<List<Op>> operations() {
        return Combinators.combine(
                Arbitraries.integers().between(0, 9),
                Arbitraries.integers().between(0, 1000),
                Arbitraries.longs()).as(Op::new).list().ofMaxSize(200);
    }

    private static MemorySegment entry(long key) {
        MemorySegment e = Arena.ofAuto().allocate(ENTRY);
        e.set(JAVA_LONG, 0, key);
        e.set(JAVA_LONG, 8, ~key);
        return e;
    }

    /** add / insert / remove / set / pop / reserve / shrinkToFit do what they do to an {@link ArrayList}. */
    @Property(tries = 100)
    void behavesLikeAnArrayList(@ForAll("operations") List<Op> ops) {
        List<Long> model = new ArrayList<>();
        MemorySegment popped = Arena.ofAuto().allocate(ENTRY);
        try (NativeStructArray array = new NativeStructArray(HEAP, ENTRY)) {
            for (Op op : ops) {
                int size = model.size();
                int index = op.index() % (size + 1);
                switch (op.kind()) {
                    case 0, 1, 2 -> {
                        array.add(entry(op.key()));
                        model.add(op.key());
                    }
                    case 3 -> {
                        array.insert(index, entry(op.key()));
                        model.add(index, op.key());
                    }
                    case 4 -> {
                        if (index < size) {
                            array.remove(index);
                            model.remove(index);
                        }
                    }
                    case 5 -> {
                        if (index < size) {
                            array.set(index, entry(op.key()));
                            model.set(index, op.key());
                        }
                    }
                    case 6 -> {
                        if (size > 0) {
                            array.pop(popped);
                            assertEquals(model.removeLast(), popped.get(JAVA_LONG, 0));
                        }
                    }
                    case 7 -> array.reserve(size + op.index());
                    case 8 -> array.shrinkToFit();
                    default -> {
                        if (index < size) {
                            array.insert(index, array.get(index));
                            model.add(index, model.get(index));
                        }
                    }
                }
                assertEquals(model.size(), array.size());
            }
            for (int i = 0; i < model.size(); i++) {
                MemorySegment e = array.get(i);
                assertEquals(model.get(i), e.get(JAVA_LONG, 0));
                assertEquals(~model.get(i), e.get(JAVA_LONG, 8));
            }
        }
    }
}
