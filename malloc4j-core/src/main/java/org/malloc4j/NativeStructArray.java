package org.malloc4j;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.Arena;
import java.util.Objects;

/**
 * A growable array of structs (or any fixed-size {@link MemoryLayout}) off the Java heap: C++'s
 * {@code std::vector<T>} for a {@code T} described by a layout. Element {@code i} starts at byte
 * {@code i * elementLayout().byteSize()}, every element aligned to
 * {@code elementLayout().byteAlignment()}, as in a {@link MemoryLayout#sequenceLayout sequence
 * layout}; sizes and indices are {@code long}s.
 *
 * <p>Elements are read and written through views ({@link #get}, {@link #addZeroed}) with the
 * layout's var handles, and copied in and out whole ({@link #add}, {@link #set}, {@link #pop}).
 * A view is valid until the capacity next changes (see {@link NativeArray}). A value passed in may
 * be a view of this same array: it goes in as it was when passed, read from where growth or the
 * shift moved it, with no copy on the Java heap (an element may be larger than any Java array).
 *
 * <p>Growth, views and lifetime are described in {@link NativeArray}. <b>Not thread-safe</b>: use an
 * instance from one thread at a time.
 *
 * {@snippet lang = java:
 * StructLayout POINT = MemoryLayout.structLayout(JAVA_INT.withName("x"), JAVA_INT.withName("y"));
 * VarHandle X = POINT.varHandle(PathElement.groupElement("x"));
 * try (NativeStructArray points = new NativeStructArray(heap, POINT)) {
 *     MemorySegment p = points.addZeroed();
 *     X.set(p, 0L, 3);
 *     int x = (int) X.get(points.get(0), 0L);   // 3
 * }
 * }
 */
public final class NativeStructArray extends NativeArray {
    private final MemoryLayout elementLayout;

    /**
     * An empty array that takes no memory until the first element is added.
     *
     * @param heap the heap the block comes from
     * @param elementLayout the layout of one element
     * @throws IllegalArgumentException if the layout's size is 0, or not a multiple of its alignment
     * @throws NullPointerException if an argument is null
     * @throws IllegalStateException if {@code heap} is closed
     */
    public NativeStructArray(Heap heap, MemoryLayout elementLayout) {
        this(heap, elementLayout, 0);
    }

    /**
     * An empty array with room for {@code initialCapacity} elements.
     *
     * @param heap the heap the block comes from
     * @param elementLayout the layout of one element
     * @param initialCapacity the capacity in elements, 0 or more
     * @throws IllegalArgumentException if the layout's size is 0, or not a multiple of its alignment;
     *     if {@code initialCapacity < 0} or its byte size overflows
     * @throws HeapExhaustedError if the heap cannot provide the memory
     * @throws MemoryMisuseException in a checked mode, if the heap, to make room for the block,
     *     takes a block out of quarantine that was written after its free
     * @throws NullPointerException if an argument is null
     * @throws IllegalStateException if {@code heap} is closed
     */
    public NativeStructArray(Heap heap, MemoryLayout elementLayout, long initialCapacity) {
        super(heap, checkLayout(elementLayout).byteSize(), elementLayout.byteAlignment(), initialCapacity);
        this.elementLayout = elementLayout;
    }

    private static MemoryLayout checkLayout(MemoryLayout layout) {
        Objects.requireNonNull(layout, "elementLayout");
        if (layout.byteSize() == 0) {
            throw new IllegalArgumentException("elementLayout must not be empty: elementLayout=" + layout);
        }
        if (layout.byteSize() % layout.byteAlignment() != 0) {
            throw new IllegalArgumentException("elementLayout's size must be a multiple of its alignment (pad it): "
                    + "byteSize=" + layout.byteSize() + ", byteAlignment=" + layout.byteAlignment());
        }
        return layout;
    }

    /** @return the layout of one element */
    public MemoryLayout elementLayout() {
        return elementLayout;
    }

    /**
     * A view of one element, to read and write it in place. Valid until the capacity next changes.
     *
     * @param index the element's index
     * @return a segment of {@code elementByteSize()} bytes over element {@code index}
     * @throws IndexOutOfBoundsException if {@code index < 0 || index >= size()}
     * @throws IllegalStateException if this array is closed, or its heap is (its elements went with it)
     */
    public MemorySegment get(long index) {
        long offset = offsetOf(index);
        checkElementsAlive();
        return block.asSlice(offset, elementByteSize());
    }

