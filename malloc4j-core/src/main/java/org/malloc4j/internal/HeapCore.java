package org.malloc4j.internal;

import java.lang.foreign.MemorySegment;
import org.malloc4j.HeapStats;

/** Temporary stand-in while the allocator is written. */
public final class HeapCore {
    public static HeapCore create(HeapConfig config) { throw new UnsupportedOperationException("not yet"); }
    public static long checkedProduct(long a, long b) { return Math.multiplyExact(a, b); }
    public static long goodSize(long n) { throw new UnsupportedOperationException(); }
    public MemorySegment segment(long address, long size) { throw new UnsupportedOperationException(); }
    public long malloc(long size, boolean t) { throw new UnsupportedOperationException(); }
    public long calloc(long size, boolean t) { throw new UnsupportedOperationException(); }
    public long realloc(long a, long size, boolean t) { throw new UnsupportedOperationException(); }
    public long mallocAligned(long size, long al, boolean t) { throw new UnsupportedOperationException(); }
    public void free(long a) { throw new UnsupportedOperationException(); }
    public long usableSize(long a) { throw new UnsupportedOperationException(); }
    public HeapStats stats() { throw new UnsupportedOperationException(); }
    public void trim() { }
    public String name() { return ""; }
    public boolean isClosed() { return false; }
    public void close() { }
}
