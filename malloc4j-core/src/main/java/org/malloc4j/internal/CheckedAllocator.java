package org.malloc4j.internal;

import java.lang.foreign.MemorySegment;
import java.lang.ref.Cleaner;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.malloc4j.CheckMode;
import org.malloc4j.HeapExhaustedError;
import org.malloc4j.HeapStats;
import org.malloc4j.LeakReport;
import org.malloc4j.MemoryMisuseException;

/**
 * The sanitizer: checked mode and fault injection in front of {@link HeapCore}s.
 *
 * <p>Checked blocks come from a core of their own ({@link #guarded}), so telling a checked block
 * from a fast one is a region lookup (GWP-ASan's guarded pool): in sampled mode the unchecked
 * blocks keep the fast path. A checked block is laid out as {@link BlockRecord} shows, with
 * redzones of {@link CheckMode#CANARY_BYTE}, and its record lives in {@link #live} until freed;
 * then it is poisoned and waits in the {@link Quarantine}.
 */
final class CheckedAllocator implements Allocator {
    static final long REDZONE = Redzones.BYTE_SIZE;
    /** The largest alignment whose block gets a front redzone: one OS page. */
    private static final long MAX_ALIGNED_FRONT = Os.OS_PAGE_SIZE;
    private static final int FREED_HISTORY = 1 << 16;
    private static final Cleaner CLEANER = Cleaner.create();

    private final String name;
    private final CheckMode mode;
    /** The sampling interval rounded up to a power of two, less one: a mask for a random int. */
    private final int sampleMask;
    private final FaultPolicy faults;
    private final boolean leakReportAtClose;
    /** Unchecked blocks; null in full mode. */
    private final HeapCore fast;
    /** Checked blocks; null when only faults are injected. */
    private final HeapCore guarded;
    private final Quarantine quarantine;
    private final ConcurrentSkipListMap<Long, BlockRecord> live = new ConcurrentSkipListMap<>();
    /** Recently freed blocks by address, and every quarantined one, to name a double free with both stacks. */
    private final FreedRecords freed = new FreedRecords(FREED_HISTORY);
    private final AtomicLong checkedMallocs = new AtomicLong();
    private final AtomicLong checkedFrees = new AtomicLong();
    private final AtomicLong checkedRequested = new AtomicLong();
    /**
     * Fast blocks given back because their malloc was picked for sampling: the fast core counted
     * a malloc and a free for each, which the heap's counts leave out.
     */
    private final AtomicLong replacedFastBlocks = new AtomicLong();
    /** Set when {@link #close} starts: from then on the heap is closed to every caller. */
    private final AtomicBoolean closing = new AtomicBoolean();
    /**
     * The blocks live when the heap closed, which it leaked: what {@link #leaks} reports from then
     * on, as the statistics keep counting them.
     */
    private volatile LeakReport leaksAtClose;
    /** Checked blocks a downcall was using when the heap closed: their arenas, and memory, are kept. */
    private final List<BlockRecord> inUseAtClose = new ArrayList<>();

    CheckedAllocator(HeapCore core, HeapConfig config) {
        this.name = config.name();
        this.mode = config.mode();
        int interval = config.sampleInterval();
        this.sampleMask = interval <= 1 ? 0 : (Integer.highestOneBit(interval - 1) << 1) - 1;
        this.faults = config.faults();
        this.leakReportAtClose = config.leakReportAtClose();
        this.quarantine = new Quarantine(config.quarantineBytes());
        if (mode != CheckMode.FAST) {
            core.reportCallSites();
        }
        switch (mode) {
            case FULL -> {
                fast = null;
                guarded = core;
            }
            case SAMPLED -> {
                fast = core;
                guarded = HeapCore.create(config, core.commitLimit());
                guarded.reportCallSites();
                // Frees go straight to the fast core, which hands sampled blocks back here: an
                // unsampled free costs what a fast-mode free costs.
                fast.routeFreesOf(guarded, this, sampleMask);
                if (config.maxCommittedBytes() != Long.MAX_VALUE) {
                    // Under a limit, quarantined blocks make way before checked blocks take fresh
                    // memory from the limit the fast blocks need (allocateChecked).
                    guarded.reuseBeforeCommitting(quarantine);
                }
            }
            default -> {
                fast = core;
                guarded = null;
            }
        }
    }

    // ---- allocation ----

    @Override
    public long malloc(long byteSize, boolean throwing) {
        // One draw per allocation: the fast core's, when it samples its own mallocs.
        boolean sampled = !fastCoreSamples() && sample();
        if (faults == null && !sampled) {
            return fast.malloc(byteSize, throwing);
        }
        prepare(byteSize, "byteSize");
        if (injectFault(byteSize)) {
            return injectedFailure(byteSize, throwing);
        }
        return allocateSettled(byteSize, sampled, false, throwing);
    }

    @Override
    public long calloc(long byteSize, boolean throwing) {
        boolean sampled = sample();
        if (faults == null && !sampled) {
            return fast.calloc(byteSize, throwing);
        }
        prepare(byteSize, "byteSize");
        if (injectFault(byteSize)) {
            return injectedFailure(byteSize, throwing);
        }
        return allocateSettled(byteSize, sampled, true, throwing);
    }

    /** A malloc ({@code zero} false) or calloc the fault policy let through: checked if {@code sampled}. */
    private long allocateSettled(long byteSize, boolean sampled, boolean zero, boolean throwing) {
        long address = 0;
        try {
            address = sampled ? allocateChecked(byteSize, REDZONE, zero, throwing)
                    : zero ? fast.calloc(byteSize, throwing) : fast.malloc(byteSize, throwing);
        } finally {
            settled(address, byteSize, HeapCore.MIN_ALIGNMENT);
        }
        return address;
    }

    @Override
    public long mallocAligned(long byteSize, long byteAlignment, boolean throwing) {
        if (byteAlignment <= 0 || (byteAlignment & (byteAlignment - 1)) != 0) {
            throw new IllegalArgumentException("byteAlignment must be a positive power of two: " + byteAlignment);
        }
        prepare(byteSize, "byteSize");
        if (injectFault(byteSize, byteAlignment)) {
            return injectedFailure(byteSize, byteAlignment, throwing);
        }
        // The fast core serves an alignment of 16 bytes or less as a malloc, which it may sample itself.
        boolean sampled = (byteAlignment > REDZONE || !fastCoreSamples()) && sample();
        long address = 0;
        try {
            address = sampled ? allocateChecked(byteSize, alignedFront(byteAlignment), byteAlignment, false, throwing)
                    : fast.mallocAligned(byteSize, byteAlignment, throwing);
        } finally {
            settled(address, byteSize, byteAlignment);
        }
        return address;
    }

    @Override
    public long realloc(long address, long newByteSize, boolean throwing) {
        return realloc(address, newByteSize, throwing, null);
    }

