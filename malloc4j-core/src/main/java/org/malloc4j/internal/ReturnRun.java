package org.malloc4j.internal;

import java.util.ArrayList;
import java.util.List;

/**
 * Free memory of adjacent pages that the purger's scan of the pages in use
 * ({@link SpanAllocator#scavengeFreeInPages}) gives back in one {@code madvise}, not one a page;
 * the idle owners it holds off those pages ({@link ThreadHeap#holdForPurge}) until then; and the
 * remote frees it took off pages whose owners it did not hold, which the pages get back only then.
 *
 * <p>A call costs 14–105 µs on a 2-core VM, mostly the TLB flush on the other processor (core
 * README, "One madvise a run of pages"): 1 GiB of 4 KiB blocks that another thread freed, while
 * their owner lived on idle, took one call a 64 KiB page, 16,384 calls and about 2 s to go back
 * (3.8–6.5 s on a busier machine); 257 calls and about 0.6 s in runs.
 *
 * <p>Its owners stay held until the run's memory is gone: a page is not current while held, so
 * its owner cannot hand out a block of the run before its memory went back. Used under the span
 * lock only, by the thread holding it.
 */
final class ReturnRun {
    /** Start of the run, or -1 while it is empty. */
    private long start = -1;
    /** End of the run (exclusive). */
    private long end;
    /** What of the run was committed: holes inside it went back already. */
    private long committed;
    private final List<ThreadHeap> held = new ArrayList<>();
    /** Pages whose remote frees the run took ({@link Page#takeRemoteBits}), with what they get back. */
    private final List<Taken> taken = new ArrayList<>();

    /** What the run took off {@code page}: {@code bits} to give back as remote frees, and its {@code holes}. */
    private record Taken(Page page, long[] bits, PurgedHoles holes) {
    }

    /** @return whether {@code owner} is held off its pages until this run is given back */
    boolean holds(ThreadHeap owner) {
        return held.contains(owner);
    }

    /** Records that {@code owner}, held off its pages by the caller, stays held until {@link #releaseHeld}. */
    void hold(ThreadHeap owner) {
        try {
            held.add(owner);
        } catch (OutOfMemoryError e) {
            // Not recorded, so never released by the run: let it go now.
            owner.releaseFromPurge();
            throw e;
        }
    }

    /**
     * @return whether {@code [address, ...)} continues this run: it starts where the run ends (an
     *     empty run continues from nowhere)
     */
    boolean continuesAt(long address) {
        return start >= 0 && end == address;
    }

    boolean isEmpty() {
        return start < 0;
    }

    /** Adds {@code [address, address + byteSize)}, of which {@code committedBytes} were committed. */
    void add(long address, long byteSize, long committedBytes) {
        if (start < 0) {
            start = address;
        }
        end = address + byteSize;
        committed += committedBytes;
    }

    long start() {
        return start;
    }

    long byteSize() {
        return end - start;
    }

    long committed() {
        return committed;
    }

    /** Empties the run, once its memory went back. */
    void clear() {
        start = -1;
        end = 0;
        committed = 0;
    }

    /**
     * Records that {@code page} gets {@code bits} and {@code holes} back ({@link Page#giveBackRemote})
     * once the run's memory is gone: taken off the page, those blocks cannot go back into use
     * before then, though its owner is not held off it.
     */
    void giveBackAfter(Page page, long[] bits, PurgedHoles holes) {
        taken.add(new Taken(page, bits, holes));
    }

    /** Gives every page what the run took off it, once the run's memory is gone. */
    void giveBackTaken() {
        // By index: an iterator is an object, which a full Java heap fails (this runs in a finally).
        for (int i = 0; i < taken.size(); i++) {
            Taken off = taken.get(i);
            off.page().giveBackRemote(off.bits(), off.holes());
        }
        taken.clear();
    }

    /** Lets every held owner go back to its pages. */
    void releaseHeld() {
        // By index, as giveBackTaken.
        for (int i = 0; i < held.size(); i++) {
            held.get(i).releaseFromPurge();
        }
        held.clear();
    }
}
