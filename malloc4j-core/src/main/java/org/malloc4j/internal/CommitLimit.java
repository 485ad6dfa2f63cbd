package org.malloc4j.internal;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A heap's limit on committed bytes ({@code Heap.Builder.maxCommittedBytes}), shared by every core
 * of the heap: in sampled mode the checked blocks come from a core of their own, and the two
 * together stay within the one limit the heap was built with. Any thread, no lock.
 */
final class CommitLimit {
    private final long maxBytes;
    private final AtomicLong charged = new AtomicLong();

    /** @param maxBytes the limit in bytes, {@link Long#MAX_VALUE} for none */
    CommitLimit(long maxBytes) {
        this.maxBytes = maxBytes;
    }

    boolean isLimited() {
        return maxBytes != Long.MAX_VALUE;
    }

    long maxBytes() {
        return maxBytes;
    }

    /** @return the bytes the heap's cores have committed together */
    long chargedBytes() {
        return charged.get();
    }

    /** @return false, charging nothing, if {@code bytes} more would pass the limit */
    boolean tryCharge(long bytes) {
        long before;
        do {
            before = charged.get();
            if (before + bytes > maxBytes) {
                return false;
            }
        } while (!charged.compareAndSet(before, before + bytes));
        return true;
    }

    void release(long bytes) {
        charged.addAndGet(-bytes);
    }
}