    /** @param moved where a move of a checked block leaves the new block's segment, or null for none */
    private long realloc(long address, long newByteSize, boolean throwing, MovedSegment moved) {
        if (address == 0) {
            HeapCore.checkSize(newByteSize, "newByteSize"); // named as the caller named it
            return malloc(newByteSize, throwing);
        }
        prepare(newByteSize, "newByteSize");
        if (!isChecked(address)) {
            if (injectsResizeFault(address, newByteSize)) {
                return injectedFailure(newByteSize, throwing);
            }
            long resized = 0;
            try {
                resized = fast.realloc(address, newByteSize, throwing);
            } finally {
                settled(resized, newByteSize, HeapCore.MIN_ALIGNMENT);
            }
            return resized;
        }
        BlockRecord block = liveBlock("realloc", address);
        if (block.owner != null && !HolderCall.isHolders(address)) {
            throw SanitizerReports.mismatch("realloc", block, name);
        }
        // A holder resizing its block (a growable array growing) is what the program called, not realloc.
        BlockHolder resizer = block.resizer;
        MemoryMisuseException overflow = damagedRedzoneOfLive(block, "realloc", resizer != null
                ? "when " + resizer.name() + " resized it" : "at realloc, which changed nothing: the block is as it was");
        if (overflow != null) {
            throw overflow;
        }
        // Worded before any block leaves quarantine: out of it, each must reach release().
        String pushedWhen = resizer != null
                ? pushedOut("as " + resizer.name() + " resized", address, "which changed nothing: it is as it was")
                : pushedOut("by the realloc of", address, "which changed nothing: that block is live as it was");
        release(quarantine.makeRoom(block.span), pushedWhen);
        if (newByteSize > 0 && injectFault(newByteSize)) {
            return injectedFailure(newByteSize, throwing);
        }
        long fresh = 0;
        try {
            fresh = moveChecked(block, newByteSize, throwing, moved);
        } finally {
            settled(fresh, newByteSize, HeapCore.MIN_ALIGNMENT);
        }
        return fresh;
    }

    private long moveChecked(BlockRecord block, long newByteSize, boolean throwing, MovedSegment moved) {
        long address = block.address;
        // Always move, as AddressSanitizer does: a stale pointer then hits a freed, poisoned block.
        boolean shrinks = newByteSize <= block.byteSize;
        long fresh = allocateChecked(newByteSize, REDZONE, false, throwing && !shrinks);
        if (fresh == 0) {
            return shrinks ? shrinkInPlace(block, newByteSize) : 0;
        }
        if (fresh == address) {
            // Another thread freed the block since realloc looked (a double free racing it), and its
            // memory came back as the new block: freeing the old address now would free the new one.
            freeUnreturned(fresh);
            throw SanitizerReports.doubleFree("realloc", block, name);
        }
        long kept = Math.min(block.byteSize, newByteSize);
        boolean interrupted = Os.interruptStatus();
        try {
            MemorySegment.copy(guardedMemory(address, kept), 0, guardedMemory(fresh, kept), 0, kept);
            if (moved != null) {
                // Before the old block's free: made after it, a segment that found no room on the
                // Java heap left the caller neither block.
                moved.segment = checkedSegment(fresh, moved.byteSize);
            }
            freeBlock(block, false);
        } catch (IllegalStateException | MemoryMisuseException e) {
            Os.restoreInterruptStatus(interrupted);
            // Another thread freed the block meanwhile: the new block goes back, this call reports it.
            freeUnreturned(fresh);
            throw freedMeanwhile("realloc", block, e);
        } catch (RuntimeException e) {
            freeUnreturned(fresh);
            throw e;
        } catch (OutOfMemoryError e) {
            // No room on the Java heap for the copy or the old block's free, which then changed
            // nothing: the old block stays live, and the new one goes back.
            dropUnreturned(fresh);
            throw e;
        }
        return fresh;
    }

    /**
     * Frees {@code fresh}, a block a realloc made and does not return: neither a malloc the
     * program got a block from nor a free it asked for, so the counts leave it out. Two threads
     * reallocating the same 200,000 blocks at once counted 34,645 such blocks in both.
     */
    private void freeUnreturned(long fresh) {
        // A close racing this call (a misuse) takes the block with the others: say the heap closed,
        // as a free would, in place of the report of the old block that close's free left behind.
        checkOpen();
        BlockRecord block = live.get(fresh);
        if (block == null) {
            checkOpen();
            return;
        }
        // Straight back to the core, not through quarantine: no pointer to it ever reached the
        // program, so there is nothing to watch, and a free that made room there could push out a
        // block written after its free and throw its report in place of the one this realloc
        // throws, leaving this block live and no one's.
        retire(block, "realloc", CheckMode.POISON_BYTE, 0);
        checkedMallocs.decrementAndGet();
        checkedRequested.addAndGet(-block.byteSize);
        guarded.free(block.base);
    }

    /**
     * {@link #freeUnreturned} for want of room on the Java heap: not by a free, whose record of its
     * stack would need room too. The block leaves the counts, and its memory goes back. Also for a
     * sampled block whose segment the fast core could not make ({@link HeapCore#newSegment}).
     */
    void dropUnreturned(long fresh) {
        BlockRecord block = live.get(fresh);
        if (block != null && removeLive(block)) {
            checkedMallocs.decrementAndGet();
            checkedRequested.addAndGet(-block.byteSize);
            dropUnrecorded(block.base, null);
        }
    }

    /**
     * Gives back to the checked blocks' core the memory at {@code base} of a new block that never
     * reached the caller nor the counts, for want of room on the Java heap: no record of it stays
     * live, and none goes among the freed blocks, whose record would need room too. Nothing to
     * poison: no pointer to it ever reached the program. A close racing the call (a misuse) takes
     * the memory with the rest.
     *
     * @param block its record, if it was made (it may have reached the live blocks), else null
     */
    private void dropUnrecorded(long base, BlockRecord block) {
        if (block != null) {
            // Not there if the Java heap failed its entry, or its record before.
            removeLive(block);
        }
        if (!isClosed()) {
            guarded.free(base);
        }
    }

    /**
     * What to throw when reading the memory of {@code block}, live when this call looked it up,
     * failed with {@code failure}: if another thread freed the block since (a double free racing
     * this call), which unmaps a huge block's memory under the read or leaves its address no
     * block's, the report of that free, even if the address is already another live block's; else
     * {@code failure}.
     */
    private RuntimeException freedMeanwhile(String operation, BlockRecord block, RuntimeException failure) {
        long address = block.address;
        if (live.get(address) != block) {
            // The record at the address, if this block's: an older block's stays there until a free replaces it.
            if (freed.get(address) == block) {
                return SanitizerReports.doubleFree(operation, block, name);
            }
            liveBlock(operation, address);
        }
        return failure;
    }

    /**
     * The bytes before an aligned block, in memory that starts aligned so: as many as the
     * alignment (the fewest that keep the block aligned), up to {@link #MAX_ALIGNED_FRONT}; none
     * past it. A front redzone there would cost as much address space, and memory counted as
     * committed, as the alignment: a sampled 10-byte block aligned to 1 GiB would take 1 GiB.
     */
    private static long alignedFront(long byteAlignment) {
        return byteAlignment <= REDZONE ? REDZONE : byteAlignment <= MAX_ALIGNED_FRONT ? byteAlignment : 0;
    }

