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
     * Retired pages keep their memory committed until the purge delay has passed, so a heap that
     * frees and allocates in rounds (a burst of 1 MiB buffers, a request's scratch memory) reuses it
     * without faulting every page in again, however much it is; they are not purged when they are
     * retired. Past this many bytes in the pool, a span taken from fresh slices purges as many bytes
     * of the oldest retired pages, so committed memory does not grow while retired memory sits idle:
     * the footprint stays within the most bytes ever in use plus this floor.
     */
    private static final long DIRTY_FLOOR = 4L << 20;
    /**
     * The purger returns at most this many bytes to the OS per run before it lets go of the span
     * lock and runs again, so threads that need a page do not wait for a whole backlog of
     * {@code madvise} calls.
     */
    private static final long PURGE_BATCH_BYTES = 16L << 20;
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
    /** Committed bytes of the pages in {@link #pool}. */
    private long pooledCommitted;
    /**
     * Bytes purged from the pool beyond what fresh commits asked for (a whole retired page purged
     * for a smaller new one, or to make room); later fresh commits use them up before purging more.
     */
    private long purgedAhead;
    /** Slice count to how many pages of that many slices are in {@link #pool}. */
    private final int[] pooledBySlices = new int[Region.SLICES + 1];
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
        return true;
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
        return addCommitted(bytes) || (purgeForRoom() && addCommitted(bytes));
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
            // What its blocks can commit beyond what the page has committed already.
            long blocksEnd = Math.min(page.spanBytes,
                    roundUp((long) page.capacity * page.blockSize, Os.OS_PAGE_SIZE));
            purgeInExchange(blocksEnd - page.commitEnd);
            charge(page);
        }
        return page;
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
        metadata.addAndGet(page.metadataCharged);
    }

    /** Puts a page that holds no live block into the pool, its metadata already off the estimate. */
    private void park(Page page) {
        page.retire();
        page.releasedAtNanos = System.nanoTime();
        pool.addLast(page);
        pooledCommitted += page.commitEnd;
        pooledBySlices[page.sliceCount]++;
        Purger.schedule(core, purgeDelayNanos);
    }

    private Page takeOldest() {
        Page page = pool.pollFirst();
        pooledCommitted -= page.commitEnd;
        pooledBySlices[page.sliceCount]--;
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
     * {@code minSlices}. Fresh slices come from the regions, then from purging the oldest retired
     * pages one by one until their slices make room, then from a new region.
     */
    private Page takeSpan(int minSlices, int wantSlices, int maxPooledSlices, int sliceAlignment,
                          boolean large) {
        Page page = takeFromPool(minSlices, maxPooledSlices, sliceAlignment, large);
        if (page != null) {
            return page;
        }
        page = takeFromRegions(minSlices, wantSlices, sliceAlignment);
        while (page == null && !pool.isEmpty()) {
            Page oldest = takeOldest();
            purgedAhead += oldest.commitEnd;
            release(oldest);
            page = takeFromRegion(oldest.region, minSlices, wantSlices, sliceAlignment);
        }
        if (page == null) {
            Region region = newRegion();
            page = region == null ? null : region.takeSlices(wantSlices, sliceAlignment);
        }
        return page;
    }

    /**
     * Up to {@code bytes} more are about to be committed: if retired pages hold more than
     * {@link #DIRTY_FLOOR}, purge the oldest of them for as many bytes (at most down to the floor),
     * so committed memory does not grow while retired memory sits unused.
     */
    private void purgeInExchange(long bytes) {
        if (bytes <= 0) {
            return;
        }
        long ahead = Math.min(bytes, purgedAhead);
        purgedAhead -= ahead;
        long owed = Math.max(0, Math.min(bytes - ahead, pooledCommitted - DIRTY_FLOOR));
        long purged = 0;
        while (purged < owed && !pool.isEmpty()) {
            Page oldest = takeOldest();
            purged += oldest.commitEnd;
            release(oldest);
        }
        purgedAhead += Math.max(0, purged - owed);
    }

    /** @param large take only spans that held a large block, so pages of blocks keep theirs */
    private Page takeFromPool(int minSlices, int maxSlices, int sliceAlignment, boolean large) {
        if (!pooled(minSlices, maxSlices)) {
            return null;
        }
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
            pooledBySlices[best.sliceCount]--;
        }
        return best;
    }

    /** @return whether the pool holds a page of {@code minSlices} to {@code maxSlices} slices */
    private boolean pooled(int minSlices, int maxSlices) {
        for (int slices = minSlices; slices <= Math.min(maxSlices, Region.SLICES); slices++) {
            if (pooledBySlices[slices] > 0) {
                return true;
            }
        }
        return false;
    }

    private static Page takeFromRegion(Region region, int minSlices, int wantSlices, int sliceAlignment) {
        Page page = region.takeSlices(wantSlices, sliceAlignment);
        return page != null || wantSlices == minSlices ? page : region.takeSlices(minSlices, sliceAlignment);
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
        purgeInExchange(usable - page.commitEnd);
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
        purgeInExchange(usable - page.commitEnd);
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
     * Returns the memory of retired pages to the OS: those older than the purge delay, at most
     * {@link #PURGE_BATCH_BYTES} of them a call, or all of them when {@code force}. Unmaps regions
     * left empty, keeping one for reuse unless forced.
     *
     * @return the nanoTime at which the oldest remaining retired page is due (now if more are due
     *     already), or -1 if none remain
     */
    long purge(boolean force) {
        long now = System.nanoTime();
        purgedAhead = 0;
        boolean freedSlices = false;
        long budget = force ? Long.MAX_VALUE : PURGE_BATCH_BYTES;
        long due = -1;
        while (!pool.isEmpty()) {
            Page page = pool.peekFirst();
            if (!force && now - page.releasedAtNanos < purgeDelayNanos) {
                due = page.releasedAtNanos + purgeDelayNanos;
                break;
            }
            if (budget <= 0) {
                due = now;
                break;
            }
            budget -= page.commitEnd;
            release(takeOldest());
            freedSlices = true;
        }
        if (freedSlices) {
            unmapEmptyRegions(force ? 0 : 1);
        }
        return due;
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
        purgedAhead = 0;
        java.util.Arrays.fill(pooledBySlices, 0);
        committed.set(0);
    }

    static long roundUp(long value, long alignment) {
        return (value + alignment - 1) & -alignment;
    }
}
