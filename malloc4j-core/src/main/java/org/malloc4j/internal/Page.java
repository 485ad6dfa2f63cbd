package org.malloc4j.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.reflect.Array;

/**
 * A page: a run of slices holding blocks of one size class, or one large or huge block.
 *
 * <h2>Block states, all out of band</h2>
 * A block with index {@code i} is
 * <ul>
 *   <li><em>untouched</em> when {@code i >= bump}: the page has never handed it out;
 *   <li><em>free</em> when bit {@code i} of {@link #freeBits} is set: the owner may hand it out;
 *   <li><em>remotely freed</em> when bit {@code i} of {@link #remoteBits} is set: freed by a thread
 *       that does not own the page, waiting for the owner to {@linkplain #collectRemote collect} it;
 *   <li>a <em>hole</em> when bit {@code i} of {@link #holeBits} is set: free, but its memory went back
 *       to the OS ({@link SpanAllocator#scavenge}); neither free nor used in the counts, and handed
 *       out only after the owner {@linkplain SpanAllocator#restoreHoles restores} it, when the page
 *       has no other room;
 *   <li><em>live</em> otherwise.
 * </ul>
 * Only the owner thread (or, for pages without one, a thread holding the heap's span lock) reads
 * and writes {@code freeBits}, {@code bump} and the counters. Other threads touch only
 * {@code remoteBits} (bits and the pending word), atomically: mimalloc's free-list sharding, with
 * bitmaps instead of lists threaded through the blocks, so no user write can reach the metadata.
 *
 * <h2>Memory</h2>
 * OS pages are committed as the bump pointer reaches them ({@link #commitEnd}). Memory at or past
 * {@link #cleanFrom} has never been written since the OS handed it over, so calloc skips zeroing it.
 */
public final class Page extends PageColdFields {
    /** The pseudo size class of a page holding one large block. */
    public static final int LARGE = -1;
    /** The pseudo size class of a page holding one huge block in a mapping of its own. */
    public static final int HUGE = -2;

    /** Set in an address returned by {@link #allocate} when the block is known to be all zeros. */
    static final long CLEAN = 1L << 62;
    static final long ADDRESS_MASK = CLEAN - 1;