    /**
     * A realloc to at most the block's size (0 included) when not even the smaller checked block
     * can be had (the heap's limit reached): the block itself becomes it, the bytes past the new
     * size turned into back redzone, holding its memory until it is freed. As in fast mode, a
     * shrink does not fail for want of memory. The old block is recorded as freed by the realloc
     * and its segment dies, as after a move; the new one's allocation site is the realloc's.
     *
     * @return the block's address
     */
    private long shrinkInPlace(BlockRecord block, long newByteSize) {
        long address = block.address;
        // The new record (its stack) and its key made first: a full Java heap then fails the realloc
        // with the block as it was.
        BlockRecord shrunk = new BlockRecord(block.base, address, newByteSize, block.span);
        Long key = address;
        // Taken out of the live blocks as a free takes it: a free racing this realloc (a misuse)
        // finds it in one map or the other and reports a double free; it never checks a redzone
        // still being filled.
        retire(block, "realloc", CheckMode.CANARY_BYTE, newByteSize);
        // The old record stays among the freed, as a free leaves it: a free racing this call that
        // finds no live record before the new one is put finds the old one there.
        try {
            live.put(key, shrunk);
        } catch (OutOfMemoryError e) {
            if (live.get(key) != shrunk) {
                // No room for its entry: the block is freed, as the old record among the freed says,
                // rather than kept with no record.
                checkedFrees.incrementAndGet();
                checkedRequested.addAndGet(-block.byteSize);
                dropUnrecorded(block.base, null);
                throw e;
            }
        }
        checkedRequested.addAndGet(newByteSize - block.byteSize);
        if (closing.get()) {
            // As for a new block: a close racing this call may have taken the live blocks first.
            closeArena(shrunk);
            checkOpen();
        }
        return address;
    }

    /** @param why what refused the request and its redzones ({@code span} bytes in all) */
    private HeapExhaustedError exhausted(long byteSize, long alignment, long span, String why) {
        return new HeapExhaustedError("heap '" + name + "' cannot allocate " + byteSize + " bytes"
                + HeapCore.aligned(alignment, REDZONE) + " (checked mode, " + span + " bytes with redzones): " + why,
                byteSize);
    }

    private long allocateGuarded(long span, long alignment) {
        return alignment <= REDZONE ? guarded.malloc(span, false) : guarded.mallocAligned(span, alignment, false);
    }

    private long allocateChecked(long byteSize, long front, boolean zero, boolean throwing) {
        return allocateChecked(byteSize, front, REDZONE, zero, throwing);
    }

    /**
     * @param front the bytes before the block; their last {@value #REDZONE} (all when fewer) are
     *     its front redzone, and the rest is never written, so never faulted in
     */
    private long allocateChecked(long byteSize, long front, long alignment, boolean zero, boolean throwing) {
        if (byteSize > SpanAllocator.MAX_REQUEST || alignment > SpanAllocator.MAX_REQUEST) {
            // More than the core can ever hand out, and adding redzones could overflow a long:
            // exhaustion, as the fast path reports it.
            if (throwing) {
                throw HeapCore.pastMaxRequest(name, byteSize, alignment, REDZONE, " (checked mode)");
            }
            return 0;
        }
        // Both at most 2^46, so the sum cannot overflow.
        long span = front + SpanAllocator.roundUp(byteSize, REDZONE) + REDZONE;
        if (span > SpanAllocator.MAX_REQUEST) {
            // The block fits, its redzones do not: no commit, or quarantine drained, can make room.
            if (throwing) {
                throw exhausted(byteSize, alignment, span,
                        "more than the " + SpanAllocator.MAX_REQUEST + " bytes a heap can hand out");
            }
            return 0;
        }
        long base = allocateGuarded(span, alignment);
        // Quarantined blocks hold memory that counts against the heap's limit: they leave early
        // rather than make a heap with nothing live report exhaustion. In a sampled heap with a
        // limit the checked blocks' core commits nothing while they are held, so they also leave
        // here before it grows; again if other threads' frees filled the quarantine meanwhile.
        for (List<BlockRecord> held; base == 0 && !(held = quarantine.drain()).isEmpty(); ) {
            release(held, LEFT_FOR_AN_ALLOCATION);
            base = allocateGuarded(span, alignment);
        }
        if (base == 0 && fast != null && fast != guarded && fast.commitLimit().isLimited() && fast.giveBackUnused()) {
            // In sampled mode the fast blocks' core shares the limit: its empty pages go first.
            base = allocateGuarded(span, alignment);
        }
        if (base == 0) {
            if (throwing) {
                throw exhausted(byteSize, alignment, span, guarded.exhaustionCause(span));
            }
            return 0;
        }
        BlockRecord block = null;
        try {
            block = new BlockRecord(base, base + front, byteSize, span);
            fillNew(block, front, zero);
            // A record freed at the same address stays: the live block is found first, and a stale
            // pointer into the old block is still told as one (Heap.describe).
            live.put(block.address, block);
        } catch (OutOfMemoryError e) {
            // No room on the Java heap for the block's record, its stack or its entry: the memory
            // goes back rather than stay allocated with no record (a FULL heap whose mallocs met a
            // full Java heap kept each block so until its close: 22 segments, 38 MB committed).
            dropUnrecorded(base, block);
            throw e;
        }
        if (closing.get()) {
            // Another thread began closing the heap (a misuse): its close may have taken the live
            // blocks before this one, and will unmap the block's memory either way. Its arena
            // closes here, so no segment of it can reach that memory.
            closeArena(block);
            checkOpen();
        }
        checkedMallocs.incrementAndGet();
        checkedRequested.addAndGet(byteSize);
        return block.address;
    }

    /** Fills a new block's redzones with canaries, and the block with zeros or junk. */
    private void fillNew(BlockRecord block, long front, boolean zero) {
        boolean interrupted = Os.interruptStatus();
        try {
            MemorySegment memory = guardedMemory(block.base, block.span);
            memory.asSlice(block.frontRedzoneStart(), block.frontRedzone()).fill(CheckMode.CANARY_BYTE);
            memory.asSlice(front, block.byteSize).fill(zero ? 0 : CheckMode.JUNK_BYTE);
            memory.asSlice(front + block.byteSize).fill(CheckMode.CANARY_BYTE);
        } catch (IllegalStateException unmapped) {
            throw closedMeanwhile(unmapped, interrupted);
        }
    }

    /**
     * An access to checked blocks' memory, which a close racing the call (a misuse) may unmap
     * under it, failed: the JDK then throws its bare "Already closed", which becomes this heap's
     * "is closed", and sets the thread's interrupt status (an async exception), which is put back
     * as {@link Os#interruptStatus} read it before the access. Each access is written out in a try
     * that calls this, rather than passed as a lambda: a lambda's first call links code on the Java
     * heap, and one whose linking fails for want of it fails so at every later call.
     *
     * @return {@code unmapped}, to throw, if the heap is open still
     * @throws IllegalStateException saying the heap is closed, if it is
     */
    private IllegalStateException closedMeanwhile(IllegalStateException unmapped, boolean interruptedBefore) {
        Os.restoreInterruptStatus(interruptedBefore);
        checkOpen();
        return unmapped;
    }

    // ---- free ----

    @Override
    public void free(long address) {
        if (mode == CheckMode.SAMPLED) {
            fast.free(address);
        } else {
            free(address, false);
        }
    }

    @Override
    public FaultPolicy faults() {
        return faults;
    }

    @Override
    public Allocator fastPath() {
        return faults == null && fastCoreSamples() ? fast : this;
    }

    /**
     * The fast core picked a malloc on its slow path for sampling before making a block for it.
     *
     * @return the checked block, or 0 if none could be had (the fast core serves the malloc then)
     */
    long sampleFresh(long byteSize) {
        return allocateChecked(byteSize, REDZONE, false, false);
    }

