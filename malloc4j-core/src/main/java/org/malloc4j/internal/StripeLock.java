package org.malloc4j.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The lock of a stripe, a {@link ThreadHeap} that virtual threads share: taken around one malloc or
 * one free, so held for well under a microsecond unless the holder lays out a page.
 *
 * <p>A test-and-set lock: one compare-and-set to take it and a release store to let it go. A
 * {@code ReentrantLock} also records its owner and lets go with a {@code volatile} write, a full
 * fence on x86: two fences a malloc+free pair saves. Not reentrant; nothing done under it takes it
 * again.
 *
 * <p>Waiters must not keep their carriers busy: the holder may be a virtual thread parked on the span
 * lock, which needs a carrier to finish (spinning waiters that only {@code yield} starved it in a
 * test with 60,000 virtual threads on 2 carriers). So waiters queue, parked, on a
 * {@code ReentrantLock}; the first of them polls the lock, spinning briefly and then parking for
 * {@value #PARK_NANOS} ns at a time. The holder lets go without waking anyone, so its release stays
 * one store. As with {@code ReentrantLock.lock()}, an interrupt does not stop the wait; the waiter
 * returns with its interrupt status still set.
 */
final class StripeLock {
    private static final VarHandle HELD;
    /** Polls by the first waiter before it parks between polls. */
    private static final int SPINS = 128;
    private static final long PARK_NANOS = 20_000;

    static {
        try {
            HELD = MethodHandles.lookup().findVarHandle(StripeLock.class, "held", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private volatile int held;
    /** Where the waiters behind the first one park. */
    private final ReentrantLock waiters = new ReentrantLock();

    /**
     * Makes each of this class's {@code VarHandle} calls once, on a lock of no heap, while the first
     * heap is made (see {@link RegionMap#linkVarHandleCalls}).
     */
    static void linkVarHandleCalls() {
        StripeLock scratch = new StripeLock();
        if (HELD.compareAndSet(scratch, 0, 1)) {
            HELD.setRelease(scratch, 0);
        }
    }

    void lock() {
        if (!HELD.compareAndSet(this, 0, 1)) {
            lockContended();
        }
    }

    /** @return whether this caller took the lock, which was free */
    boolean tryLock() {
        return held == 0 && HELD.compareAndSet(this, 0, 1);
    }

    void unlock() {
        HELD.setRelease(this, 0);
    }

    private void lockContended() {
        boolean interrupted = false;
        waiters.lock();
        try {
            for (int polls = 0; !tryLock(); polls++) {
                if (polls < SPINS) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.parkNanos(this, PARK_NANOS);
                    // A pending interrupt makes every park return at once: the waiter would spin
                    // on its carrier, which the holder may need. Keep it for the caller instead.
                    interrupted |= Thread.interrupted();
                }
            }
        } finally {
            waiters.unlock();
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
