package org.malloc4j.internal;

/** Decides whether an allocation request fails on purpose; see {@code org.malloc4j.FaultInjection}. */
@FunctionalInterface
public interface FaultPolicy {
    /** @return true to fail this request of {@code byteSize} bytes as if memory were exhausted */
    boolean shouldFail(long byteSize);
}