    /** The fast core picked this malloc for sampling: check it instead of the fast block it got. */
    long sampleInstead(long fastAddress, long byteSize, boolean throwing) {
        fast.free(fastAddress);
        replacedFastBlocks.incrementAndGet();
        long checked = allocateChecked(byteSize, REDZONE, false, false);
        return checked != 0 ? checked : fast.malloc(byteSize, throwing);
    }

    /**
     * The fast core ran into the heap's limit (sampled mode, the two cores sharing it): what checked
     * blocks hold without use goes back first, the quarantine and empty pages, as when a checked
     * malloc runs into it.
     *
     * @return whether anything went back
     */
    boolean makeRoomForFast() {
        List<BlockRecord> held = quarantine.drain();
        release(held, LEFT_FOR_AN_ALLOCATION);
        return guarded.giveBackUnused() || !held.isEmpty();
    }

    /**
     * The fast core was given an address in memory the checked blocks' core gave back to the OS (a
     * sampled huge block's mapping, say) and no heap has mapped since: a checked block freed before
     * if one started there, else not a block.
     */
    MemoryMisuseException misuseInUnmapped(String operation, long address) {
        // Unmapped because another thread is closing the heap (a misuse): say that.
        checkOpen();
        BlockRecord previous = freed.get(address);
        if (previous == null) {
            BlockRecord around = freed.around(address);
            return SanitizerReports.badFree(operation, address, around, around != null, name);
        }
        return operation.equals("free") || operation.equals("realloc")
                ? SanitizerReports.doubleFree(operation, previous, name)
                : SanitizerReports.queryAfterFree(operation, previous, name);
    }

    /** A free of a sampled block, routed here by the fast core. */
    void freeSampled(long address) {
        free(address, false);
    }

    @Override
    public void freeOwned(long address) {
        free(address, true);
    }

    @Override
    public void setOwner(long address, BlockHolder owner) {
        if (isChecked(address)) {
            BlockRecord block = liveBlock("setOwner", address);
            block.owner = owner;
            block.resizer = null;
        } else {
            fast.setOwner(address, owner);
        }
    }

    @Override
    public void beginHolderResize(long address) {
        if (isChecked(address)) {
            // Reports of damage the resize finds name the holder's resize, not a realloc or free.
            BlockRecord block = liveBlock("realloc", address);
            block.resizer = block.owner;
        }
        HolderCall.begin(address);
    }

    @Override
    public void endHolderResize(long address) {
        HolderCall.end();
        BlockRecord block = isChecked(address) ? live.get(address) : null;
        if (block != null) {
            block.resizer = null;
        }
    }

    @Override
    public String ownerOf(long address) {
        if (!isChecked(address)) {
            return fast.ownerOf(address);
        }
        BlockRecord block = live.get(address);
        if (block == null) {
            return null;
        }
        BlockHolder owner = block.owner;
        return owner == null ? "" : owner.name();
    }

    private void free(long address, boolean byOwner) {
        if (address == 0) {
            return;
        }
        if (!isChecked(address)) {
            if (byOwner) {
                fast.freeOwned(address);
            } else {
                fast.free(address);
            }
            return;
        }
        checkOpen();
        freeBlock(liveBlock("free", address), byOwner);
    }

    /**
     * Frees {@code block}, found live: into quarantine, once what that pushes out is verified.
     * Frees this record, not whatever block the address holds by the time: a realloc that moved
     * its block frees the one it copied, even if another thread freed it meanwhile (a double free
     * racing the realloc) and a third got its memory since, which a free by address would take.
     *
     * @throws MemoryMisuseException if its redzones were written, a block it pushes out of
     *     quarantine was written after its free, or another thread freed it meanwhile
     */
    private void freeBlock(BlockRecord block, boolean byOwner) {
        long address = block.address;
        // A holder's resize that moved the block frees it: held until the free is done.
        boolean heldTillFreed = !byOwner && block.owner != null;
        if (heldTillFreed && !HolderCall.isHolders(address)) {
            throw SanitizerReports.mismatch("free", block, name);
        }
        MemoryMisuseException overflow = damagedRedzoneOfLive(block, "free", foundWhenFreed(block, byOwner));
        if (overflow != null) {
            throw overflow;
        }
        // Verify what this block pushes out of quarantine before anything of the caller's changes.
        // A holder lets go of the block whatever the free finds (Heap.releaseOwned), so only a
        // program's own free is told to free again. Worded before any block leaves quarantine: out
        // of it, each must reach release().
        String pushedWhen = pushedOutByFree(block, byOwner);
        List<BlockRecord> pushed = quarantine.reserve(block.span);
        try {
            release(pushed, pushedWhen);
            retire(block, "free", CheckMode.POISON_BYTE, 0);
        } catch (RuntimeException | Error e) {
            quarantine.cancel(block.span);
            throw e;
        }
        // A holder's resize keeps its name on the old block's record, as a holder's own free does:
        // describe tells the freed storage as the holder's.
        checkedFrees.incrementAndGet();
        checkedRequested.addAndGet(-block.byteSize);
        // The room was held (Quarantine.reserve): the free is done, so nothing may throw from here.
        if (!quarantine.addReserved(block)) {
            // Larger than the whole quarantine, or no room on the Java heap for it to grow: poisoned
            // just now, so there is nothing to verify.
            guarded.free(block.base);
        }
    }

    /**
     * How a report of a block that the free of {@code block} pushes out of quarantine names that free
     * and what became of it: a holder's resize changed nothing, a holder's free frees its block all
     * the same, and a program's free freed nothing.
     */
    private static String pushedOutByFree(BlockRecord block, boolean byOwner) {
        long address = block.address;
        BlockHolder resizer = block.resizer;
        if (resizer != null) {
            return pushedOut("as " + resizer.name() + " resized", address, "which changed nothing: it is as it was");
        }
        BlockHolder holder = block.owner;
        return byOwner && holder != null
                ? pushedOut("as " + holder.name() + " freed", address, "which it frees all the same")
                : pushedOut("by the free of", address, "which freed nothing: that block is still live, so free it again");
    }

    /**
     * How a report of a block leaving quarantine names the call that pushed it out and what became
     * of that call: the report is about another block, so its reader must be told whether the call
     * did what it was asked.
     */
    private static String pushedOut(String how, long address, String outcome) {
        return "when it left quarantine, pushed out " + how + " 0x" + Long.toHexString(address) + ", " + outcome;
    }

    /**
     * A holder frees its blocks when it closes (and the heap closes holders still open), and moves
     * them to resize them: a report of damage its free finds says which holder, not a free the
     * program made.
     */
    private static String foundWhenFreed(BlockRecord block, boolean byOwner) {
        BlockHolder resizer = block.resizer;
        if (resizer != null) {
            return "when " + resizer.name() + " resized it";
        }
        BlockHolder holder = block.owner;
        // A holder frees the block all the same (Heap.releaseOwned); a program's free must be told
        // that its block is still live, or it leaks the block.
        return byOwner && holder != null ? "when " + holder.name() + " freed it"
                : "at free, which freed nothing: the block is still live, so free it again";
    }