    /**
     * Copies {@code value} over the element at {@code index}.
     *
     * @param index the element's index
     * @param value the new contents, exactly {@code elementByteSize()} bytes
     * @throws IndexOutOfBoundsException if {@code index < 0 || index >= size()}
     * @throws IllegalArgumentException if {@code value.byteSize() != elementByteSize()}
     * @throws IllegalStateException if this array is closed, or its heap is, or {@code value}'s scope is not alive;
     *     nothing changes
     * @throws WrongThreadException if {@code value} is confined to another thread; nothing changes
     * @throws NullPointerException if {@code value} is null
     */
    public void set(long index, MemorySegment value) {
        try {
            checkValue(value);
            long offset = offsetOf(index);
            MemorySegment.copy(value, 0, block, offset, elementByteSize());
        } catch (IllegalStateException e) {
            throw elementsGone(e);
        }
    }

    /**
     * Appends a copy of {@code value}, growing the array if it is full.
     *
     * @param value the contents, exactly {@code elementByteSize()} bytes
     * @throws IllegalArgumentException if {@code value.byteSize() != elementByteSize()}
     * @throws HeapExhaustedError if the array must grow and the heap cannot provide the memory, not
     *     even for one more element (see Growth in {@link NativeArray}); the array is unchanged
     * @throws MemoryMisuseException in a checked mode, if the array must grow and the heap finds its
     *     block or a quarantined one damaged (see Growth in {@link NativeArray}); the array is
     *     unchanged
     * @throws IllegalStateException if this array is closed, or its heap is, or {@code value}'s scope is not alive,
     *     or the array must grow while a downcall is using its block and the heap refuses that (see
     *     Downcalls in {@link NativeArray}); nothing changes
     * @throws WrongThreadException if {@code value} is confined to another thread; nothing changes
     * @throws NullPointerException if {@code value} is null
     */
    public void add(MemorySegment value) {
        insertCopy(size(), checkValue(value));
    }

    /**
     * Appends a zero-filled element and returns a view of it to fill in place (C++'s
     * {@code emplace_back}).
     *
     * @return a view of the new element, valid until the capacity next changes
     * @throws HeapExhaustedError if the array must grow and the heap cannot provide the memory, not
     *     even for one more element (see Growth in {@link NativeArray}); the array is unchanged
     * @throws MemoryMisuseException in a checked mode, if the array must grow and the heap finds its
     *     block or a quarantined one damaged (see Growth in {@link NativeArray}); the array is
     *     unchanged
     * @throws IllegalStateException if this array is closed, or its heap is, or it must grow while a
     *     downcall is using its block and the heap refuses that (see Downcalls in {@link NativeArray});
     *     nothing changes
     */
    public MemorySegment addZeroed() {
        try {
            long offset = appendSlot();
            MemorySegment element = block.asSlice(offset, elementByteSize()).fill((byte) 0);
            size++;
            return element;
        } catch (IllegalStateException e) {
            throw elementsGone(e);
        }
    }

    /**
     * Inserts a copy of {@code value} at {@code index}, shifting the elements from {@code index} on
     * up by one: O(n).
     *
     * @param index where the element goes, {@code 0 <= index <= size()}
     * @param value the contents, exactly {@code elementByteSize()} bytes
     * @throws IndexOutOfBoundsException if {@code index < 0 || index > size()}
     * @throws IllegalArgumentException if {@code value.byteSize() != elementByteSize()}
     * @throws HeapExhaustedError if the array must grow and the heap cannot provide the memory, not
     *     even for one more element (see Growth in {@link NativeArray}); the array is unchanged
     * @throws MemoryMisuseException in a checked mode, if the array must grow and the heap finds its
     *     block or a quarantined one damaged (see Growth in {@link NativeArray}); the array is
     *     unchanged
     * @throws IllegalStateException if this array is closed, or its heap is, or {@code value}'s scope is not alive,
     *     or the array must grow while a downcall is using its block and the heap refuses that (see
     *     Downcalls in {@link NativeArray}); nothing changes
     * @throws WrongThreadException if {@code value} is confined to another thread; nothing changes
     * @throws NullPointerException if {@code value} is null
     */
    public void insert(long index, MemorySegment value) {
        insertCopy(index, checkValue(value));
    }

