package org.malloc4j.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * A region: an aligned reservation of address space from the OS (mimalloc calls it a segment),
 * cut into 64 KiB slices that pages are made of. A huge region holds one huge block and no slices.
 * The slice map and the free-slice bitmap are guarded by the heap's span lock; the slice map is
 * read without it by frees, which only ever look up addresses the heap handed out.
 */
final class Region {
    static final int SHIFT = 25;
    /** Bytes of a region: 32 MiB. */
    static final long SIZE = 1L << SHIFT;
    static final int SLICE_SHIFT = 16;
    /** Bytes of a slice: 64 KiB, the size of a small page. */
    static final long SLICE_SIZE = 1L << SLICE_SHIFT;
    static final int SLICES = (int) (SIZE / SLICE_SIZE);
    /** The slices the slice map covers at first: 4 MiB. */
    private static final int INITIAL_MAP = 64;

    final HeapCore core;
    final long base;
    final long byteSize;
    /**
     * The region's own shared arena: closed before the region is unmapped, so a segment of a block
     * in it throws on access instead of touching unmapped memory.
     */
    final Arena arena;
    /** A segment over the whole region; blocks' segments are slices of it. */
    final MemorySegment memory;
    final boolean huge;
    /**
     * Slice index to the page covering it, or null where the slice is free; covers the slices up to
     * the highest ever used (it grows under the span lock), so a region a small heap barely uses
     * keeps a small map. Frees read it without the lock: they only look up addresses handed out
     * after the map that covers them was published.
     */
    private Page[] sliceOwner;
    /** Bit set: the slice is free (and decommitted). */
    private final long[] freeSlices;
    private int freeSliceCount;
    private Page hugePage;
    /**
     * What the span allocator says of this region's range once it is unmapped (its
     * {@code unmappedAt}), made when the region is mapped: forgetting it allocates nothing.
     */
    SpanAllocator.UnmappedRange unmapped;

    private Region(HeapCore core, long base, long byteSize, boolean huge) {
        this.core = core;
        this.base = base;
        this.byteSize = byteSize;
        this.arena = Arena.ofShared();
        this.memory = Os.segment(base, byteSize, arena);
        this.huge = huge;
        this.sliceOwner = huge ? null : new Page[INITIAL_MAP];
        this.freeSlices = huge ? null : new long[SLICES / 64];
        if (!huge) {
            java.util.Arrays.fill(freeSlices, -1L);
            freeSliceCount = SLICES;
        }
    }

    static Region sliced(HeapCore core, long base) {
        return new Region(core, base, SIZE, false);
    }

    static Region huge(HeapCore core, long base, long byteSize) {
        return new Region(core, base, byteSize, true);
    }

    /** @return the page covering {@code address} (inside this region), or null if none */
    Page pageAt(long address) {
        return huge ? hugePage : slicePage(address);
    }

    /**
     * @return the page over the slice holding {@code address} (inside this region), or null if
     *     none; always null in a huge region, which has no slices
     */
    Page slicePage(long address) {
        Page[] owners = sliceOwner;
        // A region of slices is aligned to its size, so the slice is the address's bits below it.
        int slice = (int) (address >>> SLICE_SHIFT) & (SLICES - 1);
        return owners != null && slice < owners.length ? owners[slice] : null;
    }

    /** @return the slice map (null for a huge region), for {@link RegionMap}; it changes as the region grows it */
    Page[] sliceMap() {
        return sliceOwner;
    }

    /**
     * @return the bytes this region's pages hold committed: each page's committed prefix less the
     *     holes returned below it, its owner's and those the purger made that the owner has not
     *     taken over yet; under the span lock
     */
    long committedBytes() {
        if (huge) {
            return hugePage == null ? 0 : hugePage.committedBytes();
        }
        long sum = 0;
        Page[] owners = sliceOwner;
        for (int slice = nextPage(owners, 0, null); slice >= 0; slice = nextPage(owners, slice + 1, owners[slice])) {
            sum += owners[slice].committedBytes();
        }
        return sum;
    }

    /**
     * @param owners the slice map, read once by the caller
     * @return the first slice at or after {@code from} whose page is neither null nor {@code last}
     *     (a page lies over its slices in a row), or -1 if none is
     */
    private static int nextPage(Page[] owners, int from, Page last) {
        for (int slice = from; owners != null && slice < owners.length; slice++) {
            if (owners[slice] != null && owners[slice] != last) {
                return slice;
            }
        }
        return -1;
    }