    /**
     * Takes a live block out of use, as a free does: recorded as freed (by whom, then in the freed
     * blocks) before it stops being live,
     * so that a free racing this call finds it in one map or the other and reports a double free,
     * never an address it knows nothing about; its scope closed, so its segments die; its bytes
     * filled with {@code fill}.
     *
     * @param kept the leading bytes of the block left as they are, not filled
     * @throws MemoryMisuseException if another thread freed it meanwhile (a double free)
     * @throws IllegalStateException if a downcall is using it (it then stays live and unchanged),
     *     or the heap was closed meanwhile
     */
    private void retire(BlockRecord block, String operation, byte fill, long kept) {
        long address = block.address;
        // The memory to fill, made before anything changes: once the block stops being live, a full
        // Java heap that failed it would leave the block neither live nor freed. Should another
        // thread have freed the block meanwhile, and its mapping gone, the claim below tells.
        MemorySegment filled;
        try {
            filled = guardedMemory(address + kept, block.byteSize - kept);
        } catch (RuntimeException gone) {
            filled = null;
        }
        // Who frees it is recorded first: a free racing this call reports this one, with its stack.
        if (!block.claimFree()) {
            // Freed by another thread meanwhile.
            checkOpen();
            throw SanitizerReports.doubleFree(operation, block, name);
        }
        try {
            freed.put(block);
        } catch (OutOfMemoryError e) {
            // No room on the Java heap for its record among the freed blocks: the free goes on
            // without it (describe and later reports then know the block as never handed out),
            // rather than fail with the block claimed freed and live, which every later free of it
            // would call a double free.
        }
        boolean removed;
        try {
            removed = removeLive(block);
        } catch (OutOfMemoryError e) {
            // Still live: the call changes nothing. Unclaimed first, so that a later free of the
            // block is not told it was freed; its record among the freed goes if there is room.
            block.unclaimFree();
            try {
                freed.remove(block);
            } catch (OutOfMemoryError again) {
                // Left: it names a free that did not happen, until the next free at the address.
            }
            throw e;
        }
        if (!removed) {
            // Taken by a close racing this call.
            checkOpen();
            throw SanitizerReports.doubleFree(operation, block, name);
        }
        if (!closeArena(block)) {
            // A downcall is using the block: it stays live, for a call after the downcall returns.
            live.put(address, block);
            freed.remove(block);
            block.unclaimFree();
            throw HeapCore.freeWhileInUseByADowncall(address, name);
        }
        boolean interrupted = Os.interruptStatus();
        try {
            (filled != null ? filled : guardedMemory(address + kept, block.byteSize - kept)).fill(fill);
        } catch (IllegalStateException unmapped) {
            throw closedMeanwhile(unmapped, interrupted);
        }
    }

    /**
     * Takes {@code block} out of the live blocks. The map's removal allocates on the Java heap as
     * it tidies up, before and after it takes the block out: an {@link OutOfMemoryError} after is
     * a removal done.
     *
     * @return false if the block was not live (a close racing the call took it)
     * @throws OutOfMemoryError if the Java heap had no room, and the block is live still
     */
    private boolean removeLive(BlockRecord block) {
        // Boxed once, first: boxed again in the catch, it could fail there too.
        Long address = block.address;
        try {
            return live.remove(address, block);
        } catch (OutOfMemoryError e) {
            if (live.get(address) == block) {
                throw e;
            }
            return true;
        }
    }

    /** How a report names a block that left quarantine for an allocation under the heap's limit, which then throws it. */
    private static final String LEFT_FOR_AN_ALLOCATION =
            "when it left quarantine to make room under the heap's limit for an allocation, which allocated nothing";

    /**
     * Gives blocks out of quarantine back to the core, reporting every one that was written to.
     * Each is freed even when its check finds no room on the Java heap (the first such error is
     * thrown once all are): out of quarantine, a block not freed would stay allocated for good.
     */
    private void release(List<BlockRecord> blocks, String when) {
        if (blocks.isEmpty()) {
            return;
        }
        // Out of quarantine, the blocks are no longer the close's to drain: it unmaps them under the
        // check of their poison when it races this call.
        MemoryMisuseException problem = null;
        OutOfMemoryError unchecked = null;
        boolean interrupted = Os.interruptStatus();
        try {
            // By index: an iterator is an object, which a full Java heap refuses.
            for (int i = 0; i < blocks.size(); i++) {
                BlockRecord block = blocks.get(i);
                try {
                    problem = SanitizerReports.combine(problem, damagedPoison(block, when));
                } catch (OutOfMemoryError e) {
                    unchecked = unchecked == null ? e : unchecked;
                }
                guarded.free(block.base);
            }
        } catch (IllegalStateException unmapped) {
            throw closedMeanwhile(unmapped, interrupted);
        }
        if (unchecked != null) {
            throw unchecked;
        }
        if (problem != null) {
            throw problem;
        }
    }

    private BlockRecord liveBlock(String operation, long address) {
        BlockRecord block = live.get(address);
        if (block != null) {
            return block;
        }
        // A close racing this call empties the live blocks (a misuse): say the heap is closed.
        checkOpen();
        Region region = RegionMap.lookup(address);
        if (region != null && region.core != guarded && region.core != fast) {
            // The memory of a block this heap freed may since have gone to another heap.
            throw MisuseReports.otherHeap(operation, address, region.core.name(), guarded);
        }
        BlockRecord around = liveSpanAround(address);
        BlockRecord previous = freed.get(address);
        // A block freed at the address is history once a live block's bytes cover it past their
        // start: the call is about that block's interior or holder (as describe says). Not when
        // the live block starts there (it became live since the lookup above, in a realloc that
        // freed the one the call meant), nor when only its redzone covers the address, which no
        // call could mean for the live block: the freed block is what the call meant.
        if (previous != null && (around == null || !insideBytes(around, address))) {
            throw operation.equals("usableSize")
                    ? SanitizerReports.queryAfterFree(operation, previous, name)
                    : SanitizerReports.doubleFree(operation, previous, name);
        }
        if (around != null) {
            if (around.owner != null && MisuseReports.refusesHeld(operation) && insideBytes(around, address)) {
                throw SanitizerReports.mismatchInside(operation, address, around, name);
            }
            throw SanitizerReports.badFree(operation, address, around, false, name);
        }
        BlockRecord freedAround = freed.around(address);
        if (freedAround == null && region == null) {
            // In no heap's memory: worded as the fast core words it, with this call's frames.
            throw MisuseReports.foreign(operation, address, guarded);
        }
        throw SanitizerReports.badFree(operation, address, freedAround, freedAround != null, name);
    }

    /** @return the live block whose memory, redzones included, holds {@code address}, or null */
    private BlockRecord liveSpanAround(long address) {
        Map.Entry<Long, BlockRecord> below = live.floorEntry(address);
        if (below != null && spans(below.getValue(), address)) {
            return below.getValue();
        }
        // A front redzone lies below its block's address.
        Map.Entry<Long, BlockRecord> above = live.higherEntry(address);
        return above != null && spans(above.getValue(), address) ? above.getValue() : null;
    }

    /** @return whether {@code address} lies in {@code block}'s own bytes past its start, not its redzones */
    private static boolean insideBytes(BlockRecord block, long address) {
        return address > block.address && address < block.address + block.byteSize;
    }

    private static boolean spans(BlockRecord block, long address) {
        return address >= block.base && address < block.base + block.span;
    }

    // ---- checks ----

