package org.malloc4j.internal;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Predicate;

/**
 * A double-ended queue in a ring of slots that grows before it stores, so that a growth the Java
 * heap has no room for throws {@link OutOfMemoryError} with the queue as it was. The JDK's
 * {@link java.util.ArrayDeque} stores first and grows once the ring is full: when that growth
 * fails, its head meets its tail, it reads as empty, every element it held is out of reach, and
 * its next add overwrites the first. The span pool lost every retired page so (their memory stayed
 * committed and counted, purged by nothing), and the quarantine its blocks.
 *
 * <p>Only what the heap's queues use: adds at both ends, polls and peeks at both ends, reads by
 * position, and removals that compact in place. Nothing but a growth allocates, and an element
 * taken out and put back at either end never needs one. Not thread-safe: its owner guards it.
 * Elements are compared by identity. Null elements are refused.
 *
 * @param <E> the elements
 */
final class RingDeque<E> {
    private static final int MIN_CAPACITY = 16;

    private Object[] slots;
    /** The slot of the first element. */
    private int head;
    private int size;

    RingDeque() {
        this(MIN_CAPACITY);
    }

    /** @param capacity the elements it holds before its first growth (at least 1) */
    RingDeque(int capacity) {
        slots = new Object[Math.max(1, capacity)];
    }

    int size() {
        return size;
    }

    boolean isEmpty() {
        return size == 0;
    }

    /**
     * @throws OutOfMemoryError if the queue is full and the Java heap has no room for a larger ring;
     *     the queue is as it was
     */
    void addLast(E element) {
        growIfFull(element);
        slots[slot(size)] = element;
        size++;
    }

    /**
     * @throws OutOfMemoryError if the queue is full and the Java heap has no room for a larger ring;
     *     the queue is as it was
     */
    void addFirst(E element) {
        growIfFull(element);
        head = head == 0 ? slots.length - 1 : head - 1;
        slots[head] = element;
        size++;
    }

    /** @return the first element, or null if empty */
    E peekFirst() {
        return size == 0 ? null : get(0);
    }

    /** @return the last element, or null if empty */
    E peekLast() {
        return size == 0 ? null : get(size - 1);
    }

    /** @return the first element, removed, or null if empty */
    E pollFirst() {
        if (size == 0) {
            return null;
        }
        E first = get(0);
        slots[head] = null;
        head = slot(1);
        size--;
        return first;
    }

    /** @return the last element, removed, or null if empty */
    E pollLast() {
        if (size == 0) {
            return null;
        }
        int last = slot(size - 1);
        E element = element(last);
        slots[last] = null;
        size--;
        return element;
    }

    /**
     * @param index from the first element, 0, to the last, {@code size() - 1}
     * @throws IndexOutOfBoundsException if {@code index} is outside those
     */
    E get(int index) {
        // Not Objects.checkIndex: the first use of the JDK's checks initializes a class of theirs,
        // which a full Java heap fails, and fails so for good.
        if (index < 0 || index >= size) {
            throw new IndexOutOfBoundsException("index " + index + " of " + size);
        }
        return element(slot(index));
    }

    /**
     * Removes the element at {@code index}, the later ones moving up one place.
     *
     * @throws IndexOutOfBoundsException if {@code index} is outside {@code 0 .. size() - 1}
     */
    E removeAt(int index) {
        E removed = get(index);
        for (int i = index + 1; i < size; i++) {
            slots[slot(i - 1)] = slots[slot(i)];
        }
        slots[slot(size - 1)] = null;
        size--;
        return removed;
    }

    /**
     * Removes the last occurrence of {@code element} (the same object).
     *
     * @return whether it was there
     */
    boolean removeLastOccurrence(E element) {
        for (int i = size - 1; i >= 0; i--) {
            if (get(i) == element) {
                removeAt(i);
                return true;
            }
        }
        return false;
    }

    /**
     * Removes every element {@code filter} accepts, the others keeping their order, in one pass
     * that allocates nothing.
     *
     * @return whether any was removed
     */
    boolean removeIf(Predicate<? super E> filter) {
        int kept = 0;
        for (int i = 0; i < size; i++) {
            E element = get(i);
            if (!filter.test(element)) {
                slots[slot(kept++)] = element;
            }
        }
        for (int i = kept; i < size; i++) {
            slots[slot(i)] = null;
        }
        boolean removed = kept != size;
        size = kept;
        return removed;
    }

    /** @return a list of the elements, first to last, which later changes to the queue leave as it is */
    List<E> toList() {
        List<E> copy = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            copy.add(get(i));
        }
        return copy;
    }

    /** Removes every element, keeping the ring's slots. */
    void clear() {
        Arrays.fill(slots, null);
        head = 0;
        size = 0;
    }

    /** Refuses a null element, and grows a full ring, both before anything changes. */
    private void growIfFull(E element) {
        if (element == null) {
            throw new NullPointerException("element");
        }
        if (size < slots.length) {
            return;
        }
        // Half again, as ArrayDeque grows a large one; the copy starts at the head, so the
        // elements sit in order from slot 0.
        int capacity = slots.length + Math.max(MIN_CAPACITY, slots.length >> 1);
        Object[] grown = new Object[capacity];
        int firstPart = Math.min(size, slots.length - head);
        System.arraycopy(slots, head, grown, 0, firstPart);
        System.arraycopy(slots, 0, grown, firstPart, size - firstPart);
        slots = grown;
        head = 0;
    }

    private int slot(int index) {
        int slot = head + index;
        return slot >= slots.length ? slot - slots.length : slot;
    }

    @SuppressWarnings("unchecked")
    private E element(int slot) {
        return (E) slots[slot];
    }
}