    /**
     * Adds each page laid over this region's slices to {@code into}, once, in address order; under
     * the span lock. No lambda walks them: a call site whose first linking meets a full Java heap
     * fails so at every later call.
     *
     * @param ofBlocksOnly whether to leave out pages of a single block
     */
    void addSlicePages(List<Page> into, boolean ofBlocksOnly) {
        Page[] owners = sliceOwner;
        for (int slice = nextPage(owners, 0, null); slice >= 0; slice = nextPage(owners, slice + 1, owners[slice])) {
            if (!ofBlocksOnly || !owners[slice].isSingle()) {
                into.add(owners[slice]);
            }
        }
    }

    /** Grows the slice map to cover slices below {@code end}; under the span lock. */
    private void cover(int end) {
        int length = sliceOwner.length;
        if (end <= length) {
            return;
        }
        long before = metadataBytes();
        while (length < end) {
            length *= 2;
        }
        sliceOwner = java.util.Arrays.copyOf(sliceOwner, Math.min(length, SLICES));
        RegionMap.setSlices(base, sliceOwner);
        core.spans.metadata.addAndGet(metadataBytes() - before);
    }

    Page hugePage(long spanBytes) {
        hugePage = new Page(this, 0, 0, base, spanBytes);
        return hugePage;
    }

    /**
     * Finds {@code count} free slices in a row whose first index is a multiple of
     * {@code sliceAlignment}, marks them used, and returns a new page over them.
     *
     * @return the page, or null if this region has no such run
     */
    Page takeSlices(int count, int sliceAlignment) {
        if (freeSliceCount < count) {
            return null;
        }
        int first = findRun(count, sliceAlignment);
        if (first < 0) {
            return null;
        }
        // The page and the slice map's room first: a full Java heap fails the call with the
        // slices free still, not taken by no page.
        Page page = new Page(this, first, count, base + ((long) first << SLICE_SHIFT),
                (long) count << SLICE_SHIFT);
        cover(first + count);
        setFree(first, count, false);
        for (int i = first; i < first + count; i++) {
            sliceOwner[i] = page;
        }
        return page;
    }

    /** Extends {@code page} by the {@code extra} free slices right after it, if they are free. */
    boolean extend(Page page, int extra) {
        int from = page.firstSlice + page.sliceCount;
        if (from + extra > SLICES) {
            return false;
        }
        for (int i = from; i < from + extra; i++) {
            if (!isFree(i)) {
                return false;
            }
        }
        setFree(from, extra, false);
        return true;
    }

    /** Points the slices of {@code page} (which may have grown) at it. */
    void mapSlices(Page page, int first, int count) {
        cover(first + count);
        for (int i = first; i < first + count; i++) {
            sliceOwner[i] = page;
        }
    }

    /**
     * Returns the slices {@code [first, first + count)} to the free set. They keep pointing at their
     * old, inactive page until a new page takes them, so freeing a block of it again is still
     * named a double free.
     */
    void freeSlices(int first, int count) {
        setFree(first, count, true);
    }

    /**
     * Returns the slices {@code [first, first + count)} past a live large block that shrank to the
     * free set. No block ever started on them, so unlike {@link #freeSlices} they point at no page:
     * an address in them is no block of this heap, and a walk of the pages meets the block's page
     * once, not again after a span that takes some of them.
     */
    void freeSlicesPastBlock(int first, int count) {
        for (int i = first; i < first + count && i < sliceOwner.length; i++) {
            sliceOwner[i] = null;
        }
        setFree(first, count, true);
    }

    boolean isEmpty() {
        return huge ? hugePage == null || !hugePage.active : freeSliceCount == SLICES;
    }

    private boolean isFree(int slice) {
        return (freeSlices[slice >>> 6] & (1L << slice)) != 0;
    }

    private void setFree(int first, int count, boolean free) {
        for (int i = first; i < first + count; i++) {
            if (free) {
                freeSlices[i >>> 6] |= 1L << i;
            } else {
                freeSlices[i >>> 6] &= ~(1L << i);
            }
        }
        freeSliceCount += free ? count : -count;
    }

    private int findRun(int count, int sliceAlignment) {
        int candidate = nextFree(0);
        while (candidate >= 0) {
            candidate = roundUp(candidate, sliceAlignment);
            if (candidate + count > SLICES) {
                return -1;
            }
            int bad = firstUsed(candidate, count);
            if (bad < 0) {
                return candidate;
            }
            candidate = nextFree(bad + 1);
        }
        return -1;
    }

    /**
     * The first run of {@code count} slices, starting at a multiple of {@code sliceAlignment}, that
     * are each free or under a retired page ({@link Page#pooled}): purging those pages makes room
     * there. Under the span lock.
     *
     * @return the run's first slice, or -1 if there is none
     */
    int findRoom(int count, int sliceAlignment) {
        int candidate = 0;
        while (candidate + count <= SLICES) {
            int inUse = firstInUse(candidate, count);
            if (inUse < 0) {
                return candidate;
            }
            candidate = roundUp(inUse + 1, sliceAlignment);
        }
        return -1;
    }

