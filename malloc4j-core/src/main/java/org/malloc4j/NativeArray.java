package org.malloc4j;

import java.lang.foreign.MemorySegment;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.function.Function;
import org.malloc4j.internal.BlockHolder;
import org.malloc4j.internal.Os;

/**
 * A growable array of fixed-size elements in one block of a {@link Heap}: C++'s
 * {@code std::vector}, Rust's {@code Vec}, off the Java heap. What the four variants share.
 *
 * <h2>Shape</h2>
 * Elements are {@link #elementByteSize()} bytes each, packed, index {@code 0} first, in one block of
 * at least {@code capacity() * elementByteSize()} bytes. Sizes, capacities and indices are
 * {@code long}s, in elements. Every access is bounds-checked against {@link #size()}.
 *
 * <h2>Growth</h2>
 * When an element is added to a full array, the capacity grows by half (at least to
 * {@value #MIN_GROWTH_CAPACITY}), so adding is amortised O(1); the block grows by
 * {@link Heap#realloc realloc}, in place when the heap can. {@link #resize} grows the same way,
 * to at least the new size. {@link #reserve} grows it once ahead of time, to exactly what it is
 * asked, {@link #shrinkToFit()} gives the unused tail back.
 *
 * <p>Where the heap refuses a growth step for want of memory (near its
 * {@linkplain Heap.Builder#maxCommittedBytes limit}), the array asks again for half the room past
 * the least capacity the call needs (one more element for {@code add} and {@code insert}, the new
 * size for {@code resize}), then half of that, and so on down to that least capacity. So it fills
 * the heap as far as {@code reserve} would, with a few growths rather than one per element, and
 * {@link HeapExhaustedError} is thrown only when the least capacity is refused too, naming its size
 * in bytes. A failure the heap's {@link FaultInjection} injects is not asked again: it is thrown
 * as that policy fails a request for the least capacity, naming its size, so that to the policy
 * the call is one request (more only where the heap refuses for want of memory, or the policy is
 * {@link FaultInjection#afterBytes}, which judges by size and is asked again as a limit is). When growth fails
 * with {@link HeapExhaustedError}, the array is unchanged. In a checked mode, a growth or a
 * {@code shrinkToFit()} that resizes the block may also throw {@link MemoryMisuseException}, and
 * leaves the array unchanged as well: of kind
 * {@link MemoryMisuseException.Kind#HEAP_BUFFER_OVERFLOW} when the block was written past its end
 * through a raw address (the resize verifies its redzones, as {@link Heap#realloc} does, and reports
 * each damage once, so trying again succeeds), or
 * {@link MemoryMisuseException.Kind#USE_AFTER_FREE} when a block the resize takes out of quarantine
 * was written after its free.
 *
 * <h2>Views</h2>
 * {@link #asSegment()} (and the element views of {@link NativeStructArray}) point into the block:
 * they see later writes, and stay valid only until the block moves or is freed: until the next
 * operation that grows or shrinks the capacity ({@code add}, {@code insert}, {@code reserve},
 * {@code resize}, {@code shrinkToFit}) or {@link #close()}. Using one after that is a use after
 * free, which nothing promises to catch: it reads or writes memory the heap may have handed to
 * someone else, unless the view's scope ended with the block and it throws
 * {@link IllegalStateException} (in {@link CheckMode#FULL}, and for some blocks with a mapping of
 * their own). The array holds its
 * block as a scope holds its blocks: passing it ({@link #asSegment()}) to {@link Heap#free} or {@link Heap#realloc}
 * throws {@link MemoryMisuseException} ({@link MemoryMisuseException.Kind#ALLOC_DEALLOC_MISMATCH})
 * in every mode and changes nothing; {@link #close()} frees it.
 *
 * <h2>Downcalls</h2>
 * A native function may be using the block (through {@link #asSegment()} or a view) when a method
 * that would move, resize or free it is called: from an upcall, or another thread. Those methods are
 * {@code add}, {@code insert} and {@code addZeroed} of a full array, {@link #reserve} and
 * {@link #resize} that must grow it, {@link #shrinkToFit()} that must shrink it, and
 * {@link #close()}. Where the heap can tell, as {@link Heap#realloc} and {@link Heap#free} say, the
 * method throws {@link IllegalStateException} ("the block ... cannot be freed, moved, or (in a
 * checked mode) resized while a downcall is using it") and leaves the array unchanged: its elements,
 * size and capacity, and its block, live where it was, so views of it stay valid and the call can
 * be made again once the downcall returns. The heap tells in {@link CheckMode#FULL} for every such
 * change, in {@link CheckMode#SAMPLED} for a block it picked for checking, and in every mode when
 * the change would move a huge block (over 16 MiB, in a mapping of its own) or free one
 * ({@code shrinkToFit()} of an empty array, {@code close()}). Otherwise, as for most blocks in
 * {@link CheckMode#FAST}, the block is resized, moved or freed all the same, and the downcall must
 * not use it any more if it moved or was freed. A growth step refused this way is not asked again
 * at a smaller size.
 *
 * <h2>Threads and lifetime</h2>
 * Not thread-safe: use an array from one thread at a time, or guard it with a lock.
 * {@link #close()} frees the block; every method that reads or changes the elements, the size or
 * the capacity then throws {@link IllegalStateException}. Closing the heap first takes the block
 * with it: an operation that then touches the elements or changes their count or the capacity
 * throws {@link IllegalStateException} and, like every operation that fails, leaves the array
 * unchanged. {@link #size()}, {@link #isEmpty()} and {@link #capacity()} still answer, with what
 * the array had when the heap closed.
 */
