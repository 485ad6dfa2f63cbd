package org.malloc4j.internal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Hands out spans of slices as pages, and large and huge blocks; keeps the pool of retired pages
 * and purges it; counts committed and reserved bytes. Everything but the commit counter is guarded
 * by {@link #lock}: it is reached only when a thread heap needs a new page, for large blocks, and
 * by the purger, so it is off the fast path.
 */
final class SpanAllocator {
    /** The largest block served from slices: half a region (16 MiB); larger ones are huge. */
    static final long LARGE_MAX = Region.SIZE / 2;
    /** Requests above this fail at once: no mapping of that size can exist in 47 bits. */
    static final long MAX_REQUEST = 1L << 46;
    /**
     * Retired pages may keep this many bytes committed, or an eighth of the bytes in use if that is
     * more (jemalloc 3's {@code lg_dirty_mult} of 3); older ones are purged at once, not after the
     * delay. The floor is what a heap that frees and allocates a few MiB in rounds reuses without
     * faulting its pages in again each round; the newest retired page always stays, so a large
     * block freed and allocated in a loop does not map each time. Whatever the cap, a commit that
     * would raise the footprint's peak purges the whole pool first ({@link #purgeForPeak}): retired
     * pages wait for reuse below the peak, never on top of it.
     */
    private static final long DIRTY_FLOOR = 4L << 20;
    private static final int SMALL_PAGE_SLICES = 1;
    private static final int MEDIUM_PAGE_SLICES = 8;

    final ReentrantLock lock = new ReentrantLock();
    private final HeapCore core;
    private final long maxCommittedBytes;
    private final long purgeDelayNanos;
    private final List<Region> regions = new ArrayList<>();
    private final List<Region> hugeRegions = new ArrayList<>();
    /** Retired pages, oldest first: committed memory waiting out the purge delay. */
    private final ArrayDeque<Page> pool = new ArrayDeque<>();
    /** Committed bytes of the pages in {@link #pool}; written under {@link #lock}, read by commits without it. */
    private volatile long pooledCommitted;
    /** Per size class: pages of threads that ended, waiting for another thread to adopt them. */
    private final ArrayDeque<Page>[] abandoned;
    /**
     * The last ranges this heap unmapped (regions purged or trimmed, huge blocks freed), as
     * {start, end} pairs in a ring, so a stale free into one is named a double free, not foreign.
     */
    private final long[] unmapped = new long[2 * 64];
    private int unmappedNext;

    final AtomicLong committed = new AtomicLong();
    final AtomicLong peakCommitted = new AtomicLong();
    final AtomicLong metadata = new AtomicLong();
    /** The most {@code committed + metadata} has been: the footprint's peak, which purges protect. */
    private final AtomicLong peakFootprint = new AtomicLong();
    volatile long reserved;
    volatile long peakReserved;
    volatile long mmapCalls;
    volatile long munmapCalls;
    volatile long madviseCalls;
    volatile long purgedBytes;

    @SuppressWarnings("unchecked")
    SpanAllocator(HeapCore core, long maxCommittedBytes, long purgeDelayNanos) {
        this.core = core;
        this.maxCommittedBytes = maxCommittedBytes;
        this.purgeDelayNanos = purgeDelayNanos;
        this.abandoned = new ArrayDeque[SizeClasses.COUNT];
        for (int c = 0; c < SizeClasses.COUNT; c++) {
            abandoned[c] = new ArrayDeque<>();
        }
    }

    long maxCommittedBytes() {
        return maxCommittedBytes;
    }

    // ---- commit accounting (any thread, no lock) ----

    /**
     * Counts {@code bytes} more as committed, unless that passes the limit.
     *
     * @return false if the limit refused
     */
    boolean addCommitted(long bytes) {
        long now;
        if (maxCommittedBytes == Long.MAX_VALUE) {
            now = committed.addAndGet(bytes);
        } else {
            long before;
            do {
                before = committed.get();
                now = before + bytes;
                if (now > maxCommittedBytes) {
                    return false;
                }
            } while (!committed.compareAndSet(before, now));
        }
        long peak;
        while (now > (peak = peakCommitted.get()) && !peakCommitted.compareAndSet(peak, now)) {
            Thread.onSpinWait();
        }
        notePeakFootprint(now + metadata.get());
        return true;
    }

    private void notePeakFootprint(long footprint) {
        long peak;
        while (footprint > (peak = peakFootprint.get()) && !peakFootprint.compareAndSet(peak, footprint)) {
            Thread.onSpinWait();
        }
    }

    /** Commits {@code page} up to {@code end} bytes from its start, rounded to OS pages. */
    boolean commitTo(Page page, long end) {
        long target = Math.min(page.spanBytes, roundUp(end, Os.OS_PAGE_SIZE));
        if (target <= page.commitEnd) {
            return true;
        }
        if (!commitBytes(target - page.commitEnd)) {
            return false;
        }
        page.commitEnd = target;
        return true;
    }

    /** Counts {@code bytes} as committed, purging retired pages first if the limit is in the way. */
    private boolean commitBytes(long bytes) {
        if (pooledCommitted > 0 && wouldRaisePeak(bytes)) {
            purgeForPeak(bytes);
        }
        return addCommitted(bytes) || (purgeForRoom() && addCommitted(bytes));
    }

    /**
     * @return whether {@code bytes} more committed memory or metadata would set a new peak of the
     *     footprint (committed bytes plus the metadata estimate)
     */
    boolean wouldRaisePeak(long bytes) {
        return committed.get() + metadata.get() + bytes > peakFootprint.get();
    }

    /**
     * A commit is about to set a new peak: retired pages' memory goes back first, oldest first, so
     * memory waiting out the purge delay never adds to the peak footprint. Below the peak, retired
     * pages keep waiting for reuse as before.
     */
    private void purgeForPeak(long bytes) {
        lock.lock();
        try {
            if (wouldRaisePeak(bytes)) {
                while (!pool.isEmpty()) {
                    release(takeOldest());
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /** Near the limit: purge every retired page now and say whether that freed anything. */
    private boolean purgeForRoom() {
        if (maxCommittedBytes == Long.MAX_VALUE) {
            return false;
        }
        lock.lock();
        try {
            long before = committed.get();
            purge(true);
            return committed.get() < before;
        } finally {
            lock.unlock();
        }
    }

    // ---- pages (under lock) ----

    /** @return a page laid out for {@code sizeClass}, or null if memory is exhausted */
    Page newPage(int sizeClass) {
        int slices = SizeClasses.isMedium(sizeClass) ? MEDIUM_PAGE_SLICES : SMALL_PAGE_SLICES;
        Page page = takeSpan(slices, slices, slices, 1, false);
        if (page != null) {
            page.format(sizeClass);
            charge(page);
        }
        return page;
    }

    /** @return whether the pool holds a retired page {@link #newPage} can lay out for {@code sizeClass} */
    boolean hasPooledPage(int sizeClass) {
        int slices = SizeClasses.isMedium(sizeClass) ? MEDIUM_PAGE_SLICES : SMALL_PAGE_SLICES;
        for (Page page : pool) {
            if (page.sliceCount == slices) {
                return true;
            }
        }
        return false;
    }

    /** Lays an empty page out again for {@code sizeClass}, keeping its committed memory. */
    void relayout(Page page, int sizeClass) {
        metadata.addAndGet(-page.metadataCharged);
        page.retire();
        page.format(sizeClass);
        charge(page);
    }

    /** @return an abandoned page of {@code sizeClass}, or null */
    Page takeAbandoned(int sizeClass) {
        return abandoned[sizeClass].poll();
    }

    /** Takes a page of a thread that ended: empty ones retire, others wait for adoption. */
    void abandon(Page page) {
        page.owner = null;
        page.ownerThread = null;
        page.inFullList = false;
        page.next = null;
        page.prev = null;
        page.collectRemote();
        if (page.used == 0) {
            retire(page);
        } else {
            abandoned[page.sizeClass].add(page);
        }
    }

    /** Collects remote frees on abandoned pages no thread adopted, retiring those left empty. */
    void collectAbandoned() {
        for (ArrayDeque<Page> list : abandoned) {
            for (Iterator<Page> it = list.iterator(); it.hasNext(); ) {
                Page page = it.next();
                page.collectRemote();
                if (page.used == 0) {
                    it.remove();
                    retire(page);
                }
            }
        }
    }

    /** Puts a page whose blocks are all free into the pool, to be purged after the delay. */
    void retire(Page page) {
        metadata.addAndGet(-page.metadataCharged);
        page.metadataCharged = 0;
        park(page);
    }

    /** Adds a freshly laid-out page's bookkeeping to the estimate; {@link #retire} takes it off. */
    private void charge(Page page) {
        page.metadataCharged = page.metadataBytes();
        if (!pool.isEmpty() && wouldRaisePeak(page.metadataCharged)) {
            purgeForPeak(page.metadataCharged);
        }
        notePeakFootprint(committed.get() + metadata.addAndGet(page.metadataCharged));
    }

    /** Puts a page that holds no live block into the pool, its metadata already off the estimate. */
    private void park(Page page) {
        page.retire();
        page.releasedAtNanos = System.nanoTime();
        pool.addLast(page);
        pooledCommitted += page.commitEnd;
        long allowed = Math.max(DIRTY_FLOOR, (committed.get() - pooledCommitted) >> 3);
        while (pooledCommitted > allowed && pool.size() > 1) {
            release(takeOldest());
        }
        Purger.schedule(core, purgeDelayNanos);
    }

    private Page takeOldest() {
        Page page = pool.pollFirst();
        pooledCommitted -= page.commitEnd;
        return page;
    }

    /** Returns a retired page's memory to the OS and its slices to its region. */
    private void release(Page page) {
        decommit(page);
        page.region.freeSlices(page.firstSlice, page.sliceCount);
    }

    /**
     * A span of at least {@code minSlices}: a retired page of {@code minSlices} to
     * {@code maxPooledSlices} slices (the smallest, its memory already committed), else
     * {@code wantSlices} fresh slices if a region has them (room to grow in place), else
     * {@code minSlices}.
     */
    private Page takeSpan(int minSlices, int wantSlices, int maxPooledSlices, int sliceAlignment,
                          boolean large) {
        Page page = takeFromPool(minSlices, maxPooledSlices, sliceAlignment, large);
        if (page != null) {
            return page;
        }
        page = takeFromRegions(minSlices, wantSlices, sliceAlignment);
        if (page == null && !pool.isEmpty()) {
            purge(true);
            page = takeFromRegions(minSlices, wantSlices, sliceAlignment);
        }
        if (page == null) {
            Region region = newRegion();
            page = region == null ? null : region.takeSlices(wantSlices, sliceAlignment);
        }
        return page;
    }

    /** @param large take only spans that held a large block, so pages of blocks keep theirs */
    private Page takeFromPool(int minSlices, int maxSlices, int sliceAlignment, boolean large) {
        Page best = null;
        for (Iterator<Page> it = pool.descendingIterator(); it.hasNext(); ) {
            Page page = it.next();
            if (page.sliceCount >= minSlices && page.sliceCount <= maxSlices
                    && (!large || page.sizeClass == Page.LARGE)
                    && page.firstSlice % sliceAlignment == 0
                    && (best == null || page.sliceCount < best.sliceCount)) {
                best = page;
                if (page.sliceCount == minSlices) {
                    break;
                }
            }
        }
        if (best != null) {
            pool.removeLastOccurrence(best);
            pooledCommitted -= best.commitEnd;
        }
        return best;
    }

    private Page takeFromRegions(int minSlices, int wantSlices, int sliceAlignment) {
        for (Region region : regions) {
            Page page = region.takeSlices(wantSlices, sliceAlignment);
            if (page != null) {
                return page;
            }
        }
        if (wantSlices == minSlices) {
            return null;
        }
        for (Region region : regions) {
            Page page = region.takeSlices(minSlices, sliceAlignment);
            if (page != null) {
                return page;
            }
        }
        return null;
    }

    private Region newRegion() {
        long base = reserveAligned(Region.SIZE, Region.SIZE, false);
        if (base == 0) {
            return null;
        }
        Region region = Region.sliced(core, base);
        regions.add(region);
        RegionMap.set(base, Region.SIZE, region);
        metadata.addAndGet(region.metadataBytes());
        return region;
    }

    /** Reserves {@code byteSize} bytes at a multiple of {@code alignment}; 0 if the OS refuses. */
    private long reserveAligned(long byteSize, long alignment, boolean accounted) {
        if (byteSize > MAX_REQUEST || alignment > MAX_REQUEST) {
            return 0;
        }
        long raw = Os.reserve(byteSize + alignment, accounted);
        mmapCalls++;
        if (raw == 0) {
            return 0;
        }
        long base = roundUp(raw, alignment);
        if (base > raw) {
            Os.release(raw, base - raw);
            munmapCalls++;
        }
        long tail = raw + byteSize + alignment - (base + byteSize);
        if (tail > 0) {
            Os.release(base + byteSize, tail);
            munmapCalls++;
        }
        reserved += byteSize;
        peakReserved = Math.max(peakReserved, reserved);
        return base;
    }

    // ---- large and huge blocks (under lock) ----

    /**
     * @return the address of a large or huge block, with {@link Page#CLEAN} if it reads as zeros,
     *     or 0 if memory is exhausted
     */
    long allocateLarge(long requested, long alignment, long roomBytes) {
        long usable = roundUp(Math.max(requested, 1), Os.OS_PAGE_SIZE);
        if (usable > LARGE_MAX || alignment > LARGE_MAX) {
            return allocateHuge(requested, usable, alignment);
        }
        int slices = slicesFor(usable);
        int wanted = slicesFor(Math.min(LARGE_MAX, Math.max(usable, roomBytes)));
        int sliceAlignment = (int) Math.max(1, alignment >>> Region.SLICE_SHIFT);
        // A retired span up to four times the need is reused as is: its memory is committed already.
        Page page = takeSpan(slices, wanted, Math.max(wanted, 4 * slices), sliceAlignment, true);
        if (page == null) {
            return 0;
        }
        if (!commitTo(page, usable)) {
            park(page);
            return 0;
        }
        boolean clean = page.cleanFrom == 0;
        page.formatSingle(Page.LARGE, requested, usable);
        charge(page);
        return page.start | (clean ? Page.CLEAN : 0);
    }

    private static int slicesFor(long bytes) {
        return (int) ((bytes + Region.SLICE_SIZE - 1) >>> Region.SLICE_SHIFT);
    }

    private long allocateHuge(long requested, long usable, long alignment) {
        if (usable > MAX_REQUEST || !commitBytes(usable)) {
            return 0;
        }
        long span = roundUp(usable, Region.SIZE);
        long base = reserveAligned(span, Math.max(Region.SIZE, alignment), true);
        if (base == 0) {
            committed.addAndGet(-usable);
            return 0;
        }
        Region region = Region.huge(core, base, span);
        hugeRegions.add(region);
        RegionMap.set(base, span, region);
        Page page = region.hugePage(span);
        page.commitEnd = usable;
        page.formatSingle(Page.HUGE, requested, usable);
        metadata.addAndGet(region.metadataBytes());
        charge(page);
        return base | Page.CLEAN;
    }

    /**
     * Resizes a large or huge block in place: within its span, or by taking the free slices right
     * after it.
     *
     * @return false if it cannot grow in place (or memory is exhausted); nothing changed then
     */
    boolean resizeInPlace(Page page, long requested) {
        long usable = roundUp(Math.max(requested, 1), Os.OS_PAGE_SIZE);
        if (usable > page.spanBytes) {
            if (page.sizeClass == Page.HUGE || usable > LARGE_MAX) {
                return false;
            }
            int extra = (int) ((usable - page.spanBytes + Region.SLICE_SIZE - 1) >>> Region.SLICE_SHIFT);
            if (!page.region.extend(page, extra)) {
                return false;
            }
            page.region.mapSlices(page, page.firstSlice + page.sliceCount, extra);
            page.sliceCount += extra;
            page.spanBytes += (long) extra << Region.SLICE_SHIFT;
        }
        if (!commitTo(page, usable)) {
            return false;
        }
        page.largeRequested = requested;
        page.largeUsable = usable;
        return true;
    }

    /** Frees a large or huge block that the caller checked is live. */
    void freeLarge(Page page) {
        page.used = 0;
        if (page.sizeClass == Page.HUGE) {
            releaseHuge(page.region, page);
        } else {
            retire(page);
        }
    }

    /** @return whether {@code address} lies in memory this heap unmapped lately */
    boolean wasUnmapped(long address) {
        synchronized (unmapped) {
            for (int i = 0; i < unmapped.length; i += 2) {
                if (address >= unmapped[i] && address < unmapped[i + 1]) {
                    return true;
                }
            }
            return false;
        }
    }

    private void releaseHuge(Region region, Page page) {
        metadata.addAndGet(-(region.metadataBytes() + page.metadataCharged));
        page.metadataCharged = 0;
        page.retire();
        hugeRegions.remove(region);
        unmap(region);
        committed.addAndGet(-page.commitEnd);
        page.decommitted();
    }

    private void unmap(Region region) {
        synchronized (unmapped) {
            unmapped[unmappedNext] = region.base;
            unmapped[unmappedNext + 1] = region.base + region.byteSize;
            unmappedNext = (unmappedNext + 2) % unmapped.length;
        }
        RegionMap.set(region.base, region.byteSize, null);
        region.arena.close();
        Os.release(region.base, region.byteSize);
        munmapCalls++;
        reserved -= region.byteSize;
    }

    // ---- purge (under lock) ----

    /**
     * Returns the memory of retired pages to the OS: those older than the purge delay, or all of
     * them when {@code force}. Unmaps regions left empty, keeping one for reuse unless forced.
     *
     * @return the nanoTime at which the oldest remaining retired page is due, or -1 if none remain
     */
    long purge(boolean force) {
        long now = System.nanoTime();
        boolean freedSlices = false;
        while (!pool.isEmpty()) {
            Page page = pool.peekFirst();
            if (!force && now - page.releasedAtNanos < purgeDelayNanos) {
                return page.releasedAtNanos + purgeDelayNanos;
            }
            release(takeOldest());
            freedSlices = true;
        }
        if (freedSlices) {
            unmapEmptyRegions(force ? 0 : 1);
        }
        return -1;
    }

    private void decommit(Page page) {
        if (page.commitEnd > 0) {
            Os.decommit(page.start, page.commitEnd);
            madviseCalls++;
            committed.addAndGet(-page.commitEnd);
            purgedBytes += page.commitEnd;
        }
        page.decommitted();
    }

    private void unmapEmptyRegions(int keep) {
        int empty = 0;
        for (Iterator<Region> it = regions.iterator(); it.hasNext(); ) {
            Region region = it.next();
            if (region.isEmpty() && ++empty > keep) {
                it.remove();
                metadata.addAndGet(-region.metadataBytes());
                unmap(region);
            }
        }
    }

    /** Unmaps everything; the heap is closing and no thread uses it. */
    void closeAll() {
        for (Region region : regions) {
            unmap(region);
        }
        for (Region region : hugeRegions) {
            unmap(region);
        }
        regions.clear();
        hugeRegions.clear();
        pool.clear();
        pooledCommitted = 0;
        committed.set(0);
    }

    static long roundUp(long value, long alignment) {
        return (value + alignment - 1) & -alignment;
    }
}
