package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;
import org.malloc4j.ChildJvm;
import org.malloc4j.FullJavaHeap;

/**
 * {@link RingDeque} holds what a list would, in the same order, whatever the mix of adds, polls and
 * removals at either end and in the middle; and a growth the Java heap has no room for leaves it
 * holding all it held, where the JDK's {@link java.util.ArrayDeque} loses every element.
 */
class RingDequeTest {
    private static final int ADD_LAST = 0;
    private static final int ADD_FIRST = 1;
    private static final int POLL_FIRST = 2;
    private static final int POLL_LAST = 3;
    private static final int REMOVE_AT = 4;
    private static final int REMOVE_LAST_OCCURRENCE = 5;
    private static final int REMOVE_IF = 6;
    private static final int OPS = 7;

    @Property(tries = 300)
    void holdsWhatAListWouldInTheSameOrder(
            @ForAll @Size(max = 600) List<@IntRange(min = 0, max = 10 * OPS - 1) Integer> ops,
            @ForAll @IntRange(min = 1, max = 20) int capacity) {
        RingDeque<Integer> ring = new RingDeque<>(capacity);
        List<Integer> model = new ArrayList<>();
        int next = 0;
        for (int op : ops) {
            // Adds weigh as much as all the rest, so the ring fills, wraps round and grows.
            int kind = op % OPS < 2 || op % 3 == 0 ? op % 2 : op % OPS;
            int pick = op / OPS;
            Integer element = next++;
            switch (kind) {
                case ADD_LAST -> {
                    ring.addLast(element);
                    model.add(element);
                }
                case ADD_FIRST -> {
                    ring.addFirst(element);
                    model.addFirst(element);
                }
                case POLL_FIRST -> assertSame(model.isEmpty() ? null : model.removeFirst(), ring.pollFirst());
                case POLL_LAST -> assertSame(model.isEmpty() ? null : model.removeLast(), ring.pollLast());
                case REMOVE_AT -> {
                    if (!model.isEmpty()) {
                        int index = pick % model.size();
                        assertSame(model.remove(index), ring.removeAt(index));
                    }
                }
                case REMOVE_LAST_OCCURRENCE -> {
                    Integer target = model.isEmpty() ? element : model.get(pick % model.size());
                    assertEquals(model.remove(target), ring.removeLastOccurrence(target));
                }
                case REMOVE_IF -> {
                    int modulus = 2 + pick % 5;
                    assertEquals(model.removeIf(e -> e % modulus == 0), ring.removeIf(e -> e % modulus == 0));
                }
                default -> throw new AssertionError(kind);
            }
            assertHolds(model, ring);
        }
        ring.clear();
        assertHolds(List.of(), ring);
        Integer last = next;
        ring.addLast(last);
        assertHolds(List.of(last), ring);
    }

    @Test
    void refusesNullAndIndexesOutsideIt() {
        RingDeque<String> ring = new RingDeque<>(1);
        assertThrows(NullPointerException.class, () -> ring.addLast(null));
        assertThrows(NullPointerException.class, () -> ring.addFirst(null));
        assertTrue(ring.isEmpty());
        assertNull(ring.pollFirst());
        assertNull(ring.pollLast());
        assertNull(ring.peekFirst());
        assertNull(ring.peekLast());
        assertFalse(ring.removeLastOccurrence("absent"));
        ring.addLast("only");
        assertThrows(IndexOutOfBoundsException.class, () -> ring.get(1));
        assertThrows(IndexOutOfBoundsException.class, () -> ring.get(-1));
        assertThrows(IndexOutOfBoundsException.class, () -> ring.removeAt(1));
        assertHolds(List.of("only"), ring);
    }

    @Test
    void aGrowthTheFullJavaHeapRefusesLeavesEveryElementInPlace() throws Exception {
        ChildJvm.Result result = ChildJvm.run(FullJavaHeap.JVM_OPTIONS, FullHeapProgram.class);
        assertEquals(0, result.exitCode(), result.output());
        assertEquals(List.of("refused: 2, kept: " + FullHeapProgram.HELD + " in order, then grew: true"),
                result.output().lines().toList(), result.output());
    }

    private static <E> void assertHolds(List<E> model, RingDeque<E> ring) {
        assertEquals(model.size(), ring.size());
        assertEquals(model.isEmpty(), ring.isEmpty());
        for (int i = 0; i < model.size(); i++) {
            assertSame(model.get(i), ring.get(i), "element " + i);
        }
        assertSame(model.isEmpty() ? null : model.getFirst(), ring.peekFirst());
        assertSame(model.isEmpty() ? null : model.getLast(), ring.peekLast());
    }

    /**
     * Fills a ring to its capacity, wrapped round, fills the Java heap, and adds at each end: both
     * growths fail. Prints how many adds were refused, whether the ring still holds its elements in
     * their order, and whether it grows once the heap has room.
     */
    static final class FullHeapProgram {
        static final int HELD = 4096;

        public static void main(String[] args) {
            Object[] elements = new Object[HELD + 1];
            for (int i = 0; i < elements.length; i++) {
                elements[i] = new Object();
            }
            RingDeque<Object> ring = new RingDeque<>(HELD);
            // Wrapped: the first half at the end of the slots, the second at their start.
            for (int i = HELD / 2; i < HELD; i++) {
                ring.addLast(elements[i]);
            }
            for (int i = HELD / 2 - 1; i >= 0; i--) {
                ring.addFirst(elements[i]);
            }
            FullJavaHeap.fill();
            int refused = 0;
            try {
                ring.addLast(elements[HELD]);
            } catch (OutOfMemoryError e) {
                refused++;
            }
            try {
                ring.addFirst(elements[HELD]);
            } catch (OutOfMemoryError e) {
                refused++;
            }
            boolean inOrder = ring.size() == HELD;
            for (int i = 0; inOrder && i < HELD; i++) {
                inOrder = ring.get(i) == elements[i];
            }
            FullJavaHeap.empty();
            ring.addLast(elements[HELD]);
            boolean grew = ring.size() == HELD + 1 && ring.peekLast() == elements[HELD]
                    && ring.peekFirst() == elements[0];
            System.out.println("refused: " + refused + ", kept: " + (inOrder ? HELD + " in order" : "not all")
                    + ", then grew: " + grew);
        }
    }
}
