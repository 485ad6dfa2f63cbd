package org.malloc4j.internal;

import java.lang.foreign.MemorySegment;
import org.malloc4j.HeapStats;
import org.malloc4j.LeakReport;

/**
 * What {@code org.malloc4j.Heap} delegates to: the fast allocator ({@link HeapCore}) or the checked
 * one ({@link CheckedAllocator}). Addresses are raw; {@code throwing} chooses between
 * {@code HeapExhaustedError} and a 0 result on exhaustion.
 */
public interface Allocator {
    long malloc(long byteSize, boolean throwing);

    long calloc(long byteSize, boolean throwing);

    long realloc(long address, long newByteSize, boolean throwing);

    long mallocAligned(long byteSize, long byteAlignment, boolean throwing);

    void free(long address);

    long usableSize(long address);

    /** A segment of exactly {@code byteSize} bytes over the live block at {@code address}. */
    MemorySegment segment(long address, long byteSize);

    HeapStats stats();

    void trim();

    /** Verifies every invariant the allocator can; throws {@code MemoryMisuseException} on damage. */
    void check();

    LeakReport leaks();

    String name();

    boolean isClosed();

    void close();

    /** Makes the allocator for {@code config}: checked when the mode or fault injection asks for it. */
    static Allocator create(HeapConfig config) {
        HeapCore core = HeapCore.create(config);
        if (config.mode() == org.malloc4j.CheckMode.FAST && config.faults() == null) {
            return core;
        }
        return new CheckedAllocator(core, config);
    }
}
