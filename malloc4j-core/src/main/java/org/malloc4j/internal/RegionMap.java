package org.malloc4j.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The process-wide map from an address to the region holding it: a two-level radix table over
 * 32 MiB chunks of the 47-bit user address space (tcmalloc's page map idea). A lookup is two array
 * loads and never locks; writes happen under a lock when regions come and go.
 *
 * <p>A second table holds each region's slice map, so the free fast path reaches a page without
 * loading the region (mixed sizes 16-4096 B, `PairBenchmark.malloc4jRaw`, three alternated runs:
 * 22.5-22.9 ns a pair against 23.1-23.4 through the region; a tie on gcc's cc1 in
 * `ReplayBenchmark`). It is one flat array indexed by a hash of the chunk, not two levels, which
 * takes one more load off the free's chain of dependent loads: 13.2 and 13.3 ns a 64-byte pair
 * against 14.6 and 15.2 with two levels, 16.7 and 16.9 ns against 17.5 and 17.7 for mixed sizes
 * ({@code PairBenchmark.malloc4jRaw -p size=64,mixed -f 1 -wi 3 -i 4}, two alternated runs).
 */
final class RegionMap {
    private static final int ADDRESS_BITS = 47;
    private static final int CHUNK_BITS = ADDRESS_BITS - Region.SHIFT;
    private static final int LEAF_BITS = 11;
    private static final int ROOT_BITS = CHUNK_BITS - LEAF_BITS;
    private static final int LEAF_MASK = (1 << LEAF_BITS) - 1;
    private static final VarHandle LEAVES = MethodHandles.arrayElementVarHandle(Region[][].class);
    private static final VarHandle SLICE_MAPS = MethodHandles.arrayElementVarHandle(Page[][].class);
    /** 4,096 slots of 32 MiB: distinct chunks share a slot only 128 GiB apart. */
    private static final int SLICE_TABLE_BITS = 12;
    private static final int SLICE_TABLE_MASK = (1 << SLICE_TABLE_BITS) - 1;
    private static final long NO_CHUNK = -1;

    private static final Region[][] ROOT = new Region[1 << ROOT_BITS][];
    /**
     * For the free fast path: the slice maps of regions of slices, each in the slot of its chunk's
     * low {@link #SLICE_TABLE_BITS} bits, one load short of the page where {@link #ROOT} and a
     * region are three. The first region to hash to a slot keeps it until it is unmapped; the
     * frees of a region that found its slot taken go through {@link #lookup}. A slot holding
     * another chunk's map is told by {@link #SLICE_TABLE_CHUNKS}; read in a race with a slot
     * changing hands, the key and the map may disagree, and a page of another chunk does not
     * cover the address, which the caller's range check ({@link Page#unheldIndex}) rejects.
     */
    private static final Page[][] SLICE_TABLE = new Page[1 << SLICE_TABLE_BITS][];
    /** The chunk whose slice map each slot of {@link #SLICE_TABLE} holds, or {@link #NO_CHUNK}; guarded by the class's lock. */
    private static final long[] SLICE_TABLE_CHUNKS = new long[1 << SLICE_TABLE_BITS];

    static {
        java.util.Arrays.fill(SLICE_TABLE_CHUNKS, NO_CHUNK);
    }
    /**
     * Per chunk, as {@link #ROOT}: the number of the mapping that last covered it, by any heap (0
     * for none); guarded by the class's lock.
     */
    private static final long[][] MAPPINGS = new long[1 << ROOT_BITS][];
    /** The number of the latest mapping; guarded by the class's lock. */
    private static long lastMapping;

    private RegionMap() {
    }

    /**
     * Makes each of this class's {@code VarHandle} calls once, on tables of its own, while the first
     * heap is made: the JVM links a class's {@code VarHandle} call of each type at its first run, on
     * the Java heap, and a link that met a full Java heap in a free (every free looks its page up
     * here) failed the free halfway: a checked heap's first free of a block from its core, under a
     * full Java heap, lost the block with its page (12 KiB committed and a region reserved, with
     * nothing live).
     */
    static void linkVarHandleCalls() {
        Page[][] sliceMaps = new Page[1][];
        Region[][] leaves = new Region[1][];
        Page[] slices = (Page[]) SLICE_MAPS.getAcquire(sliceMaps, 0);
        Region[] leaf = (Region[]) LEAVES.getAcquire(leaves, 0);
        SLICE_MAPS.setRelease(sliceMaps, 0, slices);
        SLICE_MAPS.setRelease(sliceMaps, 0, null);
        LEAVES.setRelease(leaves, 0, leaf);
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
        long chunk = address >>> Region.SHIFT;
        int slot = (int) chunk & SLICE_TABLE_MASK;
        // The key is read beside the map, not before it, so it adds no wait to the chain of loads.
        Page[] slices = (Page[]) SLICE_MAPS.getAcquire(SLICE_TABLE, slot);
        if (slices == null || SLICE_TABLE_CHUNKS[slot] != chunk) {
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
        int slot = (int) chunk & SLICE_TABLE_MASK;
        if (SLICE_TABLE_CHUNKS[slot] == chunk) {
            SLICE_MAPS.setRelease(SLICE_TABLE, slot, slices);
        }
    }

    /**
     * Maps every 32 MiB chunk of {@code [base, base + byteSize)} to {@code region} (or null), and
     * numbers a new mapping ({@link #mappingAt}).
     */
    static synchronized void set(long base, long byteSize, Region region) {
        long firstChunk = base >>> Region.SHIFT;
        long lastChunk = (base + byteSize - 1) >>> Region.SHIFT;
        // Every leaf first, the entries after: a full Java heap fails the call with no chunk of
        // the range mapped (empty leaves map nothing), not some of them.
        for (long chunk = firstChunk; chunk <= lastChunk; chunk++) {
            int rootIndex = (int) (chunk >>> LEAF_BITS);
            if (ROOT[rootIndex] == null) {
                Region[] leaf = new Region[1 << LEAF_BITS];
                MAPPINGS[rootIndex] = new long[1 << LEAF_BITS];
                LEAVES.setRelease(ROOT, rootIndex, leaf);
            }
        }
        long mapping = region != null ? ++lastMapping : 0;
        for (long chunk = firstChunk; chunk <= lastChunk; chunk++) {
            int rootIndex = (int) (chunk >>> LEAF_BITS);
            Region[] leaf = ROOT[rootIndex];
            leaf[(int) chunk & LEAF_MASK] = region;
            setSliceSlot(chunk, region != null ? region.sliceMap() : null);
            if (region != null) {
                MAPPINGS[rootIndex][(int) chunk & LEAF_MASK] = mapping;
            }
        }
    }

    /** Gives the chunk's slot of {@link #SLICE_TABLE} its slice map, or takes it back for null. */
    private static void setSliceSlot(long chunk, Page[] slices) {
        int slot = (int) chunk & SLICE_TABLE_MASK;
        if (slices != null && (SLICE_TABLE_CHUNKS[slot] == NO_CHUNK || SLICE_TABLE_CHUNKS[slot] == chunk)) {
            SLICE_TABLE_CHUNKS[slot] = chunk;
            SLICE_MAPS.setRelease(SLICE_TABLE, slot, slices);
        } else if (slices == null && SLICE_TABLE_CHUNKS[slot] == chunk) {
            SLICE_TABLE_CHUNKS[slot] = NO_CHUNK;
            SLICE_MAPS.setRelease(SLICE_TABLE, slot, null);
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
