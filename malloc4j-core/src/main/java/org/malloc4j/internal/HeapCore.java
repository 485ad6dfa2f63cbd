package org.malloc4j.internal;

import java.lang.foreign.MemorySegment;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.malloc4j.HeapExhaustedError;
import org.malloc4j.HeapStats;
import org.malloc4j.LeakReport;
import org.malloc4j.MemoryMisuseException;

/**
 * One heap's allocator: routes the malloc family to thread heaps (small and medium blocks) or the
 * span allocator (large and huge blocks), and keeps the counters behind {@link HeapStats}.
 *
 * <p>The fast path of {@link #malloc} is a thread-local lookup, a size-class lookup and
 * {@link Page#allocate}; everything else is in named slow paths.
 */
public final class HeapCore implements Allocator {
    /** The current page of every class before the thread has one: it never has room. */
    static final Page EMPTY_PAGE = new Page(null, 0, 0, 0, 0);

    static {
        FirstHeapClasses.initializeAll();
        Page.linkRemoteCalls();
        Page.linkLayoutCalls();
        Page.linkVarHandleCalls();
        RegionMap.linkVarHandleCalls();
        ThreadHeap.linkVarHandleCalls();
        BlockRecord.linkVarHandleCalls();
        StripedCounter.linkVarHandleCalls();
        StripeLock.linkVarHandleCalls();
        // The JDK's bulk copy and fill of segments initialize a class of the JDK's at their first
        // use (SegmentBulkOperations): a realloc's move that first met a full Java heap left every
        // later move, and every fill of the process, failing with a NoClassDefFoundError.
        MemorySegment scratch = MemorySegment.ofArray(new byte[16]);
        MemorySegment.copy(scratch, 0, scratch, 8, 8);
        scratch.fill((byte) 0);
    }

    private static final long SWEEP_INTERVAL_NANOS = 50_000_000L;
    /**
     * How often the purger looks for ended threads while platform threads have heaps: the pages a
     * thread held when it ended go back within about this time plus the purge delay, even in a
     * process that allocates nothing more.
     */
    private static final long ENDED_THREAD_CHECK_NANOS = 1_000_000_000L;
    /**
     * How long in all {@link #trim} waits for threads it found changing their pages (most likely
     * waiting for the lock its scan takes), to return their pages' free memory then
     * ({@link SpanAllocator#scavengeHeldOff}): a busy thread is at it only briefly.
     */
    private static final long TRIM_OWNER_WAIT_NANOS = 10_000_000;
    /** The least alignment of every block, in bytes. */
    static final long MIN_ALIGNMENT = 16;
    static final int HEAP_CACHE_SIZE = 64;
    /**
     * Array entries from one slot of the heap cache to the next: 16 references of 4 bytes fill a
     * 64-byte cache line, so no two slots share one (see {@link #cacheSlot}).
     */
    private static final int CACHE_SLOT_SHIFT = 4;
    /** {@link #currentPages} entries from one slot to the next: {@link SizeClasses#COUNT} rounded up to a power of two. */
    private static final int CURRENT_SLOT_SHIFT = 6;
    /**
     * The {@code madvise} calls a scavenge makes before it leaves the rest to the next commit:
     * 14-170 µs each on this kind of machine, so at most a few tens of milliseconds a malloc.
     */
    private static final long SCAVENGE_MAX_CALLS = 256;
    /** How many freed huge blocks {@link #freedHuge} remembers: as many ranges as the span allocator names. */
    private static final int FREED_HUGE_HISTORY = 64;
    /** Entries of {@link #stripeHints}: a fixed table, so it does not grow with virtual threads. */
    private static final int STRIPE_HINTS = 256;
    /** Bits of a stripe hint that hold the stripe's index; the thread's malloc count is above them. */
    private static final int STRIPE_INDEX_BITS = 16;
    /** Where a stripe hint's thread id starts; between it and the index, the thread's mallocs on the stripes. */
    private static final int HINT_ID_SHIFT = 24;
    private static final long HINT_MALLOC = 1L << STRIPE_INDEX_BITS;
    private static final long HINT_MALLOCS = (1L << HINT_ID_SHIFT) - HINT_MALLOC;
    /**
     * A virtual thread's malloc on the stripes after which it asks for a heap of its own: one whose
     * owner ended, taken over with its pages ({@link ThreadHeap#takeOver}), or a new one while
     * there are fewer than stripes.
     */
    static final int HANDOVER_AFTER = 4;
    /**
     * A block that realloc grows past this size becomes a large block with room to grow in place.
     * From here on, rounding to whole 4 KiB OS pages wastes less (under 12.5 %) than the medium
     * size classes do (up to 20 %).
     */
    private static final long GROWS_AS_LARGE = 32 * 1024;
    /** {@link #reallocOwned}'s answer when a realloc is not its case: no block starts at 1. */
    private static final long NOT_OWNED = 1;
    /** Not a large block's number ({@link Page#largeBlocks}): frees whatever large block the page holds. */
    private static final long ANY_LARGE_BLOCK = -1;
    /** What {@link #resizeLargeInPlace} returns for a block it resized. */
    private static final long RESIZED_IN_PLACE = -2;
    /**
     * A spare page laid out for another class is not taken again within this many of its thread's
     * mallocs: two classes that take turns at the peak would otherwise pass one page back and
     * forth on every turn.
     */
    private static final long SPARE_BOUNCE = 4096;

    private final String name;
    final SpanAllocator spans;
    /**
     * Each platform thread's heap, held weakly: {@link #registry} holds it while this core lives. A
     * thread's strong value would reach its own key through this core, so a thread that used heaps
     * made and closed one after another (a pool's) would keep every one of them, pages and all.
     */
    private final ThreadLocal<WeakReference<ThreadHeap>> threadHeaps = new ThreadLocal<>();
    /**
     * Thread heaps by the low bits of their thread's id ({@link #cacheSlot}): a hit costs two loads
     * and a compare where {@link ThreadLocal#get} costs a hash probe and a weak-reference check.
     * Entries are written racily, which is safe because a thread only accepts an entry whose final
     * {@code thread} is itself, and ids are never reused, so a stale entry never matches.
     */
    private final ThreadHeap[] heapCache = new ThreadHeap[HEAP_CACHE_SIZE << CACHE_SLOT_SHIFT];
    /**
     * The current pages of the thread heaps, by their thread's slot ({@link #currentSlot}) and size
     * class: the malloc fast path reaches the class's current page in one load from the thread's
     * id, where a slot holding the heap's {@link ThreadHeap#current} array took two. A thread
     * accepts the page only if it owns it. A heap writes its entry whenever a class's current page
     * changes, the purger empties it when it takes the page from a waiting owner, and a thread that
     * takes over an ended thread's heap moves the heap's entries to its own slot. So a page a
     * thread owns, found in its slot, is its current page of the class; two threads sharing a slot
     * only overwrite each other's entries, and a malloc that finds none, or an ended thread's page,
     * writes its own again ({@link ThreadHeap#refreshCurrent}). Measured against the slot of arrays
     * ({@code malloc4j-bench/ab --rounds 5}, {@code ReplayBenchmark.malloc4jRaw}, three runs, median
     * time ratios): gcc's cc1 0.984, 0.944 and 0.964, perl 0.917, 1.005 and 0.968, python 0.973,
     * 0.971 and 1.004; a pair or batch on a few pages, whose tables stay in cache, tied (0.99-1.03).
     */
    private final Page[] currentPages = emptyCurrentPages();
    private final ThreadHeap[] stripes;
    /**
     * The stripe a virtual thread took last, by its id ({@link #hintSlot}): {@code id << 24 | mallocs
     * << 16 | index}, with the thread's mallocs on the stripes counted up to past {@link
     * #HANDOVER_AFTER}; the count lives and goes with the id, so another thread's never adds to it.
     * A hit saves asking for the processor (a downcall, about a tenth of a virtual thread's
     * malloc+free pair). Written racily: a torn or stale entry only sends a thread to another
     * stripe, under that stripe's lock, which is always right and only less local.
     */
    private final long[] stripeHints = new long[STRIPE_HINTS];
    /**
     * The heaps of the virtual threads that allocate the most ({@link VirtualThreadHeaps}): one per
     * stripe at most.
     */
    private final VirtualThreadHeaps virtualHeaps;
    /** Thread heaps (platform threads', and virtual threads' own) alive or not yet swept; guarded by the span lock. */
    private final List<ThreadHeap> registry = new ArrayList<>();
    /** {@link #registry} as published for {@link #liveBytes}, which reads it without the span lock. */
    private volatile ThreadHeap[] registered = new ThreadHeap[0];
    private volatile boolean closed;
    /** Whether the purger has a run queued for this heap. */
    final java.util.concurrent.atomic.AtomicBoolean purgeScheduled = new java.util.concurrent.atomic.AtomicBoolean();
    /** When the purger's next run for this heap is due ({@link System#nanoTime}); see {@link Purger}. */
    volatile long purgeWakeAt;
    /** Whether the purger is running for this heap now; see {@link Purger}. */
    volatile boolean purgeRunning;
    /** Whether a run was asked for while one ran, which may have looked already; see {@link Purger}. */
    volatile boolean purgeAskedWhileRunning;
    /** Set when a free by another thread may have emptied a page of a striped (virtual-thread) heap. */
    private volatile boolean stripesDirty;
    /**
     * Set when a thread freed a block into a page of another platform thread, or of one that
     * ended, since the purger last looked: the owner may never collect it
     * ({@link SpanAllocator#scavengeFreeInPages}), and an ended thread's page waits for the
     * purger's look ({@link SpanAllocator#collectAbandoned}).
     */
    private volatile boolean remoteFreesWaiting;
    /**
     * Whether free blocks the purger found in pages in use wait for a later look: for their owner
     * to be idle long enough, or to finish changing its pages; the purger's alone.
     */
    private boolean freeLookDue;
    /** Whether the purger's last look found an idle stripe's lock taken, so that its scavenge waits; the purger's alone. */
    private boolean stripeInUse;
    final long purgeDelayNanos;
    /** In sampled mode: the checked blocks' core, whose frees go to {@link #sampler}. */
    private HeapCore sampledCore;
    /**
     * In a sampled heap with a limit, set in the checked blocks' core: its quarantine, which gives
     * its blocks back for reuse before this core commits more ({@link #mayCommit}).
     */
    private Quarantine reuseFirst;
    private CheckedAllocator sampler;
    /**
     * In sampled mode, a thread's every (mask + 1)-th small malloc is handed to {@link #sampler};
     * otherwise -1, which no count after an increment matches.
     */
    private long sampleMask = -1;
    /**
     * Set in a checked heap's cores: their misuse reports name the calling frames, as the checked
     * blocks' reports do. A fast heap's reports walk no stack.
     */
    private boolean reportsCallSites;

    // Counters outside the thread heaps: frees by non-owners, large blocks, threads that ended.
    private final StripedCounter remoteFrees = new StripedCounter();
    private final StripedCounter remoteUsable = new StripedCounter();
    /** Blocks a realloc made and gave back unreturned (it lost a race for its block): in neither count. */
    private final StripedCounter unreturned = new StripedCounter();
    // Written under the span lock on large mallocs and frees, while every malloc and free reads
    // the fields the JVM lays out around these longs (closed, sampleMask, heapCache): padding on
    // both sides keeps those cache lines read-only. (Longs come first, in declaration order.)
    @SuppressWarnings("unused")
    private long pad0, pad1, pad2, pad3, pad4, pad5, pad6, pad7;
    private long largeMallocs;
    private long largeFrees;
    private long largeUsable;
    private long largeRequested;
    private long endedMallocs;
    private long endedFrees;
    private long endedUsable;
    private long lastSweepNanos;
    /**
     * The usable and requested bytes of the small and medium blocks live when the heap closed,
     * summed as it unmapped their pages: what {@link #stats} reports from then on.
     */
    private long[] leakedInPages;
    /** The live bytes {@link #liveRose} last saw grow. */
    private long livePeak;
    /** Bytes committed at the peak since {@link #liveRose} last summed the live bytes. */
    private long committedSinceLiveSum;
    /** Bytes of pages retired and large blocks freed since {@link #released} last summed the live bytes. */
    private long releasedSinceLiveSum;
    @SuppressWarnings("unused")
    private long pad8, pad9, pad10, pad11, pad12, pad13, pad14, pad15;

    /**
     * The start and usable size of each of the huge blocks this heap freed last, in a ring of pairs
     * guarded by itself. A freed block's mapping runs past the block (rounded up to a region, or
     * twice its size for a block realloc grew), so a stale address in it is reported inside the
     * block or past its end by this, as while the block was live.
     */
    private final long[] freedHuge = new long[2 * FREED_HUGE_HISTORY];
    /** The slot of {@link #freedHuge} the next freed huge block takes; guarded by {@code freedHuge}. */
    private int freedHugeNext;

    private HeapCore(HeapConfig config, CommitLimit limit) {
        this.name = config.name();
        this.purgeDelayNanos = config.purgeDelayNanos();
        this.spans = new SpanAllocator(this, limit, purgeDelayNanos);
        int stripeCount = Math.min(1 << STRIPE_INDEX_BITS,
                Integer.highestOneBit(Math.max(4, Runtime.getRuntime().availableProcessors() * 2)));
        this.stripes = new ThreadHeap[stripeCount];
        for (int i = 0; i < stripeCount; i++) {
            stripes[i] = new ThreadHeap(this, null);
        }
        this.virtualHeaps = new VirtualThreadHeaps(stripeCount);
    }

    /**
     * @throws UnsupportedOperationException if this platform is not supported
     */
    public static HeapCore create(HeapConfig config) {
        // In sampled mode a second core, for the checked blocks, shares the limit (CheckedAllocator).
        return create(config, new CommitLimit(config.maxCommittedBytes(), config.mode() == org.malloc4j.CheckMode.SAMPLED));
    }

