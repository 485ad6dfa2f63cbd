package org.malloc4j.internal;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import org.malloc4j.Heap;

/**
 * What a heap's span allocator counts, recounted from its pages: the committed bytes, the pool's
 * committed bytes and its pages by slice count, and each region's free slices. Call it with no
 * thread allocating or freeing on the heap; the purger may run, as it changes these only under the
 * span lock, which the recount holds. The live bytes the thread heaps count agree with the block
 * tables too.
 */
final class SpanAccounting {
    private SpanAccounting() {
    }

    /** @return a line per count that differs from the recount; empty if all agree */
    static List<String> violations(Heap heap) throws ReflectiveOperationException {
        HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
        SpanAllocator spans = core.spans;
        ReentrantLock lock = (ReentrantLock) Fields.read(spans, SpanAllocator.class, "lock");
        List<String> wrong;
        lock.lock();
        try {
            wrong = recount(spans);
        } finally {
            lock.unlock();
        }
        // After the span lock: the statistics take the stripes' locks, and the purger, holding a
        // stripe's lock, may wait for the span lock (a test hung so, once in five runs).
        liveChecked(core, wrong);
        return wrong;
    }

    /**
     * The live bytes the commit path's heuristics sum from the thread heaps' counts and their
     * current pages' use ({@link HeapCore#liveBytes}) are the usable bytes the block tables hold.
     */
    private static void liveChecked(HeapCore core, List<String> wrong) {
        long counted = core.liveBytes();
        long inTables = core.stats().usableBytes();
        if (counted != inTables) {
            wrong.add("live bytes counted " + counted + " B, the block tables hold " + inTables + " B");
        }
    }

    @SuppressWarnings("unchecked")
    private static List<String> recount(SpanAllocator spans) throws ReflectiveOperationException {
        List<String> wrong = new ArrayList<>();
        Set<Page> pooled = poolChecked(spans, wrong);
        Set<Page> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        long committed = 0;
        for (Region region : (List<Region>) Fields.read(spans, SpanAllocator.class, "regions")) {
            committed += regionChecked(region, seen, pooled, wrong);
        }
        for (Page page : pooled) {
            if (!seen.contains(page)) {
                wrong.add("pooled page at 0x" + Long.toHexString(page.start) + " over no used slice");
            }
        }
        for (Region region : (List<Region>) Fields.read(spans, SpanAllocator.class, "hugeRegions")) {
            Page page = region.pageAt(region.base);
            if (page != null && page.active) {
                committed += committedOf(page);
            }
        }
        committed += ((RetainedMappings) Fields.read(spans, SpanAllocator.class, "retained")).committed();
        if (spans.committed.get() != committed) {
            wrong.add("committed " + spans.committed.get() + " B, the pages hold " + committed + " B");
        }
        return wrong;
    }

    /** @return the pool's pages, each checked to be pooled once, with the pool's totals checked */
    @SuppressWarnings("unchecked")
    private static Set<Page> poolChecked(SpanAllocator spans, List<String> wrong) throws ReflectiveOperationException {
        List<Page> pool = ((RingDeque<Page>) Fields.read(spans, SpanAllocator.class, "pool")).toList();
        int[] bySlices = (int[]) Fields.read(spans, SpanAllocator.class, "pooledBySlices");
        long pooledCommitted = (long) Fields.read(spans, SpanAllocator.class, "pooledCommitted");
        Set<Page> pooled = Collections.newSetFromMap(new IdentityHashMap<>());
        int[] counted = new int[bySlices.length];
        long committed = 0;
        for (Page page : pool) {
            if (!pooled.add(page)) {
                wrong.add("page at 0x" + Long.toHexString(page.start) + " twice in the pool");
            }
            if (!page.pooled) {
                wrong.add("page at 0x" + Long.toHexString(page.start) + " in the pool, not flagged pooled");
            }
            committed += page.commitEnd;
            counted[page.sliceCount]++;
        }
        if (committed != pooledCommitted) {
            wrong.add("pooledCommitted " + pooledCommitted + " B, the pool's pages hold " + committed + " B");
        }
        if (!java.util.Arrays.equals(counted, bySlices)) {
            wrong.add("pooledBySlices differs from the pool's pages");
        }
        return pooled;
    }

    /** @return the bytes the region's pages hold committed; each used slice checked to have its page */
    private static long regionChecked(Region region, Set<Page> seen, Set<Page> pooled, List<String> wrong)
            throws ReflectiveOperationException {
        long[] free = (long[]) Fields.read(region, Region.class, "freeSlices");
        int freeCount = (int) Fields.read(region, Region.class, "freeSliceCount");
        Page[] slices = region.sliceMap();
        long committed = 0;
        int counted = 0;
        for (int slice = 0; slice < Region.SLICES; slice++) {
            if (isSet(free, slice)) {
                counted++;
                continue;
            }
            Page page = slice < slices.length ? slices[slice] : null;
            if (page == null || page.region != region || slice < page.firstSlice
                    || slice >= page.firstSlice + page.sliceCount) {
                wrong.add("used slice " + slice + " of region 0x" + Long.toHexString(region.base) + " has no page over it");
            } else if (seen.add(page)) {
                committed += committedOf(page);
                if (page.pooled != pooled.contains(page)) {
                    wrong.add("page at 0x" + Long.toHexString(page.start) + " flagged pooled " + page.pooled
                            + ", in the pool " + pooled.contains(page));
                }
                if (page.commitEnd < 0 || page.commitEnd > page.spanBytes) {
                    wrong.add("page at 0x" + Long.toHexString(page.start) + " commitEnd " + page.commitEnd
                            + " outside its span of " + page.spanBytes + " B");
                }
                for (int k = page.firstSlice; k < page.firstSlice + page.sliceCount; k++) {
                    if (isSet(free, k)) {
                        wrong.add("page at 0x" + Long.toHexString(page.start) + " over free slice " + k);
                    }
                }
            }
        }
        if (counted != freeCount) {
            wrong.add("region 0x" + Long.toHexString(region.base) + " counts " + freeCount + " free slices, has " + counted);
        }
        return committed;
    }

    /** A page's committed bytes: up to its commit end, less its holes and the purger's holes it has not taken over. */
    private static long committedOf(Page page) {
        PurgedHoles pending = page.purgedHoles;
        return page.commitEnd - page.holeBytes - (pending != null ? pending.bytes : 0);
    }

    private static boolean isSet(long[] bits, int index) {
        return (bits[index >>> 6] & (1L << index)) != 0;
    }
}
