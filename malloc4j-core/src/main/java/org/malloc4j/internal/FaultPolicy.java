package org.malloc4j.internal;

import org.malloc4j.HeapExhaustedError;

/** Decides whether an allocation request fails on purpose; see {@code org.malloc4j.FaultInjection}. */
@FunctionalInterface
public interface FaultPolicy {
    /** @return true to fail this request of {@code byteSize} bytes as if memory were exhausted */
    boolean shouldFail(long byteSize);

    /**
     * A request of {@code byteSize} bytes that {@link #shouldFail} let through failed all the same
     * (the heap refused it, or it threw): called once for it, unless it asked for 0 bytes, so a
     * policy that counts what succeeded can take it back.
     */
    default void failedAnyway(long byteSize) {
    }

    /**
     * @return whether the policy judges a request by its size (a budget of bytes), not by its
     *     place among the requests: a holder whose request with room it failed asks it again for
     *     the less it needs, as it would a heap near its limit
     */
    default boolean judgesBySize() {
        return false;
    }

    /** A failure {@link #shouldFail} injected that its caller asked again and never passed on: not counted. */
    default void unseen() {
    }

    /**
     * The error a request of {@code byteSize} bytes at {@code byteAlignment} that a policy fails
     * throws; also what a holder throws (a growable array, a bump arena) that asked first for more
     * room than it needs and had that failed.
     */
    static HeapExhaustedError injectedFailure(String heap, long byteSize, long byteAlignment) {
        return new HeapExhaustedError("heap '" + heap + "' cannot allocate " + byteSize + " bytes"
                + HeapCore.aligned(byteAlignment, HeapCore.MIN_ALIGNMENT) + ": failure injected by FaultInjection",
                byteSize, true);
    }
}