    /**
     * {@link #damagedRedzone} of a block the calling free or realloc found live: another thread
     * may free it meanwhile (a double free), and a huge block's memory then goes away under the
     * read, which throws the JDK's bare "Already closed"; that free is what to report.
     */
    private MemoryMisuseException damagedRedzoneOfLive(BlockRecord block, String operation, String when) {
        boolean interrupted = Os.interruptStatus();
        try {
            return damagedRedzone(block, when);
        } catch (IllegalStateException e) {
            Os.restoreInterruptStatus(interrupted);
            throw freedMeanwhile(operation, block, e);
        }
    }

    /**
     * @return the report of a changed canary before the block and of one after it, the first
     *     carrying the second suppressed, or null; the canaries are put back, so each damage is
     *     reported once
     */
    private MemoryMisuseException damagedRedzone(BlockRecord block, String when) {
        return SanitizerReports.combine(damagedFrontRedzone(block, when), damagedBackRedzone(block, when));
    }

    /** @return the report of a changed canary before the block, or null; the canaries are put back */
    private MemoryMisuseException damagedFrontRedzone(BlockRecord block, String when) {
        return damagedCanaries(block, block.frontRedzoneStart(), block.frontRedzone(), when);
    }

    /** @return the report of a changed canary after the block, or null; the canaries are put back */
    private MemoryMisuseException damagedBackRedzone(BlockRecord block, String when) {
        return damagedCanaries(block, block.address - block.base + block.byteSize, block.backRedzone(), when);
    }

    /** @param from the redzone's offset from the block's base */
    private MemoryMisuseException damagedCanaries(BlockRecord block, long from, long length, String when) {
        MemorySegment memory = guardedMemory(block.base, block.span);
        long bad = Redzones.firstNot(memory, from, length, CheckMode.CANARY_BYTE);
        if (bad < 0) {
            return null;
        }
        memory.asSlice(from, length).fill(CheckMode.CANARY_BYTE);
        return SanitizerReports.overflow(block, block.base + bad, when, name);
    }

    /**
     * @return the report of damage to a freed block, or null: of a changed canary in either redzone
     *     and of the first byte of its own that is not poison, in address order, the first one's
     *     report carrying the others suppressed (a block leaving quarantine is not verified again),
     *     so its address is the first damaged byte, as AddressSanitizer reports the first bad
     *     access. A report puts the canaries and the poison back, so a later write through the same
     *     dangling address is a new report.
     */
    private MemoryMisuseException damagedPoison(BlockRecord block, String when) {
        MemoryMisuseException before = damagedFrontRedzone(block, when);
        MemoryMisuseException inside = null;
        MemorySegment memory = guardedMemory(block.address, block.byteSize);
        long bad = Redzones.firstNot(memory, 0, block.byteSize, CheckMode.POISON_BYTE);
        if (bad >= 0) {
            inside = SanitizerReports.writeAfterFree(block, block.address + bad, when, name);
            memory.fill(CheckMode.POISON_BYTE);
        }
        return SanitizerReports.combine(SanitizerReports.combine(before, inside), damagedBackRedzone(block, when));
    }

    @Override
    public void check() {
        checkOpen();
        MemoryMisuseException damage;
        boolean interrupted = Os.interruptStatus();
        try {
            damage = damagedBlocks();
        } catch (IllegalStateException unmapped) {
            throw closedMeanwhile(unmapped, interrupted);
        }
        if (damage != null) {
            throw damage;
        }
        if (fast != null) {
            fast.check();
        }
        if (guarded != null) {
            guarded.check();
            HeapStats stats = stats();
            checkOpen();
            HeapCore.requireCountersAgree(stats, name);
        }
    }

    /** @return the report of every damaged redzone and poison of {@link #check()}, or null */
    private MemoryMisuseException damagedBlocks() {
        // Every block is verified, not only up to the first damaged one: each report repairs its
        // block, so stopping early would leave the others for the next check() to find.
        MemoryMisuseException damage = null;
        for (BlockRecord block : live.values()) {
            damage = SanitizerReports.combine(damage, damagedRedzone(block, "by check()"));
            BlockHolder holder = block.owner;
            HandedOutBlocks handedOut = holder == null ? null : holder.handedOut();
            if (handedOut != null) {
                damage = SanitizerReports.combine(damage, handedOut.damagedRedzones(block.address));
            }
        }
        for (BlockRecord block : quarantine.snapshot()) {
            damage = SanitizerReports.combine(damage, damagedPoison(block, "by check()"));
        }
        return damage;
    }

    @Override
    public LeakReport leaks() {
        LeakReport atClose = leaksAtClose;
        return atClose != null ? atClose
                : SanitizerReports.leaks(new ArrayList<>(live.values()), name, mode == CheckMode.SAMPLED);
    }

    // ---- segments ----

    @Override
    public MemorySegment segment(long address, long byteSize) {
        if (mode == CheckMode.SAMPLED || !isChecked(address)) {
            return fast.segment(address, byteSize);
        }
        return checkedSegment(address, byteSize);
    }

    @Override
    public MemorySegment newSegment(long address, long byteSize) {
        if (mode == CheckMode.SAMPLED || !isChecked(address)) {
            return fast.newSegment(address, byteSize);
        }
        try {
            return checkedSegment(address, byteSize);
        } catch (OutOfMemoryError e) {
            // No room on the Java heap for the segment or its scope: the block, which the caller
            // never gets, goes back.
            dropUnreturned(address);
            throw e;
        }
    }

    /**
     * A block this heap does not check goes through the fast heap's, which makes a moved block's
     * segment before it frees the old block; a checked one is resized, then given its segment.
     */
    @Override
    public MemorySegment reallocSegment(long address, long newByteSize, boolean throwing) {
        if (address == 0) {
            long fresh = realloc(0, newByteSize, throwing);
            return fresh == 0 ? MemorySegment.NULL : newSegment(fresh, newByteSize);
        }
        if (isChecked(address)) {
            MovedSegment moved = new MovedSegment(newByteSize);
            long resized = realloc(address, newByteSize, throwing, moved);
            if (resized == 0) {
                return MemorySegment.NULL;
            }
            return moved.segment != null ? moved.segment : segment(resized, newByteSize);
        }
        prepare(newByteSize, "newByteSize");
        if (injectsResizeFault(address, newByteSize)) {
            injectedFailure(newByteSize, throwing);
            return MemorySegment.NULL;
        }
        MemorySegment resized = MemorySegment.NULL;
        try {
            resized = fast.reallocSegment(address, newByteSize, throwing);
        } finally {
            settled(resized.address(), newByteSize, HeapCore.MIN_ALIGNMENT);
        }
        return resized;
    }

    /**
     * Whether the heap's {@link FaultInjection} fails this resize of a block it does not check: it
     * counts every realloc to a non-zero size, whether or not the block would move.
     */
    private boolean injectsResizeFault(long address, long newByteSize) {
        if (newByteSize > 0 && faults != null) {
            fast.checkResizable(address);
            return injectFault(newByteSize);
        }
        return false;
    }