    /**
     * A core that shares {@code limit} with the other cores of its heap.
     *
     * @throws UnsupportedOperationException if this platform is not supported
     */
    static HeapCore create(HeapConfig config, CommitLimit limit) {
        try {
            Class.forName(Os.class.getName(), true, HeapCore.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new AssertionError(e);
        } catch (ExceptionInInitializerError e) {
            if (e.getCause() instanceof UnsupportedOperationException unsupported) {
                throw unsupported;
            }
            throw e;
        }
        return new HeapCore(config, limit);
    }

    /**
     * The heap ran into its limit: what it holds committed without using it goes back first, the
     * calling thread's empty pages and the free memory inside its other pages included (which the
     * purger cannot take), so that fewer requests report exhaustion (fragmentation and other live
     * threads' pages can still refuse one); in sampled mode, the checked blocks' core too.
     *
     * @return whether anything went back
     */
    private boolean makeRoom() {
        boolean freed = giveBackUnused();
        return sampler != null ? sampler.makeRoomForFast() | freed : freed;
    }

    /**
     * Gives back to the OS, now, what this core holds committed without using it: what
     * {@link #trim} gives back, the free memory inside the calling thread's pages (the striped
     * heaps' for a virtual thread) included.
     *
     * @return whether this core's committed bytes fell
     */
    boolean giveBackUnused() {
        long before = spans.committed.get();
        trim();
        return spans.committed.get() < before;
    }

    /**
     * Makes this core, the checked blocks' core of a sampled heap with a limit, commit nothing
     * while {@code quarantine} holds blocks. Memory this core commits is memory the fast blocks
     * cannot use, and a quarantined block that leaves shares its OS pages with live checked blocks,
     * so its memory cannot go back: were new checked blocks laid out in fresh memory beside the
     * quarantined ones, the heap would lose that much of its limit for good.
     */
    void reuseBeforeCommitting(Quarantine quarantine) {
        this.reuseFirst = quarantine;
    }

    /** @return false while this core must reuse quarantined blocks before it commits more memory */
    boolean mayCommit() {
        Quarantine quarantine = reuseFirst;
        return quarantine == null || quarantine.isEmpty();
    }

    /** @return the committed-bytes limit this core shares with the other cores of its heap */
    CommitLimit commitLimit() {
        return spans.limit();
    }

    // ---- the malloc family ----

    @Override
    public long malloc(long byteSize, boolean throwing) {
        Page page = fastPage(byteSize);
        ThreadHeap heap;
        if (page != null) {
            long address = allocateFast(page.owner, page, byteSize, throwing);
            if (address != 0) {
                return address;
            }
        } else if ((heap = fastHeap(byteSize)) != null) {
            int sizeClass = SizeClasses.classOf(byteSize);
            long address = allocateFast(heap, heap.current[sizeClass], byteSize, throwing);
            if (address != 0) {
                heap.refreshCurrent(sizeClass);
                return address;
            }
        } else if (sampleMask == -1 && mayTakeFastPath(byteSize)) {
            // A virtual thread's, straight to its stripe: through the slow path, which the JIT
            // compiles apart from its caller, a pair took 27.4-33.6 ns against 26.1-26.8
            // (LongVirtualThreadsBenchmark.malloc4jVirtual, three alternated runs).
            long address = allocateOnStripe(Thread.currentThread(), SizeClasses.classOf(byteSize), byteSize);
            if (address != 0) {
                return address & Page.ADDRESS_MASK;
            }
        }
        if (byteSize >= 0 && !closed && sampleSlow()) {
            // Drawn before the fast block is made: a large or huge one would otherwise be mapped
            // and committed only to be given back for its checked copy. A negative size or a
            // closed heap is left to the slow path, which says so.
            long checked = sampler.sampleFresh(byteSize);
            if (checked != 0) {
                return checked;
            }
        }
        return mallocSlow(byteSize, MIN_ALIGNMENT, throwing) & Page.ADDRESS_MASK;
    }

    /**
     * Whether to sample a malloc that took the slow path (a large block, a virtual thread's, a
     * page refill): with the same probability as the fast path's count gives, but at random, since
     * these have no per-thread count to follow.
     */
    private boolean sampleSlow() {
        return sampleMask != -1 && (ThreadLocalRandom.current().nextLong() & sampleMask) == 0;
    }

    /**
     * {@link #malloc} and {@link #segment} in one: the fast path knows the block's page, and so its
     * region, without looking the address up again. Every path that returns a block of this heap's
     * own regions makes its segment at one place, so that a caller that only uses the segment
     * briefly lets the JIT elide it: two allocation sites merging would make it a real object.
     */
    @Override
    public MemorySegment mallocSegment(long byteSize) {
        long address = 0;
        Region region = null;
        Page page = fastPage(byteSize);
        if (page != null) {
            address = allocateFast(page.owner, page, byteSize, true);
            region = page.region;
        }
        if (address == 0) {
            address = malloc(byteSize, true);
            region = RegionMap.lookup(address);
            if (region == null) {
                // Another thread closed the heap, and unmapped the block, since malloc returned it.
                // A throw, not a segment made elsewhere: a second source of the returned segment
                // would stop the JIT from eliding the one made below.
                throw unmapped("malloc", address);
            }
        }
        long offset = address - region.base;
        // A sampled block lies in the sampler's memory, outside the page's region.
        if (offset < 0 || offset >= region.byteSize || region.core != this) {
            return newSegment(address, byteSize);
        }
        try {
            return region.memory.asSlice(offset, byteSize);
        } catch (OutOfMemoryError e) {
            freeUnreturned(address);
            throw e;
        }
    }

    @Override
    public MemorySegment newSegment(long address, long byteSize) {
        try {
            return segment(address, byteSize);
        } catch (OutOfMemoryError e) {
            if (sampledBlocks(RegionMap.lookup(address))) {
                // Not by a checked free, whose record of its stack would find no room either.
                sampler.dropUnreturned(address);
            } else {
                freeUnreturned(address);
            }
            throw e;
        }
    }

    /** @return whether {@code region} (or null) holds the sampled blocks of this heap, its checked core's */
    private boolean sampledBlocks(Region region) {
        return region != null && region.core != this && region.core == sampledCore;
    }

    /** @return whether a request of {@code byteSize} is a block of a size class, for an open heap */
    private boolean mayTakeFastPath(long byteSize) {
        return byteSize >= 0 && byteSize <= SizeClasses.MEDIUM_MAX && !closed;
    }

    /**
     * @return the calling thread's current page of the class of {@code byteSize} if the table of
     *     current pages has it ({@link #currentPages}) and the request may take the fast path, else null
     */
    private Page fastPage(long byteSize) {
        if (mayTakeFastPath(byteSize)) {
            Thread thread = Thread.currentThread();
            Page page = currentPages[currentSlot(thread) | SizeClasses.classOf(byteSize)];
            // EMPTY_PAGE has no owner thread: a class with no page yet goes the long way.
            return page.ownerThread == thread ? page : null;
        }
        return null;
    }

    /** @return the calling platform thread's heap if a request of {@code byteSize} may take the fast path, else null */
    private ThreadHeap fastHeap(long byteSize) {
        if (mayTakeFastPath(byteSize)) {
            // A virtual thread has no heap of its own, so it never hits the cache: only a miss
            // asks what kind of thread this is.
            Thread thread = Thread.currentThread();
            ThreadHeap heap = cachedHeap(thread);
            if (heap != null) {
                return heap;
            }
            return thread.isVirtual() ? cacheVirtualHeap(thread) : cacheThreadHeap(thread);
        }
        return null;
    }

    /**
     * Takes a block from {@code page}, the class's current page, with the counters and sampling
     * that every malloc gets.
     *
     * @return the block's address, or 0 if the page has no room
     */
    private long allocateFast(ThreadHeap heap, Page page, long byteSize, boolean throwing) {
        long address = page.allocate(byteSize, this);
        if (address == 0) {
            return 0;
        }
        long count = ++heap.mallocCount;
        if ((count & sampleMask) == 0) {
            return sampler.sampleInstead(address & Page.ADDRESS_MASK, byteSize, throwing);
        }
        return address & Page.ADDRESS_MASK;
    }

    /**
     * From the class's current page as {@link #malloc} takes its blocks, zeroing only memory not
     * known to be zeros. Not sampled here: a sampled heap's checked allocator, in front, draws its
     * callocs itself.
     */
    @Override
    public long calloc(long byteSize, boolean throwing) {
        Page page = fastPage(byteSize);
        ThreadHeap heap;
        if (page == null && (heap = fastHeap(byteSize)) != null) {
            // As malloc's second way: the class's current page, published again for the next call.
            int sizeClass = SizeClasses.classOf(byteSize);
            heap.refreshCurrent(sizeClass);
            page = heap.current[sizeClass];
        }
        long fast = page != null ? page.allocate(byteSize, this) : 0;
        if (fast != 0) {
            page.owner.mallocCount++;
            long address = fast & Page.ADDRESS_MASK;
            if ((fast & Page.CLEAN) == 0) {
                zeroNew(address, byteSize, page.region);
            }
            return address;
        }
        long address = mallocSlow(byteSize, MIN_ALIGNMENT, throwing);
        if (address != 0 && (address & Page.CLEAN) == 0) {
            if (byteSize > SpanAllocator.LARGE_MAX) {
                // A huge block in a kept mapping: the OS zeroes it page by page as it is touched,
                // where a fill would make every page of a sparsely used block resident.
                spans.zeroHuge(address & Page.ADDRESS_MASK, byteSize);
            } else {
                zeroNew(address, byteSize, null);
            }
        }
        return address & Page.ADDRESS_MASK;
    }

    /**
     * Zeroes the block a calloc just took, through a segment of {@code region} (null: looked up).
     * Where the Java heap has no room for that segment, the block is freed, as never handed out,
     * and the error goes on: the program never saw the block, and could not free it.
     */
    private void zeroNew(long address, long byteSize, Region region) {
        try {
            zero(region != null ? region.memory.asSlice(address - region.base, byteSize) : segment(address, byteSize));
        } catch (OutOfMemoryError e) {
            freeUnreturned(address);
            throw e;
        }
    }

    /**
     * Zeroes a calloc's block. Its region's arena closed under the fill only if another thread
     * closed this heap meanwhile (a misuse): that is what to say, rather than the arena's bare
     * "Already closed".
     */
    private void zero(MemorySegment block) {
        boolean interrupted = Os.interruptStatus();
        try {
            Os.zero(block);
        } catch (IllegalStateException e) {
            Os.restoreInterruptStatus(interrupted);
            if (!closed) {
                throw e;
            }
            IllegalStateException closedNow = closedError();
            closedNow.initCause(e);
            throw closedNow;
        }
    }

    @Override
    public long mallocAligned(long byteSize, long byteAlignment, boolean throwing) {
        if (byteAlignment <= 0 || (byteAlignment & (byteAlignment - 1)) != 0) {
            throw new IllegalArgumentException("byteAlignment must be a positive power of two: " + byteAlignment);
        }
        if (byteAlignment <= MIN_ALIGNMENT) {
            return malloc(byteSize, throwing);
        }
        return mallocSlow(byteSize, byteAlignment, throwing) & Page.ADDRESS_MASK;
    }

    /** @return the block's address with {@link Page#CLEAN} if known zero, or 0 if exhausted */
    private long mallocSlow(long byteSize, long byteAlignment, boolean throwing) {
        return mallocSlow(byteSize, byteAlignment, 0, throwing);
    }

    /** @param roomBytes address space to leave for a large block to grow into in place */
    private long mallocSlow(long byteSize, long byteAlignment, long roomBytes, boolean throwing) {
        checkSize(byteSize, "byteSize");
        checkOpen();
        long address = allocate(byteSize, byteAlignment, roomBytes);
        if (address == 0 && spans.limit().isLimited() && makeRoom()) {
            address = allocate(byteSize, byteAlignment, roomBytes);
        }
        if (address == 0) {
            // Refused because another thread closed the heap meanwhile (a misuse): say that.
            checkOpen();
            if (throwing) {
                throw exhausted(byteSize, byteAlignment);
            }
        }
        return address;
    }

    private long allocate(long byteSize, long byteAlignment, long roomBytes) {
        if (byteSize <= SizeClasses.MEDIUM_MAX && byteAlignment <= Region.SLICE_SIZE && roomBytes == 0) {
            int sizeClass = byteAlignment <= MIN_ALIGNMENT
                    ? SizeClasses.classOf(byteSize)
                    : SizeClasses.alignedClassOf(byteSize, byteAlignment);
            if (sizeClass >= 0) {
                return allocateSmall(sizeClass, byteSize);
            }
        }
        if (byteSize > SpanAllocator.MAX_REQUEST) {
            return 0;
        }
        spans.lockPolling();
        try {
            long address = spans.allocateLarge(byteSize, byteAlignment, roomBytes);
            if (address != 0) {
                largeMallocs++;
                largeUsable += largeUsableSize(byteSize);
                largeRequested += byteSize;
            }
            return address;
        } finally {
            spans.lock.unlock();
        }
    }

    private long allocateSmall(int sizeClass, long byteSize) {
        Thread thread = Thread.currentThread();
        ThreadHeap heap = heapOf(thread);
        return heap != null ? allocateFrom(heap, sizeClass, byteSize) : allocateOnStripe(thread, sizeClass, byteSize);
    }

    /**
     * A virtual thread's malloc: from its stripe, under the stripe's lock. A sample of them looks at
     * whether the thread allocates enough to earn a heap of its own ({@link VirtualThreadHeaps}).
     */
    private long allocateOnStripe(Thread thread, int sizeClass, long byteSize) {
        ThreadHeap stripe = lockStripe(thread);
        long address;
        boolean look;
        try {
            address = allocateFrom(stripe, sizeClass, byteSize);
            look = (stripe.mallocCount & VirtualThreadHeaps.SAMPLE_MASK) == 0;
        } finally {
            stripe.lock.unlock();
        }
        try {
            if (look && virtualHeaps.look(thread)) {
                giveVirtualHeap(thread, false);
            } else if (countStripeMalloc(thread) == HANDOVER_AFTER) {
                giveVirtualHeap(thread, true);
            }
        } catch (OutOfMemoryError e) {
            // No room on the Java heap for a heap of its own: the thread goes on with the stripes,
            // and the malloc, done already, returns its block.
        }
        return address;
    }

    /**
     * Takes the lock of the stripe a virtual thread allocates from: its processor's, so that the
     * virtual threads a carrier runs one after another find that stripe's lock and pages in the
     * processor's cache (by thread id instead, consecutive virtual threads alternate carriers and
     * move those cache lines between processors on every task). The thread keeps its stripe while
     * it finds the lock free; a taken lock is the sign that another carrier uses that stripe, so it
     * asks for its processor again.
     *
     * @return the stripe, locked
     */
    private ThreadHeap lockStripe(Thread thread) {
        long id = thread.threadId();
        int slot = hintSlot(id);
        long hint = stripeHints[slot];
        boolean hinted = hint >>> HINT_ID_SHIFT == id;
        if (hinted) {
            ThreadHeap stripe = stripes[(int) hint & (stripes.length - 1)];
            if (stripe.lock.tryLock()) {
                return stripe;
            }
        }
        int processor = Os.currentProcessor();
        int index = (int) (processor >= 0 ? processor : id) & (stripes.length - 1);
        stripeHints[slot] = id << HINT_ID_SHIFT | (hinted ? hint & HINT_MALLOCS : 0) | index;
        ThreadHeap stripe = stripes[index];
        stripe.lock.lock();
        return stripe;
    }

    /**
     * @return the slot of {@link #stripeHints} for the thread of id {@code id}: consecutive ids,
     *     which a virtual thread per task gets, fall at least 8 slots apart, so the carriers that
     *     run them write different cache lines (by the id's low bits, both wrote one line at each of
     *     a task's first mallocs)
     */
    static int hintSlot(long id) {
        return (int) (id * 0x9E3779B97F4A7C15L >>> (Long.SIZE - Integer.numberOfTrailingZeros(STRIPE_HINTS)));
    }

    /**
     * @return how many mallocs {@code thread} has made on the stripes, this one included, up to
     *     past {@link #HANDOVER_AFTER}; 0 if another thread took its hint meanwhile
     */
    private int countStripeMalloc(Thread thread) {
        long id = thread.threadId();
        int slot = hintSlot(id);
        long hint = stripeHints[slot];
        if (hint >>> HINT_ID_SHIFT != id) {
            return 0;
        }
        int count = (int) ((hint & HINT_MALLOCS) >>> STRIPE_INDEX_BITS) + 1;
        if (count <= HANDOVER_AFTER + 1) {
            stripeHints[slot] = hint + HINT_MALLOC;
        }
        return count;
    }

    private long allocateFrom(ThreadHeap heap, int sizeClass, long byteSize) {
        Page page = heap.current[sizeClass];
        long address = page.allocate(byteSize, this);
        if (address == 0) {
            page = refill(heap, sizeClass);
            if (page == null || (address = page.allocateOrCommit(byteSize, this)) == 0) {
                return 0;
            }
        }
        heap.mallocCount++;
        return address;
    }

    /**
     * The class's current page is exhausted: find or make one with room. A scavenge that stopped
     * at its cap goes on here too, so a thread that allocates without committing (from free blocks
     * alone) still finishes it.
     */
    private Page refill(ThreadHeap heap, int sizeClass) {
        if (heap.thread == null && !purgeScheduled.get()) {
            // The purger returns a stripe's free memory once virtual threads leave it alone: it
            // must be looking then.
            Purger.schedule(this, purgeDelayNanos);
        }
        heap.beginPageWork();
        try {
            if (heap.scavengeUnfinished) {
                scavenge(heap, null, SCAVENGE_MAX_CALLS);
            }
            Page page = collectedPageWithRoom(heap, sizeClass);
            return page != null ? page : acquirePage(heap, sizeClass);
        } finally {
            heap.endPageWork();
        }
    }

    /**
     * A page of {@code sizeClass} with room among {@code heap}'s own, once the frees other threads
     * made in them are collected: the current page if it got some back, or the first of the class's
     * list, made current. The current page's own room is the caller's to have tried.
     *
     * @return the page, or null if none of the heap's pages of the class has room
     */
    private static Page collectedPageWithRoom(ThreadHeap heap, int sizeClass) {
        Page current = heap.current[sizeClass];
        if (current != EMPTY_PAGE && current.collectRemote() > 0) {
            heap.countRefill(sizeClass);
            return current;
        }
        return heap.findAvailable(sizeClass);
    }

    private Page acquirePage(ThreadHeap heap, int sizeClass) {
        // Before a page is taken: a full Java heap then fails the malloc with no page taken and
        // left in no list.
        heap.ensureLists(sizeClass);
        Page kept = takeKept(heap, sizeClass);
        if (kept != null) {
            heap.addAvailable(kept);
            return kept;
        }
        if (spans.poolIsClean() && spans.passesGuardedPeak(Os.OS_PAGE_SIZE)) {
            Page spare = takeSpare(heap, sizeClass);
            if (spare != null) {
                heap.addAvailable(spare);
                return spare;
            }
        }
        spans.lockPolling();
        try {
            sweepEndedThreads(false);
            if (SizeClasses.isMedium(sizeClass)) {
                // Slices in use by small pages kept empty cannot make room for a medium page.
                giveBackKept(heap, ALL_KEPT);
            }
            Page page;
            while ((page = spans.takeAbandoned(sizeClass)) != null) {
                page.collectRemote();
                if (heap.thread == null) {
                    // Before the stripe's first claim: see Page.claimFromOther.
                    page.stripeClaimsAtomic = true;
                }
                if (page.hasAvailable() || spans.restoreHoles(page)) {
                    heap.addAvailable(page);
                    return page;
                }
                heap.addFull(page);
            }
            page = spans.newPage(sizeClass);
            if (page != null) {
                heap.addAvailable(page);
            }
            return page;
        } finally {
            spans.lock.unlock();
        }
    }

    /**
     * A page {@code heap} keeps ({@link #keep}) for a page of {@code sizeClass}: one of the class,
     * in use again; else, when the pool has no small page to give, one of another small class, laid
     * out again, as a pool's page would be: a new page would commit fresh memory while the kept
     * pages' sat idle (gcc's cc1, replayed: 86.5 % utilization instead of 90.5 %).
     *
     * @return the page, in use, not yet in the heap's lists; or null
     */
    private Page takeKept(ThreadHeap heap, int sizeClass) {
        if (!heap.keepsPages() || SizeClasses.isMedium(sizeClass)) {
            return null;
        }
        Page page = heap.kept().take(sizeClass);
        if (page != null) {
            spans.kept(-page.commitEnd);
            page.reviveLayout();
            return page;
        }
        if (spans.poolHasSmallPage() || (page = heap.kept().takeAny()) == null) {
            return null;
        }
        spans.kept(-page.commitEnd);
        spans.relayout(page, sizeClass, false);
        return page;
    }

    /**
     * Before a new page grows the heap's committed memory to a new peak (and the pool has none to
     * give): takes the empty page another class of the same page size keeps as its spare and lays
     * it out for {@code sizeClass}, so its committed memory is reused (reuse before growth). The
     * owner's own pages: no lock.
     *
     * @return the page, or null if no class keeps a spare with committed memory
     */
    private Page takeSpare(ThreadHeap heap, int sizeClass) {
        boolean medium = SizeClasses.isMedium(sizeClass);
        Page best = takeSpare(heap, sizeClass, medium ? SizeClasses.FIRST_MEDIUM : 0,
                medium ? SizeClasses.COUNT : SizeClasses.FIRST_MEDIUM, 1, true);
        if (best != null) {
            best.spareTakenAt = heap.mallocCount;
        }
        return best;
    }

    /**
     * @param from the first class to look at
     * @param to the class past the last to look at
     * @param least the fewest bytes the page must hold committed
     * @param bounce whether a page taken so less than {@link #SPARE_BOUNCE} mallocs ago is left
     * @return the empty current page of another class than {@code sizeClass} in {@code [from, to)}
     *     with the most memory committed, laid out for {@code sizeClass} and out of the heap's
     *     lists; or null if none of them keeps such a page
     */
    private Page takeSpare(ThreadHeap heap, int sizeClass, int from, int to, long least, boolean bounce) {
        Page best = null;
        for (int c = from; c < to; c++) {
            Page page = heap.current[c];
            if (c != sizeClass && page != EMPTY_PAGE && page.used == 0 && !page.inFullList
                    && !page.hasRemoteFrees() && page.commitEnd >= least && page.holeCount == 0
                    && (!bounce || page.spareTakenAt == 0 || heap.mallocCount - page.spareTakenAt > SPARE_BOUNCE)
                    && (best == null || page.commitEnd > best.commitEnd)) {
                best = page;
            }
        }
        if (best == null) {
            return null;
        }
        heap.detach(best);
        spans.relayout(best, sizeClass, false);
        return best;
    }

    /**
     * {@link ThreadHeap#switchToCommittedRoom}: the commit of {@code page}'s bump pointer up to
     * {@code end}, in a page of a medium class, would grow the footprint past the peak of a loop the
     * guard no longer holds to it ({@link SpanAllocator#reusesIdleForCommit}). A retired medium page
     * with that much memory committed (and a block's worth), its own class's first and then the most
     * committed, or else another medium class's empty current page of the thread
     * ({@link #takeSpareWithRoom}), becomes the class's current page instead; the page left keeps
     * its room past the bump pointer for when no committed memory waits. By the page's owner.
     *
     * @return whether another page became current
     */
    boolean takeIdleForCommit(ThreadHeap heap, Page page, long end) {
        long bytes = Math.min(page.spanBytes, SpanAllocator.roundUp(end, Os.OS_PAGE_SIZE)) - page.commitEnd;
        if (bytes <= 0 || !spans.reusesIdleForCommit(bytes)) {
            return false;
        }
        heap.beginPageWork();
        try {
            Page idle = spans.takeIdlePage(page.sizeClass, bytes);
            if (idle == null) {
                idle = takeSpareWithRoom(heap, page.sizeClass, bytes);
            }
            if (idle == null) {
                return false;
            }
            heap.addAvailable(idle);
            return true;
        } finally {
            heap.endPageWork();
        }
    }

    /**
     * For {@link #takeIdleForCommit}: the empty current page (a spare) of another medium class with
     * the most memory committed, at least {@code bytes} and a block of {@code sizeClass}, laid out
     * for {@code sizeClass}; as {@link #takeSpare}, but whatever the pool holds, and with no wait of
     * {@link #SPARE_BOUNCE} mallocs: held to it (and setting it), gcc's cc1 replayed on one heap came
     * to 6.18 MB by its 8th round instead of 5.85 (in a build that took such pages for small classes
     * too, and within the tolerance over the peak). Without spares at all, 5.93 MB instead of 5.82.
     * The owner's own pages: the lock only for the layout.
     *
     * @return the page, not yet in the heap's lists; or null if no medium class keeps such a spare
     */
    private Page takeSpareWithRoom(ThreadHeap heap, int sizeClass, long bytes) {
        long least = Math.max(bytes, SpanAllocator.roundUp(SizeClasses.blockSize(sizeClass), Os.OS_PAGE_SIZE));
        return takeSpare(heap, sizeClass, SizeClasses.FIRST_MEDIUM, SizeClasses.COUNT, least, false);
    }

    /** Called by a page's owner when its bump pointer reaches uncommitted memory. */
    boolean commitPage(Page page, long end) {
        return spans.commitTo(page, end);
    }

    /**
     * A commit of {@code bytes} (for {@code page}, null for a huge block) is about to set a new
     * peak footprint: the memory the heap holds without using it goes back first: retired pages,
     * then, when enough has gathered since the last time, the calling thread's free memory inside
     * its pages ({@link #scavenge}). Called on every path that commits: a page's bump pointer, holes
     * coming back, a block changing class in place, large blocks; but not once the heap goes round a
     * loop at its peak ({@link SpanAllocator#guardsPeak}).
     */
    void beforePeak(long bytes, Page page) {
        spans.purgePoolForPeak(bytes);
        ThreadHeap heap = committingHeap(page);
        if (heap != null && spans.passesGuardedPeak(bytes)
                && freeInPages(heap) >= heap.scavengeResidual + spans.scavengeWorth()) {
            spans.scavengedAtPeak(scavenge(heap, page, SCAVENGE_MAX_CALLS));
        }
    }

    /**
     * A commit below the peak: if the committing thread's last scavenge at the peak stopped at its
     * cap, goes on with it, so the free memory it had begun to return goes back over the next
     * commits rather than all in one malloc.
     */
    void continueScavenge(Page page) {
        // Without making a heap for a thread that has none: it has no scavenge to go on with.
        ThreadHeap heap = ownerOr(page, existingHeap(Thread.currentThread()));
        if (heap != null && heap.scavengeUnfinished) {
            scavenge(heap, page, SCAVENGE_MAX_CALLS);
        }
    }

    /**
     * @return the page's owner, read once (another thread may detach the page between two reads),
     *     or {@code fallback} if the page is null or has none
     */
    private static ThreadHeap ownerOr(Page page, ThreadHeap fallback) {
        ThreadHeap owner = page != null ? page.owner : null;
        return owner != null ? owner : fallback;
    }

    /**
     * @return the thread heap a commit for {@code page} is for: a page of blocks commits for its
     *     owner (a stripe, for a virtual thread's); a large block (whose span is not laid out as one
     *     yet when it first commits) and a huge block for the calling thread, or null if that is a
     *     virtual thread without a heap of its own
     */
    private ThreadHeap committingHeap(Page page) {
        ThreadHeap owner = ownerOr(page, null);
        return owner != null ? owner : heapOf(Thread.currentThread());
    }

    /**
     * Brings holes of {@code page} (of {@code heap}, by its owner) back into use: the page ran out
     * of room.
     */
    boolean restoreHoles(ThreadHeap heap, Page page) {
        return page.holeCount > 0 && spans.restoreHoles(page);
    }

    /**
     * Returns to the OS what {@code heap}'s pages with room (all but {@code keep}) commit without
     * using: free OS pages between their live blocks and committed tails past their bump pointers.
     * By the heap's owner; the blocks whose memory went become holes until the page runs out of room.
     *
     * <p>It stops after {@code maxCalls} {@code madvise} calls, and the next commits go on with the
     * rest ({@link #continueScavenge}): a malloc that returned all a thread's free memory at once
     * made 25,942 calls and took 1.1-1.5 s (memory-return's fragmented peak). Stopping at a byte
     * budget instead (what the commit needed, or 1/32 of the committed bytes), with no going on,
     * let gcc's cc1 trace's peak grow: its utilization fell from 90.6 to 74.0 %.
     *
     * @param maxCalls the {@code madvise} calls after which to stop
     * @return the bytes returned
     */
    private long scavenge(ThreadHeap heap, Page keep, long maxCalls) {
        spans.lockPolling();
        try {
            long returned = 0;
            long callsBefore = spans.madviseCalls;
            boolean stopped = false;
            for (PageList list : heap.available) {
                for (Page page = list == null ? null : list.head; page != null && !stopped; page = page.next) {
                    if (page != keep) {
                        returned += spans.scavenge(page);
                        stopped = spans.madviseCalls - callsBefore >= maxCalls;
                    }
                }
            }
            // Stopped early, the pages not reached still hold what is worth a scavenge: the next
            // commits go on with them.
            heap.scavengeResidual = freeInPages(heap) - (stopped ? spans.scavengeWorth() : 0);
            heap.scavengeUnfinished = stopped;
            return returned;
        } finally {
            spans.lock.unlock();
        }
    }

    /**
     * Whether the live bytes grew by more than an eighth since this last said so: the sign that a
     * commit at the footprint's peak comes with new data, not with a loop going round at the peak
     * ({@link SpanAllocator#guardsPeak}). The heap's live bytes, every thread's blocks and the large
     * ones ({@link #liveBytes}), plus the bytes being committed, for the block they are for. A block
     * counts in the others only once it has its memory, so a program whose live data is one huge
     * buffer at a time showed no growth when its buffers grew: a loop of 80 and 100 MiB buffers after
     * a loop of 20 and 36 MiB ones kept the first loop's mappings committed under its own, a 236 MiB
     * peak instead of 180 ({@code PurgeTest}). Counted from the committing thread's view alone, the
     * same loops showed no growth while another thread held 128 MiB of blocks. Read and written
     * racily: a lost update only moves when the guard takes up again.
     *
     * @param bytes the bytes the commit adds
     */
    boolean liveRose(long bytes) {
        long peak = livePeak;
        // The sum walks every thread heap: at most once per 1/32 of the live peak committed, so a
        // heap growing one OS page at a time with thousands of threads does not walk them all per
        // page (with 4,000 threads, growing to 512 MiB took 7 to 70 times as long as with one:
        // memory-return --only threads). A rise shows up that much later, well within the eighth
        // it must exceed.
        long since = committedSinceLiveSum + bytes;
        if (peak > 0 && since < peak >> 5) {
            committedSinceLiveSum = since;
            return false;
        }
        committedSinceLiveSum = 0;
        long live = liveBytes() + bytes;
        if (live > peak + (peak >> 3)) {
            livePeak = live;
            return true;
        }
        return false;
    }

    /**
     * @return the usable bytes of the heap's live blocks, which {@link #stats} sums from the block
     *     tables, from the heaps' counts instead and without the span lock or the stripes' locks:
     *     read racily, a thread ending or a free by another thread meanwhile may count a block twice
     *     or not at all
     */
    long liveBytes() {
        long live = remoteUsable.sum() + largeUsable + endedUsable;
        for (ThreadHeap heap : registered) {
            live += heap.liveUsable();
        }
        for (ThreadHeap stripe : stripes) {
            live += stripe.liveUsable();
        }
        return live;
    }

    /**
     * Takes the live bytes now as their peak when they are above it: the peak guard starts to
     * tolerate a footprint over its peak ({@link SpanAllocator#guardsPeak}), and only growth past
     * the live bytes of that moment ends it. {@link #liveRose} sums them only now and then, so the
     * peak it last saw may lie well below them: random2-bal's lay 1/8 under its live bytes at their
     * most, so the first commits past the footprint's peak saw a rise and ended the tolerance.
     */
    void takeLiveBytesAsPeak() {
        long live = liveBytes();
        if (live > livePeak) {
            livePeak = live;
        }
        committedSinceLiveSum = 0;
    }

    /**
     * Under the span lock, after a page of blocks retired or a large block was freed ({@code bytes}
     * of it): tells the peak guard when the live bytes fall under an eighth of their peak
     * ({@link SpanAllocator#noteEmptied}), so a round that then climbs back to the footprint's peak
     * is known for a repeat. Off the fast path, and cheap: nothing while the committed bytes in use
     * (which hold every live byte) are half the live peak or more, as at work near the peak; under
     * an eighth of it, no sum is needed; in between, the live bytes are summed at most once per
     * 1/32 of the live peak released, as {@link #liveRose} sums them at most once per 1/32
     * committed. Replayed on one heap, a round's last retiring pages leave committed in use 1.9 MB
     * of random-bal's 17.6 MB (footprint at its peak), 1.3 MB of gcc's cc1's 5.2, 2.0 of
     * python3-json-regex's 8.8: in between, where the sum decides.
     */
    void released(long bytes) {
        long peak = livePeak;
        if (peak == 0 || spans.isLow()) {
            return;
        }
        long inUse = spans.committedInUse();
        if (inUse >= peak >> 1) {
            return;
        }
        if (inUse < peak >> 3) {
            spans.noteEmptied();
            return;
        }
        long since = releasedSinceLiveSum + bytes;
        if (since < peak >> 5) {
            releasedSinceLiveSum = since;
            return;
        }
        releasedSinceLiveSum = 0;
        if (liveBytes() < peak >> 3) {
            spans.noteEmptied();
        }
    }

    /** The heap went idle: the next growth of its live bytes is new again ({@link #liveRose}). */
    void forgetLivePeak() {
        livePeak = 0;
    }

    /**
     * An estimate, cheap and from the owner's view, of the committed bytes inside pages that no
     * live block uses: all committed bytes but the owner's blocks and large blocks. Other threads'
     * blocks count as free here, so with several threads it errs towards scavenging.
     */
    private long freeInPages(ThreadHeap heap) {
        return spans.committed.get() - spans.idleCommitted() - spans.keptCommitted() - heap.liveUsable() - largeUsable;
    }

    /**
     * The fast paths test only what makes the free certainly right: a block starting at
     * {@code address} in a page of this heap, held by no scope, arena or pool, and live until the
     * claim. The page may be the calling thread's, a stripe's ({@link #freeIntoStripe}) or another
     * thread's ({@link #freedByOther}). Anything else, misuse included, takes {@link #free(long,
     * boolean)}, which finds out what the address is and says so; a failed claim changed nothing.
     */
    @Override
    public void free(long address) {
        Page page = RegionMap.slicePage(address, this);
        if (page != null && !closed) {
            Thread owner = page.ownerThread;
            Thread thread = Thread.currentThread();
            if (owner == thread) {
                if (freedByOwner(page, address, false)) {
                    return;
                }
            } else if (owner == null) {
                if (freeIntoStripe(page, address)) {
                    return;
                }
            } else if (freedByOther(page, address, thread)) {
                return;
            }
        }
        if (address != 0) {
            free(address, false);
        }
    }

    /**
     * The free fast path of a block of a page another thread owns, from the page the lookup found:
     * what the full path does for it once it has looked the address up again and judged it. That
     * second lookup took a tenth of such a free: 29.3 ns a free before, 25.4 after
     * (ForeignFreeBenchmark.malloc4jRaw, 16-4,096 B, medians of eleven alternated runs).
     *
     * <p>The page's layout is read without holding the page, and the block claimed with one
     * compare-and-set where the page's slack array serves one layout only
     * ({@link Page#claimFromOther}); a page whose array may serve others, a stripe's page and
     * every misuse take the full path, whose claim ({@link Page#releaseAt}) checks the index
     * against the present layout.
     *
     * @param thread the calling thread, which the page does not name as its owner
     * @return false, with nothing changed, if the page's heap is one this thread took over (its
     *     frees are the owner's), no live block held by no scope, arena or pool starts at
     *     {@code address}, or the page's slack array may serve other layouts
     */
    private boolean freedByOther(Page page, long address, Thread thread) {
        ThreadHeap heap = page.owner;
        if (heap != null && heap.thread == thread) {
            return false;
        }
        // Looked up, and the page's first remote bitmap made, before the claim: nothing after it
        // may allocate, or a full Java heap would fail the free with its block freed and
        // uncounted or in no bitmap. Made nowhere the claim may refuse (countForeignFree).
        ThreadHeap counter = existingHeap(thread);
        long[] ahead = page.remoteBitsAhead();
        int index = page.claimFromOther(address);
        if (index < 0) {
            return false;
        }
        freedRemotely(page, index, counter, ahead);
        return true;
    }

    /**
     * The owner's free of the block at {@code address} of {@code page}, a page the calling thread
     * owns, if it is certainly right: a block held by no scope, arena or pool, and live until the
     * claim.
     *
     * @param moved as for {@link #free(long, boolean)}
     * @return whether the block was freed; nothing changed if not
     */
    private boolean freedByOwner(Page page, long address, boolean moved) {
        int index = page.unheldIndex(address);
        if (index >= 0 && page.claim(index) >= 0) {
            freeClaimed(page, index, moved);
            return true;
        }
        return false;
    }

    /**
     * The fast path of a free into a page of a striped heap (virtual threads'), under the stripe's
     * lock as its allocations are: the same tests as the owner's fast path.
     *
     * @return false if the page is not a stripe's, or the free is not certainly right; nothing
     *     changed then
     */
    private boolean freeIntoStripe(Page page, long address) {
        ThreadHeap stripe = page.owner;
        if (stripe == null || stripe.thread != null) {
            return false;
        }
        stripe.lock.lock();
        try {
            // A stripe's pages change hands, and are laid out again, only under its lock: still
            // its page, in use, and the index is the block's in the page's present layout.
            if (page.owner != stripe) {
                return false;
            }
            int index = page.unheldIndex(address);
            if (index < 0) {
                return false;
            }
            if (page.claimLocked(index) < 0) {
                return false;
            }
            freeClaimed(page, index, false);
            return true;
        } finally {
            stripe.lock.unlock();
        }
    }

    /**
     * @param moved whether realloc moved the block away: a page it leaves empty goes to the pool
     *     (where the next class's page reuses its committed memory) instead of staying its class's
     *     spare
     */
    private void free(long address, boolean moved) {
        checkOpen();
        Region region = RegionMap.lookup(address);
        if (sampledBlocks(region)) {
            sampler.freeSampled(address);
            return;
        }
        Page page = pageOf("free", address, region);
        int index = page.blockIndex(address);
        if (index < 0) {
            throw MisuseReports.interior("free", address, page, this);
        }
        if (refusesHeld(page, index, address)) {
            throw MisuseReports.mismatch("free", address, this);
        }
        Thread thread = Thread.currentThread();
        Thread named = page.ownerThread;
        // Read once: another heap's owner may detach the page (owner null) between two reads.
        ThreadHeap owner = page.owner;
        if (named != thread && named != null && owner != null && owner.thread == thread) {
            // A page of a heap this thread took over (ThreadHeap.takeOver) names the ended owner
            // until it becomes current; from this free on it names this thread, and its frees are
            // the owner's: counted, so the purger returns what they free once the thread waits.
            page.ownerThread = thread;
        }
        if (page.ownerThread == thread) {
            freeReleased(page, index, address, moved, page.release(index));
        } else if (page.isSingle()) {
            freeLarge(page, address, ANY_LARGE_BLOCK);
        } else {
            freeForeign(page, index, address, moved);
        }
    }

    /**
     * A free by a thread that does not own the page. A page of a striped heap (virtual threads)
     * is freed into under its stripe's lock, as its own allocations are: no remote bits for the
     * stripe to collect later, and no purger run to schedule for it.
     */
    private void freeForeign(Page page, int index, long address, boolean moved) {
        ThreadHeap owner = page.owner;
        if (owner != null && owner.thread == null) {
            owner.lock.lock();
            try {
                if (page.owner == owner) {
                    // The stripe may have laid the page out again since the caller read the index.
                    int current = page.blockIndex(address);
                    if (current < 0) {
                        throw MisuseReports.interior("free", address, page, this);
                    }
                    if (refusesHeld(page, current, address)) {
                        throw MisuseReports.mismatch("free", address, this);
                    }
                    freeReleased(page, current, address, moved, page.releaseLocked(current));
                    return;
                }
            } finally {
                owner.lock.unlock();
            }
        }
        freeShared(page, index, address);
    }

    /** @param slack what releasing the block returned: its slack, or why it was not live */
    private void freeReleased(Page page, int index, long address, boolean moved, int slack) {
        if (slack < 0) {
            throw misuse("free", slack, address, page);
        }
        dropHold(page, index);
        freeClaimed(page, index, moved);
    }

    /**
     * Drops the hold on block {@code index} of {@code page}, just claimed by a free: a holder's
     * resize that moved the block frees it held, so that another thread's free of it is refused
     * until this one has it; the block must be no one's before it can be handed out again. (A
     * large block's page is laid out afresh before its next block, which drops its holds.)
     */
    private static void dropHold(Page page, int index) {
        if (page.ownedBits != null && page.isOwned(index)) {
            page.setOwned(index, false);
        }
    }

    /** The rest of the owner's free, once {@link Page#release} claimed the block. */
    private void freeClaimed(Page page, int index, boolean moved) {
        ThreadHeap heap = page.owner;
        page.freeLocal(index);
        heap.freeCount++;
        if (!page.current) {
            heap.usableBytes -= page.blockSize;
        }
        if (page.used == 0) {
            if (moved || heap.shouldRelease(page)) {
                if (!moved && heap.thread != null && !SizeClasses.isMedium(page.sizeClass)) {
                    keep(heap, page);
                } else {
                    release(heap, page);
                }
            } else if (heap.thread == null) {
                keptByStripe();
            } else if (SizeClasses.isMedium(page.sizeClass)) {
                keepMediumSpare(heap, page);
            }
        } else if (page.inFullList) {
            heap.onLocalFreeInFull(page);
        }
    }

    /**
     * A free by its owner emptied {@code page}, a small page not its class's only one with room:
     * the heap keeps it, out of its lists and of the pool, laid out still, for its class's next page
     * ({@link KeptPages}). A thread that allocates 1,000 blocks of 16-4,096 B and frees them all
     * empties 28 pages a batch, and retiring them to the pool and laying them out again took about
     * 15 % of the batch's time, under the span lock twice a page. Its memory counts as idle, as the
     * pool's does, and goes to the pool when a commit would set a new peak
     * ({@link #giveBackKeptForPeak}), when a medium page is needed (its slices may make room for
     * one), when the purger finds it kept for the purge delay, when the thread ends and at a trim.
     * A page with holes goes to the pool at once, which restores or returns them.
     */
    private void keep(ThreadHeap heap, Page page) {
        boolean readClock = false;
        long now = 0;
        heap.beginPageWork();
        try {
            page.collectRemote();
            KeptPages kept = keptPagesOf(heap);
            if (page.holeCount != 0 || kept == null) {
                release(heap, page);
                return;
            }
            heap.detach(page);
            page.retire();
            spans.kept(page.commitEnd);
            readClock = kept.needsClock();
            now = readClock ? kept.readClock() : kept.stamp();
            page.releasedAtNanos = now;
            Page replaced = kept.keep(page);
            if (replaced != null) {
                spans.lockPolling();
                try {
                    spans.retireKept(replaced);
                } finally {
                    spans.lock.unlock();
                }
            }
        } finally {
            heap.endPageWork();
        }
        released(page.spanBytes);
        if (readClock) {
            // As a retired page does (park): also when a run is already set, which may be the check
            // for ended threads a second away, so that the run comes a purge delay from now. Pages
            // stamped with the same time find that run arranged: it looks again while any is kept.
            Purger.schedule(this, purgeDelayNanos, now);
        }
    }

    /**
     * @return {@code heap}'s kept pages, or null if the Java heap has no room to make them (the
     *     free that empties a page must not fail after its work: its page goes to the pool instead)
     */
    private static KeptPages keptPagesOf(ThreadHeap heap) {
        try {
            return heap.kept();
        } catch (OutOfMemoryError e) {
            return null;
        }
    }

    /**
     * A commit for {@code page} (null: a large or huge block) would set a new peak of the
     * footprint: the pages the committing thread keeps ({@link #keep}) go to the pool first, where
     * they serve every class and the peak guard returns them as it would any retired page.
     */
    void giveBackKeptForPeak(Page page) {
        // Without making a heap for a thread that has none: it keeps no pages.
        ThreadHeap heap = ownerOr(page, existingHeap(Thread.currentThread()));
        if (heap != null && heap.thread == Thread.currentThread() && heap.keepsPages()) {
            spans.lockPolling();
            try {
                giveBackKept(heap, ALL_KEPT);
            } finally {
                spans.lock.unlock();
            }
        }
    }

    /** {@link #giveBackKept}'s {@code before} for every kept page, however recent. */
    private static final long ALL_KEPT = Long.MIN_VALUE;

    /**
     * Puts the pages {@code heap} keeps, those kept since before {@code before} (in
     * {@link System#nanoTime()}; {@link #ALL_KEPT} for all), into the pool; under the span lock, by
     * the owner or while it is held off.
     */
    private void giveBackKept(ThreadHeap heap, long before) {
        if (!heap.keepsPages()) {
            return;
        }
        KeptPages kept = heap.kept();
        Page page;
        while ((page = before == ALL_KEPT ? kept.takeAny() : kept.takeKeptBefore(before)) != null) {
            spans.retireKept(page);
        }
        kept.forgetClock();
    }

    /**
     * {@link #giveBackKept} for another thread's heap, if it can be held off its pages now; under the span lock.
     *
     * @return whether the heap still keeps pages afterwards (some not yet due, or the owner was busy)
     */
    private boolean giveBackKeptIfHeld(ThreadHeap heap, long before) {
        if (!heap.keepsPages()) {
            return false;
        }
        if (heap.holdForPurge()) {
            try {
                giveBackKept(heap, before);
            } finally {
                heap.releaseFromPurge();
            }
        }
        return heap.keepsPages();
    }

    private void release(ThreadHeap heap, Page page) {
        heap.beginPageWork();
        try {
            heap.detach(page);
            spans.lockPolling();
            try {
                // Holes the purger made of its free blocks, not yet the page's own: a page whose
                // blocks are all free needs no collect to be released.
                page.collectRemote();
                spans.retire(page);
                released(page.spanBytes);
            } finally {
                spans.lock.unlock();
            }
        } finally {
            heap.endPageWork();
        }
    }

    /**
     * A thread heap keeps an empty page per small class, but only its latest few empty medium
     * pages ({@link ThreadHeap#MEDIUM_SPARES}): a thread that used many medium classes once would
     * otherwise hold 512 KiB of each for as long as it lives, out of the purger's reach. A few, not
     * one, because a spare is what a class short of a page lays out again at the footprint's peak
     * (gcc-cc1-O2's replay: 85.3 % utilization with one, 90.1 % with three).
     */
    private void keepMediumSpare(ThreadHeap heap, Page page) {
        Page[] spares = heap.mediumSpares;
        for (Page spare : spares) {
            if (spare == page) {
                return;
            }
        }
        int slot = heap.nextMediumSpare;
        heap.nextMediumSpare = (slot + 1) % spares.length;
        Page previous = spares[slot];
        spares[slot] = page;
        if (previous != null && previous.owner == heap && previous.used == 0) {
            release(heap, previous);
        }
    }

    /**
     * A striped heap kept an empty page as its class's spare. Virtual threads may never allocate
     * from that stripe again: let the purger collect it after the purge delay.
     */
    private void keptByStripe() {
        if (!stripesDirty) {
            stripesDirty = true;
        }
        if (!purgeScheduled.get()) {
            Purger.schedule(this, purgeDelayNanos);
        }
    }

    private void freeShared(Page page, int index, long address) {
        // Before the claim, as freedByOther's.
        ThreadHeap counter = existingHeap(Thread.currentThread());
        long[] ahead = page.remoteBitsAhead();
        int slack = page.releaseAt(address, index);
        if (slack == Page.RELEASE_STALE) {
            // Its owner laid the page out again since the index was read: judge the address anew.
            free(address, false);
            return;
        }
        if (slack < 0) {
            throw misuse("free", slack, address, page);
        }
        freedRemotely(page, index, counter, ahead);
    }

    /**
     * The rest of a free of block {@code index} of {@code page} by a thread that does not own the
     * page, once it claimed the block: the owner collects it from the page's remote bitmap.
     */
    private void freedRemotely(Page page, int index, ThreadHeap counter, long[] ahead) {
        dropHold(page, index);
        long usable = page.blockSize;
        page.freeRemote(index, ahead);
        countForeignFree(counter, usable);
        page.announceToOwner();
        ThreadHeap owner = page.owner;
        if (owner != null && owner.thread == null) {
            // The stripe's page may be empty now: the purger finds out.
            keptByStripe();
        } else if (!remoteFreesWaiting) {
            // An owner's page, or one of an ended thread's (no owner), which every run looks at:
            // without the ask, its memory would wait for the next look for ended threads, or for
            // trim() when no thread heap is left to bring one.
            remoteFreesWaiting = true;
            Purger.schedule(this, purgeDelayNanos);
        }
    }

    /**
     * Counts a free of another thread's block in the freeing thread's own heap, with plain writes
     * (the sums over all heaps are what {@link #stats} reports as frees, and {@link #liveBytes}
     * takes off the live bytes); virtual threads have no heap of their own and count in shared
     * adders.
     *
     * @param heap the freeing thread's heap as looked up before the claim, or null if it has none
     *     (a virtual thread on the stripes, a platform thread's first call): that free counts in
     *     the shared adders, and a platform thread gets its heap for its next frees now, once the
     *     free is done, where a failure for want of Java memory changes nothing
     */
    private void countForeignFree(ThreadHeap heap, long usable) {
        if (heap != null) {
            heap.freeCount++;
            heap.usableBytes -= usable;
            return;
        }
        remoteFrees.increment();
        remoteUsable.add(-usable);
        Thread thread = Thread.currentThread();
        if (!thread.isVirtual()) {
            try {
                heapOf(thread);
            } catch (OutOfMemoryError e) {
                // Its next free tries again.
            }
        }
    }

    /**
     * @param largeBlock the block's number on its page ({@link Page#largeBlocks}) when the caller
     *     found it live, or {@link #ANY_LARGE_BLOCK}
     */
    private void freeLarge(Page page, long address, long largeBlock) {
        // As a close takes it: a heap's close frees the large blocks its scopes, pools and bump
        // arenas hold through here, and must not wait behind a virtual thread without a carrier.
        spans.lockPolling();
        try {
            // A close that ran while this free waited for the lock took the block: its memory is
            // unmapped, or left mapped under a downcall for the next close to unmap, which a free
            // that went on would unmap first (and the next close never find).
            checkOpen();
            // A racing free of the same block may have won while this one waited for the lock,
            // and the span gone to a page of blocks since (the same page object): not a live large
            // block any more, so this is the double free. Or to another large block, live: not the
            // one the caller found, so that too.
            if (!page.isSingle() || page.blockState(0) != BlockState.LIVE
                    || largeBlock != ANY_LARGE_BLOCK && page.largeBlocks != largeBlock) {
                throw misuse("free", Page.RELEASE_FREED, address, page);
            }
            long usable = page.largeUsable;
            long requested = page.largeRequested;
            boolean huge = page.sizeClass == Page.HUGE;
            if (!spans.freeLarge(page)) {
                // Or the arena is closed already, by a close racing this free (a misuse): say that.
                checkOpen();
                throw freeWhileInUseByADowncall(address, name);
            }
            // A holder's free (or its resize's) claimed the block held: the hold goes now, as the
            // block does, so a second free is told a double free, not a holder's block.
            dropHold(page, 0);
            if (huge) {
                rememberFreedHuge(address, usable);
            }
            largeFrees++;
            largeUsable -= usable;
            largeRequested -= requested;
            released(usable);
        } finally {
            spans.lock.unlock();
        }
    }

    @Override
    public long realloc(long address, long newByteSize, boolean throwing) {
        return realloc(address, newByteSize, throwing, null);
    }

    @Override
    public MemorySegment reallocSegment(long address, long newByteSize, boolean throwing) {
        if (address == 0) {
            long fresh = realloc(0, newByteSize, throwing, null);
            return fresh == 0 ? MemorySegment.NULL : newSegment(fresh, newByteSize);
        }
        MovedSegment moved = new MovedSegment(newByteSize);
        long resized = realloc(address, newByteSize, throwing, moved);
        if (resized == 0) {
            return MemorySegment.NULL;
        }
        return moved.segment != null ? moved.segment : segment(resized, newByteSize);
    }

    /** @param moved where a move leaves the new block's segment, or null for none */
    private long realloc(long address, long newByteSize, boolean throwing, MovedSegment moved) {
        if (address == 0) {
            checkSize(newByteSize, "newByteSize"); // named as the caller named it, not as malloc's byteSize
            return malloc(newByteSize, throwing);
        }
        long owned = reallocOwned(address, newByteSize, throwing, moved);
        if (owned != NOT_OWNED) {
            return owned;
        }
        checkSize(newByteSize, "newByteSize");
        checkOpen();
        Page page = pageOf("realloc", address);
        int index = page.blockIndex(address);
        if (index < 0) {
            throw MisuseReports.interior("realloc", address, page, this);
        }
        // Read once: a large block freed by another thread meanwhile (a double free racing this
        // realloc) may leave its page to a layout of smaller blocks, the same page object.
        boolean single = page.isSingle();
        // A large block resized in place has its state checked under the lock the resize takes:
        // one lock a call. A block it leaves as it was is known by its number on the page from
        // then on: the free that ends a move (or the keep of a block with no room to move) acts on
        // that block only, not on one that a free and a malloc racing this realloc (a misuse) put
        // at the same address meanwhile, on the same page object.
        boolean triedInPlace = single && newByteSize > GROWS_AS_LARGE
                && newByteSize <= SpanAllocator.MAX_REQUEST && !refusesHeld(page, 0, address);
        long largeBlock = triedInPlace ? resizeLargeInPlace(page, newByteSize, ANY_LARGE_BLOCK, true)
                : single ? liveLargeBlock(page) : ANY_LARGE_BLOCK;
        if (largeBlock == RESIZED_IN_PLACE) {
            return address;
        }
        int state = single ? (largeBlock >= 0 ? BlockState.LIVE : BlockState.FREED) : page.blockStateUnheld(index);
        if (state != BlockState.LIVE) {
            throw misuse("realloc", releaseCode(state), address, page);
        }
        if (refusesHeld(page, index, address)) {
            throw MisuseReports.mismatch("realloc", address, this);
        }
        if (newByteSize > SpanAllocator.MAX_REQUEST) {
            // No block can be this large; rounding it up to pages would overflow.
            if (throwing) {
                throw exhausted(newByteSize, MIN_ALIGNMENT);
            }
            return 0;
        }
        if (newByteSize > 0 && (single
                ? !triedInPlace && resizeLargeInPlace(page, newByteSize, largeBlock, true) == RESIZED_IN_PLACE
                : resizeSmallInPlace(page, address, index, newByteSize) || changeClassInPlace(page, index, newByteSize))) {
            return address;
        }
        long oldRequested = page.requestedUnheld(index);
        if (oldRequested < 0) {
            throw misuse("realloc", Page.RELEASE_FREED, address, page);
        }
        // A block that grows this large is likely to grow again (a buffer, a vector): make it a
        // large block with room to grow in place, as a medium block never can.
        long room = newByteSize > GROWS_AS_LARGE && newByteSize > oldRequested ? 2 * newByteSize : 0;
        // A block would move within its usable size only to give memory back: with none to be
        // had for the smaller block, it stays, so such a resize never fails for want of memory.
        boolean fits = newByteSize <= (single ? page.largeUsable : page.blockSize);
        // A large block may have refused to grow in place for a retired span's committed memory,
        // which another thread took meanwhile: with no memory for a move, it grows in place after all.
        boolean inPlaceLeft = triedInPlace && newByteSize > oldRequested;
        long fresh = room == 0 ? malloc(newByteSize, throwing && !fits)
                : mallocSlow(newByteSize, MIN_ALIGNMENT, room, throwing && !fits && !inPlaceLeft) & Page.ADDRESS_MASK;
        if (fresh == 0) {
            if (inPlaceLeft && resizeLargeInPlace(page, newByteSize, largeBlock, false) == RESIZED_IN_PLACE) {
                return address;
            }
            if (throwing && !fits && inPlaceLeft) {
                throw exhausted(newByteSize, MIN_ALIGNMENT);
            }
            return fits ? keepInPlace(page, index, address, oldRequested, newByteSize, largeBlock) : 0;
        }
        return moveTo(fresh, address, page, single, largeBlock, Math.min(oldRequested, newByteSize), moved);
    }

    /**
     * The end of a realloc that moves a block: copies it to {@code fresh}, the new block, and frees
     * it, or gives {@code fresh} back and reports a misuse that raced the call.
     *
     * @param page the block's page
     * @param single whether the block is a large or huge one
     * @param largeBlock as for {@link #freeLarge}
     * @param byteCount the bytes to copy: the smaller of the old and new requested sizes
     * @param moved where the new block's segment goes, made before the old block is freed, or null
     * @return {@code fresh}
     */
    private long moveTo(long fresh, long address, Page page, boolean single, long largeBlock, long byteCount,
                        MovedSegment moved) {
        if (fresh == address) {
            // Only a free block is handed out: another thread freed this one since realloc looked
            // (a double free racing this realloc), and the malloc got its memory back. Freeing the
            // old block now would free the new one and return it freed.
            freeUnreturned(fresh);
            throw MisuseReports.freedDuringRealloc(address, this);
        }
        boolean interrupted = Os.interruptStatus();
        try {
            copy(address, fresh, byteCount);
        } catch (IllegalStateException unmapped) {
            Os.restoreInterruptStatus(interrupted);
            // Another thread freed the block, and its memory went, meanwhile (a double free racing
            // this realloc): the new block goes back, and this call reports the misuse.
            freeUnreturned(fresh);
            throw MisuseReports.doubleFreeUnmapped("realloc", address, this);
        }
        if (moved != null) {
            moved.segment = newSegment(fresh, moved.byteSize);
        }
        try {
            // The owner's free of the old block, as free(long) makes it; the full free otherwise.
            if (!single && !closed && page.ownerThread == Thread.currentThread()
                    && freedByOwner(page, address, true)) {
                return fresh;
            }
            if (single) {
                // The block this call found live, not whatever the address holds by now.
                checkOpen();
                freeLarge(page, address, largeBlock);
            } else {
                free(address, true);
            }
        } catch (MemoryMisuseException e) {
            freeUnreturned(fresh);
            if (e.kind() == MemoryMisuseException.Kind.ALLOC_DEALLOC_MISMATCH) {
                throw e;
            }
            if (liveAgain(address, page)) {
                // Resized in place by its owner meanwhile (or freed and handed out again).
                throw MisuseReports.changedDuringCall("realloc", address, this);
            }
            // Live when this realloc looked: another thread freed it since (its page may even hold
            // other blocks by now, which the free's own report would describe).
            throw MisuseReports.freedDuringRealloc(address, this);
        } catch (RuntimeException | OutOfMemoryError e) {
            // In use by a downcall, or the heap closed, or no room on the Java heap for what the
            // free of the old block would have made before it freed: the old block stands.
            freeUnreturned(fresh);
            throw e;
        }
        return fresh;
    }

    /**
     * Frees {@code fresh}, a block a realloc made and does not return, or a malloc whose segment
     * the Java heap had no room for: neither a malloc the program got a block from nor a free it
     * asked for, so the counts leave it out.
     */
    private void freeUnreturned(long fresh) {
        free(fresh);
        unreturned.increment();
    }

    /**
     * A realloc within the block's usable size (to 0 bytes included) when the smaller block it
     * would move to cannot be had (the heap's limit reached): the block stays, holding its memory
     * until it is freed or resized again, and only its requested size changes. A realloc to 0 is a
     * free, to the caller, and a shrink gives memory back; neither fails for want of memory.
     *
     * @return {@code address}
     */
    private long keepInPlace(Page page, int index, long address, long oldRequested, long newByteSize,
                             long largeBlock) {
        if (page.isSingle()) {
            spans.lockPolling();
            try {
                if (!page.isSingle() || page.blockState(0) != BlockState.LIVE || page.largeBlocks != largeBlock) {
                    throw misuse("realloc", Page.RELEASE_FREED, address, page);
                }
                // Read under the lock: another realloc of the block (a misuse racing this one) may
                // have resized it since oldRequested was read.
                largeRequested += newByteSize - page.largeRequested;
                page.largeRequested = newByteSize;
            } finally {
                spans.lock.unlock();
            }
        } else if (!setRequested(page, address, index, oldRequested, newByteSize)) {
            throw misuse("realloc", Page.RELEASE_FREED, address, page);
        }
        return address;
    }

    /** @return the state of block {@code index} of {@code page}, read by a thread that does not hold the page */
    private int liveState(Page page, int index) {
        return page.isSingle() ? largeState(page) : page.blockStateUnheld(index);
    }

    /**
     * The state of the large block of {@code page}, which the caller saw holding one: freed if a
     * page of smaller blocks has taken its span since (a free racing the caller's call), as the
     * caller's block is gone then even if that page's first block is live.
     */
    private int largeState(Page page) {
        spans.lockPolling();
        try {
            return page.isSingle() ? page.blockState(0) : BlockState.FREED;
        } finally {
            spans.lock.unlock();
        }
    }

    /**
     * @return the number on {@code page} ({@link Page#largeBlocks}) of its large block if live, or
     *     -1 as {@link #largeState} would say freed
     */
    private long liveLargeBlock(Page page) {
        spans.lockPolling();
        try {
            return page.isSingle() && page.blockState(0) == BlockState.LIVE ? page.largeBlocks : -1;
        } finally {
            spans.lock.unlock();
        }
    }

    /**
     * realloc's fast path, as {@link #free(long)}'s: a block of a page the calling thread owns, held
     * by no scope, arena or pool. Anything else, misuse included, takes the full path, which finds
     * out what the address is; a block found not live changed nothing.
     * <ul>
     *   <li>A block that stays in its size class is resized in place. A pass of realloc2-bal (4,799
     *       reallocs among 14,401 requests, most of them growing one block by 5 bytes) took 188.5
     *       and 191.8 µs through the full path, 140.6 and 141.3 µs with this
     *       ({@code ReplayBenchmark.malloc4jRaw}, two alternated rounds).
     *   <li>A block that grows past its block, to at most {@link #GROWS_AS_LARGE}, moves to a block
     *       of its new class, and the old one is freed as the owner's free does; the full path
     *       would judge the address twice more (once for the realloc, once for the free): a pass
     *       over gcc's cc1, perl's and python's traces took 0.975, 0.975 and 0.965 times as long
     *       ({@code ReplayBenchmark.malloc4jRaw}, medians of five alternated rounds).
     *       A block at a page's start is left to the full path, which may change its page's class
     *       in place instead ({@link #changeClassInPlace}).
     * </ul>
     *
     * @param moved as for {@link #moveTo}
     * @return {@code address} if resized in place, the block's new address if moved, 0 if the
     *     move found no memory and {@code throwing} is false, or {@link #NOT_OWNED} if this is not
     *     the fast path's case (nothing changed then)
     */
    private long reallocOwned(long address, long newByteSize, boolean throwing, MovedSegment moved) {
        Page page = RegionMap.slicePage(address, this);
        if (page == null || closed || page.ownerThread != Thread.currentThread() || newByteSize <= 0) {
            return NOT_OWNED;
        }
        int index = page.unheldIndex(address);
        if (index < 0) {
            return NOT_OWNED;
        }
        if (staysInClass(page, newByteSize)) {
            return page.resizeOwned(index, newByteSize) ? address : NOT_OWNED;
        }
        // A page's first block may change class with its page instead, on the full path.
        if (index == 0 || newByteSize <= page.blockSize || newByteSize > GROWS_AS_LARGE) {
            return NOT_OWNED;
        }
        long oldRequested = page.requested(index);
        if (oldRequested < 0) {
            return NOT_OWNED;
        }
        long fresh = malloc(newByteSize, throwing);
        return fresh == 0 ? 0 : moveTo(fresh, address, page, false, ANY_LARGE_BLOCK, oldRequested, moved);
    }

    /**
     * @return whether a block of {@code page} may take {@code newByteSize} bytes in place: it fits,
     *     and would not be in a smaller class at less than half the block
     */
    private static boolean staysInClass(Page page, long newByteSize) {
        int blockSize = page.blockSize;
        return newByteSize <= blockSize
                && (newByteSize * 2 >= blockSize || SizeClasses.classOf(newByteSize) == page.sizeClass);
    }

    private boolean resizeSmallInPlace(Page page, long address, int index, long newByteSize) {
        if (!staysInClass(page, newByteSize)) {
            return false;
        }
        long oldRequested = page.requestedUnheld(index);
        if (oldRequested < 0 || !setRequested(page, address, index, oldRequested, newByteSize)) {
            // Freed meanwhile, or resized by another realloc (then live, and misuse says so).
            throw misuse("realloc", Page.RELEASE_FREED, address, page);
        }
        return true;
    }

    /**
     * Records a new requested size for a live small or medium block resized in place; on a
     * stripe's page under the stripe's lock, as its frees claim blocks there.
     *
     * @return false if the block was freed meanwhile (nothing changed)
     */
    private boolean setRequested(Page page, long address, int index, long oldRequested, long newRequested) {
        while (true) {
            ThreadHeap stripe = page.owner;
            if (stripe != null && stripe.thread == null) {
                stripe.lock.lock();
                try {
                    if (page.owner == stripe) {
                        return page.setRequestedLocked(address, index, oldRequested, newRequested);
                    }
                } finally {
                    stripe.lock.unlock();
                }
            } else {
                int result = page.setRequested(address, index, oldRequested, newRequested);
                if (result != Page.RESIZE_STRIPE) {
                    return result == Page.RESIZED;
                }
            }
            // The page changed hands since its owner was read: look again.
        }
    }

    /**
     * A block alone in its page, at the page's start, changes class in place while that class has
     * no page with room: the page is laid out again for the class of {@code newByteSize} (one of
     * the same page size) and its first block is the same address, so nothing is copied and no page
     * is left empty. By the page's owner only.
     */
    private boolean changeClassInPlace(Page page, int index, long newByteSize) {
        // Past GROWS_AS_LARGE a block becomes a large one instead, with room to grow in place.
        if (index != 0 || newByteSize > GROWS_AS_LARGE || page.ownerThread != Thread.currentThread()) {
            return false;
        }
        int sizeClass = SizeClasses.classOf(newByteSize);
        if (SizeClasses.isMedium(sizeClass) != SizeClasses.isMedium(page.sizeClass)) {
            return false;
        }
        ThreadHeap heap = page.owner;
        heap.beginPageWork();
        try {
            return changeClassInPlace(heap, page, sizeClass, newByteSize);
        } finally {
            heap.endPageWork();
        }
    }

    private boolean changeClassInPlace(ThreadHeap heap, Page page, int sizeClass, long newByteSize) {
        page.collectRemote();
        if (page.used != 1 || page.inFullList || page.ownedBits != null) {
            return false;
        }
        if (heap.current[sizeClass].hasAvailable() || collectedPageWithRoom(heap, sizeClass) != null) {
            // The block moves there. Laid out again, this page would hold the one block while that
            // page's room waits, and the old class would lay out a new page for its next malloc: a
            // block allocated and then grown, one after another, took a 64 KiB page each (4,096
            // blocks of 20 B: 16 MiB committed). Remote frees are collected first, as a malloc's
            // refill does: a class that blocks reach only by realloc gets no malloc of its own, and
            // a producer growing blocks that a consumer frees laid a page out anew for each 2,048
            // blocks (38 MB committed after 1.2 million blocks with 1,024 live).
            return false;
        }
        int newBlockSize = SizeClasses.blockSize(sizeClass);
        // Before the block is claimed: a full Java heap then fails the realloc with the block as it was.
        heap.ensureLists(sizeClass);
        if (!spans.prepareRelayout(page, page.blockSize, newBlockSize)) {
            return false;
        }
        int oldBlockSize = page.blockSize;
        int slack;
        // One hold of the lock from the new layout's arrays, made ahead, to the layout: between two
        // holds another layout could take them, and the layout then allocated with the block
        // claimed, which a full Java heap lost with its page.
        spans.lockPolling();
        try {
            spans.prepareInPlaceLayout(page, sizeClass);
            // Claimed as a free claims it: a free of the block by another thread racing this realloc
            // (a misuse) either claimed it first, and this realloc reports that, or finds it freed.
            page.changingClass = true;
            try {
                slack = page.claim(0);
                if (slack >= 0) {
                    heap.detach(page);
                    spans.relayoutLocked(page, sizeClass, true);
                    heap.addAvailable(page);
                    page.allocateOrCommit(newByteSize, this);
                }
            } finally {
                page.changingClass = false;
            }
        } finally {
            spans.lock.unlock();
        }
        if (slack < 0) {
            throw misuse("realloc", slack, page.start, page);
        }
        // The block's new size counts on the page, current now; its old one left with the detach.
        heap.usableBytes -= oldBlockSize;
        return true;
    }

    /**
     * @param largeBlock the block's number on its page if realloc found it live already, or
     *     {@link #ANY_LARGE_BLOCK}
     * @param preferCommitted whether a growth may refuse, to move to a retired span's committed
     *     memory instead of committing fresh memory ({@link SpanAllocator#resizeInPlace})
     * @return {@link #RESIZED_IN_PLACE}, or the number on its page ({@link Page#largeBlocks}) of the
     *     live block, left as it was ({@code largeBlock} if this took no lock)
     */
    private long resizeLargeInPlace(Page page, long newByteSize, long largeBlock, boolean preferCommitted) {
        if (newByteSize <= GROWS_AS_LARGE) {
            return largeBlock;
        }
        long usable = largeUsableSize(newByteSize);
        spans.lockPolling();
        try {
            if (!page.isSingle() || page.blockState(0) != BlockState.LIVE
                    || largeBlock != ANY_LARGE_BLOCK && page.largeBlocks != largeBlock) {
                // Freed by another thread since realloc looked: a double free racing this realloc.
                throw misuse("realloc", Page.RELEASE_FREED, page.start, page);
            }
            long oldUsable = page.largeUsable;
            long oldRequested = page.largeRequested;
            if (!spans.resizeInPlace(page, newByteSize, preferCommitted)) {
                return page.largeBlocks;
            }
            // A block shrunk below half of what its span commits stays, and gives the rest back:
            // it never holds more than twice its size. Moving it instead copied it to a span from
            // the pool, which could commit as much again, and the next small shrink moved it back:
            // 411 copies of 780 KB in a row for a block shrunk by 150 bytes a call.
            if (newByteSize < oldRequested && usable * 2 < page.commitEnd) {
                spans.shrinkToUsable(page);
            }
            largeUsable += page.largeUsable - oldUsable;
            largeRequested += newByteSize - oldRequested;
            return RESIZED_IN_PLACE;
        } finally {
            spans.lock.unlock();
        }
    }

    /**
     * @throws IllegalStateException if the source's region went away meanwhile (its block was freed
     *     by another thread and its mapping released), or the heap was closed
     */
    private void copy(long from, long to, long byteSize) {
        Region source = RegionMap.lookup(from);
        Region target = RegionMap.lookup(to);
        if (!holdsOwnBlocks(source) || !holdsOwnBlocks(target)) {
            // A close racing this realloc (a misuse) unmapped the new block too, and another heap
            // may have mapped the range since: say that.
            checkOpen();
            throw new IllegalStateException("the block at 0x" + Long.toHexString(from) + " is no longer mapped");
        }
        MemorySegment.copy(source.memory, from - source.base, target.memory, to - target.base, byteSize);
    }

    @Override
    public long usableSize(long address) {
        checkOpen();
        Page page = livePage("usableSize", address);
        int index = page.blockIndex(address);
        if (page.isOwned(index)) {
            // A holder's block: what its start holds is the holder's (a pool's first block, an
            // arena's first slice), not a block of the heap's size.
            throw MisuseReports.mismatch("usableSize", address, this);
        }
        return page.usable(index);
    }

    @Override
    public MemoryMisuseException closedScope(String operation, long address) {
        return SanitizerReports.closedScope(operation, address, describe(address), name, reportsCallSites());
    }

    /** What {@code address} is, told from the pages: this core records no stacks. */
    @Override
    public String describe(long address) {
        checkOpen();
        Region region = RegionMap.lookup(address);
        if (region == null) {
            SpanAllocator.UnmappedRange range = spans.unmappedAt(address);
            if (range == null) {
                return AddressDescriptions.foreign(address);
            }
            return range.huge()
                    ? AddressDescriptions.inFreedHuge(address, range.start(), freedHugeUsable(range.start()), name)
                    : AddressDescriptions.inUnmapped(address, name);
        }
        if (region.core != this) {
            return AddressDescriptions.otherHeap(address, region.core.name, name);
        }
        Page page = region.pageAt(address);
        if (page == null || !page.laidOut) {
            return AddressDescriptions.notHandedOut(address, name);
        }
        if (!page.active && !holdsAllItsSlices(region, page)) {
            // A page out of use keeps its slices' entries until other pages take them: its old
            // bounds may overlap blocks handed out since.
            return AddressDescriptions.inOldSpan(address, name);
        }
        return AddressDescriptions.inPage(address, page, name, sampler != null
                ? "no stacks: heap '" + name + "' records them only for the blocks it samples (SAMPLED mode)\n"
                : "no stacks: heap '" + name + "' records where blocks were allocated and freed in FULL mode only\n");
    }

    /** @return whether this heap gave back the memory at {@code address} lately and no heap mapped it since */
    boolean gaveBack(long address) {
        return RegionMap.lookup(address) == null && spans.unmappedAt(address) != null;
    }

    /** @return whether {@code a} and {@code b} lie in one page of this heap's memory */
    boolean samePage(long a, long b) {
        Region region = RegionMap.lookup(a);
        if (region == null || region.core != this || RegionMap.lookup(b) != region) {
            return false;
        }
        Page page = region.pageAt(a);
        return page != null && page == region.pageAt(b);
    }

    /** @return whether every slice {@code page} spans still maps to it in {@code region}'s slice map */
    private static boolean holdsAllItsSlices(Region region, Page page) {
        long end = page.start + page.spanBytes;
        for (long slice = page.start; slice < end; slice += Region.SLICE_SIZE) {
            if (region.pageAt(slice) != page) {
                return false;
            }
        }
        return true;
    }

    /**
     * Throws what {@link #realloc} would for an address that is not a live block the heap API
     * holds, and does nothing else: for a caller that must judge the call before it fails it on
     * purpose (fault injection), so that a misuse is still reported as one.
     */
    void checkResizable(long address) {
        checkOpen();
        Page page = livePage("realloc", address);
        if (refusesHeld(page, page.blockIndex(address), address)) {
            throw MisuseReports.mismatch("realloc", address, this);
        }
    }

    /** @return the page of the live block starting at {@code address}; else throws the misuse */
    private Page livePage(String operation, long address) {
        Page page = pageOf(operation, address);
        int index = page.blockIndex(address);
        if (index < 0) {
            throw MisuseReports.interior(operation, address, page, this);
        }
        int state = liveState(page, index);
        if (state != BlockState.LIVE) {
            throw misuse(operation, releaseCode(state), address, page);
        }
        return page;
    }

    /** A segment of exactly {@code byteSize} bytes over the block at {@code address}. */
    @Override
    public MemorySegment segment(long address, long byteSize) {
        Region region = RegionMap.lookup(address);
        if (sampledBlocks(region)) {
            return sampler.checkedSegment(address, byteSize);
        }
        if (region == null || region.core != this) {
            // Freed by another thread, and its mapping released, since it was handed out; or this
            // heap closed meanwhile (a misuse) and another heap mapped the range since: never a
            // segment of that heap's memory.
            throw unmapped("segment", address);
        }
        return region.memory.asSlice(address - region.base, byteSize);
    }

    /** @return whether {@code region} holds this heap's blocks: this core's, or its sampled blocks' core's */
    private boolean holdsOwnBlocks(Region region) {
        return region != null && (region.core == this || region.core == sampledCore);
    }

    /** Marks a live block as held by a scope, arena, pool or growable array. */
    @Override
    public void setOwner(long address, BlockHolder owner) {
        Page page = RegionMap.slicePage(address, this);
        if (page == null) {
            page = pageOf("setOwner", address);
        }
        page.setOwned(page.blockIndex(address), true);
    }

    /**
     * @return whether block {@code index} of {@code page}, at {@code address}, is held and the call
     *     is not its holder's own resize or free ({@link HolderCall}): a call the heap API must refuse
     */
    private static boolean refusesHeld(Page page, int index, long address) {
        return page.ownedBits != null && page.isOwned(index) && !HolderCall.isHolders(address);
    }

    @Override
    public void freeOwned(long address) {
        // The owner's fast path, as free's, for a block of its own page that a holder holds: a
        // scope of one block took 10-15 % of its time looking the block up twice (the region map,
        // then the free's own lookup) and testing it as the heap API's before its free.
        Page owned = RegionMap.slicePage(address, this);
        if (owned != null && !closed && owned.ownerThread == Thread.currentThread()) {
            int index = owned.heldIndex(address);
            if (index >= 0) {
                // Claimed before the hold goes: a free of the block through the heap API racing this
                // one (a misuse) is refused as a mismatch while the hold lasts, and finds the block
                // freed after. The other way round, such a free won the claim in the gap, and the
                // holder then freed whatever block the address held next.
                int claimed = owned.claim(index);
                owned.setOwned(index, false);
                if (claimed >= 0) {
                    freeClaimed(owned, index, false);
                    return;
                }
                // Not live: the free below says what it is.
                free(address, false);
                return;
            }
        }
        if (address == 0) {
            return;
        }
        // Every path of the free claims the block before it drops the hold (dropHold), as for a
        // holder's resize that moved the block.
        HolderCall.begin(address);
        try {
            free(address);
        } finally {
            HolderCall.end();
        }
    }

    /** @return {@code ""} for a live block the heap API holds, a description if an owner does, else null */
    @Override
    public String ownerOf(long address) {
        Region region = RegionMap.lookup(address);
        Page page = region == null || region.core != this ? null : region.pageAt(address);
        int index = page == null || !page.laidOut ? -1 : page.blockIndex(address);
        if (index < 0 || liveState(page, index) != BlockState.LIVE) {
            return null;
        }
        return page.isOwned(index) ? "a scope, bump arena, pool or growable array" : "";
    }

    /** Routes frees of blocks of {@code core} (sampled, checked blocks) to {@code checker}. */
    void routeFreesOf(HeapCore core, CheckedAllocator checker, int sampleMask) {
        this.sampler = checker;
        this.sampledCore = core;
        this.sampleMask = sampleMask;
    }

    /** Makes misuse reports name the calling frames (a checked heap's core); set before any use. */
    void reportCallSites() {
        reportsCallSites = true;
    }

    boolean reportsCallSites() {
        return reportsCallSites;
    }

    /** @return whether {@code address} lies in memory of this heap */
    boolean owns(long address) {
        Region region = RegionMap.lookup(address);
        return region != null && region.core == this;
    }

    /**
     * Fast mode keeps no per-block records to verify; this checks that the counters agree:
     * {@code requested <= usable <= committed <= reserved} when no other thread is working.
     */
    @Override
    public void check() {
        checkOpen();
        HeapStats stats = stats();
        // A close on another thread (a misuse) zeroes the counters under the read: the heap closed.
        checkOpen();
        requireCountersAgree(stats, name);
    }

    /**
     * @throws IllegalStateException unless {@code requested <= usable <= committed <= reserved} and
     *     no count of live blocks is negative, as any heap's counters are when no thread is working
     */
    static void requireCountersAgree(HeapStats stats, String heapName) {
        if (stats.requestedBytes() > stats.usableBytes() || stats.usableBytes() > stats.committedBytes()
                || stats.committedBytes() > stats.reservedBytes() || stats.liveBlocks() < 0) {
            throw new IllegalStateException("heap '" + heapName + "' counters disagree: " + stats);
        }
    }

    /** Fast mode records no allocation sites: the report is always empty. */
    @Override
    public LeakReport leaks() {
        return new LeakReport(0, 0, List.of(), "");
    }

    private Page pageOf(String operation, long address) {
        return pageOf(operation, address, RegionMap.lookup(address));
    }

    private Page pageOf(String operation, long address, Region region) {
        if (region == null) {
            throw unmapped(operation, address);
        }
        if (region.core != this) {
            throw MisuseReports.otherHeap(operation, address, region.core.name, this);
        }
        Page page = region.pageAt(address);
        if (page == null || !page.laidOut) {
            throw MisuseReports.notAllocated(operation, address,
                    "is in heap '" + name + "' but in memory it has not handed out", this);
        }
        if (!page.active && !holdsAllItsSlices(region, page)) {
            // A retired page's bounds may overlap blocks handed out since: no block of it to name.
            throw MisuseReports.notAllocated(operation, address, "is in heap '" + name + "' but in memory no block"
                    + " holds now (a stale or wild address)", this);
        }
        return page;
    }

    /**
     * What an address no region maps is, for {@code operation}'s report.
     *
     * @return the misuse to throw
     * @throws IllegalStateException if this heap is closed: another thread closed it meanwhile
     *     (a misuse), and that is what to say
     */
    private RuntimeException unmapped(String operation, long address) {
        checkOpen();
        if (sampler != null && sampler.isClosed()) {
            // Closing, and the checked blocks' memory (which a sampled address may be in) is gone
            // before this core says it is closed.
            throw closedError();
        }
        SpanAllocator.UnmappedRange range = spans.unmappedAt(address);
        if (range != null && range.huge() && address != range.start()) {
            // The newest range at the address: the mapping of the huge block this heap last freed there.
            return MisuseReports.inFreedHuge(operation, address, range.start(), freedHugeUsable(range.start()), this);
        }
        if (range != null && (address & (MIN_ALIGNMENT - 1)) != 0) {
            // Its blocks' bounds went with the region, but no block ever starts off a multiple of
            // MIN_ALIGNMENT: an interior or wild address, never a block freed before.
            return MisuseReports.misalignedInUnmapped(operation, address, MIN_ALIGNMENT, this);
        }
        if (range != null) {
            // A huge block's start, or somewhere in a region of pages, whose blocks' bounds
            // went with the region.
            return MisuseReports.doubleFreeUnmapped(operation, address, this);
        }
        if (sampledCore != null && sampledCore.spans.unmappedAt(address) != null) {
            // Memory of checked blocks (a sampled huge block's mapping): their records tell.
            return sampler.misuseInUnmapped(operation, address);
        }
        return MisuseReports.foreign(operation, address, this);
    }

    private void rememberFreedHuge(long start, long usable) {
        synchronized (freedHuge) {
            freedHuge[2 * freedHugeNext] = start;
            freedHuge[2 * freedHugeNext + 1] = usable;
            freedHugeNext = (freedHugeNext + 1) % FREED_HUGE_HISTORY;
        }
    }

    /**
     * @return the usable size of the huge block this heap freed last at {@code start}, or -1 if it
     *     has freed so many huge blocks since that it no longer knows
     */
    private long freedHugeUsable(long start) {
        synchronized (freedHuge) {
            for (int back = 1; back <= FREED_HUGE_HISTORY; back++) {
                int slot = Math.floorMod(freedHugeNext - back, FREED_HUGE_HISTORY);
                if (freedHuge[2 * slot] == start) {
                    return freedHuge[2 * slot + 1];
                }
            }
            return -1;
        }
    }

    private static int releaseCode(int state) {
        return state == BlockState.FREED ? Page.RELEASE_FREED : Page.RELEASE_NOT_ALLOCATED;
    }

    /** @param code {@link Page#RELEASE_FREED} or {@link Page#RELEASE_NOT_ALLOCATED} */
    private RuntimeException misuse(String operation, int code, long address, Page page) {
        if (liveAgain(address, page)) {
            return MisuseReports.changedDuringCall(operation, address, this);
        }
        if (code == Page.RELEASE_FREED) {
            return MisuseReports.doubleFree(operation, address, page, this);
        }
        return MisuseReports.notAllocated(operation, address,
                "is a block boundary in heap '" + name + "' but no block was ever allocated there", this);
    }

    /**
     * Whether the block at {@code address}, which a call found free or never allocated, is live
     * by the time that call reports it: then another thread changed the block under the call
     * (another realloc resizing it in place, the owner's laying its page out again for a new size
     * class among them, or a free and a malloc), a race of misuses, and "already free" would be
     * wrong. A class change in progress is waited out.
     */
    private static boolean liveAgain(long address, Page page) {
        if (page.isSingle()) {
            return false;
        }
        // The owner's relayout is a few stores, but the OS may take its thread off the processor
        // midway: yield to it, for up to a second, before judging the block (a report's wording
        // only, should its thread stall longer).
        long deadline = System.nanoTime() + 1_000_000_000;
        while (page.changingClass && System.nanoTime() < deadline) {
            Thread.yield();
        }
        try {
            int index = page.blockIndex(address);
            return index >= 0 && page.blockState(index) == BlockState.LIVE;
        } catch (RuntimeException laidOutAgain) {
            return false;
        }
    }

    // ---- sizes ----

    public static long checkedProduct(long count, long byteSize) {
        if (count < 0 || byteSize < 0) {
            throw new IllegalArgumentException("count and byteSize must not be negative: count=" + count
                    + ", byteSize=" + byteSize);
        }
        long high = Math.multiplyHigh(count, byteSize);
        long product = count * byteSize;
        if (high != 0 || product < 0) {
            throw new IllegalArgumentException("count * byteSize overflows a long: count=" + count
                    + ", byteSize=" + byteSize);
        }
        return product;
    }

    public static long goodSize(long byteSize) {
        checkSize(byteSize, "byteSize");
        if (byteSize <= SizeClasses.MEDIUM_MAX) {
            return SizeClasses.blockSize(SizeClasses.classOf(byteSize));
        }
        return byteSize > SpanAllocator.MAX_REQUEST ? byteSize : largeUsableSize(byteSize);
    }

    private static long largeUsableSize(long byteSize) {
        return inOsPages(byteSize);
    }

    /** @return {@code byteSize} rounded up to whole OS pages, one page at least: the least a request of it commits */
    private static long inOsPages(long byteSize) {
        return SpanAllocator.roundUp(Math.max(byteSize, 1), Os.OS_PAGE_SIZE);
    }

    /** @throws IllegalArgumentException naming {@code parameter} if {@code byteSize} is negative */
    static void checkSize(long byteSize, String parameter) {
        if (byteSize < 0) {
            throw new IllegalArgumentException(parameter + " must not be negative: " + byteSize);
        }
    }

    private HeapExhaustedError exhausted(long byteSize, long byteAlignment) {
        if (byteSize > SpanAllocator.MAX_REQUEST || byteAlignment > SpanAllocator.MAX_REQUEST) {
            return pastMaxRequest(name, byteSize, byteAlignment, MIN_ALIGNMENT, "");
        }
        return new HeapExhaustedError("heap '" + name + "' cannot allocate " + byteSize + " bytes"
                + aligned(byteAlignment, MIN_ALIGNMENT) + ": " + exhaustionCause(byteSize) + idleAtLimit(byteSize),
                byteSize);
    }

    /**
     * At the limit, with much of the committed memory in no live block, and enough of it that the
     * request would fit were it given back: says where it most likely is, since a program that
     * frees much and is still refused cannot see it otherwise. The refusal came after everything
     * that can go back went back ({@link #trim}): what is left are free blocks sharing OS pages with
     * live ones, and blocks other live threads freed in the pages they allocate from now, spares
     * included. A request larger than
     * the whole limit, or than the room the live blocks leave, gets no such sentence: that memory
     * is not what refused it.
     *
     * @param byteSize the refused request; it needs at least its size in OS pages committed
     * @return the sentence to append to an exhaustion message, or ""
     */
    private String idleAtLimit(long byteSize) {
        CommitLimit limit = spans.limit();
        if (!limit.isLimited() || closed) {
            return "";
        }
        HeapStats stats = stats();
        long idle = stats.committedBytes() - stats.usableBytes();
        if (idle <= 0 || idle * 4 < stats.committedBytes()) {
            return "";
        }
        long needed = inOsPages(byteSize);
        long heldByLiveBlocks = Math.max(0, limit.chargedBytes() - idle);
        if (needed > limit.maxBytes() - heldByLiveBlocks) {
            return "";
        }
        return "; " + idle + " B of the committed memory hold no live block: free blocks that share OS pages with"
                + " live blocks, or that other live threads freed in the pages they allocate from now (spare pages"
                + " among them), which only those threads give back, as they move on to other pages or end";
    }

    /**
     * The exhaustion of a request no heap can satisfy, whatever it has committed: more than
     * {@link SpanAllocator#MAX_REQUEST} bytes, or aligned to more. Every mode says it alike.
     *
     * @param mode words after the size, such as {@code " (checked mode)"}, or empty
     */
    static HeapExhaustedError pastMaxRequest(String name, long byteSize, long byteAlignment, long minAlignment,
            String mode) {
        String what = byteSize > SpanAllocator.MAX_REQUEST ? "more than" : "an alignment past";
        return new HeapExhaustedError("heap '" + name + "' cannot allocate " + byteSize + " bytes"
                + aligned(byteAlignment, minAlignment) + mode + ": " + what + " the " + SpanAllocator.MAX_REQUEST
                + " bytes a heap can hand out", byteSize);
    }

    /** @return {@code " aligned to N"} for an alignment past {@code minAlignment}, else "": exhaustion messages' words */
    static String aligned(long byteAlignment, long minAlignment) {
        return byteAlignment > minAlignment ? " aligned to " + byteAlignment : "";
    }

    /**
     * Why a request this core could not commit failed, as exhaustion reports say it: the OS, when
     * the heap has no limit; the limit, when what the heap's cores commit together leaves less than
     * the request's own OS pages; else either, since a request may commit more than its size (a
     * page's next OS page, alignment). How much more a request needed is left unsaid: a realloc
     * that could not move might have grown in place with less, once a neighbour is freed.
     *
     * @param byteSize the refused request's bytes, redzones included
     */
    String exhaustionCause(long byteSize) {
        CommitLimit limit = spans.limit();
        long committed = limit.isTracked() ? limit.chargedBytes() : spans.committed.get();
        if (!limit.isLimited()) {
            return "the OS refused memory (committed=" + committed + " B, no limit)";
        }
        long needed = inOsPages(byteSize);
        String counts = "committed=" + committed + " B, limit=" + limit.maxBytes() + " B";
        return needed > limit.maxBytes() - committed
                ? "past the heap's maxCommittedBytes limit (" + counts + ")"
                : counts + ", so the limit or the OS refused";
    }

    /** @throws IllegalStateException if this core is closed */
    void checkOpen() {
        if (closed) {
            throw closedError();
        }
    }

    private IllegalStateException closedError() {
        return new IllegalStateException("heap '" + name + "' is closed");
    }

    // ---- threads ----

    /** @return the heap of {@code thread}, the current platform thread */
    private ThreadHeap threadHeap(Thread thread) {
        ThreadHeap heap = cachedHeap(thread);
        return heap != null ? heap : cacheThreadHeap(thread);
    }

    /**
     * @return the heap of {@code thread}, the current thread: a platform thread's, made on its first
     *     call; a virtual thread's own if it earned one, else null (it allocates from the stripes)
     */
    private ThreadHeap heapOf(Thread thread) {
        return thread.isVirtual() ? cacheVirtualHeap(thread) : threadHeap(thread);
    }

    /** @return the heap of {@code thread} if the cache has it, else null (always for a virtual thread on the stripes) */
    private ThreadHeap cachedHeap(Thread thread) {
        ThreadHeap heap = heapCache[cacheSlot(thread.threadId())];
        return heap != null && heap.thread == thread ? heap : null;
    }

    /**
     * @return the heap of {@code thread}, the current thread, if it has one, else null (always for
     *     a virtual thread on the stripes); also a heap that another thread's pushed out of the cache, which still
     *     keeps pages and may have a scavenge to go on with
     */
    private ThreadHeap existingHeap(Thread thread) {
        ThreadHeap heap = cachedHeap(thread);
        if (heap != null) {
            return heap;
        }
        if (thread.isVirtual()) {
            return virtualHeaps.find(thread);
        }
        WeakReference<ThreadHeap> own = threadHeaps.get();
        return own != null ? own.get() : null;
    }

    private ThreadHeap cacheThreadHeap(Thread thread) {
        return cache(thread, ownHeap());
    }

    /** @return the heap of {@code thread}, the current virtual thread, cached, or null if it has none */
    private ThreadHeap cacheVirtualHeap(Thread thread) {
        ThreadHeap heap = virtualHeaps.find(thread);
        return heap != null ? cache(thread, heap) : null;
    }

    /**
     * @return the index of the slot of {@link #heapCache} for the thread
     *     of id {@code id}: its low bits, one cache line apart. A thread per task gets the next id,
     *     and two carriers run consecutive ids: with adjacent slots each task's write of its slot
     *     took the line from the other carrier, whose next malloc then missed it. Not spread by a
     *     multiply as {@link #hintSlot} is: on every malloc's fast path that cost a mixed-size pair
     *     more (`PairBenchmark.malloc4jRaw`, {@code -f 3}: 15.6 ns against 14.2, two alternated runs)
     *     than it saved a virtual thread per task; a shift costs a cycle.
     */
    static int cacheSlot(long id) {
        return ((int) id & (HEAP_CACHE_SIZE - 1)) << CACHE_SLOT_SHIFT;
    }

    /**
     * @return the first index of {@code thread}'s entries in {@link #currentPages}: a slot of 64
     *     references (256 bytes) for its {@value SizeClasses#COUNT} classes, chosen by the thread
     *     id's low bits as {@link #cacheSlot} chooses, so no two slots share a cache line
     */
    static int currentSlot(Thread thread) {
        return ((int) thread.threadId() & (HEAP_CACHE_SIZE - 1)) << CURRENT_SLOT_SHIFT;
    }

    private static Page[] emptyCurrentPages() {
        Page[] pages = new Page[HEAP_CACHE_SIZE << CURRENT_SLOT_SHIFT];
        Arrays.fill(pages, EMPTY_PAGE);
        return pages;
    }

    /** @return the owner thread of the page published for {@code sizeClass} in the slot at {@code slot}, or null */
    Thread publishedOwner(int slot, int sizeClass) {
        return currentPages[slot | sizeClass].ownerThread;
    }

    /** Empties the entry of {@code sizeClass} in the slot at {@code slot} if it holds {@code page}. */
    void unpublishCurrent(int slot, int sizeClass, Page page) {
        if (currentPages[slot | sizeClass] == page) {
            currentPages[slot | sizeClass] = EMPTY_PAGE;
        }
    }

    /** Writes {@code page}, the current page of {@code sizeClass}, into the slot at {@code slot} ({@link #currentSlot}). */
    void publishCurrent(int slot, int sizeClass, Page page) {
        currentPages[slot | sizeClass] = page;
    }

    private ThreadHeap cache(Thread thread, ThreadHeap heap) {
        int slot = cacheSlot(thread.threadId());
        heapCache[slot] = heap;
        return heap;
    }

    /** @return the calling platform thread's heap, made and registered on its first call */
    private ThreadHeap ownHeap() {
        WeakReference<ThreadHeap> own = threadHeaps.get();
        ThreadHeap heap = own != null ? own.get() : null;
        if (heap == null) {
            heap = new ThreadHeap(this, Thread.currentThread());
            // Made before the heap is registered, and set where the get above made the thread's
            // entry, which allocates nothing: nothing after the registration may fail before the
            // set. A step there that failed for want of Java heap (the purger's queueing, whose class
            // failed to initialize) left a heap registered that no call found, and each retry of
            // the malloc registered another: 190 for one thread, each holding the room it was given.
            own = new WeakReference<>(heap);
            registerThread(heap);
            threadHeaps.set(own);
            // After the registration, so that a purger run under way either sees the heap or is
            // asked again; after the set, so that should it fail, the heap is found all the same.
            Purger.schedule(this, ENDED_THREAD_CHECK_NANOS);
        }
        return heap;
    }

    private void registerThread(ThreadHeap heap) {
        spans.lockPolling();
        try {
            // A program that starts threads as others end (a thread per task) would otherwise lay
            // out fresh pages while the ended threads' empty ones wait for the next sweep: with
            // rounds of three 20 ms threads the peak grew 4x in 16 rounds. The walk is O(threads),
            // as the copy below is.
            sweepEndedThreads(true);
            register(heap);
        } finally {
            spans.lock.unlock();
        }
    }

    /**
     * Gives {@code thread}, the current virtual thread, a heap of its own: the heap of a virtual
     * thread that ended, with its pages, or a new one if a place for one is free; else it goes on
     * with the stripes. A thread per task takes over the heap its stripe's last task left, whose
     * pages and free blocks are most likely still in that processor's cache, with one
     * compare-and-set and no lock ({@link VirtualThreadHeaps#takeOverOnStripe}); any other takeover
     * or a new heap costs the span lock once. Either saves every later pair both stripe locks.
     *
     * @param early whether the thread asks at its first few mallocs ({@link #HANDOVER_AFTER}), not
     *     because sampling found it allocating much: it may take only half the places
     */
    private void giveVirtualHeap(Thread thread, boolean early) {
        int stripe = (int) stripeHints[hintSlot(thread.threadId())] & (stripes.length - 1);
        ThreadHeap left = closed ? null : virtualHeaps.takeOverOnStripe(stripe, early, thread);
        if (left != null) {
            cache(thread, left);
            return;
        }
        if (early && !virtualHeaps.takesEarlyAsker(stripe)) {
            // Read without the lock first: when waiting threads hold the places, every short
            // thread's fourth malloc would otherwise take the span lock for nothing.
            return;
        }
        ThreadHeap heap;
        boolean handedOver;
        if (!spans.tryLockSpinning()) {
            if (early) {
                // A guess, as early as this: a virtual thread that parks for it waits behind every
                // runnable one, and the place may be gone when it runs again.
                return;
            }
            spans.lockPolling();
        }
        try {
            if (closed) {
                return;
            }
            heap = virtualHeaps.ended(stripe, early);
            handedOver = heap != null;
            if (handedOver) {
                Thread ended = heap.endedOwner();
                if (ended == null || !heap.takeOver(ended, thread)) {
                    // Another asker took it without the lock meanwhile: this one goes on with the
                    // stripes, and asks again only if sampling finds it allocating much.
                    return;
                }
                virtualHeaps.given(heap, stripe, early);
                heap.stripe = stripe;
            } else {
                if (!virtualHeaps.mayAdd(early)) {
                    return;
                }
                heap = new ThreadHeap(this, thread);
                // What may fail for want of Java memory first, each undone if the next does: a
                // heap known to some tables and not others would allocate uncounted.
                register(heap);
                try {
                    virtualHeaps.add(heap);
                } catch (OutOfMemoryError e) {
                    // Undone without allocating: the registry's last entry, and a publication
                    // that keeps the last copy if it finds no room.
                    registry.remove(registry.size() - 1);
                    publishRegistry();
                    throw e;
                }
                virtualHeaps.given(heap, stripe, early);
                heap.stripe = stripe;
            }
        } finally {
            spans.lock.unlock();
        }
        if (!handedOver) {
            // The purger looks for ended threads again while any heap is registered.
            Purger.schedule(this, ENDED_THREAD_CHECK_NANOS);
        }
        cache(thread, heap);
    }

    /** Under the span lock. */
    private void register(ThreadHeap heap) {
        registry.add(heap);
        publishRegistry();
    }

    /**
     * Publishes {@link #registry} for {@link #liveBytes}; under the span lock. An estimate's input
     * only, so when the Java heap has no room for the copy, the last one stays until the next
     * registration or sweep: the registry itself, which {@link #stats} reads, has changed already,
     * and the caller's malloc must not fail after its work.
     */
    private void publishRegistry() {
        try {
            registered = registry.toArray(new ThreadHeap[0]);
        } catch (OutOfMemoryError e) {
            // Kept as it was (see above).
        }
    }

    /** Hands the pages of threads that ended to the span allocator; under the span lock. */
    private void sweepEndedThreads(boolean now) {
        long time = System.nanoTime();
        if (!now && time - lastSweepNanos < SWEEP_INTERVAL_NANOS) {
            return;
        }
        lastSweepNanos = time;
        boolean swept = false;
        for (int i = registry.size() - 1; i >= 0; i--) {
            ThreadHeap heap = registry.get(i);
            if (heap.retire()) {
                registry.remove(i);
                virtualHeaps.remove(heap);
                abandon(heap);
                swept = true;
            }
        }
        if (swept) {
            publishRegistry();
        }
    }

    private void abandon(ThreadHeap heap) {
        giveBackKept(heap, ALL_KEPT);
        heap.pending.clear();
        heap.dropCurrentPages();
        for (int c = 0; c < SizeClasses.COUNT; c++) {
            abandonAll(heap.available[c]);
            abandonAll(heap.fullPages[c]);
        }
        endedMallocs += heap.mallocCount;
        endedFrees += heap.freeCount;
        endedUsable += heap.usableBytes;
    }

    private void abandonAll(PageList list) {
        if (list == null) {
            return;
        }
        Page page = list.head;
        while (page != null) {
            Page next = page.next;
            spans.abandon(page);
            page = next;
        }
        list.head = null;
        list.size = 0;
    }

    // ---- maintenance ----

    @Override
    public void trim() {
        checkOpen();
        Thread thread = Thread.currentThread();
        ThreadHeap own = thread.isVirtual() ? virtualHeaps.find(thread) : ownHeap();
        if (own != null) {
            own.beginPageWork();
            try {
                if (own.keepsPages()) {
                    spans.lockPolling();
                    try {
                        giveBackKept(own, ALL_KEPT);
                    } finally {
                        spans.lock.unlock();
                    }
                }
                releaseEmptyPages(own);
                scavenge(own, null, Long.MAX_VALUE);
            } finally {
                own.endPageWork();
            }
        }
        for (ThreadHeap stripe : stripes) {
            stripe.lock.lock();
            try {
                releaseEmptyPages(stripe);
                scavenge(stripe, null, Long.MAX_VALUE);
            } finally {
                stripe.lock.unlock();
            }
        }
        spans.lockPolling();
        try {
            sweepEndedThreads(true);
            spans.collectAbandoned(System.nanoTime(), 0);
            for (ThreadHeap heap : registry) {
                giveBackKeptIfHeld(heap, ALL_KEPT);
            }
            IdleCurrentPages.take(registry);
        } finally {
            spans.lock.unlock();
        }
        // An owner in the middle of changing its pages holds the scan off them: it finishes soon
        // (it was most likely waiting for the lock the scan takes page by page), so look again.
        Map<ThreadHeap, List<Page>> heldOff = new IdentityHashMap<>();
        spans.scavengeFreeInPages(System.nanoTime(), 0, heldOff);
        spans.scavengeHeldOff(heldOff, System.nanoTime() + TRIM_OWNER_WAIT_NANOS);
        spans.lockPolling();
        try {
            if (!closed) {
                spans.purge(true);
                spans.dropSpareSlackArrays();
            }
        } finally {
            spans.lock.unlock();
        }
    }

    private void releaseEmptyPages(ThreadHeap heap) {
        heap.drainPending();
        for (int c = 0; c < SizeClasses.COUNT; c++) {
            releaseEmpty(heap, heap.available[c]);
            releaseEmpty(heap, heap.fullPages[c]);
        }
        heap.dropEmptyLists();
    }

    private void releaseEmpty(ThreadHeap heap, PageList list) {
        if (list == null) {
            return;
        }
        Page page = list.head;
        while (page != null) {
            Page next = page.next;
            page.collectRemote();
            if (page.used == 0) {
                release(heap, page);
            } else if (page.inFullList && page.hasAvailable()) {
                heap.onLocalFreeInFull(page);
            }
            page = next;
        }
    }

    /** The purger's entry: purge what is due. @return when to run next (nanoTime), or -1 */
    long purgeDue() {
        if (stripesDirty && !closed) {
            stripesDirty = false;
            collectStripes();
        }
        long now;
        long ownFreeDue = -1;
        boolean abandonedWait;
        boolean keptWait = false;
        boolean stripesHoldFrees;
        boolean scan;
        spans.lockPolling();
        try {
            if (closed) {
                purgeScheduled.set(false);
                return -1;
            }
            // Before the look at the ended threads' pages: a free into one after this clear asks
            // for a run of its own, one before it is seen by the look.
            boolean remoteAsked = remoteFreesWaiting;
            if (remoteAsked) {
                remoteFreesWaiting = false;
            }
            sweepEndedThreads(true);
            now = System.nanoTime();
            abandonedWait = spans.collectAbandoned(now, purgeDelayNanos);
            // Every run, not only those that scan: an owner idle since long before other threads
            // freed into its pages is known idle at the first scan after the frees.
            List<ThreadHeap> dueNow = new ArrayList<>();
            List<ThreadHeap> retakeNow = new ArrayList<>();
            for (ThreadHeap heap : registry) {
                heap.noteActivity(now);
                // Pages kept since less than the purge delay (or by an owner busy at its pages
                // now) are due at most a delay from now: look again then, not only at the next
                // check for ended threads.
                keptWait |= giveBackKeptIfHeld(heap, now - purgeDelayNanos);
                long at = heap.freeLookDueAt(now, purgeDelayNanos);
                if (at >= 0 && (ownFreeDue < 0 || at < ownFreeDue)) {
                    ownFreeDue = at;
                }
                if (at == now) {
                    dueNow.add(heap);
                } else if (heap.currentPagesWanted(now, purgeDelayNanos)) {
                    retakeNow.add(heap);
                }
            }
            // Before the scan, which then returns their free memory as that of any page not current.
            IdleCurrentPages.take(dueNow);
            // No scan is due for these: their pages are looked at here, one by one.
            spans.scavengeTakenPages(IdleCurrentPages.take(retakeNow), now, purgeDelayNanos);
            stripesHoldFrees = scavengeIdleStripes(now);
            scan = remoteAsked || freeLookDue || ownFreeDue == now;
        } finally {
            spans.lock.unlock();
        }
        if (scan) {
            // Without the lock: the scan takes it page by page (see there).
            freeLookDue = spans.scavengeFreeInPages(now, purgeDelayNanos, null);
        }
        spans.lockPolling();
        try {
            if (closed) {
                purgeScheduled.set(false);
                return -1;
            }
            if (scan) {
                for (ThreadHeap heap : registry) {
                    heap.lookedAt(now, purgeDelayNanos);
                }
            }
            long due = spans.purge(false);
            if (freeLookDue || abandonedWait || stripeInUse || keptWait) {
                long at = System.nanoTime() + purgeDelayNanos;
                due = due < 0 ? at : Math.min(due, at);
            }
            if (ownFreeDue >= 0 && ownFreeDue != now) {
                // An owner that stops allocating is known idle at the first look after its last
                // malloc; its free memory goes a purge delay after that look.
                due = due < 0 ? ownFreeDue : Math.min(due, ownFreeDue);
            }
            if (due < 0 && stripesDirty) {
                due = System.nanoTime() + purgeDelayNanos;
            }
            if (due < 0 && (!registry.isEmpty() || stripesHoldFrees)) {
                due = System.nanoTime() + ENDED_THREAD_CHECK_NANOS;
            }
            if (due < 0) {
                purgeScheduled.set(false);
                // A free that found the flag still set just before it was cleared: run once more.
                if (stripesDirty && purgeScheduled.compareAndSet(false, true)) {
                    due = System.nanoTime() + purgeDelayNanos;
                }
            }
            return due;
        } finally {
            spans.lock.unlock();
        }
    }

    /**
     * Returns the free memory of the striped heaps no virtual thread has allocated from for the
     * purge delay, as {@link #trim} on a virtual thread would: virtual threads that made blocks,
     * freed most of them and ended, or wait, leave it in the stripes' pages otherwise. Under the
     * span lock, and each stripe's if it is free now (a stripe in use waits for the next look).
     *
     * @return whether some stripe holds frees its purge has not seen: the purger keeps looking
     */
    private boolean scavengeIdleStripes(long now) {
        boolean holdFrees = false;
        stripeInUse = false;
        for (ThreadHeap stripe : stripes) {
            stripe.noteActivity(now);
            long at = stripe.freeLookDueAt(now, purgeDelayNanos);
            if (stripe.freedSincePurge()) {
                holdFrees = true;
            }
            if (at != now) {
                continue;
            }
            if (stripe.lock.tryLock()) {
                try {
                    releaseEmptyPages(stripe);
                    scavenge(stripe, null, Long.MAX_VALUE);
                    stripe.lookedAt(now, purgeDelayNanos);
                } finally {
                    stripe.lock.unlock();
                }
            } else {
                stripeInUse = true;
            }
        }
        return holdFrees;
    }

    /** Releases the empty pages of striped heaps no virtual thread is using right now. */
    private void collectStripes() {
        for (ThreadHeap stripe : stripes) {
            if (stripe.lock.tryLock()) {
                try {
                    releaseEmptyPages(stripe);
                } finally {
                    stripe.lock.unlock();
                }
            } else {
                stripesDirty = true;
            }
        }
    }

    /**
     * {@inheritDoc}
     *
     * <p>The usable and requested bytes of small and medium blocks are read from the block tables
     * of the heap's pages (their slack entries), which the fast paths write anyway, instead of
     * counters they would have to keep: this reads one entry per block a page has handed out, out
     * of the span lock.
     */
    @Override
    public HeapStats stats() {
        long taken = unreturned.sum();
        long mallocs = -taken;
        long frees = remoteFrees.sum() - taken;
        long usable;
        long requested;
        List<Page> pages;
        long[] leaked;
        spans.lockPolling();
        try {
            mallocs += largeMallocs + endedMallocs;
            frees += largeFrees + endedFrees;
            usable = largeUsable;
            requested = largeRequested;
            for (ThreadHeap heap : registry) {
                mallocs += heap.mallocCount;
                frees += heap.freeCount;
            }
            leaked = leakedInPages;
            pages = leaked == null ? spans.pagesOfBlocks() : List.of();
        } finally {
            spans.lock.unlock();
        }
        for (ThreadHeap stripe : stripes) {
            stripe.lock.lock();
            try {
                mallocs += stripe.mallocCount;
                frees += stripe.freeCount;
            } finally {
                stripe.lock.unlock();
            }
        }
        long metadata = metadataBytes();
        long[] small = leaked != null ? leaked : liveInPages(pages);
        usable += small[0];
        requested += small[1];
        long committed = committedBytes();
        return new HeapStats(name, mallocs, frees, requested, usable, committed,
                spans.peakCommitted.get(), spans.reserved, spans.peakReserved, metadata,
                spans.mmapCalls, spans.munmapCalls, spans.madviseCalls, spans.purgedBytes);
    }

    @Override
    public long footprintBytes() {
        // The metadata first: its sum waits for the span lock, which a close holds while it waits for
        // a downcall; the committed bytes read after it are then the close's outcome, not its start.
        long metadata = metadataBytes();
        return committedBytes() + metadata;
    }

    /**
     * @return the committed bytes; for a closed heap, only what memory a downcall kept mapped
     *     commits, whatever a malloc that raced the close (a misuse) added to the count after the
     *     close emptied it: such a malloc commits without the lock
     */
    long committedBytes() {
        return closed ? spans.closedCommitted() : spans.committed.get();
    }

    /**
     * @return the metadata estimate {@link #stats} reports: the span allocator's, every heap's, and
     *     this core's own tables
     */
    long metadataBytes() {
        long metadata;
        spans.lockPolling();
        try {
            metadata = spans.metadata.get() + tableBytes();
            for (ThreadHeap heap : registry) {
                metadata += heap.metadataBytes();
            }
        } finally {
            spans.lock.unlock();
        }
        for (ThreadHeap stripe : stripes) {
            stripe.lock.lock();
            try {
                metadata += stripe.metadataBytes();
            } finally {
                stripe.lock.unlock();
            }
        }
        return metadata;
    }

    /**
     * The Java heap bytes of this core's own tables, fixed for its life (the current pages alone
     * take 16 KiB), as {@link ThreadHeap#metadataBytes} counts a heap's arrays: 16 bytes of array
     * header, 4 a reference (compressed, the JVM's default), 8 a {@code long}.
     */
    long tableBytes() {
        return 16 + 4L * currentPages.length + 16 + 4L * heapCache.length + 16 + 4L * stripes.length
                + 16 + 8L * stripeHints.length + 16 + 8L * freedHuge.length;
    }

    /** @return the usable bytes ({@code [0]}) and requested bytes ({@code [1]}) of the live blocks of {@code pages} */
    private static long[] liveInPages(List<Page> pages) {
        long[] sums = new long[2];
        for (Page page : pages) {
            page.addLiveBlocks(sums);
        }
        return sums;
    }

    @Override
    public org.malloc4j.CheckMode checkMode() {
        return org.malloc4j.CheckMode.FAST;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public boolean isClosed() {
        return closed;
    }

    /**
     * Closes this heap and unmaps its memory, but never memory a downcall is using: that stays
     * mapped, and this throws. Closing again after the downcall returned unmaps it.
     *
     * @throws IllegalStateException if a downcall is using memory of this heap (the heap is closed
     *     all the same), or this heap was closed before and left nothing mapped
     */
    @Override
    public void close() {
        spans.lockPolling();
        try {
            if (closed && !spans.leftMapped()) {
                throw new IllegalStateException("heap '" + name + "' is already closed");
            }
            long leftMapped = closeUnlessInUse(new long[0], HeldArenas.heapCloseDeadline());
            if (leftMapped > 0) {
                throw inUseByADowncall(name, leftMapped);
            }
        } finally {
            spans.lock.unlock();
        }
    }

    /**
     * Closes this heap, or finishes closing it: unmaps its memory except regions whose arenas a
     * downcall holds or that hold an address of {@code inUse}.
     *
     * @param inUse addresses of blocks a downcall is using (their own arenas refused to close)
     * @param deadline until when ({@link System#nanoTime}) a region a downcall holds is waited for
     * @return the bytes left mapped, which closing again unmaps once no downcall uses them
     */
    long closeUnlessInUse(long[] inUse, long deadline) {
        spans.lockPolling();
        try {
            markClosed();
            if (leakedInPages == null) {
                leakedInPages = liveInPages(spans.pagesOfBlocks());
            }
            return spans.closeAll(inUse, deadline);
        } finally {
            spans.lock.unlock();
        }
    }

    /**
     * Closes this core to callers, before {@link #closeUnlessInUse} unmaps it: for a heap whose
     * close has work to do first (the checked blocks' leak report), which is closed to every caller
     * from its start.
     */
    void refuseCalls() {
        // Under the lock, as closeUnlessInUse sets it: a call holding the lock finishes what it
        // maps, which the close then unmaps, and no call sees the heap close halfway through.
        spans.lockPolling();
        try {
            markClosed();
        } finally {
            spans.lock.unlock();
        }
    }

    /**
     * Closes this core to callers, under the span lock; the first time, the span allocator first
     * counts what it commits as the closed heap's ({@link SpanAllocator#closing}).
     */
    private void markClosed() {
        if (!closed) {
            spans.closing();
        }
        closed = true;
    }

    /** @return whether a close left memory mapped because a downcall was using it */
    @Override
    public boolean leftMapped() {
        spans.lockPolling();
        try {
            return spans.leftMapped();
        } finally {
            spans.lock.unlock();
        }
    }

    /** What a free throws, changing nothing, when a downcall is using the block. */
    static IllegalStateException freeWhileInUseByADowncall(long address, String name) {
        return new IllegalStateException("the block at 0x" + Long.toHexString(address) + " in heap '" + name
                + "' cannot be freed, moved, or (in a checked mode) resized while a downcall is using it:"
                + " it stays live and unchanged; free or resize it after the downcall returns");
    }

    /** What {@link #close()} throws when a downcall is using memory of the heap it closed. */
    static IllegalStateException inUseByADowncall(String name, long leftMapped) {
        return new IllegalStateException("heap '" + name + "' is closed, but a downcall is using its memory"
                + " (one of the program's, or the memset of a calloc that another thread began before the"
                + " close): " + leftMapped + " bytes stay mapped, and segments of them accessible, until close()"
                + " is called again after the downcall returns");
    }
}
