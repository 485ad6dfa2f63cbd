package org.malloc4j.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A counter that threads add to at once without contending on one cache line, as a
 * {@link java.util.concurrent.atomic.LongAdder} does, but whose {@link #add} allocates nothing: an
 * adder grows cells on the Java heap as contention appears, and with none left it fails, having
 * added nothing (its cell class may even fail to initialize, for the rest of the process). A free
 * that has released its block counts it here, and must not fail after its work. Sixteen stripes of
 * a cache line each, chosen by thread id.
 */
final class StripedCounter {
    private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);
    private static final int STRIPES = 16;
    /** Longs a stripe: a cache line of 64 bytes, so no two stripes share one. */
    private static final int STRIDE = 8;

    private final long[] stripes = new long[STRIPES * STRIDE];

    /**
     * Makes each of this class's {@code VarHandle} calls once, on a counter of no heap, while the
     * first heap is made (see {@link RegionMap#linkVarHandleCalls}).
     */
    static void linkVarHandleCalls() {
        long[] scratch = new long[1];
        LONGS.getAndAdd(scratch, 0, (long) LONGS.getVolatile(scratch, 0));
    }

    void add(long x) {
        LONGS.getAndAdd(stripes, (int) (Thread.currentThread().threadId() & (STRIPES - 1)) * STRIDE, x);
    }

    void increment() {
        add(1);
    }

    /** @return the sum of every {@link #add}: exact when none runs meanwhile */
    long sum() {
        long sum = 0;
        for (int i = 0; i < stripes.length; i += STRIDE) {
            sum += (long) LONGS.getVolatile(stripes, i);
        }
        return sum;
    }
}