    /**
     * Makes room at {@code index} and copies {@code value} there. A value inside this array's
     * block is found again by its offset after the block moved and the elements shifted, rather
     * than copied out first: an element may be larger than any Java array.
     */
    private void insertCopy(long index, MemorySegment value) {
        try {
            long elementBytes = elementByteSize();
            boolean own = overlapsBlock(value);
            long from = own ? value.address() - block.address() : 0;
            if (own && (from < 0 || from + elementBytes > size * elementBytes)) {
                // Partly outside the elements (a view reinterpreted by hand): copy it out first.
                try (Arena outside = Arena.ofConfined()) {
                    insertCopy(index, outside.allocate(elementBytes, elementLayout.byteAlignment()).copyFrom(value));
                }
                return;
            }
            long offset = insertSlot(index); // may move the block: read it after
            if (!own) {
                MemorySegment.copy(value, 0, block, offset, elementBytes);
            } else {
                // The value's bytes at or past the new slot moved up by one element.
                long below = Math.clamp(offset - from, 0, elementBytes);
                MemorySegment.copy(block, from, block, offset, below);
                MemorySegment.copy(block, from + below + elementBytes, block, offset + below, elementBytes - below);
            }
            size++;
        } catch (IllegalStateException e) {
            throw elementsGone(e);
        }
    }

    /**
     * Removes the element at {@code index}, shifting later elements down by one: O(n).
     *
     * @param index the element's index
     * @throws IndexOutOfBoundsException if {@code index < 0 || index >= size()}
     * @throws IllegalStateException if this array is closed, or its heap is (nothing changes)
     */
    public void remove(long index) {
        offsetOf(index);
        closeGap(index);
    }

    /**
     * Copies the last element into {@code destination} and removes it (C++'s {@code back()} then
     * {@code pop_back()}).
     *
     * @param destination where the element goes, at least {@code elementByteSize()} bytes
     * @throws java.util.NoSuchElementException if the array is empty; nothing changes
     * @throws IndexOutOfBoundsException if {@code destination} is smaller than an element; nothing
     *     changes
     * @throws IllegalArgumentException if {@code destination} is read-only; nothing changes
     * @throws IllegalStateException if this array is closed, or its heap is, or {@code destination}'s
     *     scope is not alive; nothing changes
     * @throws WrongThreadException if {@code destination} is confined to another thread; nothing
     *     changes
     * @throws NullPointerException if {@code destination} is null
     */
    public void pop(MemorySegment destination) {
        try {
            Objects.requireNonNull(destination, "destination");
            long index = lastIndex();
            MemorySegment.copy(block, index * elementByteSize(), destination, 0, elementByteSize());
            size = index;
        } catch (IllegalStateException e) {
            throw elementsGone(e);
        }
    }

    @Override
    public String toString() {
        if (isClosed()) {
            return "NativeStructArray[closed]";
        }
        // As the primitive arrays say it: its capacity is memory the closed heap took back.
        return heapClosed() ? "NativeStructArray[heap closed, size=" + size + "]"
                : "NativeStructArray[size=" + size + ", capacity=" + capacity() + ", elementLayout=" + elementLayout + "]";
    }

    private MemorySegment checkValue(MemorySegment value) {
        Objects.requireNonNull(value, "value");
        if (value.byteSize() != elementByteSize()) {
            throw new IllegalArgumentException("value must be one element: byteSize=" + value.byteSize()
                    + ", elementByteSize=" + elementByteSize());
        }
        // Checked before the array changes, so a value that cannot be read changes nothing.
        if (!value.scope().isAlive()) {
            throw new IllegalStateException("value is not alive: its arena was closed");
        }
        if (!value.isAccessibleBy(Thread.currentThread())) {
            throw new WrongThreadException("value is confined to another thread: caller="
                    + Thread.currentThread().getName());
        }
        return value;
    }


}
