package org.malloc4j.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * A thread heap: the pages one thread allocates from (a platform thread, or a virtual thread that
 * earned a heap of its own, {@link VirtualThreadHeaps}), one list of pages with room and one of full
 * pages per size class. Only its thread touches it, so nothing here synchronizes, except
 * {@link #pending}, where other threads announce full pages they freed blocks into.
 *
 * <p>A shared thread heap ({@link #thread} null) serves virtual threads; they take its
 * {@link #lock} around every allocation.
 */
final class ThreadHeap {
    /** How many pages with room {@link #switchToFreeBlocks} looks at. */
    static final int FREE_BLOCKS_LOOK = 8;
    private static final VarHandle OWNER_AT_WORK;
    private static final VarHandle PURGER_AT_WORK;
    private static final VarHandle THREAD;
    private static final VarHandle PAGES = MethodHandles.arrayElementVarHandle(Page[].class);

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            OWNER_AT_WORK = lookup.findVarHandle(ThreadHeap.class, "ownerAtWork", int.class);
            PURGER_AT_WORK = lookup.findVarHandle(ThreadHeap.class, "purgerAtWork", int.class);
            THREAD = lookup.findVarHandle(ThreadHeap.class, "thread", Thread.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /**
     * The owner of a heap that the sweep for ended threads took to give its pages back ({@link
     * #retire}): never started, so never alive, and never the owner of another heap. It inherits
     * no thread-locals, so it keeps nothing of the thread that first loaded this class.
     */
    private static final Thread SWEPT = Thread.ofPlatform().inheritInheritableThreadLocals(false).unstarted(() -> { });

    /** How many empty medium pages (512 KiB each) a thread heap keeps at most. */
    static final int MEDIUM_SPARES = 3;
    /**
     * This object's own size in bytes with compressed references, header and the counters' padding
     * included: {@code CacheLineLayoutTest} checks it.
     */
    static final long SHALLOW_BYTES = 296;
    /** A stripe's lock: the lock, and the {@code ReentrantLock} its waiters queue on. */
    private static final long LOCK_BYTES = 72;
    final HeapCore core;
    /**
     * The owner, or null for a shared heap used under {@link #lock}. A virtual thread's heap passes
     * to another virtual thread once its owner ended ({@link #takeOver}), or to the sweep for ended
     * threads ({@link #retire}), whichever sets it first. A platform thread's passes to no other
     * thread: only to the sweep once its owner ended.
     */
    volatile Thread thread;
    /**
     * For a virtual thread's heap: the index of the stripe its owner allocated from before it got
     * the heap, which names the processor it ran on; written under the span lock by the thread that
     * took the heap over.
     */
    int stripe;
    /**
     * For a virtual thread's heap: whether it was last given to a thread that asked early, at its
     * first few mallocs ({@link VirtualThreadHeaps#earlyHeld}); under the span lock.
     */
    boolean givenEarly;
    /**
     * Where this heap's current pages are published for the malloc fast path
     * ({@link HeapCore#currentSlot} of its owner; -1 for a shared heap): the owner's, or that of the
     * thread that took the heap over, written by that thread within page work, so that the purger
     * (holding the heap) and the sweep for ended threads read the slot the pages are in.
     */
    private int currentSlot;
    final StripeLock lock;
    /**
     * Per size class: pages that may have room; the head is the page allocations come from. Null
     * (with {@link #fullPages}) until the class gets its first page, so a thread that uses a few
     * classes keeps a few lists.
     */
    final PageList[] available = new PageList[SizeClasses.COUNT];
    /** Per size class: pages found full, kept so a dead thread's pages can all be found. */
    final PageList[] fullPages = new PageList[SizeClasses.COUNT];
    /** Size classes whose lists exist. */
    private int classesUsed;
    /** The page each class allocates from: never null ({@link HeapCore#EMPTY_PAGE} at first). */
    final Page[] current = new Page[SizeClasses.COUNT];
    /**
     * Bit {@code c} set when class {@code c}'s current page is not {@link HeapCore#EMPTY_PAGE}:
     * {@link #liveUsable} looks at those alone. A thread uses a few of the classes, and the sum
     * of every thread's live bytes that a commit at a new peak makes walked all 48 of each: with
     * 4,000 idle threads, growing to 512 MiB took 2.2-3.3 times as long as with one
     * (memory-return --only threads).
     */
    private long currentClasses;
    /**
     * Current pages the purger took from this heap while its owner was parked
     * ({@link IdleCurrentPages}), by size class, or null: still marked {@link Page#current}, so that
     * the owner's frees into them stay counted as on a current page, until the owner's next page
     * work settles them ({@link #beginPageWork}). Written by the purger while it holds the heap,
     * read by the owner after the handshake.
     */
    private Page[] taken;
    /** Full pages that another thread freed a block into. */
    final ConcurrentLinkedQueue<Page> pending = new ConcurrentLinkedQueue<>();

    /**
     * The latest medium pages this heap kept empty as their classes' spares, oldest replaced first
     * (see HeapCore#keepMediumSpare).
     */
    final Page[] mediumSpares = new Page[MEDIUM_SPARES];
    int nextMediumSpare;
    /** The empty small pages this heap keeps out of the pool ({@link HeapCore}'s kept pages); null until the first. */
    private KeptPages kept;
    /** What {@link HeapCore}'s estimate of free memory inside pages was after the last scavenge. */
    long scavengeResidual;
    /**
     * Whether the last scavenge stopped at its cap of calls: the next commits go on with it, a
     * capped scavenge each, until one finishes.
     */
    boolean scavengeUnfinished;
    /**
     * The purger's, under the span lock: {@link #mallocCount} at its last look, and since when
     * ({@link System#nanoTime}) it has stayed so: a thread that does not allocate does not collect
     * the frees others make in its pages ({@link SpanAllocator#scavengeRemoteFrees}).
     */
    long seenMallocs;
    long idleSinceNanos;
    /**
     * The purger's, under the span lock: {@link #freeCount} when it last returned the free memory
     * of this heap's pages, idle ({@link SpanAllocator#scavengeFreeInPages}), and at its present look.
     */
    private long purgedAtFrees;
    private long freesAtLook;
    /**
     * The purger's, under the span lock ({@link IdleCurrentPages}): a look found this heap's owner
     * idle, its current pages worth taking, and the owner running, so it left them. That look counts
     * the owner's frees as seen all the same, and no look is due for them again: the purger takes
     * the pages at a later look that finds the owner waiting and not allocating for the purge delay
     * (again, if it allocated meanwhile).
     */
    boolean currentPagesLeft;
    /**
     * The owner's nesting of {@link #beginPageWork}: only the outermost call announces it.
     */
    private int pageWorkDepth;
    /**
     * The handshake that keeps the purger off the pages of a live thread while their owner changes
     * which page is current, lays one out, unlinks it, or moves holes in or out of its bitmaps: 1
     * while the owner does ({@link #beginPageWork}), and 1 while the purger returns the free memory
     * of the owner's pages that are not current ({@link #holdForPurge}). Each side sets its own word
     * and then reads the other's (Dekker), so at most one of them goes on; the owner waits, the
     * purger gives up until its next look.
     */
    private volatile int ownerAtWork;
    private volatile int purgerAtWork;
    /**
     * The purger's, under the span lock, for a thread's own heap (null for a stripe): per
     * size class, a summary of the class's current page at its last look, and when it last saw
     * that change ({@link #noteActivity}).
     */
    private final int[] classStates;
    private final long[] classChangedAt;
    /**
     * For a thread's own heap (null for a stripe): per size class, how many times the class's
     * current page was refilled: another page made current, or the frees other threads made in it
     * collected. The owner's, on its slow path; the purger reads it racily, to tell an owner that
     * goes through its pages of a class slowly ({@link #classRefills}).
     */
    private final int[] refills;

    // The owner writes the counts on every malloc and free. Other threads read this heap's other
    // fields (its thread, lock and pending queue) when they free into its pages, and whatever object
    // lies just before this one in memory: the padding on both sides keeps the counters off those
    // cache lines. (The JVM lays out longs first, in declaration order.) A stripe made right after
    // HeapCore's stripe array shared a line with it, which every virtual thread's malloc reads: two
    // virtual threads allocating at once took 2-3x as long per malloc+free as two platform threads.
    @SuppressWarnings("unused")
    private long padBefore0, padBefore1, padBefore2, padBefore3, padBefore4, padBefore5, padBefore6, padBefore7;
    long mallocCount;
    long freeCount;
    /**
     * Makes each of this class's {@code VarHandle} calls once, on a thread heap of no heap, while
     * the first heap is made (see {@link RegionMap#linkVarHandleCalls}): the purger's look at an
     * owner's current pages, and its give-back of them, are the first to run some of them.
     */
    static void linkVarHandleCalls() {
        ThreadHeap scratch = new ThreadHeap(null, null);
        OWNER_AT_WORK.setVolatile(scratch, 0);
        OWNER_AT_WORK.setRelease(scratch, 0);
        int atWork = (int) PURGER_AT_WORK.getVolatile(scratch);
        Thread none = null;
        boolean swapped = THREAD.compareAndSet(scratch, none, none);
        Page[] pages = {HeapCore.EMPTY_PAGE};
        PAGES.setVolatile(pages, 0, HeapCore.EMPTY_PAGE);
        Object page = PAGES.getVolatile(pages, atWork);
    }

    /**
     * The usable bytes of this heap's live blocks, but for what its mallocs and frees on its current
     * pages added since each became current ({@link Page#usableSinceCurrent}), less the blocks of
     * other heaps this thread freed: {@link #liveUsable} adds the rest. The fast paths, which work
     * on current pages, leave it alone: counting every malloc and free here took 11-17 % of a
     * malloc+free pair ({@code PairBenchmark.malloc4jRaw}, 64 B and mixed sizes).
     */
    long usableBytes;
    @SuppressWarnings("unused")
    private long pad0, pad1, pad2, pad3, pad4, pad5, pad6, pad7;

    ThreadHeap(HeapCore core, Thread thread) {
        this.core = core;
        this.thread = thread;
        this.lock = thread == null ? new StripeLock() : null;
        this.currentSlot = thread == null ? -1 : HeapCore.currentSlot(thread);
        this.classStates = thread == null ? null : new int[SizeClasses.COUNT];
        this.classChangedAt = thread == null ? null : new long[SizeClasses.COUNT];
        this.refills = thread == null ? null : new int[SizeClasses.COUNT];
        if (classChangedAt != null) {
            // A class the thread never used has been idle since the thread's first malloc.
            Arrays.fill(classChangedAt, System.nanoTime());
        }
        for (int c = 0; c < SizeClasses.COUNT; c++) {
            current[c] = HeapCore.EMPTY_PAGE;
        }
    }

    /**
     * The owner is about to change which of its pages is current, lay one out, unlink one, or
     * move holes of one in or out of its bitmaps: waits until the purger is done with its pages.
     * Paired with {@link #endPageWork}; nests. Off the fast path: a refill, a page released, a
     * realloc changing a page's class, a trim.
     */
    void beginPageWork() {
        if (pageWorkDepth++ > 0) {
            return;
        }
        OWNER_AT_WORK.setVolatile(this, 1);
        for (int spins = 0; (int) PURGER_AT_WORK.getVolatile(this) != 0; spins++) {
            // The purger holds the heap for one page at a time, and looks for this word between
            // pages: a wait of one page's madvise calls. A trim() that found this owner busy holds
            // it for all the pages it found so, once.
            if (spins < 64) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
        if (taken != null) {
            settleTaken();
        }
    }

    void endPageWork() {
        if (--pageWorkDepth == 0) {
            OWNER_AT_WORK.setRelease(this, 0);
        }
    }

    /**
     * The purger's, under the span lock: keeps the owner from changing its current pages, their
     * layouts and their holes until {@link #releaseFromPurge}.
     *
     * @return false if the owner is at such work now (the purger then leaves the heap alone)
     */
    boolean holdForPurge() {
        PURGER_AT_WORK.setVolatile(this, 1);
        if ((int) OWNER_AT_WORK.getVolatile(this) != 0) {
            PURGER_AT_WORK.setRelease(this, 0);
            return false;
        }
        return true;
    }

    void releaseFromPurge() {
        PURGER_AT_WORK.setRelease(this, 0);
    }

    /**
     * The purger's, while it {@linkplain #holdForPurge holds} the heap: makes each class's current
     * page that holds at least an OS page of free blocks stop being current ({@link HeapCore#EMPTY_PAGE}
     * in its place), so that the owner's next malloc of the class takes the slow path, and its
     * handshake, before it allocates from the page again. The owner may be allocating from such a
     * page right now: {@link IdleCurrentPages} finds out, and {@link #restoreCurrentPages} undoes this.
     *
     * @return the pages taken, by size class, or null if none was worth taking
     */
    Page[] takeCurrentPages() {
        Page[] took = null;
        for (int c = 0; c < SizeClasses.COUNT; c++) {
            Page page = current[c];
            if (page != HeapCore.EMPTY_PAGE && holdsAnOsPageUnused(page)) {
                if (took == null) {
                    // Both arrays before the first page leaves: a full Java heap then fails the
                    // call with the current pages as they were, none lost between the two.
                    Page[] made = new Page[SizeClasses.COUNT];
                    if (taken == null) {
                        taken = new Page[SizeClasses.COUNT];
                    }
                    took = made;
                }
                took[c] = page;
                PAGES.setVolatile(current, c, HeapCore.EMPTY_PAGE);
                // Before the barrier that follows: the fast path reads the published page.
                unpublish(c, page);
            }
        }
        if (took != null) {
            for (int c = 0; c < SizeClasses.COUNT; c++) {
                if (took[c] != null) {
                    taken[c] = took[c];
                }
            }
        }
        return took;
    }

    /**
     * @return whether {@code page} has free blocks worth an OS page, or as much committed past its
     *     bump pointer (what {@code SpanAllocator.decommitPastBump} returns)
     */
    private static boolean holdsAnOsPageUnused(Page page) {
        return (long) page.freeCount * page.blockSize >= Os.OS_PAGE_SIZE
                || page.commitEnd - (long) page.bump * page.blockSize >= 2L * Os.OS_PAGE_SIZE;
    }

    /** The purger's, still holding the heap: makes the pages {@link #takeCurrentPages} took current again. */
    void restoreCurrentPages(Page[] took) {
        for (int c = 0; c < SizeClasses.COUNT; c++) {
            if (took[c] != null) {
                taken[c] = null;
                PAGES.setVolatile(current, c, took[c]);
            }
        }
    }

    /** The owner's: the pages the purger took stop being current, with what its mallocs and frees added on them. */
    private void settleTaken() {
        Page[] pages = taken;
        taken = null;
        for (Page page : pages) {
            if (page != null) {
                usableBytes += page.usableSinceCurrent();
                page.current = false;
            }
        }
    }

    /**
     * Waits, without the span lock, for the owner to finish changing its pages.
     *
     * @param deadline the {@link System#nanoTime} after which it waits no more
     * @return false if it had not finished by then
     */
    boolean awaitPageWorkDone(long deadline) {
        while ((int) OWNER_AT_WORK.getVolatile(this) != 0) {
            if (System.nanoTime() - deadline > 0) {
                return false;
            }
            Thread.yield();
        }
        return true;
    }

    /**
     * @return whether {@code page} is the page its class allocates from: read by the purger while
     *     it {@linkplain #holdForPurge holds} the heap, when the owner cannot change it
     */
    boolean isCurrent(Page page) {
        int sizeClass = page.sizeClass;
        return sizeClass >= 0 && PAGES.getVolatile(current, sizeClass) == page;
    }

    /**
     * Makes {@code page} its class's current page, once holes the purger made of its free blocks
     * are the page's own ({@link Page#collectRemote}): the fast path hands out whatever the free
     * bitmap holds. Within {@link #beginPageWork}.
     */
    private void makeCurrent(int sizeClass, Page page) {
        page.collectRemote();
        setCurrent(sizeClass, page);
    }

    /**
     * Makes {@code page} (or {@link HeapCore#EMPTY_PAGE}) its class's current page, and counts
     * what the owner's mallocs and frees added on the page that stops being current.
     */
    private void setCurrent(int sizeClass, Page page) {
        Page previous = current[sizeClass];
        if (previous == page) {
            return;
        }
        if (previous != HeapCore.EMPTY_PAGE) {
            usableBytes += previous.usableSinceCurrent();
            previous.current = false;
        }
        if (page != HeapCore.EMPTY_PAGE) {
            page.usedAtCurrent = page.used;
            page.current = true;
            countRefill(sizeClass);
            if (page.ownerThread != thread) {
                // A page of a heap taken over since the page was last current (takeOver).
                page.ownerThread = thread;
            }
        }
        current[sizeClass] = page;
        if (page != HeapCore.EMPTY_PAGE) {
            currentClasses |= 1L << sizeClass;
            publish(sizeClass, page);
        } else {
            currentClasses &= ~(1L << sizeClass);
            if (previous != HeapCore.EMPTY_PAGE) {
                unpublish(sizeClass, previous);
            }
        }
    }

    private void publish(int sizeClass, Page page) {
        if (currentSlot >= 0) {
            core.publishCurrent(currentSlot, sizeClass, page);
        }
    }

    /** Empties the class's entry if it holds {@code page}: a page of another thread sharing the slot stays. */
    private void unpublish(int sizeClass, Page page) {
        if (currentSlot >= 0) {
            core.unpublishCurrent(currentSlot, sizeClass, page);
        }
    }

    /**
     * The owner's, after a malloc from the class's current page that the fast path did not find
     * published: publishes it again if the entry is empty (the purger gave the page back) or holds
     * a page of a thread that ended. A page of another living thread sharing the slot stays, so
     * that of two threads allocating the same class one keeps its fast path rather than both
     * taking the entry from each other on every malloc. Within {@link #beginPageWork}, so that a
     * page the purger takes meanwhile is not published after the purger emptied the entry.
     */
    void refreshCurrent(int sizeClass) {
        Thread holder = core.publishedOwner(currentSlot, sizeClass);
        if (holder != null && holder.isAlive()) {
            return;
        }
        beginPageWork();
        try {
            publish(sizeClass, current[sizeClass]);
        } finally {
            endPageWork();
        }
    }

    /** Makes every class's current page none, counting what each added: the heap is abandoned. */
    void dropCurrentPages() {
        if (taken != null) {
            settleTaken();
        }
        for (int c = 0; c < SizeClasses.COUNT; c++) {
            setCurrent(c, HeapCore.EMPTY_PAGE);
        }
    }

    /**
     * @return the usable bytes of this heap's live blocks, less those of other heaps' blocks this
     *     thread freed: exact for the owner (or under a stripe's lock); read by another thread, a
     *     racy estimate
     */
    long liveUsable() {
        long live = usableBytes;
        // Read racily, a bit may be set for a class whose entry is EMPTY_PAGE again: it adds 0.
        for (long classes = currentClasses; classes != 0; classes &= classes - 1) {
            live += current[Long.numberOfTrailingZeros(classes)].usableSinceCurrent();
        }
        Page[] pages = taken;
        if (pages != null) {
            for (Page page : pages) {
                if (page != null) {
                    live += page.usableSinceCurrent();
                }
            }
        }
        return live;
    }

    /** Drops the lists of classes left without pages (trim). */
    void dropEmptyLists() {
        for (int c = 0; c < SizeClasses.COUNT; c++) {
            if (available[c] != null && available[c].size == 0 && fullPages[c].size == 0) {
                available[c] = null;
                fullPages[c] = null;
                setCurrent(c, HeapCore.EMPTY_PAGE);
                classesUsed--;
            }
        }
    }

    /** Makes the lists of {@code sizeClass} if it has none yet. */
    void ensureLists(int sizeClass) {
        if (available[sizeClass] == null) {
            // Both made before either is set: a full Java heap fails the call with the class
            // still list-less, not half-listed for every later call to trip over.
            PageList withRoom = new PageList();
            PageList full = new PageList();
            available[sizeClass] = withRoom;
            fullPages[sizeClass] = full;
            classesUsed++;
        }
    }

    /**
     * @return the owner of this virtual thread's heap if it ended, so that another virtual thread
     *     may {@link #takeOver} the heap; null if it lives or the sweep took the heap
     */
    Thread endedOwner() {
        Thread owner = thread;
        // isAlive() false: the owner's end happens before this read, so its last writes to the heap
        // and its pages are visible to the caller.
        return owner != null && owner != SWEPT && !owner.isAlive() ? owner : null;
    }

    /**
     * {@code next}, the current virtual thread, takes over this heap, whose owner {@code ended}
     * (read from {@link #endedOwner}), with its pages and their free blocks, as if the owner had
     * gone on allocating. A compare-and-set on {@link #thread} settles who gets it, without a lock:
     * of two threads that ask for it at once, or a thread and the sweep ({@link #retire}), one
     * wins and the others leave the heap alone.
     *
     * <p>Only the current pages name the new owner at once, so a takeover costs the same whatever
     * the heap holds (walking every page of a heap of 1 GiB of live 1000 B blocks held the span
     * lock for about 70 µs). The others take it when they become current ({@link #setCurrent}) or
     * at the new owner's first free into them ({@code HeapCore.free}), whichever comes first.
     *
     * @return whether {@code next} got the heap
     */
    boolean takeOver(Thread ended, Thread next) {
        if (!THREAD.compareAndSet(this, ended, next)) {
            return false;
        }
        // As page work: a purger that held the heap while its owner was parked, and takes its
        // current pages, would otherwise empty the ended thread's slot while this publishes a page
        // it took in the new one.
        beginPageWork();
        try {
            int endedSlot = currentSlot;
            currentSlot = HeapCore.currentSlot(next);
            for (int c = 0; c < SizeClasses.COUNT; c++) {
                Page page = current[c];
                if (page != HeapCore.EMPTY_PAGE) {
                    page.ownerThread = next;
                    // Out of the ended thread's slot: once the page stops being current there, a
                    // thread sharing that slot that came to own it would find it there.
                    core.unpublishCurrent(endedSlot, c, page);
                    publish(c, page);
                }
            }
        } finally {
            endPageWork();
        }
        return true;
    }

    /**
     * The sweep for ended threads, under the span lock, takes this heap to give its pages back:
     * unless a virtual thread took it over since its owner ended.
     *
     * @return whether the sweep got the heap; false if its owner lives, or another thread owns it
     */
    boolean retire() {
        Thread ended = endedOwner();
        return ended != null && THREAD.compareAndSet(this, ended, SWEPT);
    }

    /** Adds an adopted or new page with room as the class's current page. */
    void addAvailable(Page page) {
        page.owner = this;
        page.ownerThread = thread;
        page.inFullList = false;
        ensureLists(page.sizeClass);
        available[page.sizeClass].addFirst(page);
        makeCurrent(page.sizeClass, page);
    }

    /** Adds an adopted page that has no room, in the full state. */
    void addFull(Page page) {
        page.owner = this;
        page.ownerThread = thread;
        page.inFullList = true;
        ensureLists(page.sizeClass);
        fullPages[page.sizeClass].addFirst(page);
        page.markFull();
        if (page.hasRemoteFrees() && page.claimFromFull()) {
            unfull(page);
        }
    }

    /**
     * Finds a page of {@code sizeClass} with room among this heap's own pages, collecting remote
     * frees and retiring full pages on the way, and makes it current.
     *
     * @return the page, or null if none has room
     */
    Page findAvailable(int sizeClass) {
        drainPending();
        PageList list = available[sizeClass];
        Page page = list == null ? null : list.head;
        while (page != null) {
            Page next = page.next;
            page.collectRemote();
            if (page.hasAvailable() || core.restoreHoles(this, page)) {
                list.moveToFront(page);
                makeCurrent(sizeClass, page);
                return page;
            }
            retireFull(page);
            page = next;
        }
        setCurrent(sizeClass, HeapCore.EMPTY_PAGE);
        return null;
    }

    /**
     * The bump pointer of {@code page}, its class's current page, has reached memory not yet
     * committed: if another page of the class among the first {@value #FREE_BLOCKS_LOOK} with room
     * has free blocks (freed by this heap's threads or by others), it becomes current instead, so
     * that freed blocks are taken before the heap grows. Off the fast path: once for each OS page
     * the bump pointer commits.
     *
     * <p>Before that, the page's own blocks that other threads freed are collected: they wait freed
     * as much. Without it, a thread whose 2,000 blocks of 16-128 B another thread freed committed
     * as much again for its next 2,000, beside them ({@code ForeignFreeTest}).
     *
     * @return whether the page collected blocks other threads freed, or another page became
     *     current; the caller's malloc then goes the long way, which takes a free block of the
     *     class's pages with room instead of committing
     */
    boolean switchToFreeBlocks(Page page) {
        if (current[page.sizeClass] == page && page.hasRemoteFrees() && collectOwn(page)) {
            return true;
        }
        PageList list = available[page.sizeClass];
        if (list == null || current[page.sizeClass] != page || (list.size < 2 && pending.isEmpty())) {
            // No other page of the class with room, and none freed into while full: a heap that only
            // grows commits without the page work.
            return false;
        }
        // Called from a malloc's fast path: the current page changes only as page work, which the
        // purger waits for.
        beginPageWork();
        try {
            // Full pages other threads freed into come back to the list first, and a page's blocks
            // freed by other threads count as its own: they wait freed as much.
            drainPending();
            int looked = 0;
            // The list's head is where frees left room most recently; a bound keeps a commit from
            // walking a long list of pages whose room is past their bump pointers only.
            for (Page other = list.head; other != null && looked < FREE_BLOCKS_LOOK; other = other.next, looked++) {
                if (other != page && (other.freeCount > 0 || other.collectRemote() > 0)) {
                    list.moveToFront(other);
                    makeCurrent(page.sizeClass, other);
                    return true;
                }
            }
            return false;
        } finally {
            endPageWork();
        }
    }

    /**
     * The bump pointer of {@code page}, its medium class's current page with no other page of the
     * class holding free blocks ({@link #switchToFreeBlocks}), is about to commit memory up to
     * {@code end}: if that would grow the footprint past the peak of a loop, which the heap lets
     * grow rather than take memory back for ({@link SpanAllocator#reusesIdleForCommit}), a medium
     * page whose memory is committed already becomes current instead
     * ({@link HeapCore#takeIdleForCommit}). Off the fast path: once for each OS page the bump
     * pointer commits. The owner's own heap only, and medium classes only: a small class gets its
     * own pages back through the kept pages and the pool anyway, and taking small pages so too (up
     * to 64 KiB each, for commits of 4 KiB) cost either a batch of 1,000 blocks of 16 to 4,096 B,
     * allocated and freed over and over, 2.61 to 2.84 MB committed instead of 2.49 (the thread's
     * kept pages sent to the pool for it last, or not at all), or coalesce-big's one pass 77.1 %
     * utilization instead of 78.7 (sent first).
     *
     * @return whether another page became current; the caller's malloc then goes the long way
     */
    boolean switchToCommittedRoom(Page page, long end) {
        if (!SizeClasses.isMedium(page.sizeClass) || current[page.sizeClass] != page
                || thread != Thread.currentThread()) {
            return false;
        }
        return core.takeIdleForCommit(this, page, end);
    }

    /** @return whether {@code page}, this heap's, collected blocks other threads freed into it */
    private boolean collectOwn(Page page) {
        // Page work, as any change to the current page's blocks: the purger may be making holes of
        // those very blocks.
        beginPageWork();
        try {
            if (page.collectRemote() == 0) {
                return false;
            }
            countRefill(page.sizeClass);
            return true;
        } finally {
            endPageWork();
        }
    }

    private void retireFull(Page page) {
        available[page.sizeClass].remove(page);
        page.inFullList = true;
        fullPages[page.sizeClass].addFirst(page);
        page.markFull();
        // Dekker with Page.freeRemote: either we see its pending word or it sees our flag.
        if (page.hasRemoteFrees() && page.claimFromFull()) {
            unfull(page);
        }
    }

    private void unfull(Page page) {
        if (page.inFullList) {
            fullPages[page.sizeClass].remove(page);
            page.inFullList = false;
            available[page.sizeClass].addFirst(page);
        }
    }

    /** Moves the full pages other threads freed into back to the lists with room. */
    void drainPending() {
        Page page;
        while ((page = pending.poll()) != null) {
            if (page.owner == this && page.active) {
                unfull(page);
            }
        }
    }

    /** A local free left {@code page} in the full list with a free block: move it back. */
    void onLocalFreeInFull(Page page) {
        if (page.claimFromFull()) {
            unfull(page);
        }
        // Otherwise a remote free claimed it first and queued it on pending.
    }

    /**
     * A local free emptied {@code page}. Keep it if it is the class's only page with room
     * (so an alloc/free loop does not churn pages); otherwise give it back to the heap.
     */
    boolean shouldRelease(Page page) {
        // The current page, alone in its list of pages with room: no neighbours (read on every
        // free that empties a page, so neither a list object nor the current array is loaded). A
        // page in the full list is never current.
        return !page.current || page.next != null || page.prev != null;
    }

    /** @return the empty small pages this heap keeps, made at the first */
    KeptPages kept() {
        if (kept == null) {
            kept = new KeptPages();
        }
        return kept;
    }

    /** @return whether this heap keeps an empty small page out of the pool */
    boolean keepsPages() {
        return kept != null && !kept.isEmpty();
    }

    /** Unlinks {@code page} from this heap, before it goes back to the heap's pool. */
    void detach(Page page) {
        if (page.inFullList) {
            fullPages[page.sizeClass].remove(page);
        } else {
            available[page.sizeClass].remove(page);
        }
        if (current[page.sizeClass] == page) {
            Page head = available[page.sizeClass].head;
            if (head != null) {
                makeCurrent(page.sizeClass, head);
            } else {
                setCurrent(page.sizeClass, HeapCore.EMPTY_PAGE);
            }
        }
        page.owner = null;
        page.ownerThread = null;
        page.inFullList = false;
    }

    /** The purger's look at this heap's allocations, at {@code now}; under the span lock. */
    void noteActivity(long now) {
        long mallocs = mallocCount;
        if (mallocs != seenMallocs) {
            seenMallocs = mallocs;
            idleSinceNanos = now;
            noteClassActivity(now);
        }
    }

    /**
     * The purger's, under the span lock, after {@link #noteActivity}: when the free memory this
     * thread made in its pages since the last return of it is due to go back, once the thread has
     * not allocated for {@code waitNanos}.
     *
     * @return that time ({@link System#nanoTime}), or -1 if the thread freed nothing since or
     *     allocated since the last look (the look after it stops allocating sets the time)
     */
    long freeLookDueAt(long now, long waitNanos) {
        freesAtLook = freeCount;
        if (freesAtLook == purgedAtFrees) {
            return -1;
        }
        long at = idleSinceNanos + waitNanos;
        return at - now <= 0 ? now : idleSinceNanos == now ? -1 : at;
    }

    /** @return whether the purger should try again to take the current pages it left to a running, idle owner */
    boolean currentPagesWanted(long now, long waitNanos) {
        return currentPagesLeft && now - idleSinceNanos >= waitNanos;
    }

    /** @return whether the purger has not yet looked at this heap's pages since its last free (racy) */
    boolean freedSincePurge() {
        return freeCount != purgedAtFrees;
    }

    /** The purger looked at this heap's pages at {@code now}: if the thread was idle, its frees until then are done. */
    void lookedAt(long now, long waitNanos) {
        if (now - idleSinceNanos >= waitNanos) {
            purgedAtFrees = freesAtLook;
        }
    }

    private void noteClassActivity(long now) {
        if (classStates == null) {
            return;
        }
        for (int c = 0; c < SizeClasses.COUNT; c++) {
            // Racy reads of the owner's fields, a hint. The collect count tells a page refilled by
            // collecting (a producer's) from one left alone: its use count is back at capacity at
            // every look. A class whose mallocs and local frees balance out between two looks
            // passes for idle: then its pages besides the current one held memory it did not need
            // for that long, which is what a purge gives back.
            Page page = current[c];
            int state = ((System.identityHashCode(page) * 31 + page.used) * 31 + page.bump) * 31
                    + page.remoteCollects;
            if (state != classStates[c]) {
                classStates[c] = state;
                classChangedAt[c] = now;
            }
        }
    }

    /**
     * @return whether, by the purger's looks, the thread has allocated from or freed into no page of
     *     {@code sizeClass} (its current page unchanged) for {@code waitNanos} while it allocated
     *     other sizes
     */
    boolean classIdleFor(int sizeClass, long now, long waitNanos) {
        // A quarter of the wait spared: the look that follows the one that saw the last change
        // comes about a purge delay later, but other due work can bring it a little early, and a
        // class would then wait a whole delay more.
        return classChangedAt != null && now - classChangedAt[sizeClass] >= waitNanos - waitNanos / 4;
    }

    /** Counts a refill of the current page of {@code sizeClass} ({@link #classRefills}). */
    void countRefill(int sizeClass) {
        if (refills != null) {
            refills[sizeClass]++;
        }
    }

    /**
     * @return how many times the current page of {@code sizeClass} was refilled, a racy read; 0
     *     for a stripe, whose pages the purger does not scan
     */
    int classRefills(int sizeClass) {
        return refills == null ? 0 : refills[sizeClass];
    }

    long metadataBytes() {
        return SHALLOW_BYTES + (lock != null ? LOCK_BYTES : 0) + 3 * (16 + 4L * SizeClasses.COUNT)
                + (kept != null ? KeptPages.metadataBytes() : 0)
                + (classStates != null ? 2 * (16 + 4L * SizeClasses.COUNT) + 16 + 8L * SizeClasses.COUNT : 0)
                + classesUsed * 2L * 32 + (taken != null ? 16 + 4L * SizeClasses.COUNT : 0);
    }
}
