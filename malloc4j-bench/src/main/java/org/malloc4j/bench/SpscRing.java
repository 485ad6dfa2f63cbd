package org.malloc4j.bench;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A bounded single-producer single-consumer queue of nonzero {@code long}s (block addresses),
 * preallocated, so handing a block to another thread allocates nothing. The producer and consumer
 * indices are published with release/acquire (what volatile writes and reads give) and sit on
 * cache lines of their own.
 */
final class SpscRing {
    /** Slots: a power of two. */
    static final int CAPACITY = 1024;
    private static final int MASK = CAPACITY - 1;
    private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);
    /** Index of the producer's next slot in {@link #indices}; 128 bytes from the consumer's. */
    private static final int TAIL = 16;
    private static final int HEAD = 32;

    private final long[] slots = new long[CAPACITY];
    private final long[] indices = new long[48];
    /** The producer's last view of the head (read only by the producer). */
    private final long[] producerView = new long[17];
    /** The consumer's last view of the tail (read only by the consumer). */
    private final long[] consumerView = new long[17];

    /**
     * Called by the producer only.
     *
     * @param value a nonzero value
     * @return whether it was queued ({@code false}: the ring is full)
     */
    boolean offer(long value) {
        long tail = (long) LONGS.getOpaque(indices, TAIL);
        if (tail - producerView[8] >= CAPACITY) {
            producerView[8] = (long) LONGS.getAcquire(indices, HEAD);
            if (tail - producerView[8] >= CAPACITY) {
                return false;
            }
        }
        slots[(int) tail & MASK] = value;
        LONGS.setRelease(indices, TAIL, tail + 1);
        return true;
    }

    /**
     * Called by the consumer only (or by one thread when both have stopped).
     *
     * @return the oldest value, or 0 if the ring is empty
     */
    long poll() {
        long head = (long) LONGS.getOpaque(indices, HEAD);
        if (head >= consumerView[8]) {
            consumerView[8] = (long) LONGS.getAcquire(indices, TAIL);
            if (head >= consumerView[8]) {
                return 0;
            }
        }
        long value = slots[(int) head & MASK];
        LONGS.setRelease(indices, HEAD, head + 1);
        return value;
    }
}
