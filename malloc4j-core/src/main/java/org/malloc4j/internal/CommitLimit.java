package org.malloc4j.internal;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A heap's committed bytes as its cores charge them together, against the heap's limit
 * ({@code Heap.Builder.maxCommittedBytes}): in sampled mode the checked blocks come from a core of
 * their own, and the two together stay within the one limit, and have one peak. A heap with one
 * core and no limit does without: its core counts alone. Any thread, no lock.
 */
final class CommitLimit {
    private final long maxBytes;
    private final boolean tracked;
    private final AtomicLong charged = new AtomicLong();
    private final AtomicLong peak = new AtomicLong();

    /**
     * @param maxBytes the limit in bytes, {@link Long#MAX_VALUE} for none
     * @param shared whether more than one core charges it
     */
    CommitLimit(long maxBytes, boolean shared) {
        this.maxBytes = maxBytes;
        this.tracked = shared || maxBytes != Long.MAX_VALUE;
    }

    /** @return whether commits must be charged here: the heap has a limit, or several cores */
    boolean isTracked() {
        return tracked;
    }

    boolean isLimited() {
        return maxBytes != Long.MAX_VALUE;
    }

    long maxBytes() {
        return maxBytes;
    }

    /** @return the bytes the heap's cores have committed together (0 if not {@linkplain #isTracked tracked}) */
    long chargedBytes() {
        return charged.get();
    }

    /** @return the most {@link #chargedBytes} has been */
    long peakBytes() {
        return peak.get();
    }

    /**
     * @return whether {@code bytes} more would stay within the limit now; charges nothing, so
     *     another thread's commit may take the room before the caller's does
     */
    boolean hasRoomFor(long bytes) {
        long now = charged.get() + bytes;
        return now <= maxBytes && now >= 0;
    }

    /** @return false, charging nothing, if {@code bytes} more would pass the limit */
    boolean tryCharge(long bytes) {
        long before;
        long now;
        do {
            before = charged.get();
            now = before + bytes;
            if (now > maxBytes || now < 0) {
                return false;
            }
        } while (!charged.compareAndSet(before, now));
        long high;
        while (now > (high = peak.get()) && !peak.compareAndSet(high, now)) {
            Thread.onSpinWait();
        }
        return true;
    }

    void release(long bytes) {
        charged.addAndGet(-bytes);
    }
}
