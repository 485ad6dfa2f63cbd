package org.malloc4j.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The process-wide map from an address to the region holding it: a two-level radix table over
 * 32 MiB chunks of the 47-bit user address space (tcmalloc's page map idea). A lookup is two array
 * loads and never locks; writes happen under a lock when regions come and go.
 */
final class RegionMap {
    private static final int ADDRESS_BITS = 47;
    private static final int CHUNK_BITS = ADDRESS_BITS - Region.SHIFT;
    private static final int LEAF_BITS = 11;
    private static final int ROOT_BITS = CHUNK_BITS - LEAF_BITS;
    private static final int LEAF_MASK = (1 << LEAF_BITS) - 1;
    private static final VarHandle LEAVES = MethodHandles.arrayElementVarHandle(Region[][].class);

    private static final Region[][] ROOT = new Region[1 << ROOT_BITS][];

    private RegionMap() {
    }

    /** @return the region holding {@code address}, or null if no heap's region does */
    static Region lookup(long address) {
        if ((address >>> ADDRESS_BITS) != 0) {
            return null;
        }
        long chunk = address >>> Region.SHIFT;
        Region[] leaf = (Region[]) LEAVES.getAcquire(ROOT, (int) (chunk >>> LEAF_BITS));
        return leaf == null ? null : leaf[(int) chunk & LEAF_MASK];
    }

    /** Maps every 32 MiB chunk of {@code [base, base + byteSize)} to {@code region} (or null). */
    static synchronized void set(long base, long byteSize, Region region) {
        for (long chunk = base >>> Region.SHIFT; chunk <= (base + byteSize - 1) >>> Region.SHIFT; chunk++) {
            int rootIndex = (int) (chunk >>> LEAF_BITS);
            Region[] leaf = ROOT[rootIndex];
            if (leaf == null) {
                leaf = new Region[1 << LEAF_BITS];
                LEAVES.setRelease(ROOT, rootIndex, leaf);
            }
            leaf[(int) chunk & LEAF_MASK] = region;
        }
    }
}