    /** The segment of a checked block: in its own scope, watched for becoming unreachable. */
    MemorySegment checkedSegment(long address, long byteSize) {
        BlockRecord block = live.get(address);
        MemorySegment segment = null;
        try {
            segment = block != null ? Os.segment(address, byteSize, block.arena()) : null;
        } catch (IllegalStateException closedMeanwhile) {
            // Its scope closed since: the block was freed meanwhile, below.
        }
        if (segment == null) {
            // Another thread closed the heap since the block was allocated, or freed the block the
            // call returns: a free racing a realloc in place of the same block (misuses both).
            checkOpen();
            BlockRecord previous = freed.get(address);
            throw previous != null ? SanitizerReports.queryAfterFree("segment", previous, name)
                    : SanitizerReports.badFree("segment", address, null, false, name);
        }
        CLEANER.register(segment, new UnreachableReport(this, block));
        return segment;
    }

    /**
     * The cleaning action of a checked block's segment: an object of a class, not a lambda, whose
     * first linking a full Java heap could fail for every later segment.
     */
    private static final class UnreachableReport implements Runnable {
        private final CheckedAllocator allocator;
        private final BlockRecord block;

        UnreachableReport(CheckedAllocator allocator, BlockRecord block) {
            this.allocator = allocator;
            this.block = block;
        }

        @Override
        public void run() {
            allocator.reportUnreachable(block);
        }
    }

    /** A segment was collected while its block was still live: nobody can free it through it. */
    private void reportUnreachable(BlockRecord block) {
        if (live.get(block.address) == block && !isClosed()) {
            System.err.print(SanitizerReports.unreachableSegment(block, name));
        }
    }

    @Override
    public long usableSize(long address) {
        checkOpen();
        if (!isChecked(address)) {
            return fast.usableSize(address);
        }
        BlockRecord block = liveBlock("usableSize", address);
        if (block.owner != null) {
            throw SanitizerReports.mismatch("usableSize", block, name);
        }
        return block.byteSize;
    }

    /**
     * A checked block freed at {@code address} is reported as any call on it is, with its stacks:
     * a segment of it dies with it. Not when a live block starts there now, or the memory is
     * another core's or heap's since: the segment may be a closed view of that block, and the
     * freed record history. Otherwise (a scope or arena closed, a record forgotten) the report
     * says what the address holds now.
     */
    @Override
    public MemoryMisuseException closedScope(String operation, long address) {
        checkOpen();
        BlockRecord previous = guarded != null && guarded.owns(address) && !live.containsKey(address)
                ? freed.get(address) : null;
        if (previous != null) {
            return operation.equals("usableSize") ? SanitizerReports.queryAfterFree(operation, previous, name)
                    : SanitizerReports.doubleFree(operation, previous, name);
        }
        return SanitizerReports.closedScope(operation, address, describe(address), name, true);
    }

    /**
     * What {@code address} is: told from the records of checked blocks (their stacks) where it is
     * checked memory; elsewhere from the pages of what holds it now (the unchecked blocks, another
     * heap, or none), then as the freed checked block whose memory held it, if one is remembered:
     * memory a huge checked block gave back may be another core's or heap's since.
     */
    @Override
    public String describe(long address) {
        checkOpen();
        if (guarded == null) {
            return fast.describe(address);
        }
        if (!guarded.owns(address)) {
            BlockRecord freedAround = freed.around(address);
            if (freedAround != null && RegionMap.lookup(address) == null) {
                return SanitizerReports.described(address, null, freedAround, name) + AddressDescriptions.NO_HEAP_NOW;
            }
            // A sampled huge block's mapping, gone: the checked core knows where it was.
            String now = fast == null || guarded.gaveBack(address) ? guarded.describe(address) : fast.describe(address);
            return freedAround == null ? now : now + SanitizerReports.freedBefore(address, freedAround, name);
        }
        BlockRecord liveAround = liveSpanAround(address);
        BlockRecord freedAround = freed.around(address);
        if (liveAround == freedAround) {
            // Being freed by another thread: recorded as freed, and not yet out of the live blocks.
            liveAround = null;
        }
        if (liveAround != null || freedAround != null) {
            return SanitizerReports.described(address, liveAround, freedAround, name);
        }
        return SanitizerReports.nearLive(address, liveBeside(live.lowerEntry(address), address),
                liveBeside(live.higherEntry(address), address), name);
    }

    /** @return the block of {@code entry} if it lies in the same page of checked memory as {@code address} */
    private BlockRecord liveBeside(Map.Entry<Long, BlockRecord> entry, long address) {
        return entry != null && guarded.samePage(entry.getValue().base, address) ? entry.getValue() : null;
    }

    // ---- the rest ----

    @Override
    public HeapStats stats() {
        HeapStats base = fast != null ? fast.stats() : zero();
        if (guarded == null) {
            return base;
        }
        HeapStats checked = guarded.stats();
        long replaced = replacedFastBlocks.get();
        long committed = committedBytes(checked.committedBytes());
        return new HeapStats(name,
                base.mallocCount() - replaced + checkedMallocs.get(),
                base.freeCount() - replaced + checkedFrees.get(),
                base.requestedBytes() + checkedRequested.get(),
                // A checked block's usable size is exactly its request (what usableSize reports);
                // its redzones and the quarantine are footprint, counted in committed only.
                base.usableBytes() + checkedRequested.get(),
                committed,
                // The two cores' peaks came at different times; in sampled mode they share one.
                fast != null ? fast.commitLimit().peakBytes() : checked.peakCommittedBytes(),
                base.reservedBytes() + checked.reservedBytes(),
                base.peakReservedBytes() + checked.peakReservedBytes(),
                base.metadataBytes() + checked.metadataBytes() + recordBytes(),
                base.mmapCalls() + checked.mmapCalls(),
                base.munmapCalls() + checked.munmapCalls(),
                base.madviseCalls() + checked.madviseCalls(),
                base.purgedBytes() + checked.purgedBytes());
    }

    /**
     * @param guardedCommitted the checked blocks' core's committed bytes
     * @return the heap's committed bytes
     */
    private long committedBytes(long guardedCommitted) {
        // In sampled mode both cores charge the one limit, whose count is a single read. The sum of
        // the cores' own counts, read one after the other while other threads work, would count twice
        // what one core gave back for the other to commit between the two reads, and could pass the
        // limit the heap keeps to. A closed heap's cores count only what a downcall kept mapped.
        if (fast == null) {
            return guardedCommitted;
        }
        return fast.isClosed() ? fast.committedBytes() + guardedCommitted : fast.commitLimit().chargedBytes();
    }

    /**
     * @return the metadata estimate of the checked blocks' records, the quarantine's included: from
     *     sizes, not a copy of the quarantine, as the footprint is read after every allocation
     *     ({@link #footprintBytes})
     */
    private long recordBytes() {
        return 160L * (live.size() + quarantine.size());
    }

    @Override
    public long footprintBytes() {
        if (guarded == null) {
            return fast != null ? fast.footprintBytes() : 0;
        }
        // The sums that may wait for a span lock first, as in HeapCore.footprintBytes: a close holds it
        // while it waits for a downcall, and the committed bytes read after are then its outcome.
        long fastMetadata = fast != null ? fast.metadataBytes() : 0;
        long guardedFootprint = guarded.footprintBytes();
        long guardedMetadata = guarded.metadataBytes();
        long committed = committedBytes(guardedFootprint - guardedMetadata);
        return committed + fastMetadata + guardedMetadata + recordBytes();
    }