    /** @return the first slice in {@code [from, from + count)} that is neither free nor retired, or -1 */
    private int firstInUse(int from, int count) {
        for (int slice = from; slice < from + count; slice++) {
            if (!isFree(slice)) {
                Page page = slice < sliceOwner.length ? sliceOwner[slice] : null;
                if (page == null || !page.pooled) {
                    return slice;
                }
            }
        }
        return -1;
    }

    /**
     * @return whether every slice from address {@code from} up to {@code to} (both slice
     *     boundaries) lies in this region and is free; under the span lock
     */
    boolean freeBetween(long from, long to) {
        if (huge || from < base || to > base + SIZE || from > to) {
            return false;
        }
        int first = (int) ((from - base) >>> SLICE_SHIFT);
        return firstUsed(first, (int) ((to - from) >>> SLICE_SHIFT)) < 0;
    }

    /**
     * {@code page} and the retired pages beside it, after it and then before it, passing over free
     * slices, while their committed bytes fit in {@code budget}; under the span lock. Only the list
     * is made: a caller that gets no list for want of Java heap has changed nothing.
     *
     * @return the pages, each once, {@code page} among them, in address order
     */
    List<Page> withRetiredNeighbours(Page page, long budget) {
        List<Page> pages = new ArrayList<>();
        long left = budget;
        int end = Math.min(SLICES, sliceOwner.length);  // past the map, every slice is free
        for (int slice = page.firstSlice + page.sliceCount; slice < end; ) {
            Page next = isFree(slice) ? null : sliceOwner[slice];
            if (next == null) {
                slice++;
            } else if (next.pooled && next.commitEnd <= left) {
                pages.add(next);
                left -= next.commitEnd;
                slice = next.firstSlice + next.sliceCount;
            } else {
                break;
            }
        }
        int after = pages.size();
        for (int slice = page.firstSlice - 1; slice >= 0; ) {
            Page previous = isFree(slice) ? null : sliceOwner[slice];
            if (previous == null) {
                slice--;
            } else if (previous.pooled && previous.commitEnd <= left) {
                pages.add(previous);
                left -= previous.commitEnd;
                slice = previous.firstSlice - 1;
            } else {
                break;
            }
        }
        // Those after in address order, then those before from the nearest: reversed, those before
        // come first in address order, then the page, then those after, reversed back.
        reverse(pages, 0, pages.size());
        int before = pages.size() - after;
        pages.add(before, page);
        reverse(pages, before + 1, pages.size());
        return pages;
    }

    /** Reverses {@code pages[from, to)} in place. */
    private static void reverse(List<Page> pages, int from, int to) {
        for (int i = from, j = to - 1; i < j; i++, j--) {
            pages.set(i, pages.set(j, pages.get(i)));
        }
    }

    /** @return the retired pages over slices {@code [first, first + count)}, each once */
    List<Page> retiredPagesIn(int first, int count) {
        List<Page> pages = new ArrayList<>();
        Page last = null;
        for (int slice = first; slice < first + count; slice++) {
            if (!isFree(slice) && sliceOwner[slice] != last) {
                last = sliceOwner[slice];
                pages.add(last);
            }
        }
        return pages;
    }

    /** @return the first free slice at or after {@code from}, or -1 if none is */
    private int nextFree(int from) {
        if (from >= SLICES) {
            return -1;
        }
        int word = from >>> 6;
        long free = freeSlices[word] & (-1L << from);
        while (free == 0) {
            if (++word == freeSlices.length) {
                return -1;
            }
            free = freeSlices[word];
        }
        return (word << 6) + Long.numberOfTrailingZeros(free);
    }

    /** @return the first used slice in {@code [from, from + count)}, or -1 if all are free */
    private int firstUsed(int from, int count) {
        int slice = from;
        int end = from + count;
        while (slice < end) {
            int word = slice >>> 6;
            long used = ~freeSlices[word] & (-1L << slice);
            if (used != 0) {
                int found = (word << 6) + Long.numberOfTrailingZeros(used);
                return found < end ? found : -1;
            }
            slice = (word + 1) << 6;
        }
        return -1;
    }

    private static int roundUp(int value, int alignment) {
        return (value + alignment - 1) / alignment * alignment;
    }

    long metadataBytes() {
        return huge ? 96 : 96 + 16 + 4L * sliceOwner.length + 16 + 8L * freeSlices.length;
    }
}