    private static final VarHandle REMOTE_BITS;
    private static final VarHandle OWNED_BITS;
    private static final VarHandle PURGED_HOLES;
    private static final VarHandle COMMITTING;
    private static final VarHandle SLACK8;
    private static final VarHandle SLACK16;
    private static final VarHandle SLACK32;
    /**
     * A page object's own size in bytes, header included, with compressed references (the JVM's
     * default; compact object headers give the same): {@code CacheLineLayoutTest} checks it.
     */
    static final long SHALLOW_BYTES = 280;
    /**
     * The index in {@link #remoteBits} of the pending word: non-zero once a remote free has set a
     * bit the owner has not collected. A hint for the owner's fast checks, not a count: keeping a
     * count cost every remote free a second atomic add.
     */
    private static final int PENDING = 0;
    private static final VarHandle FULL;
    private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);
    private static final VarHandle BYTES = MethodHandles.arrayElementVarHandle(byte[].class);
    private static final VarHandle SHORTS = MethodHandles.arrayElementVarHandle(short[].class);
    private static final VarHandle INTS = MethodHandles.arrayElementVarHandle(int[].class);
    /** What {@link #rawSlack} and friends return for a free block (stored as entry 0). */
    private static final int FREE_MARK = -1;
    /**
     * The slack value of a block that a thread not owning the page has claimed but not yet checked
     * against the page's present layout ({@link #releaseAt}), or whose requested size a realloc in
     * place is changing ({@link #setRequested}); every other claim waits for it to settle. Stored
     * as an entry of all ones, which no live entry is (see {@link #encode}).
     */
    private static final int TENTATIVE_MARK = -2;
    /** The entry of a free block: 0, so that a new array holds free blocks only. */
    static final byte FREE_ENTRY = 0;
    /** The entry of a tentatively claimed block: all ones in its width (-1 read as signed). */
    static final byte TENTATIVE_ENTRY = -1;
    /** {@link #release} results that are not a slack. */
    static final int RELEASE_FREED = -1;
    static final int RELEASE_NOT_ALLOCATED = -2;
    /** {@link #releaseAt} result: the page was laid out again since the index was read. */
    static final int RELEASE_STALE = -3;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            REMOTE_BITS = lookup.findVarHandle(PageSharedFields.class, "remoteBits", long[].class);
            OWNED_BITS = lookup.findVarHandle(PageSharedFields.class, "ownedBits", long[].class);
            FULL = lookup.findVarHandle(PageSharedFields.class, "full", int.class);
            PURGED_HOLES = lookup.findVarHandle(PageColdFields.class, "purgedHoles", PurgedHoles.class);
            COMMITTING = lookup.findVarHandle(PageColdFields.class, "committing", boolean.class);
            SLACK8 = lookup.findVarHandle(PageSharedFields.class, "slack8", byte[].class);
            SLACK16 = lookup.findVarHandle(PageSharedFields.class, "slack16", short[].class);
            SLACK32 = lookup.findVarHandle(PageSharedFields.class, "slack32", int[].class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    int bump;
    int freeCount;
    /** No word of {@link Page#freeBits} below this index has a bit set. */
    int searchWord;
    int used;
    /**
     * {@link #used} when the page last became its owner's current page, less the remote frees
     * collected since: the owner's mallocs and frees on its current page change only {@code used},
     * and {@link #usableSinceCurrent} tells the owner's heap what they add up to
     * ({@link ThreadHeap#liveUsable}).
     */
    int usedAtCurrent;
    long[] freeBits;
    boolean inFullList;
    /**
     * Whether this is its owner's current page for its class, or was until the purger took it from
     * a waiting owner that has not settled it yet ({@link ThreadHeap#takeCurrentPages}): its owner's
     * frees here go uncounted.
     */
    boolean current;

    Page(Region region, int firstSlice, int sliceCount, long start, long spanBytes) {
        super(region, firstSlice, start);
        this.sliceCount = sliceCount;
        this.spanBytes = spanBytes;
    }

    /**
     * Lays the page out for blocks of {@code sizeClass}; keeps what is known about its memory.
     *
     * @param spares where the slack array comes from when the page's own is of another width or
     *     too short, and where an array of another width goes
     * @param inPlace whether the page changes class with the block alone in it (a realloc): such
     *     a page changes class again and again, and takes a {@linkplain SpareSlackArrays#reusable
     *     reusable} array; any other page takes a new one unless the spares hold one
     *     ({@link SpareSlackArrays#forNewLayout}), and other threads' frees claim the blocks of a
     *     new one faster
     */
    void format(int sizeClass, SpareSlackArrays spares, boolean inPlace) {
        this.stripeClaimsAtomic = false;
        this.sizeClass = sizeClass;
        this.blockSize = SizeClasses.blockSize(sizeClass);
        this.indexMagic = (1L << 40) / blockSize + 1;
        this.capacity = (int) (spanBytes / blockSize);
        if (used != 0) {
            // Laid out under a block still counted (a block changing class in place, claimed but
            // not yet counted free): no entry may keep an earlier layout's value.
            clearEntries(bump);
        }
        emptyBlocks(spares);
        int width = slackWidth(blockSize);
        // Every block starts free (entry 0), so that a free claims a block without reading the
        // bump pointer, which the owner writes as it hands out new blocks. A new array is all
        // zeros, and so is every array of an earlier layout (a page is laid out only when all its
        // blocks are free): none is filled here. Stored with release, after the shape: a thread
        // that reads the array with acquire (claimFromOther) then reads this layout's shape.
        Object own = slacksOf(width);
        Object entries = inPlace ? spares.entries(width, own, capacity, spanBytes) : spares.forNewLayout(width, capacity);
        if (entries != own) {
            spares.keep(width, own);
        }
        switch (width) {
            case 1 -> SLACK8.setRelease(this, (byte[]) entries);
            case 2 -> SLACK16.setRelease(this, (short[]) entries);
            default -> SLACK32.setRelease(this, (int[]) entries);
        }
        // The array before the width, the width before the other arrays go: a racing double free
        // by another thread (a misuse, see releaseAt) that reads the width finds its array, or
        // none and so knows the layout changed.
        this.slackWidth = width;
        if (width != 1) {
            spares.keep(1, slack8);
            slack8 = null;
        }
        if (width != 2) {
            spares.keep(2, slack16);
            slack16 = null;
        }
        if (width != 4) {
            spares.keep(4, slack32);
            slack32 = null;
        }
        this.active = true;
        this.laidOut = true;
        publishLayout();
    }

    /**
     * Takes a page its thread heap kept empty ({@link KeptPages}) back into use for the same class:
     * what {@link #format} does, but for the slack entries, which are all free already (no block
     * was live when it emptied), and the slack arrays, which keep their width. Its memory is as
     * committed as when it emptied, and it has no holes.
     */
    void reviveLayout() {
        emptyBlocks(null);
        this.active = true;
        this.laidOut = true;
        publishLayout();
    }

    /** Makes every block of the present layout free and none handed out, as a new layout starts. */
    private void emptyBlocks(SpareSlackArrays spares) {
        // Only blocks below the bump pointer were ever marked free.
        this.freeBits = zeroed(freeBits, (bump + 63) >>> 6, (capacity + 63) >>> 6, spares);
        this.bump = 0;
        this.freeCount = 0;
        this.searchWord = 0;
        this.used = 0;
        dropRemoteBits();
        this.ownedBits = null;
        forgetHoles();
        this.purgerSeenFree = -1;
        this.remoteSeenSince = 0;
        this.full = 0;
        this.inFullList = false;
    }

    /** Marks free the entries of the present layout's first {@code count} blocks, if it has entries. */
    private void clearEntries(int count) {
        if (slack8 != null) {
            java.util.Arrays.fill(slack8, 0, Math.min(count, slack8.length), FREE_ENTRY);
        } else if (slack16 != null) {
            java.util.Arrays.fill(slack16, 0, Math.min(count, slack16.length), FREE_ENTRY);
        } else if (slack32 != null) {
            java.util.Arrays.fill(slack32, 0, Math.min(count, slack32.length), FREE_ENTRY);
        }
    }

    /**
     * Orders the layout's stores before every later store of the owner, among them a block's slack
     * as it is handed out. A thread that claims the block by compare-and-set reads that slack, and
     * so sees this layout (or a later one) when it checks the page ({@link #releaseAt}): the
     * release-acquire pair AArch64 needs, where x86 keeps stores in order anyway.
     */
    private static void publishLayout() {
        VarHandle.releaseFence();
    }

    /**
     * Reuses the bitmap of the page's last layout when it is long enough, clearing the words that
     * layout may have set.
     *
     * @param usedWords how many leading words of {@code old} may have bits set
     * @param spares where a bitmap made ahead ({@link #prepareInPlaceFormat}) is taken from, or null
     */
    private static long[] zeroed(long[] old, int usedWords, int length, SpareSlackArrays spares) {
        if (old != null && old.length >= length) {
            java.util.Arrays.fill(old, 0, Math.min(usedWords, old.length), 0L);
            return old;
        }
        long[] made = spares == null ? null : spares.takeBitmap(length);
        return made != null ? made : new long[length];
    }

    /** @return the bytes of a slack entry for blocks of {@code blockSize}: 1, 2 or 4 */
    private static int slackWidth(int blockSize) {
        // An entry is a slack plus one, at most blockSize + 1, and must differ from all ones.
        return blockSize < 0xFF ? 1 : blockSize < 0xFFFF ? 2 : 4;
    }

    /**
     * Whether {@link #format} in place for {@code sizeClass} would allocate on the Java heap: its
     * slack array of the new width, or its bitmap, too short for the new layout (the spares are
     * not looked at; read by the owner, without the lock).
     */
    boolean inPlaceFormatAllocates(int sizeClass) {
        int newBlockSize = SizeClasses.blockSize(sizeClass);
        int newCapacity = (int) (spanBytes / newBlockSize);
        Object own = slacksOf(slackWidth(newBlockSize));
        return own == null || !SpareSlackArrays.reusable(own) || java.lang.reflect.Array.getLength(own) < newCapacity
                || freeBits == null || freeBits.length < (newCapacity + 63) >>> 6;
    }

    /**
     * Makes ahead, in {@code spares}, the arrays {@link #format} in place for {@code sizeClass}
     * would allocate, so that it allocates none once the block changing class is claimed: a full
     * Java heap then fails the realloc with the block as it was, not half laid out. Under the lock.
     */
    void prepareInPlaceFormat(int sizeClass, SpareSlackArrays spares) {
        int newBlockSize = SizeClasses.blockSize(sizeClass);
        int newCapacity = (int) (spanBytes / newBlockSize);
        int width = slackWidth(newBlockSize);
        spares.prepare(width, slacksOf(width), newCapacity, spanBytes);
        int words = (newCapacity + 63) >>> 6;
        if (freeBits == null || freeBits.length < words) {
            spares.prepareBitmap(words);
        }
    }

    /** Lays the page out for one large or huge block of {@code requested} bytes. */
    void formatSingle(int kind, long requested, long usable) {
        this.stripeClaimsAtomic = false;
        this.sizeClass = kind;
        this.blockSize = 0;
        this.capacity = 1;
        this.bump = 1;
        this.used = 1;
        this.freeCount = 0;
        this.freeBits = null;
        this.slack8 = null;
        this.slack16 = null;
        this.slack32 = null;
        this.largeRequested = requested;
        this.largeUsable = usable;
        this.largeBlocks++;
        this.ownedBits = null;
        this.active = true;
        this.laidOut = true;
        publishLayout();
    }

    /**
     * Takes the page out of use (its blocks are all free): remembers how far its memory may have
     * been written, for the next layout's calloc.
     */
    void retire() {
        // A large block may have shrunk in place after its tail was written: all it committed counts.
        long touched = isSingle() ? Math.max(largeUsable, commitEnd) : (long) bump * blockSize;
        cleanFrom = Math.max(cleanFrom, Math.min(spanBytes, touched));
        active = false;
        owner = null;
        ownerThread = null;
    }

    /** Forgets the memory's contents: after a decommit it reads as zeros again. */
    void decommitted() {
        commitEnd = 0;
        cleanFrom = 0;
        forgetHoles();
        active = false;
    }

    /** Forgets which blocks are holes: their memory is committed again, or no longer counted. */
    void forgetHoles() {
        holeBits = null;
        holeOsPages = null;
        holeCount = 0;
        holeBytes = 0;
    }

    boolean isSingle() {
        return sizeClass < 0;
    }

    /**
     * Hands out a free block, extending the page into untouched memory when none is free.
     *
     * Where the block would need memory committed and another page of the class has free blocks,
     * that page becomes current instead and this returns 0 ({@link ThreadHeap#switchToFreeBlocks}):
     * the caller's malloc goes the long way, which takes its block with {@link #allocateOrCommit}.
     *
     * @param requested the caller's size, recorded for statistics
     * @return the block's address, with {@link #CLEAN} set when its memory is known to be zeros;
     *     0 when the page is exhausted, the heap refused to commit more, or another page became current
     */
    long allocate(long requested, HeapCore core) {
        return allocate(requested, core, true);
    }

    /**
     * {@link #allocate}, committing memory where the block needs it whatever other pages of the
     * class hold: for the long way of a malloc, and a block that must be this page's.
     *
     * @return the block's address, with {@link #CLEAN} set when its memory is known to be zeros;
     *     0 when the page is exhausted or the heap refused to commit more
     */
    long allocateOrCommit(long requested, HeapCore core) {
        return allocate(requested, core, false);
    }

    private long allocate(long requested, HeapCore core, boolean freeBlocksFirst) {
        int index;
        long flags = 0;
        if (freeCount > 0) {
            index = takeFree();
        } else if (bump < capacity) {
            index = bump;
            long end = (long) (index + 1) * blockSize;
            if (end > commitEnd) {
                return allocateCommitting(index, end, requested, core, freeBlocksFirst);
            }
            if ((long) index * blockSize >= cleanFrom) {
                flags = CLEAN;
            }
            bump = index + 1;
        } else {
            return 0;
        }
        used++;
        setSlack(index, (int) (blockSize - requested));
        return (start + (long) index * blockSize) | flags;
    }

    /**
     * {@link #allocate} at the bump pointer, where the block's memory is not committed yet: the
     * commit may park on the span lock, and the purger, which may take this page from its parked
     * owner meanwhile, must not return memory past the bump pointer until the pointer has moved
     * past the block ({@link #committing}).
     */
    private long allocateCommitting(int index, long end, long requested, HeapCore core, boolean freeBlocksFirst) {
        // Freed blocks of the class elsewhere first: committing here would grow the footprint
        // while they wait. Then, for a medium page whose commit would grow it past the peak of a
        // loop, memory that retired pages hold committed.
        ThreadHeap heap = freeBlocksFirst ? owner : null;
        if (heap != null && (heap.switchToFreeBlocks(this) || heap.switchToCommittedRoom(this, end))) {
            return 0;
        }
        // Volatile: seen by a purger that finds the owner parked in the commit (a park the JIT may
        // not move a plain store past is a detail of the lock); once a commit, not once a malloc.
        COMMITTING.setVolatile(this, true);
        if (!core.commitPage(this, end)) {
            COMMITTING.setRelease(this, false);
            return 0;
        }
        long flags = (long) index * blockSize >= cleanFrom ? CLEAN : 0;
        bump = index + 1;
        COMMITTING.setRelease(this, false);
        used++;
        setSlack(index, (int) (blockSize - requested));
        return (start + (long) index * blockSize) | flags;
    }

    /** @return whether the owner is committing the block at the bump pointer ({@link #allocateCommitting}) */
    boolean isCommitting() {
        return (boolean) COMMITTING.getAcquire(this);
    }

    private int takeFree() {
        long[] bits = freeBits;
        int word = searchWord;
        long w;
        while ((w = bits[word]) == 0) {
            word++;
        }
        searchWord = word;
        bits[word] = w & (w - 1);
        freeCount--;
        return (word << 6) | Long.numberOfTrailingZeros(w);
    }

    /**
     * @return the index of the block starting at {@code address}, or -1 if no block of this page
     *     starts there (an interior pointer, or past the page's blocks)
     */
    int blockIndex(long address) {
        long offset = address - start;
        if (isSingle()) {
            return offset == 0 ? 0 : -1;
        }
        if (offset < 0 || offset >= spanBytes) {
            return -1;
        }
        int index = (int) ((offset * indexMagic) >>> 40);
        return (long) index * blockSize == offset && index < capacity ? index : -1;
    }

    /**
     * {@link #blockIndex} for the free fast path, of a page of blocks: also -1 for a block held by a
     * scope, arena, pool or growable array, which the slow path then reports. The page's held-block
     * bits are read only once a block of it was ever held: until then the test is one null check.
     * (A page that had ever held one sent every free to the slow path, until it was laid out again:
     * a loop of raw 64 B pairs took 20.4 ns a pair instead of 13.6 after one scope's block.)
     */
    int unheldIndex(long address) {
        int index = startIndex(address);
        return index >= 0 && (ownedBits == null || !isOwned(index)) ? index : -1;
    }

    /** {@link #blockIndex} of a page of blocks, for the fast paths: no test of the page's kind. */
    private int startIndex(long address) {
        long offset = address - start;
        int index = (int) ((offset * indexMagic) >>> 40);
        // One unsigned compare for both ends; the index is garbage when it fails, and unused.
        return Long.compareUnsigned(offset, spanBytes) < 0 && (long) index * blockSize == offset
                && index < capacity ? index : -1;
    }

    /**
     * {@link #unheldIndex}'s counterpart for the free a holder (a scope, arena, pool or growable
     * array) makes of its own block: the index of the block starting at {@code address} if one is
     * held there, else -1.
     */
    int heldIndex(long address) {
        int index = startIndex(address);
        return index >= 0 && isOwned(index) ? index : -1;
    }

    /**
     * {@link #blockState} for a thread that does not hold the page, judging a misuse: another thread
     * may lay the page out again under the read (a free racing the misuse), and an index of the old
     * layout may lie past the new arrays.
     *
     * @return the block's state, or {@link BlockState#NOT_ALLOCATED} if the layout changed under the read
     */
    int blockStateUnheld(int index) {
        try {
            return blockState(index);
        } catch (RuntimeException laidOutAgain) {
            return BlockState.NOT_ALLOCATED;
        }
    }

    /**
     * The state of block {@code index}: exact for the owner (or under the span lock), and for any
     * thread asking about a block it holds; a best effort for a block another thread frees meanwhile.
     */
    int blockState(int index) {
        if (isSingle()) {
            return active && used == 1 ? BlockState.LIVE : BlockState.FREED;
        }
        if (index >= bump) {
            return BlockState.NOT_ALLOCATED;
        }
        if (!active || readSlack(index) == FREE_MARK) {
            return BlockState.FREED;
        }
        return BlockState.LIVE;
    }

    /**
     * Claims a live block for freeing: exactly one caller wins for each allocation of a block.
     *
     * @return the block's slack (so its requested size is {@code blockSize - slack}), or
     *     {@link #RELEASE_FREED} / {@link #RELEASE_NOT_ALLOCATED} if it was not live (nothing changed)
     */
    int release(int index) {
        return active ? claim(index) : notLive(index);
    }

    /** {@link #release} by a thread holding the lock of the striped heap that owns the page. */
    int releaseLocked(int index) {
        return active ? claimLocked(index) : notLive(index);
    }

    /**
     * {@link #release} for a thread that read {@code index}, the index of the block at
     * {@code address}, without holding the page (a free by a thread that does not own it). The
     * owner may meanwhile have seen the page emptied (by an earlier free of the same block: this is
     * a racing double free), laid it out again, with other arrays or a shorter one, and handed out a
     * block at that index, or handed the page to a striped heap. So the claim is tentative until
     * checked against the present layout: a claim of another layout's block, or of a stripe's
     * block, is given back, and the caller judges the address again under the new layout. The
     * block's holder, freeing it meanwhile, waits for the check instead of finding it claimed, so
     * its free neither fails nor is lost.
     *
     * @return as {@link #release}, or {@link #RELEASE_STALE}
     */
    int releaseAt(long address, int index) {
        if (!active) {
            return notLive(index);
        }
        int width = slackWidth;
        Object slacks = slacksOf(width);
        if (slacks == null || index >= Array.getLength(slacks)) {
            // Read between a new layout's stores, or an index past its array: not this layout's.
            return RELEASE_STALE;
        }
        int slack;
        while (true) {
            slack = rawSlack(slacks, width, index);
            if (slack == FREE_MARK) {
                return notLive(index);
            }
            if (slack == TENTATIVE_MARK) {
                Thread.onSpinWait();
            } else if (casSlack(slacks, width, index, slack, TENTATIVE_MARK)) {
                break;
            }
        }
        // The compare-and-set read the slack the owner stored after laying the page out
        // (publishLayout): that layout, or a later one, is visible here. A stripe's page is freed into under the stripe's lock
        // only, whose claims do not wait for this one (claimLocked).
        boolean current;
        try {
            ThreadHeap heap = owner;
            current = active && slackWidth == width && slacksOf(width) == slacks
                    && blockIndex(address) == index && (heap == null || heap.thread != null);
        } catch (Throwable e) {
            // Even a StackOverflowError here must not leave the mark, which every claim waits out.
            casSlack(slacks, width, index, TENTATIVE_MARK, slack);
            throw e;
        }
        if (current && casSlack(slacks, width, index, TENTATIVE_MARK, FREE_MARK)) {
            return slack;
        }
        // Only a new layout's fill replaces the mark: then there is nothing to give back.
        casSlack(slacks, width, index, TENTATIVE_MARK, slack);
        return RELEASE_STALE;
    }

    /**
     * The free fast path of a thread that does not own the page: claims the block starting at
     * {@code address}, held by no scope, arena or pool, with one compare-and-set, where
     * {@link #releaseAt} claims tentatively, checks the page's layout, and claims again.
     * {@code ForeignFreeBenchmark.malloc4jRaw}: 25.1 ns a free before, 18.2 after (0.718, the
     * median of four alternated rounds of {@code malloc4j-bench/ab}).
     *
     * <p>One compare-and-set is enough where the page's slack array has an even length: such an
     * array serves one layout only ({@link SpareSlackArrays#forNewLayout}), or that layout again
     * when its thread heap takes the page back for the same class ({@link #reviveLayout}), where
     * every index still maps to the same address. The array is read first, with
     * acquire, and the shape after it, so the index is this array's layout's: of that layout, or of a
     * later one, whose blocks this array does not hold. For its own layout, a block of it live at
     * the claim starts at {@code address}; past that layout the array is all free (its page was laid
     * out again only once every block was free), and the claim fails. The page is read as a thread
     * heap's after the array: a page a striped heap lays out gets another array, and one it adopts
     * with blocks live claims by compare-and-set too ({@link #stripeClaimsAtomic}), so the claim
     * never races a stripe's plain write.
     *
     * @return the block's index, claimed; -1 with nothing changed if the block is not live and
     *     unheld in a thread heap's page, or the page's array may serve other layouts (the caller's
     *     full path claims it then, or says what the address is)
     */
    int claimFromOther(long address) {
        return switch (slackWidth) {
            case 1 -> claimFromOther8(address);
            case 2 -> claimFromOther16(address);
            default -> claimFromOther32(address);
        };
    }

    private int claimFromOther8(long address) {
        byte[] slacks = (byte[]) SLACK8.getAcquire(this);
        int index = slacks != null ? indexFromOther(address, slacks.length) : -1;
        if (index >= 0) {
            byte raw = slacks[index];
            if (raw != FREE_ENTRY && raw != TENTATIVE_ENTRY && BYTES.compareAndSet(slacks, index, raw, FREE_ENTRY)) {
                return index;
            }
        }
        return -1;
    }

    private int claimFromOther16(long address) {
        short[] slacks = (short[]) SLACK16.getAcquire(this);
        int index = slacks != null ? indexFromOther(address, slacks.length) : -1;
        if (index >= 0) {
            short raw = slacks[index];
            if (raw != FREE_ENTRY && raw != TENTATIVE_ENTRY
                    && SHORTS.compareAndSet(slacks, index, raw, (short) FREE_ENTRY)) {
                return index;
            }
        }
        return -1;
    }

    private int claimFromOther32(long address) {
        int[] slacks = (int[]) SLACK32.getAcquire(this);
        int index = slacks != null ? indexFromOther(address, slacks.length) : -1;
        if (index >= 0) {
            int raw = slacks[index];
            if (raw != FREE_ENTRY && raw != TENTATIVE_ENTRY
                    && INTS.compareAndSet(slacks, index, raw, (int) FREE_ENTRY)) {
                return index;
            }
        }
        return -1;
    }

    /**
     * @param length the length of the slack array just read, with acquire
     * @return the index of the unheld block at {@code address} in the layout of that array, if the
     *     array serves one layout and the page is a thread heap's; else -1
     */
    private int indexFromOther(long address, int length) {
        int index = unheldIndex(address);
        return (length & 1) == 0 && index < length && ownerThread != null ? index : -1;
    }

    /**
     * {@link #release} of a block of a page known to be in use: the owner's, whose thread alone
     * takes it out of use.
     *
     * <p>The owner's claim stays a compare-and-set although CPU profiles charge it a fifth to two
     * fifths of a thread's malloc+free samples: a plain write in its place saved a pair at most
     * about 1 ns unsafe, and made safe (a mark each claim, and a process-wide barrier for the other
     * threads) cost it 5-15 %; the core README's "Block states" gives the measurements. Most of
     * what the claim costs is reading and testing the entry at all (a fifth of a pair, against 5-9 %
     * for the atomic), so a cheaper owner's free needs another way to tell the block live.
     */
    int claim(int index) {
        // Read, then one compare-and-set: of racing claims exactly one gets the live slack. One
        // switch, so the free fast path tests the width once.
        switch (slackWidth) {
            case 1 -> {
                byte[] slacks = slack8;
                byte raw = slacks[index];
                if (raw != FREE_ENTRY && raw != TENTATIVE_ENTRY
                        && BYTES.compareAndSet(slacks, index, raw, FREE_ENTRY)) {
                    return (raw & 0xFF) - 1;
                }
            }
            case 2 -> {
                short[] slacks = slack16;
                short raw = slacks[index];
                if (raw != FREE_ENTRY && raw != TENTATIVE_ENTRY
                        && SHORTS.compareAndSet(slacks, index, raw, (short) FREE_ENTRY)) {
                    return (raw & 0xFFFF) - 1;
                }
            }
            default -> {
                int[] slacks = slack32;
                int raw = slacks[index];
                if (raw != FREE_ENTRY && raw != TENTATIVE_ENTRY
                        && INTS.compareAndSet(slacks, index, raw, (int) FREE_ENTRY)) {
                    return raw - 1;
                }
            }
        }
        return claimContended(index);
    }

    /**
     * {@link #claim} of a block of a striped heap's page, by a thread holding the stripe's lock.
     * Every other claim of such a block holds that lock too, but two: a thread that read the page
     * as another heap's, which claims only tentatively and gives the claim back on finding the
     * page a stripe's ({@link #releaseAt}); and one that claims at once from the array it read
     * while the page was a thread heap's ({@link #claimFromOther}), which only a page a stripe
     * adopted with blocks live can meet, and whose claims are compare-and-sets then
     * ({@link #stripeClaimsAtomic}). Otherwise a read and a write do, without an atomic: the
     * tentative claim that lands between them finds the free mark when it gives back, and knows it
     * lost. A realloc in place on such a page holds the lock ({@link #setRequestedLocked}).
     */
    int claimLocked(int index) {
        if (stripeClaimsAtomic) {
            return claim(index);
        }
        switch (slackWidth) {
            case 1 -> {
                byte[] slacks = slack8;
                byte raw = slacks[index];
                if (raw != FREE_ENTRY && raw != TENTATIVE_ENTRY) {
                    slacks[index] = FREE_ENTRY;
                    return (raw & 0xFF) - 1;
                }
            }
            case 2 -> {
                short[] slacks = slack16;
                short raw = slacks[index];
                if (raw != FREE_ENTRY && raw != TENTATIVE_ENTRY) {
                    slacks[index] = FREE_ENTRY;
                    return (raw & 0xFFFF) - 1;
                }
            }
            default -> {
                int[] slacks = slack32;
                int raw = slacks[index];
                if (raw != FREE_ENTRY && raw != TENTATIVE_ENTRY) {
                    slacks[index] = FREE_ENTRY;
                    return raw - 1;
                }
            }
        }
        return claimContended(index);
    }

    /** {@link #claim} when the block is free, tentatively claimed, or another claim won meanwhile. */
    private int claimContended(int index) {
        while (true) {
            int slack = readSlack(index);
            if (slack == FREE_MARK) {
                return notLive(index);
            }
            if (casSlack(index, slack, FREE_MARK)) {
                return slack;
            }
        }
    }

    /** Blocks past the bump pointer are marked free too: only a failed free tells them apart. */
    private int notLive(int index) {
        return index >= bump ? RELEASE_NOT_ALLOCATED : RELEASE_FREED;
    }

    /** Puts a block the owner {@linkplain #release released} into the free bitmap. */
    void freeLocal(int index) {
        int word = index >>> 6;
        freeBits[word] |= 1L << index;
        freeCount++;
        used--;
        if (word < searchWord) {
            searchWord = word;
        }
    }

    /**
     * Puts a block this thread {@linkplain #release released} into the remote bitmap: one atomic
     * add of its bit, and a store to the pending word only when the owner has cleared it since the
     * last one.
     *
     * <p>The add sets the bit as an OR would, since the bit is clear: only the one free whose claim
     * took the block from live sets it, and the block is live again only once its bit was taken
     * ({@link #collectRemote}, {@link #takeRemoteBits}). An add is one locked instruction, where
     * the JIT makes an OR a loop of a read and a compare-and-set, which another thread's write to
     * the word can fail; the timings show no clear difference (core README).
     *
     * <p>The store is volatile, so a free either sees the page {@linkplain #markFull full} or the
     * owner, marking it full, sees the pending word (Dekker). A free that finds the word set
     * stores nothing: the owner clears it only before collecting, with a fence, and so collects
     * this free's bit, which the atomic add made visible before the word was read.
     */
    void freeRemote(int index, long[] ahead) {
        long[] remote = remoteBits(ahead);
        LONGS.getAndAdd(remote, 1 + (index >>> 6), 1L << index);
        if ((long) LONGS.getOpaque(remote, PENDING) == 0) {
            LONGS.setVolatile(remote, PENDING, 1L);
        }
    }

    /**
     * @return the remote bitmap, made if the page has none yet (any thread); the thread that makes
     *     it adds it to the heap's metadata estimate, which {@link #dropRemoteBits} takes it off
     */
    long[] remoteBits() {
        return remoteBits(null);
    }

    /**
     * A remote bitmap made ahead of a free's claim ({@link #freeRemote}), while the page has none:
     * not the page's until the claim succeeds, so a refused free changes nothing, and a claimed
     * one need not allocate (a full Java heap would fail it after its block was claimed).
     *
     * @return the bitmap, or null if the page has one
     */
    long[] remoteBitsAhead() {
        long[] free = freeBits;
        // No bitmap of free blocks: a large block's page, or one laid out as one meanwhile (a
        // misuse racing the free), whose claim refuses.
        return remoteBits != null || free == null ? null : new long[1 + free.length];
    }

    /** {@link #remoteBits()}, taking {@code ahead} (or null) if it has none and the layout still fits it. */
    private long[] remoteBits(long[] ahead) {
        long[] bits = remoteBits;
        if (bits == null) {
            long[] fresh = ahead != null && ahead.length == 1 + freeBits.length ? ahead : new long[1 + freeBits.length];
            if (REMOTE_BITS.compareAndSet(this, null, fresh)) {
                chargeMetadata(arrayBytes(fresh));
                return fresh;
            }
            bits = remoteBits;
        }
        return bits;
    }

    /**
     * Lets the remote bitmap go, off the metadata estimate, once no block of the page is handed out
     * (every remote free was collected) or as a new layout starts; under the span lock.
     */
    void dropRemoteBits() {
        long[] remote = remoteBits;
        if (remote != null) {
            remoteBits = null;
            chargeMetadata(-arrayBytes(remote));
        }
    }

    private void chargeMetadata(long bytes) {
        // A page made outside a heap (in tests) has no estimate to keep.
        if (region != null) {
            region.core.spans.metadata.addAndGet(bytes);
        }
    }

    private static long arrayBytes(long[] words) {
        return 16 + 8L * words.length;
    }

    /**
     * Moves remotely freed blocks into the free bitmap, and takes over the holes the purger made of
     * such blocks meanwhile ({@link PurgedHoles}). Owner only.
     *
     * @return the number of blocks collected into the free bitmap
     */
    int collectRemote() {
        long[] remote = remoteBits;
        if (remote == null || (long) LONGS.getVolatile(remote, PENDING) == 0) {
            return 0;
        }
        // Cleared before the scan (and fenced): a free whose bit the scan misses sets it again.
        LONGS.setVolatile(remote, PENDING, 0L);
        remoteCollects++;
        if (purgedHoles != null) {
            PurgedHoles holes = (PurgedHoles) PURGED_HOLES.getAndSet(this, null);
            if (holes != null) {
                adoptHoles(holes);
            }
        }
        int collected = 0;
        int lowest = Integer.MAX_VALUE;
        for (int word = 0; word < remote.length - 1; word++) {
            if ((long) LONGS.getOpaque(remote, 1 + word) == 0) {
                continue;
            }
            long bits = (long) LONGS.getAndSet(remote, 1 + word, 0L);
            // None is expected (a claim sets a bit only for a block it took from live), but a bit
            // for a block the owner holds free is dropped, not handed out a second time.
            bits &= ~freeBits[word];
            if (holeBits != null) {
                bits &= ~holeBits[word];
            }
            if (bits != 0) {
                freeBits[word] |= bits;
                collected += Long.bitCount(bits);
                lowest = Math.min(lowest, word);
            }
        }
        freeCount += collected;
        used -= collected;
        // The freeing threads counted these blocks free already (HeapCore.countForeignFree).
        usedAtCurrent -= collected;
        if (lowest < searchWord) {
            searchWord = lowest;
        }
        return collected;
    }

    /**
     * Makes the purger's holes this page's own: blocks whose OS pages went back while the owner
     * did not collect them (remote frees it still counted as used) or left the page alone (its own
     * free blocks, still in the free bitmap).
     */
    private void adoptHoles(PurgedHoles taken) {
        long[] blocks = taken.blocks;
        int fromFree = 0;
        int fromRemote = 0;
        for (int w = 0; w < blocks.length; w++) {
            long own = blocks[w] & freeBits[w];
            freeBits[w] &= ~own;
            fromFree += Long.bitCount(own);
            fromRemote += Long.bitCount(blocks[w] & ~own);
        }
        if (holeBits == null) {
            holeBits = blocks;
            holeOsPages = taken.osPages;
            metadataCharged += taken.metadataBytes;
        } else {
            for (int w = 0; w < holeBits.length; w++) {
                holeBits[w] |= blocks[w];
            }
            for (int w = 0; w < holeOsPages.length; w++) {
                holeOsPages[w] |= taken.osPages[w];
            }
            region.core.spans.metadata.addAndGet(-taken.metadataBytes);
        }
        holeCount += fromFree + fromRemote;
        holeBytes += taken.bytes;
        freeCount -= fromFree;
        used -= fromRemote;
        usedAtCurrent -= fromRemote;
    }

    /**
     * Takes every remotely freed block out of the remote bitmap, for the purger, which gives them
     * back with {@link #giveBackRemote}. Neither the owner nor a free can hand such a block out
     * meanwhile: the owner only hands out what it collected, and a free claimed the block already.
     *
     * @param remote the page's remote bitmap, as the caller read it once (an owner reviving a kept
     *     page drops it, {@link #reviveLayout})
     * @param into the bits taken, one long per free-bitmap word (all zero on entry)
     * @return whether any bit was set
     */
    static boolean takeRemoteBits(long[] remote, long[] into) {
        boolean any = false;
        for (int word = 0; word < into.length; word++) {
            if ((long) LONGS.getOpaque(remote, 1 + word) != 0) {
                into[word] = (long) LONGS.getAndSet(remote, 1 + word, 0L);
                any |= into[word] != 0;
            }
        }
        return any;
    }

    /**
     * @param remote a page's remote bitmap, as the caller read it once
     * @return how many remote frees wait in it now (read without taking them)
     */
    static int remoteCount(long[] remote) {
        int count = 0;
        for (int word = 1; word < remote.length; word++) {
            count += Long.bitCount((long) LONGS.getOpaque(remote, word));
        }
        return count;
    }

    /** @return the purger's holes not yet taken over by the owner, now the caller's; or null */
    PurgedHoles takePurgedHoles() {
        return purgedHoles == null ? null : (PurgedHoles) PURGED_HOLES.getAndSet(this, null);
    }

    /**
     * Runs {@link #giveBackRemote} and {@link #collectRemote}'s take-over of the purger's holes once,
     * on a page of no heap, while the first heap is made: the JVM links a {@code VarHandle} call at
     * its first run, on the Java heap, and these first run where a full Java heap is likely. The
     * purger gives back the remote frees it took when a full Java heap failed its look; that call's
     * link failing too left the blocks in no bitmap: freed and counted free by {@code stats()}, yet
     * used on their page for good, which never emptied (its memory and its region held for the
     * heap's life). The take-over runs only once the purger made holes of remote frees, and, in an
     * ended thread's sweep ({@link SpanAllocator#abandon}), failing would leave the page in no list.
     */
    static void linkRemoteCalls() {
        Page scratch = new Page(null, 0, 0, 0, 0);
        scratch.freeBits = new long[1];
        scratch.remoteBits = new long[2];
        // Full, so the give-back's claim of a full page links too (the page has no owner to tell).
        scratch.full = 1;
        scratch.giveBackRemote(new long[] {1L}, new PurgedHoles(1, 1));
        scratch.collectRemote();
    }

    /**
     * Makes each of this class's {@code VarHandle} calls once, on a page of no heap and arrays of its
     * own, while the first heap is made (see {@link RegionMap#linkVarHandleCalls}): the JVM links a
     * class's {@code VarHandle} call of each type once, so these cover every call of the same type
     * in this class, however rarely it runs.
     */
    static void linkVarHandleCalls() {
        Page scratch = new Page(null, 0, 0, 0, 0);
        long[] longs = new long[1];
        byte[] bytes = new byte[1];
        short[] shorts = new short[1];
        int[] ints = new int[1];
        byte raw8 = (byte) BYTES.getVolatile(bytes, 0);
        short raw16 = (short) SHORTS.getVolatile(shorts, 0);
        int raw32 = (int) INTS.getVolatile(ints, 0);
        long raw64 = (long) LONGS.getVolatile(longs, 0);
        boolean swapped = FULL.compareAndSet(scratch, 1, 0);
        swapped |= REMOTE_BITS.compareAndSet(scratch, null, longs);
        swapped |= BYTES.compareAndSet(bytes, 0, raw8, FREE_ENTRY);
        swapped |= SHORTS.compareAndSet(shorts, 0, raw16, raw16);
        swapped |= INTS.compareAndSet(ints, 0, raw32, raw32);
        boolean committing = (boolean) COMMITTING.getAcquire(scratch);
        COMMITTING.setVolatile(scratch, committing);
        COMMITTING.setRelease(scratch, committing);
        SLACK8.setRelease(scratch, (byte[]) SLACK8.getAcquire(scratch));
        SLACK16.setRelease(scratch, (short[]) SLACK16.getAcquire(scratch));
        SLACK32.setRelease(scratch, (int[]) SLACK32.getAcquire(scratch));
        PurgedHoles holes = (PurgedHoles) PURGED_HOLES.getAndSet(scratch, null);
        LONGS.getAndAdd(longs, 0, raw64);
        LONGS.getAndBitwiseOr(longs, 0, raw64);
        LONGS.getAndBitwiseAnd(longs, 0, raw64);
        LONGS.setVolatile(longs, 0, (long) LONGS.getOpaque(longs, 0));
        long bits = (long) LONGS.getAndSet(longs, 0, raw64);
    }

    /**
     * Lays a page of no heap out for a class of each slack width, and claims its block, while the
     * first heap is made: the JVM links each width's store of the new array and its claim at their
     * first run, on the Java heap. A realloc that changes a block's class in place runs both with
     * the block claimed, and a link that failed there lost the block with its page (a 1,100 B block
     * shrunk to 50 B under a full Java heap: freed, yet counted live, and its address not a block).
     */
    static void linkLayoutCalls() {
        for (int byteSize : new int[] {16, 1024, SizeClasses.MEDIUM_MAX}) {
            int sizeClass = SizeClasses.classOf(byteSize);
            Page scratch = new Page(null, 0, 0, 0, SizeClasses.blockSize(sizeClass));
            scratch.format(sizeClass, new SpareSlackArrays(), false);
            scratch.setSlack(0, 0);
            scratch.claim(0);
        }
    }

    /**
     * The purger gives back what {@link #takeRemoteBits} took: {@code bits} as remote frees again,
     * and {@code holes} (or null) for the owner to take over; then tells the owner, as a remote free
     * does.
     */
    void giveBackRemote(long[] bits, PurgedHoles holes) {
        long[] remote = remoteBits;
        for (int word = 0; word < bits.length; word++) {
            if (bits[word] != 0) {
                LONGS.getAndBitwiseOr(remote, 1 + word, bits[word]);
            }
        }
        if (holes != null) {
            purgedHoles = holes;
        }
        LONGS.setVolatile(remote, PENDING, 1L);
        announceToOwner();
    }

    /**
     * After a remote free: a page its owner holds as full goes back to the owner's pages with room
     * (the first thread to claim it from the full state queues it).
     */
    void announceToOwner() {
        ThreadHeap heap = owner;
        if (full == 1 && claimFromFull() && heap != null) {
            try {
                heap.pending.offer(this);
            } catch (OutOfMemoryError e) {
                // No room on the Java heap for the queue's node: full again, for the owner's next
                // free into it or the next remote free to claim and queue. The free that called
                // this has released its block, and must not throw after its work is done.
                markFull();
            }
        }
    }

    /** Marks block {@code index} as held by a scope, arena, pool or growable array; any thread. */
    void setOwned(int index, boolean owned) {
        long[] bits = ownedBits;
        if (bits == null) {
            if (!owned) {
                return;
            }
            long[] fresh = new long[Math.max(1, (capacity + 63) >>> 6)];
            bits = OWNED_BITS.compareAndSet(this, null, fresh) ? fresh : ownedBits;
        }
        if (owned) {
            LONGS.getAndBitwiseOr(bits, index >>> 6, 1L << index);
        } else {
            LONGS.getAndBitwiseAnd(bits, index >>> 6, ~(1L << index));
        }
    }

    /** @return whether block {@code index} is held by a scope, arena, pool or growable array */
    boolean isOwned(int index) {
        long[] bits = ownedBits;
        // A free by a thread not owning the page may bring an index of an earlier, larger layout.
        return bits != null && index >>> 6 < bits.length
                && ((long) LONGS.getOpaque(bits, index >>> 6) & (1L << index)) != 0;
    }

    /** @return whether a block can be handed out now without collecting */
    boolean hasAvailable() {
        return freeCount > 0 || bump < capacity;
    }

    /** @return whether a remote free may be waiting to be collected (its pending word is set) */
    boolean hasRemoteFrees() {
        return hasRemoteFrees(remoteBits);
    }

    /** @return whether {@code remote}, a page's remote bitmap as the caller read it once, has frees pending */
    static boolean hasRemoteFrees(long[] remote) {
        return remote != null && (long) LONGS.getVolatile(remote, PENDING) != 0;
    }

    /** Marks the page full; the owner then re-checks {@link #hasRemoteFrees()} (Dekker-style). */
    void markFull() {
        full = 1;
    }

    /** @return whether this caller won the page back from the full state (exactly one does) */
    boolean claimFromFull() {
        return full == 1 && FULL.compareAndSet(this, 1, 0);
    }

    long usable(int index) {
        return isSingle() ? largeUsable : blockSize;
    }

    /**
     * {@link #requested} for a thread that does not hold the page (a realloc by a thread not owning
     * it): a free racing the call (a misuse) may let the page be laid out again under the read.
     *
     * @return the requested size of a live block, or -1 if it is free or the layout changed under the read
     */
    long requestedUnheld(int index) {
        try {
            return requested(index);
        } catch (RuntimeException laidOutAgain) {
            return -1;
        }
    }

    /** @return the requested size of a live block, or -1 if it is free */
    long requested(int index) {
        if (isSingle()) {
            return largeRequested;
        }
        int slack = readSlack(index);
        return slack == FREE_MARK ? -1 : blockSize - slack;
    }

    /**
     * {@link #setRequested} by the page's owner (a platform thread, whose page changes hands only
     * by that thread): one compare-and-set from the block's live entry to its new slack, since
     * every other claim of the block takes the entry by compare-and-set too.
     *
     * @param newRequested at most {@link #blockSize}
     * @return false if the block is not live (free, or claimed by a racing free): nothing changed
     */
    boolean resizeOwned(int index, long newRequested) {
        int entry = (int) (blockSize - newRequested) + 1;
        // One switch, as in claim, so the width is tested once.
        switch (slackWidth) {
            case 1 -> {
                byte raw = slack8[index];
                return raw != FREE_ENTRY && raw != TENTATIVE_ENTRY
                        && BYTES.compareAndSet(slack8, index, raw, (byte) entry);
            }
            case 2 -> {
                short raw = slack16[index];
                return raw != FREE_ENTRY && raw != TENTATIVE_ENTRY
                        && SHORTS.compareAndSet(slack16, index, raw, (short) entry);
            }
            default -> {
                int raw = slack32[index];
                return raw != FREE_ENTRY && raw != TENTATIVE_ENTRY && INTS.compareAndSet(slack32, index, raw, entry);
            }
        }
    }

    /** {@link #setRequested} results. */
    static final int RESIZED = 0;
    static final int RESIZE_FREED = -1;
    static final int RESIZE_STRIPE = -2;

    /**
     * Records a new requested size for the live block starting at {@code address}, resized in
     * place by a thread that does not hold the lock of a striped heap. A stripe's claims under its
     * lock are a read and a write, without an atomic, and do not wait for a mark: on a stripe's page
     * the resize must hold the lock too ({@link #setRequestedLocked}), and this gives the block back.
     *
     * <p>The caller read {@code index} and {@code oldRequested} of a page of small or medium blocks
     * without holding the page, so a free racing the call (a misuse) may have let the page be laid
     * out again since: the block is marked in the slack array read here, and the mark is checked
     * against the page's present layout, as {@link #releaseAt} checks its claim, before anything is
     * recorded. A block of another layout (a large block's included), an index past the present
     * array, or an array let go between a layout's stores is the caller's block freed, with nothing
     * changed.
     *
     * @return {@link #RESIZED}; {@link #RESIZE_FREED} if the block was freed meanwhile; or
     *     {@link #RESIZE_STRIPE} if the page is a stripe's. Nothing changed but for RESIZED.
     */
    int setRequested(long address, int index, long oldRequested, long newRequested) {
        if (isSingle()) {
            // Laid out for one large block since: its size is recorded under the span lock.
            return RESIZE_FREED;
        }
        int width = slackWidth;
        Object slacks = slacksOf(width);
        int size = blockSize;
        long live = size - oldRequested;
        long resized = size - newRequested;
        if (slacks == null || index >= Array.getLength(slacks) || !holdsSlack(width, live)
                || !holdsSlack(width, resized)) {
            // Sizes read under another layout, an index past the present array, or an array read
            // between a layout's stores.
            return RESIZE_FREED;
        }
        if (!replaceLive(slacks, width, index, (int) live, TENTATIVE_MARK)) {
            return RESIZE_FREED;
        }
        try {
            return settleResizing(address, slacks, width, size, index, (int) live, (int) resized);
        } catch (Throwable e) {
            // Even a StackOverflowError on the way in must not leave the mark, which every claim
            // waits out. The give-back is one call shallower than the mark's compare-and-set
            // (replaceLive's), so it needs no more stack than that did.
            casSlack(slacks, width, index, TENTATIVE_MARK, (int) live);
            throw e;
        }
    }

    /** @return whether an entry {@code width} bytes wide holds {@code slack}, not as a mark */
    private static boolean holdsSlack(int width, long slack) {
        return slack >= 0 && (width == 4 ? slack < Integer.MAX_VALUE : slack + 1 < (1 << (8 * width)) - 1);
    }

    /**
     * Replaces {@code live}, a live block's slack, with {@code value} (a slack or the mark), once
     * any other thread's mark on the entry has settled.
     *
     * @return false if the entry no longer holds {@code live}: nothing changed
     */
    private static boolean replaceLive(Object slacks, int width, int index, int live, int value) {
        while (!casSlack(slacks, width, index, live, value)) {
            int slack = rawSlack(slacks, width, index);
            if (slack == TENTATIVE_MARK) {
                // Another thread's mark (a claim being checked, a resize): it settles either way.
                Thread.onSpinWait();
            } else if (slack != live) {
                return false;
            }
        }
        return true;
    }

    /**
     * The rest of {@link #setRequested} once the block is marked in {@code slacks}: the mark, its
     * compare-and-set read after the layout's stores, is given back unless it holds the block at
     * {@code address} in the page's present layout; read after the mark, as {@link #releaseAt}
     * reads it, the owner tells whether a claim without an atomic may have read the block before
     * the mark. Package-private for tests, which play the mark first.
     */
    int settleResizing(long address, Object slacks, int width, int size, int index, int live, int resized) {
        ThreadHeap heap = owner;
        boolean current = active && slackWidth == width && slacksOf(width) == slacks && blockSize == size
                && blockIndex(address) == index;
        if (!current) {
            // Only a new layout's fill, or a stripe's claim, replaces the mark: then there is
            // nothing to give back.
            casSlack(slacks, width, index, TENTATIVE_MARK, live);
            return RESIZE_FREED;
        }
        if (heap != null && heap.thread == null) {
            // A stripe's claim that read the block live before the mark wrote the free mark over it:
            // then there is nothing to give back, and that claim freed the block.
            return casSlack(slacks, width, index, TENTATIVE_MARK, live) ? RESIZE_STRIPE : RESIZE_FREED;
        }
        // Every other claim waits for the mark.
        return casSlack(slacks, width, index, TENTATIVE_MARK, resized) ? RESIZED : RESIZE_FREED;
    }

    /**
     * {@link #setRequested} by a thread holding the lock of the striped heap that owns the page,
     * which every claim of its blocks holds too (a claim without it only marks, and waits), and
     * under which the page is laid out: the index and sizes, read before the lock, are checked
     * against the present layout first.
     *
     * @return false if the block was freed meanwhile (nothing changed)
     */
    boolean setRequestedLocked(long address, int index, long oldRequested, long newRequested) {
        int width = slackWidth;
        Object slacks = slacksOf(width);
        long live = blockSize - oldRequested;
        long resized = blockSize - newRequested;
        if (!active || slacks == null || blockIndex(address) != index || index >= Array.getLength(slacks)
                || !holdsSlack(width, live) || !holdsSlack(width, resized)) {
            return false;
        }
        return replaceLive(slacks, width, index, (int) live, (int) resized);
    }

    /**
     * @return the usable bytes the owner's mallocs and frees on this page added since it became its
     *     owner's current page (negative when they freed more than they took)
     */
    long usableSinceCurrent() {
        return (long) (used - usedAtCurrent) * blockSize;
    }

    /**
     * Adds the live blocks of this page of blocks to {@code sums}: {@code sums[0]} their usable
     * bytes, {@code sums[1]} their requested bytes. Read from the block table, without holding the
     * page: exact while its owner and the threads freeing into it are still, a best effort
     * otherwise. A block a free claims tentatively counts as live, with no slack.
     */
    void addLiveBlocks(long[] sums) {
        int width = slackWidth;
        Object slacks = slacksOf(width);
        if (!active || isSingle() || slacks == null) {
            return;
        }
        int end = Math.min(bump, Array.getLength(slacks));
        long size = blockSize;
        long[] counts = new long[2];
        int from = width == 4 ? 0 : StateTableSums.addWholeSteps(slacks, width, end, counts);
        long live = counts[0];
        long slackSum = counts[1];
        for (int index = from; index < end; index++) {
            int slack = rawSlack(slacks, width, index);
            if (slack != FREE_MARK) {
                live++;
                slackSum += slack == TENTATIVE_MARK ? 0 : slack;
            }
        }
        sums[0] += live * size;
        sums[1] += live * size - slackSum;
    }

    /** Stores a live block's slack (as its entry, {@link #encode}). */
    private void setSlack(int index, int slack) {
        int entry = slack + 1;
        switch (slackWidth) {
            case 1 -> slack8[index] = (byte) entry;
            case 2 -> slack16[index] = (short) entry;
            default -> slack32[index] = entry;
        }
    }

    /**
     * @return the slack, or {@link #FREE_MARK}; waits out a {@linkplain #TENTATIVE_MARK tentative}
     *     claim, which lasts a few instructions of another thread
     */
    private int readSlack(int index) {
        int width = slackWidth;
        Object slacks = slacksOf(width);
        int slack;
        while ((slack = rawSlack(slacks, width, index)) == TENTATIVE_MARK) {
            Thread.onSpinWait();
        }
        return slack;
    }

    private Object slacksOf(int width) {
        return width == 1 ? slack8 : width == 2 ? slack16 : slack32;
    }

    /**
     * @param slacks the slack array of {@code width} bytes per entry
     * @return the entry's slack, {@link #FREE_MARK} or {@link #TENTATIVE_MARK}
     */
    private static int rawSlack(Object slacks, int width, int index) {
        int raw = switch (width) {
            case 1 -> (byte) BYTES.getVolatile((byte[]) slacks, index);
            case 2 -> (short) SHORTS.getVolatile((short[]) slacks, index);
            default -> (int) INTS.getVolatile((int[]) slacks, index);
        };
        if (raw == FREE_ENTRY) {
            return FREE_MARK;
        }
        if (raw == TENTATIVE_ENTRY) {
            return TENTATIVE_MARK;
        }
        return (width == 1 ? raw & 0xFF : width == 2 ? raw & 0xFFFF : raw) - 1;
    }

    /**
     * A slack or mark as its entry: a slack plus one, 0 for free, all ones for tentative. A slack is
     * at most the block size, so a live entry is at most 241 in a one-byte entry (blocks below 255
     * bytes are multiples of 16) and 0xFFF1 in a two-byte one: never all ones.
     */
    private static int encode(int slackOrMark) {
        return slackOrMark == FREE_MARK ? FREE_ENTRY : slackOrMark == TENTATIVE_MARK ? TENTATIVE_ENTRY : slackOrMark + 1;
    }

    private boolean casSlack(int index, int expected, int value) {
        int width = slackWidth;
        return casSlack(slacksOf(width), width, index, expected, value);
    }

    /** The values are slacks or marks; each is stored as its entry, narrowed to the width. */
    private static boolean casSlack(Object slacks, int width, int index, int expectedSlack, int newSlack) {
        int expected = encode(expectedSlack);
        int value = encode(newSlack);
        return switch (width) {
            case 1 -> BYTES.compareAndSet((byte[]) slacks, index, (byte) expected, (byte) value);
            case 2 -> SHORTS.compareAndSet((short[]) slacks, index, (short) expected, (short) value);
            default -> INTS.compareAndSet((int[]) slacks, index, expected, value);
        };
    }

    /**
     * @return an estimate of the Java heap bytes this page's bookkeeping takes now, but for the
     *     remote bitmap, which the thread that makes it charges ({@link #remoteBits()})
     */
    long metadataBytes() {
        long bytes = SHALLOW_BYTES;
        if (freeBits != null) {
            bytes += arrayBytes(freeBits);
        }
        if (holeBits != null) {
            bytes += holeMetadataBytes(holeBits.length, holeOsPages.length);
        }
        if (slack8 != null) {
            bytes += 16 + slack8.length;
        } else if (slack16 != null) {
            bytes += 16 + 2L * slack16.length;
        } else if (slack32 != null) {
            bytes += 16 + 4L * slack32.length;
        }
        return bytes;
    }

    /**
     * @return the bytes of this page's memory that are committed: below {@link #commitEnd}, but
     *     not its holes, nor the holes the purger made that its owner has not taken over yet
     *     ({@link PurgedHoles}); under the span lock, where the purger makes those
     */
    long committedBytes() {
        PurgedHoles pending = purgedHoles;
        return commitEnd - holeBytes - (pending == null ? 0 : pending.bytes);
    }

    /**
     * The purger's, under the span lock: whether the page is as its last return of free memory left
     * it ({@link #markPurged}), with as many free blocks and as much memory committed. The free count
     * alone is not enough: an owner that takes the holes back, fills them and frees the blocks again
     * is back at the count seen, with the memory committed again, and a page the purger skipped for
     * that kept a waiting worker's freed memory committed for good.
     */
    boolean unchangedSincePurge() {
        return freeCount == purgerSeenFree && committedBytes() == purgerSeenCommitted;
    }

    /** The purger's, under the span lock, right after it returned the page's free memory. */
    void markPurged() {
        purgerSeenFree = freeCount;
        purgerSeenCommitted = committedBytes();
    }

    /** @return the metadata estimate of a page's two hole bit sets of these lengths, in bytes */
    static long holeMetadataBytes(int blockWords, int osPageWords) {
        return 32 + 8L * (blockWords + osPageWords);
    }

    long address(int index) {
        return start + (long) index * blockSize;
    }
}
