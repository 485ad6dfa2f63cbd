package org.malloc4j.internal;

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
}