    private HeapStats zero() {
        return new HeapStats(name, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    }

    @Override
    public void trim() {
        checkOpen();
        try {
            if (guarded != null) {
                release(quarantine.drain(), "by trim()");
                // The records kept only for the quarantine's sake go too, not at the next free.
                freed.unpinReleased();
            }
        } finally {
            // A write after free found in the quarantine is reported once the trim is done.
            if (guarded != null) {
                guarded.trim();
            }
            if (fast != null) {
                fast.trim();
            }
        }
    }

    @Override
    public CheckMode checkMode() {
        return mode;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public boolean isClosed() {
        return closing.get() || (fast != null ? fast : guarded).isClosed();
    }

    @Override
    public synchronized boolean leftMapped() {
        return closing.get() && (!inUseAtClose.isEmpty() || guarded != null && guarded.leftMapped()
                || fast != null && fast.leftMapped());
    }

    /**
     * Closes the heap and unmaps its memory, but never memory a downcall is using (a checked block
     * whose arena refuses to close, or a fast block whose region's arena does): that stays mapped,
     * and this throws. Closing again after the downcall returned unmaps it. The redzones of the
     * blocks still live are verified here, as no free will, and the blocks in quarantine leave it
     * here, so they are verified as when they leave it otherwise; damage found is thrown once the
     * heap is closed.
     */
    @Override
    public synchronized void close() {
        MemoryMisuseException damage = null;
        if (!closing.compareAndSet(false, true)) {
            if (!leftMapped()) {
                throw new IllegalStateException("heap '" + name + "' is already closed");
            }
        } else {
            if (fast != null) {
                // The fast path does not ask this allocator whether the heap is closed.
                fast.refuseCalls();
            }
            LeakReport leaks = leaks();
            if (leakReportAtClose && !leaks.isEmpty()) {
                System.err.println(leaks.text());
            }
            leaksAtClose = leaks;
            inUseAtClose.addAll(live.values());
            live.clear();
            for (BlockRecord block : inUseAtClose) {
                // A leaked block is never freed, so its redzones are never verified but here.
                damage = SanitizerReports.combine(damage, damagedRedzoneAtClose(block));
            }
            for (BlockRecord block : quarantine.drain()) {
                // The last time these blocks can be verified: their memory is unmapped below.
                damage = SanitizerReports.combine(damage, damagedPoison(block, "when the heap closed"));
            }
        }
        // A calloc racing the close may be zeroing one of them: its memset holds the arena a while.
        // One deadline for the whole close, however many blocks and regions are held.
        long deadline = HeldArenas.heapCloseDeadline();
        inUseAtClose.removeIf(block -> closeArena(block, deadline));
        long leftMapped = 0;
        if (guarded != null) {
            leftMapped += guarded.closeUnlessInUse(inUseAtClose.stream().mapToLong(block -> block.address).toArray(),
                    deadline);
        }
        if (fast != null) {
            leftMapped += fast.closeUnlessInUse(new long[0], deadline);
        }
        if (leftMapped > 0) {
            IllegalStateException inUse = HeapCore.inUseByADowncall(name, leftMapped);
            if (damage != null) {
                SanitizerReports.suppress(inUse, damage);
            }
            throw inUse;
        }
        if (damage != null) {
            throw damage;
        }
    }

    /** @return the report of damage to the redzones of a block live when the heap closed, or null */
    private MemoryMisuseException damagedRedzoneAtClose(BlockRecord block) {
        boolean interrupted = Os.interruptStatus();
        try {
            return damagedRedzone(block, "when the heap closed, with the block still live (leaked)");
        } catch (IllegalStateException freedMeanwhile) {
            Os.restoreInterruptStatus(interrupted);
            // A free racing the close (a misuse) ended its memory: nothing left to verify.
            return null;
        }
    }

    /**
     * @return whether the block's arena is closed now (or was already, by a free racing a close, a
     *     misuse); false while a downcall holds a segment of it
     */
    private static boolean closeArena(BlockRecord block) {
        return closeArena(block, System.nanoTime());
    }

    /** {@link #closeArena(BlockRecord)}, waiting until {@code deadline} ({@link System#nanoTime}) while a downcall holds it. */
    private static boolean closeArena(BlockRecord block, long deadline) {
        return block.closeScope(deadline);
    }

    // ---- helpers ----

    private void prepare(long byteSize, String parameter) {
        HeapCore.checkSize(byteSize, parameter);
        checkOpen();
    }

    private void checkOpen() {
        if (isClosed()) {
            throw new IllegalStateException("heap '" + name + "' is closed");
        }
    }

    /**
     * The checked core's memory at {@code address}. It is gone only when another thread closed the
     * heap meanwhile (a misuse): that is reported as the heap being closed, not as a use after free
     * of the caller's.
     */
    private MemorySegment guardedMemory(long address, long byteSize) {
        try {
            return guarded.segment(address, byteSize);
        } catch (RuntimeException e) {
            if (isClosed()) {
                throw new IllegalStateException("heap '" + name + "' is closed", e);
            }
            throw e;
        }
    }

    @Override
    public boolean sampleOwnedBlock() {
        return sample();
    }

    private boolean sample() {
        return switch (mode) {
            case FULL -> true;
            case SAMPLED -> (ThreadLocalRandom.current().nextInt() & sampleMask) == 0;
            default -> false;
        };
    }

    /**
     * Whether the fast core picks the mallocs to sample itself (sampled mode at an interval above
     * 1), counting them per thread and handing each one it picks back to {@link #sampleInstead}.
     */
    private boolean fastCoreSamples() {
        return mode == CheckMode.SAMPLED && sampleMask != 0;
    }

    private boolean isChecked(long address) {
        return guarded != null && (fast == null || guarded.owns(address));
    }

    private boolean injectFault(long byteSize) {
        return injectFault(byteSize, HeapCore.MIN_ALIGNMENT);
    }

    private boolean injectFault(long byteSize, long byteAlignment) {
        return faults != null && isGrantable(byteSize, byteAlignment) && faults.shouldFail(byteSize);
    }

    /**
     * A request larger, or more aligned, than any block a heap hands out fails for that reason,
     * whatever the policy: an injected failure would hide why it can never succeed, and it is no
     * request the policy counts.
     */
    private static boolean isGrantable(long byteSize, long byteAlignment) {
        return byteSize <= SpanAllocator.MAX_REQUEST && byteAlignment <= SpanAllocator.MAX_REQUEST;
    }

    /**
     * After a request the fault policy let through: tells it the request failed anyway (memory
     * exhausted, or thrown) when {@code address} is 0, if it counts such requests. Each caller
     * makes its request in a try whose finally calls this, rather than pass it as a lambda: a
     * lambda's first call links code on the Java heap, and one whose linking fails for want of it
     * fails so at every later call, for the rest of the process.
     */
    private void settled(long address, long byteSize, long byteAlignment) {
        if (address == 0 && byteSize > 0 && faults != null && isGrantable(byteSize, byteAlignment)) {
            faults.failedAnyway(byteSize);
        }
    }

    private long injectedFailure(long byteSize, boolean throwing) {
        return injectedFailure(byteSize, HeapCore.MIN_ALIGNMENT, throwing);
    }

    /** Worded as real exhaustion is: the size, and an alignment past the least every block has. */
    private long injectedFailure(long byteSize, long byteAlignment, boolean throwing) {
        if (throwing) {
            throw FaultPolicy.injectedFailure(name, byteSize, byteAlignment);
        }
        return 0;
    }
}
