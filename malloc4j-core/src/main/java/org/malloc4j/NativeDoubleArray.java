package org.malloc4j;

import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A growable array of {@code double}s off the Java heap: an {@code ArrayList<Double>} without boxing,
 * or C++'s {@code std::vector<double>}. Elements are 8 bytes each, in native byte order
 * ({@link ValueLayout#JAVA_DOUBLE}); sizes and indices are {@code long}s.
 *
 * <p>Growth, views and lifetime are described in {@link NativeArray}. <b>Not thread-safe</b>: use an
 * instance from one thread at a time.
 *
 * {@snippet lang = java:
 * try (NativeDoubleArray samples = new NativeDoubleArray(heap)) {
 *     samples.add(4.5);
 *     samples.insert(0, 1.5);         // [1.5, 4.5]
 *     double last = samples.pop();    // 4.5
 * } // the block is freed here
 * }
 */
public final class NativeDoubleArray extends NativeArray {
    private static final ValueLayout.OfDouble ELEMENT = ValueLayout.JAVA_DOUBLE;

    /**
     * An empty array that takes no memory until the first element is added.
     *
     * @param heap the heap the block comes from
     * @throws NullPointerException if {@code heap} is null
     * @throws IllegalStateException if {@code heap} is closed
     */
    public NativeDoubleArray(Heap heap) {
        this(heap, 0);
    }

    /**
     * An empty array with room for {@code initialCapacity} elements.
     *
     * @param heap the heap the block comes from
     * @param initialCapacity the capacity in elements, 0 or more
     * @throws IllegalArgumentException if {@code initialCapacity < 0} or its byte size overflows
     * @throws HeapExhaustedError if the heap cannot provide the memory
     * @throws MemoryMisuseException in a checked mode, if the heap, to make room for the block,
     *     takes a block out of quarantine that was written after its free
     * @throws NullPointerException if {@code heap} is null
     * @throws IllegalStateException if {@code heap} is closed
     */
    public NativeDoubleArray(Heap heap, long initialCapacity) {
        super(heap, ELEMENT.byteSize(), ELEMENT.byteAlignment(), initialCapacity);
    }

    /**
     * @param index the element's index
     * @return the element at {@code index}
     * @throws IndexOutOfBoundsException if {@code index < 0 || index >= size()}
     * @throws IllegalStateException if this array is closed, or its heap is (nothing changes)
     */
    public double get(long index) {
        try {
            return block.get(ELEMENT, offsetOf(index));
        } catch (IllegalStateException e) {
            throw elementsGone(e);
        }
    }

    /**
     * Replaces the element at {@code index}.
     *
     * @param index the element's index
     * @param value the new value
     * @return the value it replaced
     * @throws IndexOutOfBoundsException if {@code index < 0 || index >= size()}
     * @throws IllegalStateException if this array is closed, or its heap is (nothing changes)
     */
    public double set(long index, double value) {
        try {
            long offset = offsetOf(index);
            double old = block.get(ELEMENT, offset);
            block.set(ELEMENT, offset, value);
            return old;
        } catch (IllegalStateException e) {
            throw elementsGone(e);
        }
    }

    /**
     * Appends an element (C++'s {@code push_back}), growing the array if it is full.
     *
     * @param value the value to append
     * @throws HeapExhaustedError if the array must grow and the heap cannot provide the memory, not
     *     even for one more element (see Growth in {@link NativeArray}); the array is unchanged
     * @throws MemoryMisuseException in a checked mode, if the array must grow and the heap finds its
     *     block or a quarantined one damaged (see Growth in {@link NativeArray}); the array is
     *     unchanged
     * @throws IllegalStateException if this array is closed, or its heap is, or it must grow while a
     *     downcall is using its block and the heap refuses that (see Downcalls in {@link NativeArray});
     *     nothing changes
     */
    public void add(double value) {
        try {
            long offset = appendSlot(); // may move the block: read it after
            block.set(ELEMENT, offset, value);
            size++;
        } catch (IllegalStateException e) {
            throw elementsGone(e);
        }
    }

    /**
     * Inserts an element at {@code index}, shifting the elements from {@code index} on up by one: O(n).
     *
     * @param index where the element goes, {@code 0 <= index <= size()}
     * @param value the value to insert
     * @throws IndexOutOfBoundsException if {@code index < 0 || index > size()}
     * @throws HeapExhaustedError if the array must grow and the heap cannot provide the memory, not
     *     even for one more element (see Growth in {@link NativeArray}); the array is unchanged
     * @throws MemoryMisuseException in a checked mode, if the array must grow and the heap finds its
     *     block or a quarantined one damaged (see Growth in {@link NativeArray}); the array is
     *     unchanged
     * @throws IllegalStateException if this array is closed, or its heap is, or it must grow while a
     *     downcall is using its block and the heap refuses that (see Downcalls in {@link NativeArray});
     *     nothing changes
     */
    public void insert(long index, double value) {
        try {
            long offset = insertSlot(index); // may move the block: read it after
            block.set(ELEMENT, offset, value);
            size++;
        } catch (IllegalStateException e) {
            throw elementsGone(e);
        }
    }

    /**
     * Removes the element at {@code index}, shifting later elements down by one: O(n).
     *
     * @param index the element's index
     * @return the removed value
     * @throws IndexOutOfBoundsException if {@code index < 0 || index >= size()}
     * @throws IllegalStateException if this array is closed, or its heap is (nothing changes)
     */
    public double remove(long index) {
        try {
            double old = block.get(ELEMENT, offsetOf(index));
            closeGap(index);
            return old;
        } catch (IllegalStateException e) {
            throw elementsGone(e);
        }
    }

    /**
     * Removes and returns the last element (C++'s {@code pop_back}, {@code ArrayDeque.removeLast}).
     *
     * @return the removed value
     * @throws java.util.NoSuchElementException if the array is empty
     * @throws IllegalStateException if this array is closed, or its heap is (nothing changes)
     */
    public double pop() {
        try {
            long index = lastIndex();
            double last = block.getAtIndex(ELEMENT, index);
            size = index;
            return last;
        } catch (IllegalStateException e) {
            throw elementsGone(e);
        }
    }

    /**
     * @return the elements in a new Java array
     * @throws IllegalStateException if this array is closed, or its heap is, or it has more elements
     *     than a Java array can hold
     */
    public double[] toArray() {
        try {
            return elementsForJavaArray().toArray(ELEMENT);
        } catch (IllegalStateException e) {
            throw elementsGone(e);
        }
    }

    /** @return the elements as {@code [1, 2, 3]}, at most the first 100 */
    @Override
    public String toString() {
        return elementsText("NativeDoubleArray", elements -> Arrays.toString(elements.toArray(ELEMENT)));
    }
}