public abstract sealed class NativeArray implements AutoCloseable
        permits NativeIntArray, NativeLongArray, NativeDoubleArray, NativeStructArray {
    /** The least capacity the first growth gives, in elements. */
    public static final long MIN_GROWTH_CAPACITY = 8;

    private final Heap heap;
    /** What holds this array's block, for reports: {@code a NativeLongArray}, ... */
    private final BlockHolder holder = new BlockHolder("a " + getClass().getSimpleName());
    private final long elementByteSize;
    private final long elementAlignment;
    private final long maxCapacity;
    /** The block, exactly {@code capacity * elementByteSize} bytes; {@code NULL} when capacity is 0. */
    MemorySegment block = MemorySegment.NULL;
    long size;
    private long capacity;
    private boolean closed;

    NativeArray(Heap heap, long elementByteSize, long elementAlignment, long initialCapacity) {
        this.heap = Objects.requireNonNull(heap, "heap");
        heap.checkNotClosedForDependent();
        this.elementByteSize = elementByteSize;
        this.elementAlignment = elementAlignment;
        this.maxCapacity = Long.MAX_VALUE / elementByteSize;
        if (initialCapacity < 0) {
            throw new IllegalArgumentException("initialCapacity must not be negative: initialCapacity="
                    + initialCapacity);
        }
        if (initialCapacity > 0) {
            resizeBlock(checkCapacity(initialCapacity));
        }
    }

    /**
     * @return the number of elements; after the heap closed, the number it had then
     * @throws IllegalStateException if this array is closed
     */
    public final long size() {
        checkOpen();
        return size;
    }

    /**
     * @return whether the array has no elements
     * @throws IllegalStateException if this array is closed
     */
    public final boolean isEmpty() {
        return size() == 0;
    }

    /**
     * @return the number of elements the block holds before it must grow; after the heap closed,
     *     the number it held then
     * @throws IllegalStateException if this array is closed
     */
    public final long capacity() {
        checkOpen();
        return capacity;
    }

    /** @return the size of one element in bytes */
    public final long elementByteSize() {
        return elementByteSize;
    }

    /**
     * Grows the capacity to at least {@code minCapacity} elements, to exactly {@code minCapacity}
     * if it must grow; does nothing if the capacity already suffices.
     *
     * @param minCapacity the least capacity wanted, in elements
     * @throws IllegalArgumentException if {@code minCapacity < 0}, or
     *     {@code minCapacity * elementByteSize()} overflows a {@code long}
     * @throws HeapExhaustedError if the heap cannot provide the memory; the array is unchanged
     * @throws MemoryMisuseException in a checked mode, if the array must grow and the heap finds its
     *     block or a quarantined one damaged (see Growth in {@link NativeArray}); the array is
     *     unchanged
     * @throws IllegalStateException if this array is closed, or its heap is, or it must grow while a
     *     downcall is using its block and the heap refuses that (see Downcalls in
     *     {@link NativeArray}); nothing changes
     */
    public final void reserve(long minCapacity) {
        checkOpen();
        checkElementsAlive();
        if (minCapacity < 0) {
            throw new IllegalArgumentException("minCapacity must not be negative: minCapacity=" + minCapacity);
        }
        if (minCapacity > capacity) {
            resizeBlock(checkCapacity(minCapacity));
        }
    }

    /**
     * Sets the size: drops elements past {@code newSize}, or adds zero-filled elements up to it,
     * growing the capacity as adding does (by half at least), so growing by small steps is amortised
     * O(1) per element.
     *
     * @param newSize the new number of elements
     * @throws IllegalArgumentException if {@code newSize < 0}, or
     *     {@code newSize * elementByteSize()} overflows a {@code long}
     * @throws HeapExhaustedError if the array must grow and the heap cannot provide the memory, not
     *     even for a capacity of {@code newSize} (see Growth in {@link NativeArray}); the array is
     *     unchanged
     * @throws MemoryMisuseException in a checked mode, if the array must grow and the heap finds its
     *     block or a quarantined one damaged (see Growth in {@link NativeArray}); the array is
     *     unchanged
     * @throws IllegalStateException if this array is closed, or its heap is, or it must grow while a
     *     downcall is using its block and the heap refuses that (see Downcalls in
     *     {@link NativeArray}); nothing changes
     */
    public final void resize(long newSize) {
        checkOpen();
        checkElementsAlive();
        if (newSize < 0) {
            throw new IllegalArgumentException("newSize must not be negative: newSize=" + newSize);
        }
        if (newSize > capacity) {
            grow(checkCapacity(newSize));
        }
        if (newSize > size) {
            Os.zero(block.asSlice(size * elementByteSize, (newSize - size) * elementByteSize));
        }
        size = newSize;
    }

    /**
     * Removes every element; the capacity stays.
     *
     * @throws IllegalStateException if this array is closed, or its heap is (nothing changes)
     */
    public final void clear() {
        checkOpen();
        checkElementsAlive();
        size = 0;
    }

    /**
     * Makes the capacity equal to the size, giving the rest of the block back to the heap (all of it
     * when the array is empty). The elements may move to a smaller block, which takes memory.
     *
     * @throws HeapExhaustedError if the heap cannot provide the smaller block, or its
     *     {@link FaultInjection} fails the request; the array is unchanged
     * @throws MemoryMisuseException in a checked mode, if the heap finds the block or a quarantined
     *     one damaged (see Growth above); the array is unchanged
     * @throws IllegalStateException if this array is closed, or its heap is, or it must shrink while
     *     a downcall is using its block and the heap refuses that (see Downcalls above); nothing
     *     changes
     */
    public final void shrinkToFit() {
        checkOpen();
        checkElementsAlive();
        if (capacity > size) {
            resizeBlock(size);
        }
    }

    /**
     * A view of the elements: {@code size() * elementByteSize()} bytes, element {@code i} at byte
     * offset {@code i * elementByteSize()}, in native byte order. Valid until the next change of
     * capacity or {@link #close()} (see the class documentation).
     *
     * @return a native segment over the elements, zero-length when the array is empty
     * @throws IllegalStateException if this array is closed, or its heap is (its elements went with it)
     */
    public final MemorySegment asSegment() {
        checkOpen();
        checkElementsAlive();
        return block.asSlice(0, size * elementByteSize);
    }

    /** @return whether {@link #close()} has been called */
    public final boolean isClosed() {
        return closed;
    }

    /**
     * Frees the block. Views of it must no longer be used.
     *
     * @throws IllegalStateException if this array is already closed, or a downcall is using the
     *     block and the heap can tell (as {@link Heap#free} says, and Downcalls above); the array is
     *     then unchanged
     * @throws MemoryMisuseException in a checked mode, if the block was written past its bounds
     *     through a raw address ({@link MemoryMisuseException.Kind#HEAP_BUFFER_OVERFLOW}), or a
     *     block its free pushed out of quarantine was written after its free
     *     ({@link MemoryMisuseException.Kind#USE_AFTER_FREE}); the array is closed and its block
     *     freed all the same, as a scope's close does
     */
    @Override
    public final void close() {
        checkOpen();
        MemoryMisuseException damage = releaseBlock();
        block = MemorySegment.NULL;
        size = 0;
        capacity = 0;
        closed = true;
        if (damage != null) {
            throw damage;
        }
    }

    /**
     * Frees the block unless the heap took it with it when it closed, even while this call ran.
     *
     * @throws IllegalStateException if a downcall is using the block: the array stays open
     */
    private MemoryMisuseException releaseBlock() {
        if (heap.refusesCalls()) {
            return null;
        }
        try {
            return heap.releaseOwned(block.address());
        } catch (IllegalStateException e) {
            if (heap.refusesCalls()) {
                // Another thread closed the heap after the test above: the block went with it.
                return null;
            }
            throw e;
        }
    }

    // ---- for the variants ----

    /** @return the byte offset of element {@code index}, after checking the array is open and the index */
    final long offsetOf(long index) {
        checkOpen();
        return Objects.checkIndex(index, size) * elementByteSize;
    }

    /**
     * Makes room for one element at the end, not counted yet: the caller writes it, then adds one to
     * {@link #size}, so a write that throws (the heap was closed) leaves the array unchanged.
     *
     * @return the new element's byte offset
     */
    final long appendSlot() {
        checkOpen();
        if (size == capacity) {
            grow(size + 1);
        }
        return size * elementByteSize;
    }

    /**
     * Makes room for one element at {@code index}, shifting later ones up, not counted yet: the
     * caller writes it, then adds one to {@link #size}, as after {@link #appendSlot()}.
     *
     * @return the new element's byte offset
     */
    final long insertSlot(long index) {
        checkOpen();
        if (index < 0 || index > size) {
            // Objects.checkIndex(index, size + 1) would name size + 1 as the length: say the size and the range.
            throw new IndexOutOfBoundsException("Index " + index + " out of bounds for insert into size " + size
                    + " (0 <= index <= size)");
        }
        if (size == capacity) {
            grow(size + 1);
        }
        long offset = index * elementByteSize;
        MemorySegment.copy(block, offset, block, offset + elementByteSize, (size - index) * elementByteSize);
        return offset;
    }

    /**
     * Throws if the heap was closed under the array, taking the elements with it. Reads and writes
     * of elements find that out by themselves; this is for what changes the elements' count
     * without touching their bytes (removing the last, clearing, shrinking the size), and for what
     * changes the capacity, whose heap call would word it as the heap's own error.
     */
    final void checkElementsAlive() {
        if (heap.refusesCalls()) {
            throw new IllegalStateException(elementsGoneMessage());
        }
    }

    /**
     * For a variant whose access to the elements threw: the JDK says only "Already closed" when the
     * heap was closed under the array, so that becomes an exception naming the closed heap (the
     * JDK's as its cause). Any other exception is returned as it is.
     */
    final IllegalStateException elementsGone(IllegalStateException e) {
        if (closed || !heap.refusesCalls()) {
            return e;
        }
        return new IllegalStateException(elementsGoneMessage(), e);
    }

    private String elementsGoneMessage() {
        return "the heap '" + heap.name() + "' of this " + getClass().getSimpleName()
                + " is closed, and its elements with it";
    }

    /** Removes element {@code index}, shifting later ones down; the index must be checked */
    final void closeGap(long index) {
        checkElementsAlive();
        long offset = index * elementByteSize;
        MemorySegment.copy(block, offset + elementByteSize, block, offset, (size - index - 1) * elementByteSize);
        size--;
    }

    /**
     * @return {@link #asSegment()}, after checking a Java array can hold the elements
     * @throws IllegalStateException if this array is closed or has too many elements for a Java array
     */
    final MemorySegment elementsForJavaArray() {
        long count = size();
        if (count > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("too many elements for a Java array: size=" + count);
        }
        return asSegment();
    }

    /** @return whether the heap this array draws from is closed, which took its block back */
    final boolean heapClosed() {
        return heap.isClosed();
    }

    /**
     * @param name the variant's class name, for a closed array
     * @param format the {@code Arrays.toString} of a segment's elements
     * @return the elements as {@code [1, 2, 3]}, at most the first 100
     */
    final String elementsText(String name, Function<MemorySegment, String> format) {
        if (closed) {
            return name + "[closed]";
        }
        int shown = (int) Math.min(size, 100);
        String head;
        try {
            head = format.apply(block.asSlice(0, shown * elementByteSize));
        } catch (IllegalStateException memoryGone) {
            // The heap was closed, so the elements' memory went with it: toString still answers.
            return name + "[heap closed, size=" + size + "]";
        }
        return size > shown ? head.substring(0, head.length() - 1) + ", ... (size=" + size + ")]" : head;
    }

    /** @return the index of the last element, after checking the array is open and not empty */
    final long lastIndex() {
        checkOpen();
        if (size == 0) {
            throw new NoSuchElementException("array is empty: size=0");
        }
        return size - 1;
    }

    /** @return whether {@code segment} shares memory with this array's block */
    final boolean overlapsBlock(MemorySegment segment) {
        long start = block.address();
        return segment.isNative() && capacity > 0 && segment.address() < start + capacity * elementByteSize
                && start < segment.address() + segment.byteSize();
    }

    final void checkOpen() {
        if (closed) {
            throw new IllegalStateException("already closed: this " + getClass().getSimpleName() + " was closed");
        }
    }

    /**
     * Grows the capacity to at least {@code minCapacity}, and by half at least: amortised O(1). Where
     * the heap refuses that step for want of memory, by less, down to {@code minCapacity} (see Growth).
     */
    private void grow(long minCapacity) {
        if (minCapacity > maxCapacity) {
            throw new IllegalStateException("array is at its largest capacity: capacity=" + capacity);
        }
        long grown = capacity + (capacity >> 1);
        grown = grown < 0 || grown > maxCapacity ? maxCapacity : grown;
        long step = Math.min(Math.max(Math.max(grown, minCapacity), MIN_GROWTH_CAPACITY), maxCapacity);
        while (step > minCapacity) {
            try {
                resizeBlock(step);
                return;
            } catch (HeapExhaustedError refused) {
                heap.askAgainUnlessInjected(refused, minCapacity * elementByteSize, elementAlignment);
                // Near the heap's limit: the call needs only minCapacity. Halving the room asked past
                // it, rather than asking for minCapacity at once, keeps the adds that follow from each
                // growing (and, where the block moves, copying it) by one element.
                step = minCapacity + (step - minCapacity) / 2;
            }
        }
        resizeBlock(minCapacity);
    }

    private long checkCapacity(long minCapacity) {
        if (minCapacity > maxCapacity) {
            throw new IllegalArgumentException("capacity overflows: capacity=" + minCapacity + ", elementByteSize="
                    + elementByteSize + ", maxCapacity=" + maxCapacity);
        }
        return minCapacity;
    }

    /** Moves the elements to a block of exactly {@code newCapacity} elements; unchanged on failure */
    private void resizeBlock(long newCapacity) {
        long byteSize = newCapacity * elementByteSize;
        if (newCapacity == 0) {
            heap.freeOwned(block.address());
            block = MemorySegment.NULL;
        } else {
            block = heap.reallocOwned(block, byteSize, elementAlignment, holder);
        }
        capacity = newCapacity;
    }
}
