package org.malloc4j.internal;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * A {@link LongAdder} whose {@link #add} never fails. Under contention an adder grows cells on the
 * Java heap, and with none left it throws {@link OutOfMemoryError}, having added nothing; a free
 * that has released its block counts it here, and must not throw after its work is done (the
 * caller would take the block for still live). What the cells could not take goes to one shared
 * counter instead.
 */
final class SpillingAdder {
    private final LongAdder adder = new LongAdder();
    private final AtomicLong spill = new AtomicLong();

    void add(long x) {
        try {
            adder.add(x);
        } catch (OutOfMemoryError e) {
            spill.addAndGet(x);
        }
    }

    void increment() {
        add(1);
    }

    /** @return the sum of every {@link #add}: exact when none runs meanwhile */
    long sum() {
        return adder.sum() + spill.get();
    }
}
