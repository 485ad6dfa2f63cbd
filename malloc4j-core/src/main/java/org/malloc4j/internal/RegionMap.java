package org.malloc4j.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The process-wide map from an address to the region holding it: a two-level radix table over
 * 32 MiB chunks of the 47-bit user address space (tcmalloc's page map idea). A lookup is two array
 * loads and never locks; writes happen under a lock when regions come and go. A second table of the
 * same shape holds each region's slice map, so the free fast path reaches a page without loading
 * the region (mixed sizes 16-4096 B, `PairBenchmark.malloc4jRaw`, three alternated runs: 22.5-22.9
 * ns a pair against 23.1-23.4 through the region; a tie on gcc's cc1 in `ReplayBenchmark`).
 */
final class RegionMap {
    private static final int ADDRESS_BITS = 47;
    private static final int CHUNK_BITS = ADDRESS_BITS - Region.SHIFT;
    private static final int LEAF_BITS = 11;
    private static final int ROOT_BITS = CHUNK_BITS - LEAF_BITS;
    private static final int LEAF_MASK = (1 << LEAF_BITS) - 1;
    private static final int ROOT_MASK = (1 << ROOT_BITS) - 1;
    private static final VarHandle LEAVES = MethodHandles.arrayElementVarHandle(Region[][].class);
    private static final VarHandle PAGE_LEAVES = MethodHandles.arrayElementVarHandle(Page[][][].class);

    private static final Region[][] ROOT = new Region[1 << ROOT_BITS][];
    /**
     * As {@link #ROOT}, for the free fast path: per chunk, the slice map of the region of slices over
     * it (null for none or a huge region), one load short of the page where a region is another.
     */
    private static final Page[][][] SLICE_ROOT = new Page[1 << ROOT_BITS][][];
    /**
     * Per chunk, as {@link #ROOT}: the number of the mapping that last covered it, by any heap (0
     * for none); guarded by the class's lock.
     */
    private static final long[][] MAPPINGS = new long[1 << ROOT_BITS][];
    /** The number of the latest mapping; guarded by the class's lock. */
    private static long lastMapping;

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

    /**
     * The free fast path's lookup: {@link #lookup} and {@link Region#pageAt} in one, for a region of
     * slices of {@code core}.
     *
     * @return the page over the slice holding {@code address}, or null if no such region holds it
     */
    static Page slicePage(long address, HeapCore core) {
        // The root index is masked, so it needs no bounds check; an address past 47 bits (which
        // the mask would fold onto a low one) is ruled out before the leaf is read.
        Page[][] leaf = (Page[][]) PAGE_LEAVES.getAcquire(SLICE_ROOT, (int) (address >>> (Region.SHIFT + LEAF_BITS)) & ROOT_MASK);
        if (leaf == null || (address >>> ADDRESS_BITS) != 0) {
            return null;
        }
        Page[] slices = leaf[(int) (address >>> Region.SHIFT) & LEAF_MASK];
        if (slices == null) {
            return null;
        }
        // A region of slices is aligned to its size, so the slice is the address's bits below it.
        int slice = (int) (address >>> Region.SLICE_SHIFT) & (Region.SLICES - 1);
        Page page = slice < slices.length ? slices[slice] : null;
        return page != null && page.core == core ? page : null;
    }

    /** Publishes {@code slices}, the new slice map of the region of slices at {@code base}. */
    static synchronized void setSlices(long base, Page[] slices) {
        long chunk = base >>> Region.SHIFT;
        Page[][] leaf = SLICE_ROOT[(int) (chunk >>> LEAF_BITS)];
        if (leaf != null && ROOT[(int) (chunk >>> LEAF_BITS)][(int) chunk & LEAF_MASK] != null) {
            leaf[(int) chunk & LEAF_MASK] = slices;
        }
    }

    /**
     * Maps every 32 MiB chunk of {@code [base, base + byteSize)} to {@code region} (or null), and
     * numbers a new mapping ({@link #mappingAt}).
     */
    static synchronized void set(long base, long byteSize, Region region) {
        long mapping = region != null ? ++lastMapping : 0;
        for (long chunk = base >>> Region.SHIFT; chunk <= (base + byteSize - 1) >>> Region.SHIFT; chunk++) {
            int rootIndex = (int) (chunk >>> LEAF_BITS);
            Region[] leaf = ROOT[rootIndex];
            if (leaf == null) {
                leaf = new Region[1 << LEAF_BITS];
                MAPPINGS[rootIndex] = new long[1 << LEAF_BITS];
                PAGE_LEAVES.setRelease(SLICE_ROOT, rootIndex, new Page[1 << LEAF_BITS][]);
                LEAVES.setRelease(ROOT, rootIndex, leaf);
            }
            leaf[(int) chunk & LEAF_MASK] = region;
            SLICE_ROOT[rootIndex][(int) chunk & LEAF_MASK] = region != null ? region.sliceMap() : null;
            if (region != null) {
                MAPPINGS[rootIndex][(int) chunk & LEAF_MASK] = mapping;
            }
        }
    }

    /**
     * @return the number of the mapping, by any heap, that last covered the 32 MiB chunk holding
     *     {@code address}, mapped still or not (0 if none did): a range a heap unmapped that has
     *     the number it had then was not mapped again since
     */
    static synchronized long mappingAt(long address) {
        if ((address >>> ADDRESS_BITS) != 0) {
            return 0;
        }
        long chunk = address >>> Region.SHIFT;
        long[] leaf = MAPPINGS[(int) (chunk >>> LEAF_BITS)];
        return leaf == null ? 0 : leaf[(int) chunk & LEAF_MASK];
    }
}
