package org.malloc4j.internal;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntPredicate;
import java.util.function.LongBinaryOperator;
import java.util.function.Predicate;
import org.malloc4j.Heap;

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
    static final long MAX_REQUEST = Heap.MAX_BLOCK_BYTE_SIZE;
    /**
     * Retired pages keep their memory committed until the purge delay has passed, so a heap that
     * frees and allocates in rounds (a burst of 1 MiB buffers, a request's scratch memory) reuses it
     * without faulting every page in again, however much it is; they are not purged when they are
     * retired. Past this many bytes in the pool, every commit purges as many bytes of the oldest
     * retired pages (from a large span's end, which stays pooled: {@link #releasePooledTail}), so
     * committed memory does not grow while retired memory sits idle: the footprint stays within the
     * most bytes ever in use plus this floor. The exchange is made as memory is committed, not when
     * a page that may commit more is laid out: a pooled page reused with part of its memory
     * committed would otherwise purge, in exchange for memory it may never touch, the retired pages
     * the next requests reuse (perl-wordfreq's replay on one heap: 1.5 MiB purged and ~270 OS pages
     * faulted in again on every pass; none once warm now). Whatever the floor, a
     * commit that would raise the footprint's peak purges as much of the pool as it needs first
     * ({@link #purgeForPeak}): retired pages wait for reuse below the peak, not on top of it, unless
     * the heap is going round a loop at its peak ({@link #PEAK_GUARD_PEAKS}).
     */
    private static final long DIRTY_FLOOR = 4L << 20;
    /**
     * A commit that would set a new peak footprint first returns memory the heap holds unused:
     * retired pages, then free memory inside the committing thread's pages. Once the bytes returned
     * this way, since the live bytes last grew by an eighth ({@link HeapCore#liveRose}), reach this
     * many times the peak, the heap is going round a loop at its peak (a buffer grown by realloc and
     * freed, a batch of blocks allocated and freed, a program's request loop), where each purge
     * only makes the next round fault the same memory in again: from then on the peak is let grow
     * instead, by what the loop keeps between rounds, until the live bytes grow past their peak or
     * the purger finds the heap idle ({@link #loopAtPeak}). With 3, every bundled and shared trace
     * keeps the utilization it had with 4 (the real ones and the malloc-lab ones, 51, {@code malloc4j
     * replay}), and a program replayed pass after pass on one heap returns a quarter less before its
     * loop is known (passes 2 to 30: perl-wordfreq 18.6 MB against 24.7, gcc's cc1 11.5 against
     * 15.8, python3-json-regex 30.9 against 39.4, where it now stops at its 11th pass instead of
     * returning 1.2 MiB a pass past its 30th); with 2, gcc's cc1 falls from 90.0 % to 84.0 %.
     * Before, the guard counted from the heap's start and
     * against a peak that grew once it let go, so it took up guarding again: gcc's cc1 replayed over
     * and over on one heap returned 7–8 MB (twice its peak) a round, 220–250 {@code madvise}s, up to
     * its eighth round, and still 56–119 in rounds 10 to 14.
     */
    private static final long PEAK_GUARD_PEAKS = 3;
    /**
     * Before it lets go, a guard that has scavenged as many bytes as the peak from the free memory
     * inside pages in use (since the live bytes last grew) lets the footprint grow to this
     * fraction over the peak it had then, a quarter, before it returns memory again
     * ({@link #toleratedPeak}). Scavenged memory is memory the same pages hand out again, so
     * returning it over and over is the sign of a round laid out anew that needs a little more than
     * the last; retired pages purged at the peak are not counted, as rounds of ever new size
     * classes retire pages no round uses again (coalesce-big, 100 rounds of 100 blocks from 32 B
     * to 3,200 B: 69.4 % utilization instead of 78.9 % when they counted). Replayed on one heap,
     * random2-bal makes a few {@code madvise}s a round instead of about 300 from its third round.
     */
    private static final int TOLERANCE_SHIFT = 2;
    /**
     * A heap whose live bytes fell under an eighth of their peak ({@link #emptied}) and climbed back
     * to the footprint's peak repeats an earlier round: once the guard has scavenged this fraction
     * of the peak in that round, a sixteenth, it lets the peak grow ({@link #loopAtPeak}) instead of
     * scavenging on until {@link #PEAK_GUARD_PEAKS} peaks' worth. Random-bal replayed on one heap
     * ({@code Passes}, 2,400 blocks of 24 B to 32 KiB, every block freed at a pass's end) made 337,
     * 341 and 77 {@code madvise}s (10.4, 9.2, 2.7 MB returned and faulted in again) in its passes 1
     * to 3 for a 17.6 MB peak, 79, 4 and 0 now; perl-wordfreq 44 to 53 a pass up to its 5th, now
     * 47, 3 and 0; python3-json-regex 45 to 49 a pass past its 7th, now 35, 1 and 0. Letting go
     * at once, instead of a round's first scavenge, took random-bal's pass 1 down to 4, but needle
     * (ten rounds of 15,000 random blocks, each freed whole, in one trace) fell from 89.7 % to
     * 89.1 % utilization ({@code malloc4j replay}), where a sixteenth kept 89.7 %.
     * The count runs on from round to round ({@link #noteEmptied}). Counted a round at a time, it
     * missed both a round whose one guarded commit scavenged its sixteenth (the test comes before a
     * commit's scavenge) and rounds that scavenge less each: amptjp-bal replayed on one heap
     * ({@code Passes}) returned about 212 KB in 19 {@code madvise}s a pass in its passes 2 to 11,
     * and does in its 2nd and 3rd only now; cccp-bal 7 a pass through its 15th, now through its
     * 3rd. {@code malloc4j replay}, whose timed passes follow a checked one on the same heap,
     * measured amptjp-bal at 3,898 and 4,420 Kops/s before, 26,786 and 49,814 after (glibc: 23,853
     * to 39,432 in the same runs). Needle falls to 89.1 % with it; every other bundled or shared
     * trace keeps its utilization to the hundredth.
     * Retired pages of blocks purged at the peak do not count, as for the tolerance: emptied rounds
     * of ever new size classes purge them for good (coalesce-big: 78.7 % kept; 73.5 % when every
     * commit past the peak let go after the heap emptied). Retired large spans do count: the next
     * round's large blocks take such spans again. Realloc-bal (a buffer grown by realloc to 600 KB
     * a pass) purged spans in its passes 2 to 4, and in its 2nd only now; {@code malloc4j replay}
     * measured it at 14,672 and 16,217 Kops/s before, 44,295 and 54,682 after (glibc 124,837 and
     * 125,404), every bundled or shared trace's utilization the same to the hundredth.
     */
    private static final int EMPTIED_SHIFT = 4;
    /**
     * The purger returns at most this many bytes to the OS per run, in at most
     * {@link #PURGE_BATCH_CALLS} calls, before it lets go of the span lock and runs again, so
     * threads that need a page do not wait for a whole backlog of {@code madvise} work. It takes
     * them in address order from all the retired pages that are due, one {@code madvise} for each
     * run of adjacent spans ({@link #releaseInRuns}).
     */
    private static final long PURGE_BATCH_BYTES = 64L << 20;
    /**
     * The most {@code madvise} calls a purger run makes: as many as a run of 16 MiB of scattered
     * 64 KiB pages made when each page took one, 4–27 ms at the 14–105 µs a call cost here.
     */
    private static final int PURGE_BATCH_CALLS = 256;
    /**
     * How many purge delays a page's remote frees wait for an owner that allocates from its class
     * to collect them before they go back ({@link #leftAlone}).
     */
    private static final int LEFT_ALONE_WAITS = 2;
    /** An owner that refilled its current page of the class this often in that time keeps them ({@link #leftAlone}). */
    private static final int LEFT_ALONE_REFILLS = 4;
    /** A scavenge that returns less than this (or 1/32 of the committed bytes) makes the next one wait. */
    private static final long SCAVENGE_MIN = 64L << 10;
    private static final int SCAVENGE_SHIFT = 5;
    /** Holes go back into use at least this many bytes at a time, so a page does not refill for each block. */
    private static final long RESTORE_MIN = 16L << 10;
    /**
     * A block that realloc grows (a large block with room) reuses a retired span of up to this many
     * times its size: most likely the span the same buffer grew into last time, and will again (a
     * buffer grown by doubling from 64 KiB to 1 MiB, freed, and grown again). It grows in place into
     * the span's committed memory; what it has not grown into goes back when the span's purge delay
     * ends, as it would have in the pool ({@link #decommitIdleTails}). With 64, a buffer grown to
     * 4 MiB over and over reused its span (a growable array of a million ints: 12.6 ns an added int
     * against 1.9), but a small buffer grown just before a big one took the big one's span in its
     * place, and the big one grew in fresh memory: 50 % more committed for the two, and 304 MB
     * instead of 28 for 100 small buffers kept, each grown after a 4 MiB one was freed.
     */
    private static final int GROWN_SPAN_SLICES = 16;
    /** A malloc reuses a retired span of up to this many times its size as is: its memory is committed. */
    private static final int REUSED_SPAN_SLICES = 4;
    /**
     * A large block that grows by at least 1/{@value} of its size into memory not yet committed
     * moves to a retired span whose committed memory holds it ({@link #awaitsInCommittedSpan}): the
     * copy costs less than the first touches of fresh memory (about 0.1 ns a byte copied, against
     * 0.5–2.7 for a first touch at 2–11 µs a 4 KiB page, `memory-return --only touch`).
     */
    private static final int MOVE_STEP_FRACTION = 4;
    private static final int SMALL_PAGE_SLICES = 1;
    private static final int MEDIUM_PAGE_SLICES = 8;
    /**
     * How many times {@link #scavengeHeldOff} tries to hold an owner it found changing its pages,
     * waiting for it between tries: an owner's refill or release takes microseconds once it has the
     * lock.
     */
    private static final int HOLD_TRIES = 4;
    /**
     * How many pages of a region {@link #scavengeFreeInPages} scans under one hold of the lock at
     * most, giving the free memory of adjacent ones back in one {@code madvise} ({@link ReturnRun}):
     * an idle owner held off those pages waits for this many pages' scans, the calls of one page
     * and one call more, for 4 MiB of 64 KiB pages ({@link #scavengeRunOfPages}).
     */
    private static final int SCAN_RUN_PAGES = 64;

    /**
     * How many times {@link #tryLockSpinning} polls a taken lock, each poll followed by {@link
     * Thread#onSpinWait}: 5.2–7.1 µs on the 2-core AMD EPYC this was measured on, many times as long
     * as a virtual thread's takeover of a heap holds the lock.
     */
    private static final int LOCK_SPINS = 256;
    /** How long {@link #lockPolling} first waits in the lock's queue before it tries to take it again. */
    private static final long LOCK_POLL_NANOS = 1_000_000;
    /** The longest it waits in the queue between tries: each wait doubles up to this. */
    private static final long LOCK_POLL_MAX_NANOS = 64_000_000;
    final ReentrantLock lock = new ReentrantLock();

    /**
     * Takes {@link #lock} if it is free or freed within {@value #LOCK_SPINS} polls, without ever
     * parking: a virtual thread that parks leaves its carrier and waits behind every other runnable
     * virtual thread, far longer than the lock is held.
     *
     * @return whether the caller now holds the lock
     */
    boolean tryLockSpinning() {
        for (int i = 0; i < LOCK_SPINS; i++) {
            if (lock.tryLock()) {
                return true;
            }
            Thread.onSpinWait();
        }
        return false;
    }

    /**
     * Takes {@link #lock}, as every taking of it does: waits in the lock's queue for
     * {@value #LOCK_POLL_NANOS} ns, and then, as long as it has not got the lock, takes it the
     * moment it is free or waits in the queue again, twice as long each time up to
     * {@value #LOCK_POLL_MAX_NANOS} ns. Uncontended, it costs what {@code lock()} does. A waiter in
     * the queue is handed the lock only in turn, and a virtual thread ahead of it may have no carrier
     * to run on: when every carrier runs a virtual thread that allocates from a heap of its own, and
     * so never blocks, such a thread never runs, and whatever queued behind it would wait as long:
     * a close for ever (the spinning threads stop only when their calls say the heap is closed; a
     * hang a test of closes racing such loops met), and a platform thread's {@code stats()}, large
     * block or page refill until the spinning stops. The doubling keeps a thread from losing its
     * place for good when many threads wait for the lock in turn. An interrupt does not stop the
     * wait; the thread keeps its interrupt status.
     */
    void lockPolling() {
        // Free: taken at once, as lock() takes it. The timed tries below would throw for a thread
        // whose interrupt status is set, at once, on every call: so that status is taken first, and
        // set again once the lock is held.
        if (lock.tryLock()) {
            return;
        }
        boolean interrupted = Thread.interrupted();
        try {
            for (long wait = LOCK_POLL_NANOS; ; wait = Math.min(2 * wait, LOCK_POLL_MAX_NANOS)) {
                try {
                    if (lock.tryLock(wait, TimeUnit.NANOSECONDS)) {
                        return;
                    }
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private final HeapCore core;
    private final CommitLimit limit;
    private final long purgeDelayNanos;
    private final List<Region> regions = new ArrayList<>();
    private final List<Region> hugeRegions = new ArrayList<>();
    /** Retired pages, oldest first: committed memory waiting out the purge delay. */
    private final RingDeque<Page> pool = new RingDeque<>();
    /** The pages a purge took out of the pool's totals, to be taken out of {@link #pool} as well. */
    private static final Predicate<Page> UNPOOLED = page -> !page.pooled;
    /** Pages by their address. */
    private static final Comparator<Page> BY_ADDRESS = Comparator.comparingLong(page -> page.start);
    /** The page a commit that purges for room is for (under the lock): its tail is not decommitted. */
    private Page growing;
    /**
     * Live large blocks in reused spans that commit more than the block uses ({@link #noteTail}):
     * what a block has not grown into after the purge delay goes back ({@link #decommitIdleTails}).
     */
    private final RingDeque<Page> tails = new RingDeque<>();
    /** What a commit at the peak takes from a kept mapping's tail at least (see releaseRetainedTail). */
    private static final long RETAINED_TAIL_STEP = 1L << 20;
    /** Freed huge blocks' mappings, committed memory waiting out the purge delay too. */
    private final RetainedMappings retained = new RetainedMappings();
    /** Committed bytes of the pages in {@link #pool}; written under {@link #lock}, read by commits without it. */
    private volatile long pooledCommitted;
    /**
     * Bytes purged from the pool beyond what fresh commits asked for (a whole retired page purged
     * for a smaller new one, or to make room); later fresh commits use them up before purging more.
     */
    private long purgedAhead;
    /**
     * Bytes returned to the OS to keep commits under the footprint's peak (retired pages purged,
     * pages scavenged) since the purger last found the heap idle: it purged retired pages or kept
     * mappings after their delay and left none of either.
     */
    private final AtomicLong guardedBytes = new AtomicLong();
    /**
     * Set when {@link #guardedBytes} reached {@link #PEAK_GUARD_PEAKS} times the peak: the heap goes
     * round a loop at its peak, and commits let the peak grow. It stays set while the peak grows
     * (a budget counted against the growing peak would give guarding back after a round or two,
     * and the churn with it), until the live bytes grow or the heap goes idle.
     */
    private volatile boolean loopAtPeak;
    /** The part of {@link #guardedBytes} that scavenging returned from pages in use. */
    private final AtomicLong scavengedAtPeak = new AtomicLong();
    /**
     * The footprint's peak when {@link #scavengedAtPeak} reached it ({@link #TOLERANCE_SHIFT}), or
     * 0: commits up to a quarter over it are not guarded. Reset with {@link #guardedBytes}.
     */
    private volatile long toleratedPeak;
    /**
     * Set when the heap's live bytes fell under an eighth of their peak ({@link HeapCore#released})
     * since the guard last took up: commits past the guarded peak are a round climbing back to
     * where an earlier one went ({@link #EMPTIED_SHIFT}). Cleared with the rest of the guard when
     * the live bytes grow past their peak or the heap goes idle, so a growing heap that empties now
     * and then is guarded as before, and one that never empties never sets it.
     */
    private volatile boolean emptied;
    /**
     * Set with {@link #emptied}, cleared by the next commit at the peak: the heap is low now, and
     * {@link HeapCore#released} has nothing to sum until it fell again.
     */
    private volatile boolean low;
    /**
     * The committed bytes of the empty small pages thread heaps keep out of the pool
     * ({@link KeptPages}): idle, as the pool's are, to the peak guard and the scavenger.
     */
    private final AtomicLong keptCommitted = new AtomicLong();
    /** Bytes scavenged at the peak since the live bytes last fell low ({@link #EMPTIED_SHIFT}). */
    private final AtomicLong scavengedSinceEmptied = new AtomicLong();
    /** Slice count to how many pages of that many slices are in {@link #pool}. */
    private final int[] pooledBySlices = new int[Region.SLICES + 1];
    /**
     * Per size class: pages of threads that ended, waiting for another thread to adopt them. Linked
     * through the pages themselves, so that abandoning one allocates nothing: a sweep that met a
     * full Java heap halfway would lose the pages it had not reached, and their blocks with them.
     */
    private final PageList[] abandoned = new PageList[SizeClasses.COUNT];
    /**
     * The last ranges this heap unmapped (regions purged or trimmed, huge blocks freed), in a ring,
     * so a stale free into one is named for what it was, not foreign, until a heap maps it again.
     */
    private final UnmappedRange[] unmapped = new UnmappedRange[64];
    /**
     * Regions of the closed heap that a downcall was using when it closed: still mapped, with
     * their arenas open, until a later {@link #closeAll} finds them free.
     */
    private final List<Region> stillMapped = new ArrayList<>();
    /**
     * A closed heap's committed bytes in its stats: all it committed when the close began
     * ({@link #closing}), until {@link #closeAll} has unmapped what it could; then what the regions
     * left mapped ({@link #stillMapped}) commit. Not the running count, to which a malloc racing the
     * close (a misuse) may still add.
     */
    private volatile long closedCommitted;
    private int unmappedNext;

    final AtomicLong committed = new AtomicLong();
    final AtomicLong peakCommitted = new AtomicLong();
    final AtomicLong metadata = new AtomicLong();
    /** Slack arrays pages let go, for later layouts; guarded by {@link #lock}. */
    private final SpareSlackArrays spareSlackArrays = new SpareSlackArrays();
    /** The most {@code committed + metadata} has been: the footprint's peak, which purges protect. */
    private final AtomicLong peakFootprint = new AtomicLong();
    volatile long reserved;
    volatile long peakReserved;
    volatile long mmapCalls;
    volatile long munmapCalls;
    volatile long madviseCalls;
    volatile long purgedBytes;

    SpanAllocator(HeapCore core, CommitLimit limit, long purgeDelayNanos) {
        this.core = core;
        this.limit = limit;
        this.purgeDelayNanos = purgeDelayNanos;
        for (int c = 0; c < SizeClasses.COUNT; c++) {
            abandoned[c] = new PageList();
        }
    }

    CommitLimit limit() {
        return limit;
    }

    // ---- commit accounting (any thread, no lock) ----

    /**
     * Counts {@code bytes} more as committed, unless that passes the limit.
     *
     * @return false if the limit refused
     */
    boolean addCommitted(long bytes) {
        if (limit.isTracked() && !limit.tryCharge(bytes)) {
            return false;
        }
        long now = committed.addAndGet(bytes);
        long peak;
        while (now > (peak = peakCommitted.get()) && !peakCommitted.compareAndSet(peak, now)) {
            Thread.onSpinWait();
        }
        notePeakFootprint(now + metadata.get());
        return true;
    }

    /**
     * Gives memory back to the OS. Under the lock, which {@link HeapCore#close} takes to unmap, so
     * a thread that got this far while another closed the heap (a misuse) learns that, instead of
     * an error from {@code madvise} on memory that is gone.
     */
    private void returnToOs(long address, long byteSize) {
        if (core.isClosed()) {
            throw new IllegalStateException("heap '" + core.name() + "' is closed");
        }
        Os.decommit(address, byteSize);
    }

    /**
     * Returns {@code [address, address + byteSize)} to the OS and counts it: one {@code madvise},
     * and {@code committedBytes} (what of the range was committed: holes in it were not) purged and
     * no longer committed.
     */
    private void returnCommitted(long address, long byteSize, long committedBytes) {
        returnToOs(address, byteSize);
        madviseCalls++;
        purgedBytes += committedBytes;
        uncommitted(committedBytes);
    }

    /**
     * {@link #returnCommitted} of free memory no block of which can go back into use before the
     * call (a page whose owner the caller holds off it, and which is not current; or blocks taken
     * off their page until then, {@link ReturnRun#giveBackAfter}): joined to the run of the scan
     * under way, if any ({@link #scanRun}), when it continues it; the run so far goes back first
     * when it does not.
     */
    private void returnInRun(long address, long byteSize, long committedBytes) {
        ReturnRun run = scanRun;
        if (run == null) {
            returnCommitted(address, byteSize, committedBytes);
            return;
        }
        if (!run.isEmpty() && !run.continuesAt(address)) {
            returnRun(run);
        }
        run.add(address, byteSize, committedBytes);
    }

    /**
     * Gives the memory of {@code run} back in one call, and empties it; then the blocks it took off
     * their pages go back to them. Its owners stay held.
     */
    private void returnRun(ReturnRun run) {
        try {
            if (!run.isEmpty()) {
                returnCommitted(run.start(), run.byteSize(), run.committed());
                run.clear();
            }
        } finally {
            run.giveBackTaken();
        }
    }

    /** Counts {@code bytes} as no longer committed, here and in the heap's limit. */
    private void uncommitted(long bytes) {
        committed.addAndGet(-bytes);
        if (limit.isTracked()) {
            limit.release(bytes);
        }
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
        if (!commitBytes(target - page.commitEnd, page)) {
            return false;
        }
        page.commitEnd = target;
        return true;
    }

    /**
     * Counts {@code bytes} as committed: if they would set a new peak that is still guarded, returns
     * unused memory first ({@link HeapCore#beforePeak}); if the limit is in the way, purges retired
     * pages. Refuses while the core must reuse quarantined blocks first ({@link HeapCore#mayCommit}).
     */
    private boolean commitBytes(long bytes, Page page) {
        // Closed meanwhile (a misuse): the page's memory is gone, and the closed heap commits nothing.
        if (!core.mayCommit() || core.isClosed()) {
            return false;
        }
        if (wouldRaisePeak(bytes)) {
            // Idle memory first, wherever it waits: the committing thread's kept pages join the
            // pool, as they would have had it not kept them.
            core.giveBackKeptForPeak(page);
        }
        // The exchange first: what it purges makes the room the peak guard would purge for.
        exchangeForCommit(bytes);
        if (wouldRaisePeak(bytes) && guardsPeak(bytes)) {
            core.beforePeak(bytes, page);
        } else {
            core.continueScavenge(page);
        }
        return addCommitted(bytes) || (purgeForRoom(page) && addCommitted(bytes));
    }

    /**
     * {@code bytes} are about to be committed: past {@link #DIRTY_FLOOR} in the pool, as many go
     * back from the oldest retired pages. The lock is taken only then, and such a commit faults
     * its memory in anyway (2 to 13 µs an OS page on the machines measured:
     * {@code malloc4j-bench/memory-return --only touch}), which costs far more.
     */
    private void exchangeForCommit(long bytes) {
        if (pooledCommitted <= DIRTY_FLOOR) {
            return;
        }
        lockPolling();
        try {
            purgeInExchange(bytes);
        } finally {
            lock.unlock();
        }
    }

    /**
     * @return whether {@code bytes} more committed memory or metadata would set a new peak of the
     *     footprint (committed bytes plus the metadata estimate); whether the guard then returns
     *     memory first is {@link #guardsPeak}'s to say
     */
    boolean wouldRaisePeak(long bytes) {
        return committed.get() + metadata.get() + bytes > peakFootprint.get();
    }

    /**
     * @return whether {@code bytes} more would take the footprint past what the guard keeps it
     *     under: the peak, or up to a quarter over it while it tolerates that ({@link #toleratedPeak})
     */
    boolean passesGuardedPeak(long bytes) {
        return committed.get() + metadata.get() + bytes > guardedPeak();
    }

    /** @return the footprint the peak guard keeps commits under: the peak, or the tolerance over it */
    private long guardedPeak() {
        long peak = peakFootprint.get();
        long tolerated = toleratedPeak;
        return tolerated == 0 ? peak : Math.max(peak, tolerated + (tolerated >> TOLERANCE_SHIFT));
    }

    /**
     * @param bytes the bytes the commit adds
     * @return whether a commit that would set a new peak returns unused memory first: until the
     *     bytes returned so, since the live bytes last grew, reach {@link #PEAK_GUARD_PEAKS} times
     *     the peak, or, in a round that climbed back from an emptied heap, the bytes scavenged
     *     reach a sixteenth of it ({@link #EMPTIED_SHIFT})
     */
    boolean guardsPeak(long bytes) {
        // Back at the peak: the next fall of the live bytes is a round's end again.
        low = false;
        // A guard that has scavenged a peak's worth starts its tolerance before the live bytes are
        // asked: they are summed only now and then, so the first sum of a round may lie above
        // every earlier one without the live bytes having grown past their most (random2-bal
        // replayed on one heap: the guard started over at its third round and scavenged 1.6 MiB
        // a round for eight more).
        startToleranceIfDue();
        if (core.liveRose(bytes)) {
            resetGuard();
            return true;
        }
        // The live bytes are asked first, on every commit past the peak: their growth ends a
        // tolerance even while the commits stay under the footprint it tolerates.
        if (loopAtPeak || !passesGuardedPeak(bytes)) {
            return false;
        }
        if (emptied && scavengedSinceEmptied.get() >= peakFootprint.get() >> EMPTIED_SHIFT) {
            // The live bytes of this moment are the round's: only growth past them ends the let-go,
            // as for the tolerance. The live peak, summed only now and then, may lie under them:
            // with an eighth for the fraction, random2-bal's passes 1 and 2 on one heap took the
            // let-go back as growth, 233 and 137 madvises, against 142 and 0 with this.
            core.takeLiveBytesAsPeak();
            loopAtPeak = true;
            return false;
        }
        long guarded = guardedBytes.get();
        long peak = peakFootprint.get();
        // Counted against the peak a tolerance began at, not the quarter it let the peak grow by:
        // that put gcc's cc1's let-go off from its 4th round on one heap to its 6th.
        long tolerated = toleratedPeak;
        long yardstick = tolerated != 0 ? tolerated : peak;
        // Nothing returned yet is no loop: the heap's first commits find a peak of 0.
        if (guarded == 0 || guarded < PEAK_GUARD_PEAKS * yardstick) {
            return true;
        }
        loopAtPeak = true;
        return false;
    }

    /**
     * Starts the tolerance ({@link #TOLERANCE_SHIFT}) once the guard has scavenged as many bytes as
     * the footprint's peak, taking the live bytes of this moment as theirs, past which growth ends it.
     */
    private void startToleranceIfDue() {
        long peak = peakFootprint.get();
        if (toleratedPeak == 0 && !loopAtPeak && scavengedAtPeak.get() >= peak && peak > 0) {
            core.takeLiveBytesAsPeak();
            toleratedPeak = peak;
        }
    }

    /** The live bytes grew, or the heap went idle: commits at the peak are guarded as at first. */
    private void resetGuard() {
        guardedBytes.set(0);
        scavengedAtPeak.set(0);
        loopAtPeak = false;
        toleratedPeak = 0;
        emptied = false;
    }

    /** @return whether the live bytes fell low and have not climbed back to the peak ({@link #low}) */
    boolean isLow() {
        return low;
    }

    /**
     * The live bytes fell under an eighth of their peak: a round ended ({@link #emptied}). The count
     * of bytes scavenged runs on over the rounds that follow, until the guard takes up again
     * ({@link #EMPTIED_SHIFT}).
     */
    void noteEmptied() {
        if (!emptied) {
            scavengedSinceEmptied.set(0);
        }
        emptied = true;
        low = true;
    }

    /**
     * @return the committed bytes not waiting in the pool, in kept mappings or in the thread heaps'
     *     kept pages: at least the live bytes
     */
    long committedInUse() {
        return committed.get() - idleCommitted() - keptCommitted.get();
    }

    /** Counts {@code bytes}, a page's committed memory, as kept by its thread heap (negative: no longer). */
    void kept(long bytes) {
        keptCommitted.addAndGet(bytes);
    }

    /** @return the committed bytes of the pages thread heaps keep empty out of the pool */
    long keptCommitted() {
        return keptCommitted.get();
    }

    /** Puts a page its thread heap kept empty into the pool; under the lock. */
    void retireKept(Page page) {
        kept(-page.commitEnd);
        retire(page);
    }

    /** Counts {@code bytes} returned to the OS to keep a commit under the footprint's peak. */
    void guarded(long bytes) {
        guardedBytes.addAndGet(bytes);
    }

    /** Counts {@code bytes} scavenged from pages in use to keep a commit under the footprint's peak. */
    void scavengedAtPeak(long bytes) {
        guarded(bytes);
        scavengedAtPeak.addAndGet(bytes);
        scavengedSinceEmptied.addAndGet(bytes);
    }

    /**
     * A commit is about to set a new peak: memory waiting out the purge delay goes back first,
     * oldest first, so it does not add to the peak footprint: the tails of kept huge mappings, then
     * of retired pages, as much as the commit needs. Below the peak, both keep waiting for reuse as
     * before.
     */
    private void purgeForPeak(long bytes) {
        lockPolling();
        try {
            // Only as much as the new peak would take: the rest stays for reuse within the delay.
            long before = committed.get();
            while (passesGuardedPeak(bytes) && !retained.isEmpty()) {
                releaseRetainedTail(retained.pollOldest(), committed.get() + metadata.get() + bytes - guardedPeak());
            }
            while (passesGuardedPeak(bytes) && !pool.isEmpty()) {
                Page oldest = takeOldest();
                boolean large = oldest.isSingle();
                long committedBefore = committed.get();
                releasePooledTail(oldest, committed.get() + metadata.get() + bytes - guardedPeak());
                if (large && emptied) {
                    // A round's large blocks retire and the next round grows into such spans
                    // again: purging them at the peak is a round returning memory ({@link #EMPTIED_SHIFT}).
                    scavengedSinceEmptied.addAndGet(committedBefore - committed.get());
                }
            }
            guarded(before - committed.get());
        } finally {
            lock.unlock();
        }
    }

    /**
     * Near the limit: purge every retired page now.
     *
     * @param committing the page the commit is for, or null: its block is growing into the memory
     *     past its usable size, so that memory stays
     * @return whether to ask the limit again: it is limited. Not whether this purge freed anything:
     *     while this thread waited for the lock, the purger may have given back memory it held
     *     counted as committed ({@link ReturnRun}), or another thread a block, and a request refused
     *     before that has room now
     */
    private boolean purgeForRoom(Page committing) {
        if (!limit.isLimited()) {
            return false;
        }
        lockPolling();
        try {
            growing = committing;
            try {
                purge(true);
            } finally {
                growing = null;
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    // ---- pages (under lock) ----

    /** @return a page laid out for {@code sizeClass}, or null if memory is exhausted */
    Page newPage(int sizeClass) {
        int slices = SizeClasses.isMedium(sizeClass) ? MEDIUM_PAGE_SLICES : SMALL_PAGE_SLICES;
        // The page commits the OS pages of its first block as soon as it hands it out.
        long firstCommit = Math.min((long) slices << Region.SLICE_SHIFT,
                roundUp(SizeClasses.blockSize(sizeClass), Os.OS_PAGE_SIZE));
        Page page = takeSpan(slices, slices, slices, 1, sizeClass, firstCommit, 0, false);
        if (page != null) {
            try {
                format(page, sizeClass, false);
            } catch (OutOfMemoryError e) {
                // No room on the Java heap for the layout's arrays: the span goes back to its
                // region, not lost with the half-made layout, and the malloc fails.
                release(page);
                throw e;
            }
            charge(page);
        }
        return page;
    }

    /**
     * Lays {@code page} out, its slack array taken from or given to the spares; under the lock.
     *
     * @param inPlace as for {@link Page#format}
     */
    private void format(Page page, int sizeClass, boolean inPlace) {
        long before = spareSlackArrays.metadataBytes();
        page.format(sizeClass, spareSlackArrays, inPlace);
        addMetadata(spareSlackArrays.metadataBytes() - before);
    }

    /**
     * @return the metadata estimate after adding {@code change}; an unchanged one is read, not
     *     written (a block changing class in place lays a page out at every step)
     */
    private long addMetadata(long change) {
        return change != 0 ? metadata.addAndGet(change) : metadata.get();
    }

    /** Lets go the slack arrays kept for later layouts ({@code trim}); under the lock. */
    void dropSpareSlackArrays() {
        addMetadata(-spareSlackArrays.metadataBytes());
        spareSlackArrays.clear();
    }

    /**
     * Makes ahead what a layout in place of {@code page} for {@code sizeClass} would allocate on
     * the Java heap ({@link Page#prepareInPlaceFormat}), before the caller claims its block. Under
     * the lock, which the caller holds until its {@link #relayoutLocked}: another layout, or {@code
     * trim()}'s drop of the spares, would otherwise take what this made.
     *
     * @throws OutOfMemoryError if the Java heap has no room for it: nothing changed
     */
    void prepareInPlaceLayout(Page page, int sizeClass) {
        if (page.inPlaceFormatAllocates(sizeClass)) {
            long before = spareSlackArrays.metadataBytes();
            page.prepareInPlaceFormat(sizeClass, spareSlackArrays);
            addMetadata(spareSlackArrays.metadataBytes() - before);
        }
    }

    /**
     * Lays an empty page of a thread heap out again for {@code sizeClass}, keeping its committed
     * memory. By its owner, which takes the lock for it: every layout changes under the lock, so
     * the purger, scanning pages in use under it ({@link #scavengeRemoteFrees}), reads each page's
     * shape whole.
     *
     * @param inPlace as for {@link Page#format}
     */
    void relayout(Page page, int sizeClass, boolean inPlace) {
        lockPolling();
        try {
            relayoutLocked(page, sizeClass, inPlace);
        } finally {
            lock.unlock();
        }
    }

    /** {@link #relayout} by a caller that holds the lock. */
    void relayoutLocked(Page page, int sizeClass, boolean inPlace) {
        page.retire();
        try {
            format(page, sizeClass, inPlace);
        } catch (OutOfMemoryError e) {
            if (!inPlace) {
                // No room on the Java heap for the new layout's arrays: the page, empty and out
                // of its heap's lists already (a kept page, or a spare), goes to the pool rather
                // than be lost half laid out, its memory counted and its slices taken for good.
                // (In place, the arrays were made ahead: Page.prepareInPlaceFormat.)
                retire(page);
            }
            throw e;
        }
        long before = page.metadataCharged;
        page.metadataCharged = page.metadataBytes();
        notePeakFootprint(committed.get() + addMetadata(page.metadataCharged - before));
    }

    /**
     * Readies a page of blocks, whose only live block is its first, to be laid out again with
     * blocks of {@code newBlockSize}: commits what that block needs, and returns to the OS the
     * committed memory past the first block when the page has holes (the new layout counts its
     * committed memory as a prefix). By the page's owner.
     *
     * @return false if the commit limit refused (nothing changed)
     */
    boolean prepareRelayout(Page page, int oldBlockSize, int newBlockSize) {
        if (page.holeCount > 0) {
            lockPolling();
            try {
                decommitFrom(page, roundUp(oldBlockSize, Os.OS_PAGE_SIZE));
            } finally {
                lock.unlock();
            }
        }
        return commitTo(page, newBlockSize);
    }

    /**
     * Whether a commit of {@code bytes} at a medium page's bump pointer had better take memory a
     * retired page (or an empty one of the thread) holds committed ({@link HeapCore#takeIdleForCommit}):
     * it would grow the footprint past its peak, and the heap goes round a loop at its peak
     * ({@link #loopAtPeak}), where the guard lets the peak grow rather than take memory back. Held at
     * its peak, a loop otherwise committed fresh memory for one class while other classes' retired
     * pages waited through the peak committed, and kept both: replayed over and over on one heap,
     * gcc's cc1 came to 6.38 MB (committed and metadata) by its 4th round ({@code ReplayRounds
     * <trace> 8 60000}), 5.82 MB now. Taken within the tolerance over the peak too ({@link
     * #toleratedPeak}), in a build that took small pages so as well, coalesce-big's one pass (rounds
     * of ever larger blocks, each freed whole) came to 78.0 % utilization instead of 78.7.
     */
    boolean reusesIdleForCommit(long bytes) {
        return loopAtPeak && wouldRaisePeak(bytes);
    }

    /**
     * For {@link HeapCore#takeIdleForCommit}: a retired medium page (a span of a medium page's
     * slices) with at least {@code minCommit} bytes committed, and a block's worth, laid out for
     * {@code sizeClass}, a medium class: one last laid out for the class first, then the one with
     * the most memory committed, as {@link #pooledSpan} chooses.
     *
     * @return the page, in use, not yet in a heap's lists; or null if the pool holds none
     */
    Page takeIdlePage(int sizeClass, long minCommit) {
        long least = Math.max(minCommit, roundUp(SizeClasses.blockSize(sizeClass), Os.OS_PAGE_SIZE));
        lockPolling();
        try {
            Page page = takeFromPool(MEDIUM_PAGE_SLICES, MEDIUM_PAGE_SLICES, 1, sizeClass, least, false);
            if (page != null) {
                try {
                    format(page, sizeClass, false);
                } catch (OutOfMemoryError e) {
                    // No room on the Java heap for the layout's arrays: back to the pool, not lost
                    // out of it with its memory counted and its slices taken for good.
                    park(page);
                    throw e;
                }
                charge(page);
            }
            return page;
        } finally {
            lock.unlock();
        }
    }

    /** @return whether the pool holds a small page, which a new small page would take (read without the lock) */
    boolean poolHasSmallPage() {
        return pooledBySlices[SMALL_PAGE_SLICES] > 0;
    }

    /** @return whether retired pages and freed huge blocks' mappings hold no committed memory (read without the lock) */
    boolean poolIsClean() {
        return idleCommitted() == 0;
    }

    /** @return an abandoned page of {@code sizeClass}, or null */
    Page takeAbandoned(int sizeClass) {
        PageList list = abandoned[sizeClass];
        Page page = list.head;
        if (page != null) {
            list.remove(page);
        }
        return page;
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
            page.releasedAtNanos = System.nanoTime();
            abandoned[page.sizeClass].addFirst(page);
        }
    }

    /**
     * Collects remote frees on abandoned pages no thread adopted, retiring those left empty. Of
     * those that keep live blocks, and have waited {@code waitNanos} for a thread to adopt them,
     * returns the free memory ({@link #scavenge}): no thread allocates from them meanwhile, and a
     * thread that built a structure, freed most of it and ended left it committed until then (221
     * MB for 40,000 live blocks of 16-1,000 B out of 400,000).
     *
     * @return whether some abandoned page's free memory waits out {@code waitNanos}
     */
    boolean collectAbandoned(long now, long waitNanos) {
        boolean waiting = false;
        for (PageList list : abandoned) {
            for (Page page = list.head, next; page != null; page = next) {
                next = page.next;
                page.collectRemote();
                if (page.used == 0) {
                    list.remove(page);
                    retire(page);
                } else if (!page.unchangedSincePurge()) {
                    if (waitNanos == 0 || now - page.releasedAtNanos >= waitNanos) {
                        scavenge(page);
                        page.markPurged();
                    } else {
                        waiting = true;
                    }
                }
            }
        }
        return waiting;
    }

    /** Puts a page whose blocks are all free into the pool, to be purged after the delay. */
    void retire(Page page) {
        metadata.addAndGet(-page.metadataCharged);
        page.metadataCharged = 0;
        page.dropRemoteBits();
        if (page.holeCount > 0) {
            fillOrCutAtHoles(page);
        }
        park(page);
    }

    /**
     * The pool counts a page's committed memory as a prefix, so a retiring page with holes either
     * counts its holes as committed again (the OS maps them back when they are touched, as
     * {@link #restoreHoles} counts them) or returns everything from its first hole on. The first
     * when the holes are at most half of that tail, the commit keeps under the guarded peak and
     * leaves an eighth of any limit free ({@link #leavesRoomUnderLimit}): returning the tail made the scavenging that dug a few holes at the peak cost
     * the page its whole tail (a loop of 2,400 random blocks of 24 B to 32 KB, at its peak each
     * round: 4.7 MB of tails returned and faulted in again a round for 1 MB of holes).
     */
    private void fillOrCutAtHoles(Page page) {
        long[] holes = page.holeOsPages;
        int first = 0;
        while (holes[first >>> 6] == 0) {
            first += 64;
        }
        first += Long.numberOfTrailingZeros(holes[first >>> 6]);
        long cut = (long) first * Os.OS_PAGE_SIZE;
        long holeBytes = page.holeBytes;
        if (holeBytes <= (page.commitEnd - cut) / 2 && !passesGuardedPeak(holeBytes)
                && leavesRoomUnderLimit(holeBytes) && addCommitted(holeBytes)) {
            page.forgetHoles();
        } else {
            decommitFrom(page, cut);
        }
    }

    /**
     * Returns {@code page}'s memory from byte {@code keep} on to the OS and forgets its holes,
     * whose memory was returned (and uncounted) already. Under the lock.
     */
    private void decommitFrom(Page page, long keep) {
        long bytes = page.commitEnd - keep - page.holeBytes;
        returnCommitted(page.start + keep, page.commitEnd - keep, bytes);
        page.commitEnd = keep;
        page.forgetHoles();
    }

    /** Adds a freshly laid-out page's bookkeeping to the estimate; {@link #retire} takes it off. */
    private void charge(Page page) {
        page.metadataCharged = page.metadataBytes();
        if (!pool.isEmpty() && wouldRaisePeak(page.metadataCharged) && guardsPeak(page.metadataCharged)) {
            purgeForPeak(page.metadataCharged);
        }
        notePeakFootprint(committed.get() + metadata.addAndGet(page.metadataCharged));
    }

    /**
     * @return whether {@code bytes} more committed leave an eighth of the heap's limit free (always
     *     true without a limit): holes counted back near the limit made the next commits that met
     *     it purge every retired page (a loop at its peak under a 32 MB limit: 593 MB purged
     *     instead of 297)
     */
    private boolean leavesRoomUnderLimit(long bytes) {
        return !limit.isLimited() || limit.chargedBytes() + bytes <= limit.maxBytes() - (limit.maxBytes() >> 3);
    }

    /** Puts a page that holds no live block into the pool, its metadata already off the estimate. */
    private void park(Page page) {
        page.retire();
        // One read of the clock for both: about 20 ns each here, and a realloc growing a buffer
        // retires a page at most of its moves.
        long now = System.nanoTime();
        page.releasedAtNanos = now;
        try {
            pool.addLast(page);
        } catch (OutOfMemoryError e) {
            // No room on the Java heap to grow the pool: the span goes back to its region and its
            // memory to the OS at once, as a purge would after the delay. The free that retired it
            // has done its work, and must not fail now (its caller would take the block for live).
            release(page);
            return;
        }
        counted(page);
        Purger.schedule(core, purgeDelayNanos, now);
    }

    private Page takeOldest() {
        Page page = pool.pollFirst();
        uncounted(page);
        return page;
    }

    /** Counts a page just put into {@link #pool} in the pool's totals. */
    private void counted(Page page) {
        pooledCommitted += page.commitEnd;
        pooledBySlices[page.sliceCount]++;
        page.pooled = true;
    }

    /** Takes a page just taken out of {@link #pool} off the pool's totals. */
    private void uncounted(Page page) {
        pooledCommitted -= page.commitEnd;
        pooledBySlices[page.sliceCount]--;
        page.pooled = false;
    }

    /**
     * Returns the last {@code excess} committed bytes of a retired span (rounded up to
     * {@link #RETAINED_TAIL_STEP}) to the OS and keeps the span in the pool, oldest still, with the
     * rest committed: a commit a few pages past the peak does not cost the next block that reuses
     * the span (a buffer of the same size, allocated again) all its page faults. A span that has no
     * more than that committed, or has holes, is released whole.
     *
     * @return the committed bytes it took: the tail, or all the span had
     */
    private long releasePooledTail(Page page, long excess) {
        if (takesWhole(page, excess)) {
            long had = page.commitEnd;
            release(page);
            return had;
        }
        long tail = roundUp(Math.max(excess, 1), RETAINED_TAIL_STEP);
        long keep = page.commitEnd - tail;
        decommitRange(page, keep, page.commitEnd);
        // Memory from keep on reads as zeros again; cleanFrom stays where it was, which only errs
        // towards zeroing for calloc.
        page.commitEnd = keep;
        pool.addFirst(page);
        counted(page);
        return tail;
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
     * {@code minSlices}. Fresh slices come from the regions, then from purging the retired pages
     * over a run of slices that they and free slices make ({@link #makeRoom}), then from a new
     * region.
     *
     * @param firstCommit the bytes the span commits as soon as it is used: no new region is mapped
     *     for a span whose commit would be refused ({@link #refusesCommit})
     * @param sizeClass the class the span is for, {@link Page#LARGE} for a large block
     * @param coverBytes for a large block, a retired page whose committed memory holds this many
     *     bytes is preferred to a smaller one ({@link #takeFromPool}); 0 for none
     * @param grown whether the large block grows by realloc: a preferred span's memory must also
     *     have been written ({@link #covers})
     */
    private Page takeSpan(int minSlices, int wantSlices, int maxPooledSlices, int sliceAlignment,
                          int sizeClass, long firstCommit, long coverBytes, boolean grown) {
        Page page = takeFromPool(minSlices, maxPooledSlices, sliceAlignment, sizeClass, coverBytes, grown);
        if (page != null) {
            return page;
        }
        page = takeFromRegions(minSlices, wantSlices, sliceAlignment);
        if (page == null && !pool.isEmpty()) {
            page = makeRoom(minSlices, wantSlices, sliceAlignment);
        }
        if (page == null && !refusesCommit(firstCommit)) {
            Region region = newRegion();
            page = region == null ? null : region.takeSlices(wantSlices, sliceAlignment);
        }
        return page;
    }

    /**
     * Room for a span where no region has {@code minSlices} free slices in a row: the first run of
     * them that free slices and retired pages make, in the first region that has one, once those
     * pages are purged. Only the pages over the run go, in one {@code madvise} for each set of
     * adjacent ones ({@link #releaseInRuns}). Purging the oldest retired pages one at a time until
     * a region had room took 9,295 calls and held a malloc of 300 KB for up to 567 ms while 2 GiB
     * of small pages waited to be purged.
     *
     * @return the span, or null if free slices and retired pages make no such run anywhere
     */
    private Page makeRoom(int minSlices, int wantSlices, int sliceAlignment) {
        for (Region region : regions) {
            int first = region.findRoom(minSlices, sliceAlignment);
            if (first >= 0) {
                // In address order already. Nothing allocates once a page is taken: an iterator
                // that found no room on the Java heap would leave the rest out of the pool's totals.
                List<Page> pages = region.retiredPagesIn(first, minSlices);
                for (int i = 0; i < pages.size(); i++) {
                    Page page = pages.get(i);
                    uncounted(page);
                    purgedAhead += page.commitEnd;
                }
                pool.removeIf(UNPOOLED);
                releaseInRuns(pages, Long.MAX_VALUE, Integer.MAX_VALUE);
                return takeFromRegion(region, minSlices, wantSlices, sliceAlignment);
            }
        }
        return null;
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
            long remaining = owed - purged;
            if (takesWhole(oldest, remaining)) {
                // A MiB at least, as a large span's tail goes, but never below the floor.
                long budget = Math.max(remaining, Math.min(RETAINED_TAIL_STEP, pooledCommitted - DIRTY_FLOOR));
                purged += releaseWithNeighbours(oldest, budget);
            } else {
                purged += releasePooledTail(oldest, remaining);
            }
        }
        purgedAhead += Math.max(0, purged - owed);
    }

    /**
     * Releases a retired page whole, and with it the retired pages next to it (over free slices
     * too) while they fit in {@code budget} committed bytes, in one {@code madvise} where they
     * touch: the commits that follow take what went beyond their own bytes from
     * {@link #purgedAhead}. Exchanged one page at a time, 200 blocks of 300,000 B allocated among
     * 1 GiB of retired small pages made about 1.7 calls each for the exchange alone.
     *
     * @return the committed bytes released
     */
    private long releaseWithNeighbours(Page page, long budget) {
        long had = page.commitEnd;
        List<Page> pages;
        try {
            pages = page.region.withRetiredNeighbours(page, budget - page.commitEnd);
        } catch (OutOfMemoryError e) {
            // No room on the Java heap for the list: the page, out of the pool already, goes alone.
            release(page);
            return had;
        }
        for (int i = 0; i < pages.size(); i++) {
            Page neighbour = pages.get(i);
            if (neighbour != page) {
                uncounted(neighbour);
                had += neighbour.commitEnd;
            }
        }
        if (pages.size() > 1) {
            pool.removeIf(UNPOOLED);
        }
        releaseInRuns(pages, Long.MAX_VALUE, Integer.MAX_VALUE);
        return had;
    }

    /** @return whether {@link #releasePooledTail} releases {@code page} whole for {@code excess} bytes */
    private static boolean takesWhole(Page page, long excess) {
        return roundUp(Math.max(excess, 1), RETAINED_TAIL_STEP) >= page.commitEnd || page.holeBytes != 0;
    }

    /**
     * The smallest retired page of {@code minSlices} to {@code maxSlices} slices, preferring, for a
     * large block, one whose committed memory holds {@code coverBytes} in full (what the block
     * would otherwise commit fresh; for a block realloc grows, only a span whose memory was
     * written, {@link #covers}, else {@link #holds}), and for a page of blocks one last laid out for
     * the same class, then the one with the most memory committed.
     *
     * <p>A page of blocks commits its memory as its bump pointer reaches it, and keeps it in the
     * pool, so its committed memory is as much as its class used of it. Taken back for another
     * class, it brings all of that along, and its new class commits more wherever it goes further:
     * a program going round the same work, its peak held (as a loop is, {@link #guardsPeak}), ended
     * up with most pages it used committed whole. Pages taken back by class, the most committed
     * first, go as far as before. Where no page of the class waits, the most committed one is the
     * one its new class is least likely to commit more of.
     *
     * @param sizeClass the class the page is for; {@link Page#LARGE} takes only spans that held
     *     a large block, so pages of blocks keep theirs
     * @param coverBytes for a large block, the bytes a preferred span's committed memory holds; for
     *     a page of blocks, the bytes a page must hold committed with no hole to be taken at all
     *     ({@link #takeIdlePage}), 0 for any page
     */
    private Page takeFromPool(int minSlices, int maxSlices, int sliceAlignment, int sizeClass, long coverBytes,
                              boolean grown) {
        Page best = pooledSpan(minSlices, maxSlices, sliceAlignment, sizeClass, coverBytes, grown);
        if (best != null) {
            pool.removeLastOccurrence(best);
            uncounted(best);
        }
        return best;
    }

    /** {@link #takeFromPool}'s choice, left in the pool. */
    private Page pooledSpan(int minSlices, int maxSlices, int sliceAlignment, int sizeClass, long coverBytes,
                            boolean grown) {
        if (!pooled(minSlices, maxSlices)) {
            return null;
        }
        boolean large = sizeClass == Page.LARGE;
        Page best = null;
        boolean bestPreferred = false;
        for (int i = pool.size() - 1; i >= 0; i--) {
            Page page = pool.get(i);
            if (page.sliceCount < minSlices || page.sliceCount > maxSlices
                    || (large && page.sizeClass != Page.LARGE) || page.firstSlice % sliceAlignment != 0
                    || (!large && coverBytes > 0 && !holds(page, coverBytes))) {
                continue;
            }
            boolean preferred = large ? (grown ? covers(page, coverBytes) : holds(page, coverBytes))
                    : page.sizeClass == sizeClass;
            if (best == null || isBetterPooled(page, preferred, best, bestPreferred, large)) {
                best = page;
                bestPreferred = preferred;
                if (page.sliceCount == minSlices && preferred && (large || page.commitEnd == page.spanBytes)) {
                    break;
                }
            }
        }
        return best;
    }

    /**
     * @return whether {@code page} is a better choice than {@code best}, the one so far, for
     *     {@link #pooledSpan}: a preferred one first, then the one of fewer slices, then for a
     *     page of blocks the one with more memory committed; the first found (the most recently
     *     retired) of equals
     */
    private static boolean isBetterPooled(Page page, boolean preferred, Page best, boolean bestPreferred,
                                          boolean large) {
        if (preferred != bestPreferred) {
            return preferred;
        }
        if (page.sliceCount != best.sliceCount) {
            return page.sliceCount < best.sliceCount;
        }
        return !large && page.commitEnd > best.commitEnd;
    }

    /**
     * @return whether {@code page}'s committed memory holds its first {@code bytes} with no hole,
     *     and was most likely written: its last block grew by realloc ({@link Page#grownBlock}). A
     *     block malloc'd at 4 MiB and freed unwritten counts as committed, but a block moved there
     *     faulted in all of it: growing a written 1 MiB buffer to 1.5 MiB took 3 times as long, and
     *     3 times the resident memory, as growing it in place.
     */
    private static boolean covers(Page page, long bytes) {
        return holds(page, bytes) && page.grownBlock;
    }

    /**
     * @return whether {@code page}'s committed memory holds its first {@code bytes} with no hole:
     *     a large block malloc'd there commits nothing more. Preferred to the smallest span, a
     *     retired span of up to four times the block whose memory holds it keeps a loop from
     *     committing fresh memory for each of its large blocks while the spans of others wait
     *     committed: replayed over and over on one heap, python3-json-regex came to 11.13 MB
     *     (committed and metadata) by its 7th round, 10.53 MB with this alone
     *     ({@code ReplayRounds <trace> 8 60000}).
     */
    private static boolean holds(Page page, long bytes) {
        return page.commitEnd >= bytes && page.holeBytes == 0;
    }

    /**
     * Whether {@code page}'s large block, growing to {@code usable} bytes by a step that would
     * commit fresh memory, had better move to a retired span whose committed memory already holds
     * it: a buffer grown again after its last span was freed would otherwise grow in fresh memory
     * while that span waits, and fault in all of it again (a growable array of a million ints,
     * built and freed over and over: about 3.9 MB purged and faulted in a round). Only spans up to
     * {@value #REUSED_SPAN_SLICES} times the need qualify, as for a malloc: a small buffer does not
     * take a big one's span.
     */
    private boolean awaitsInCommittedSpan(Page page, long usable) {
        long fresh = usable - page.commitEnd;
        if (fresh <= 0 || page.sizeClass != Page.LARGE || fresh * MOVE_STEP_FRACTION < page.largeUsable) {
            return false;
        }
        int slices = slicesFor(usable);
        Page span = pooledSpan(slices, REUSED_SPAN_SLICES * slices, 1, Page.LARGE, usable, true);
        return span != null && covers(span, usable);
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
        Region region;
        try {
            region = Region.sliced(core, base);
            regions.add(region);
        } catch (OutOfMemoryError e) {
            unmapUnused(base, Region.SIZE, 0);
            throw e;
        }
        try {
            map(region);
        } catch (OutOfMemoryError e) {
            regions.remove(regions.size() - 1);
            unmapUnused(base, Region.SIZE, 0);
            throw e;
        }
        metadata.addAndGet(region.metadataBytes());
        return region;
    }

    /**
     * Maps {@code region} in the address map and makes what {@link #unmappedAt} will say of it once
     * it is forgotten, so that forgetting it allocates nothing (a free of a huge block must not
     * fail for want of Java memory). Under the lock.
     *
     * @throws OutOfMemoryError if the Java heap has no room for it: nothing changed then
     */
    private static void map(Region region) {
        RegionMap.set(region.base, region.byteSize, region);
        try {
            region.unmapped = new UnmappedRange(region.base, region.base + region.byteSize, region.huge,
                    RegionMap.mappingAt(region.base));
        } catch (OutOfMemoryError e) {
            // Its leaves are made: taking it out allocates nothing.
            RegionMap.set(region.base, region.byteSize, null);
            throw e;
        }
    }

    /**
     * Gives back a mapping that never held a block, when the Java heap has no room for its books
     * (a region, its page, the address map's leaves): the call that made it fails with the
     * {@link OutOfMemoryError} and nothing else changed, rather than leave the mapping counted and
     * lost, or known to some of the heap's tables and not to others. Under the lock.
     *
     * @param committedBytes what the mapping counts as committed
     */
    private void unmapUnused(long base, long byteSize, long committedBytes) {
        Os.release(base, byteSize);
        munmapCalls++;
        reserved -= byteSize;
        uncommitted(committedBytes);
    }

    /**
     * Reserves {@code byteSize} bytes at a multiple of {@code alignment}; 0 if the OS refuses, or if
     * the heap is closed: a call that waited for the lock while another thread closed the heap (a
     * misuse) must not map what no close would unmap, and learns that the heap is closed instead.
     */
    private long reserveAligned(long byteSize, long alignment, boolean accounted) {
        if (byteSize > MAX_REQUEST || alignment > MAX_REQUEST || core.isClosed()) {
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
        if (exceedsLimit(usable)) {
            return 0;
        }
        if (usable > LARGE_MAX || alignment > LARGE_MAX) {
            return allocateHuge(requested, usable, alignment, roomBytes);
        }
        int slices = slicesFor(usable);
        int wanted = slicesFor(Math.min(LARGE_MAX, Math.max(usable, roomBytes)));
        int sliceAlignment = (int) Math.max(1, alignment >>> Region.SLICE_SHIFT);
        // A retired span up to four times the need is reused as is: its memory is committed already.
        // A block realloc grows takes one up to GROWN_SPAN_SLICES times the need.
        int maxPooled = Math.max(wanted, (roomBytes > 0 ? GROWN_SPAN_SLICES : REUSED_SPAN_SLICES) * slices);
        // A growing block prefers a span whose committed memory holds it (awaitsInCommittedSpan);
        // a malloc'd one, a span that commits no less than the block (pooledSpan).
        Page page = takeSpan(slices, wanted, maxPooled, sliceAlignment, Page.LARGE, usable, usable, roomBytes > 0);
        if (page == null) {
            return 0;
        }
        boolean granted;
        try {
            granted = commitTo(page, usable);
        } catch (RuntimeException | Error e) {
            // The purges and scavenges a commit makes first may want Java heap (the peak guard's
            // scavenge, HeapCore.beforePeak): the span goes where a refused commit puts it, not
            // lost out of the pool with its committed memory still counted.
            park(page);
            throw e;
        }
        if (!granted) {
            park(page);
            return 0;
        }
        boolean clean = page.cleanFrom == 0;
        page.formatSingle(Page.LARGE, requested, usable);
        page.grownBlock = roomBytes > 0;
        charge(page);
        if (page.commitEnd > usable) {
            noteTail(page, page.releasedAtNanos);
        }
        return page.start | (clean ? Page.CLEAN : 0);
    }

    /**
     * A live large block took a retired span whose committed memory reaches past the block: a
     * buffer realloc grows, which most likely grows into it soon, or a block up to four times
     * smaller; or a huge block took a kept mapping that commits more than it uses. Whatever it has
     * not grown into goes back when the span's purge delay, counted from its retiring, ends: when
     * it would have gone back from the pool, or with the kept mapping. Under the lock.
     *
     * @param idleSinceNanos when the memory past the block was last used: the span's retiring, or
     *     the freeing of the huge block whose mapping was kept
     */
    private void noteTail(Page page, long idleSinceNanos) {
        page.tailSinceNanos = idleSinceNanos;
        if (!page.tailListed) {
            try {
                tails.addLast(page);
                page.tailListed = true;
            } catch (OutOfMemoryError e) {
                // No room on the Java heap to list it: the memory past the block stays committed
                // until the block is freed or resized, and the call that made the block succeeds.
            }
        }
        if (!core.purgeScheduled.get()) {
            Purger.schedule(core, purgeDelayNanos);
        }
    }

    /**
     * Returns the committed memory past their blocks of the spans {@link #noteTail} listed whose
     * purge delay has ended; a span whose block was freed meanwhile, or grew into its memory,
     * leaves the list with nothing to return. Under the lock.
     *
     * @return when the next listed span is due ({@link System#nanoTime}), or -1 if none waits
     */
    private long decommitIdleTails(long now, boolean force) {
        long due = -1;
        // Each listed span once, round the ring: one put back at the end never makes it grow.
        for (int listed = tails.size(); listed > 0; listed--) {
            Page page = tails.pollFirst();
            if ((!force && now - page.tailSinceNanos < purgeDelayNanos) || page == growing) {
                long at = page.tailSinceNanos + purgeDelayNanos;
                due = due < 0 ? at : Math.min(due, at);
                tails.addLast(page);
                continue;
            }
            page.tailListed = false;
            decommitTail(page);
        }
        return due;
    }

    private static int slicesFor(long bytes) {
        return (int) ((bytes + Region.SLICE_SIZE - 1) >>> Region.SLICE_SHIFT);
    }

    /**
     * More than the whole limit can never be committed: refused before any span or mapping is
     * taken for it, so no region is mapped (and unmapped) for nothing and the reserved peak does
     * not remember address space the heap could not have used.
     */
    private boolean exceedsLimit(long usable) {
        return limit.isLimited() && usable > limit.maxBytes();
    }

    /**
     * Whether a commit of {@code bytes} would be refused now: the core must reuse quarantined
     * blocks first, or the heap's limit has no room for them even once this core has purged its
     * retired pages and kept mappings (as the refused commit would). Asked before a region, or a
     * huge block's mapping, is reserved for a span that commits at once, so a request at the limit
     * fails without mapping 32 MiB or more of address space only to unmap it again. Free memory
     * inside the calling thread's pages, and the other core's of a sampled heap, is not counted:
     * the malloc this refuses gives that back and, if any went, asks again ({@code
     * HeapCore.mallocSlow}). Under the lock.
     */
    private boolean refusesCommit(long bytes) {
        if (!core.mayCommit()) {
            return true;
        }
        return limit.isLimited() && !limit.hasRoomFor(bytes) && !(purgeForRoom(null) && limit.hasRoomFor(bytes));
    }

    /**
     * @param roomBytes the address space a block that realloc grows reserves to grow into in place
     *     (its pages are committed only as it grows), so that a buffer doubling past
     *     {@link #LARGE_MAX} is copied at every other step rather than at each; 0 for a malloc
     */
    private long allocateHuge(long requested, long usable, long alignment, long roomBytes) {
        // Closed (a misuse racing the close): a kept mapping stays for the close to unmap.
        if (usable > MAX_REQUEST || core.isClosed()) {
            return 0;
        }
        long mappingAlignment = Math.max(Region.SIZE, alignment);
        long span = roundUp(Math.max(usable, Math.min(roomBytes, MAX_REQUEST)), Region.SIZE);
        RetainedMappings.Mapping kept = retained.take(span, mappingAlignment);
        long base = 0;
        if (kept == null) {
            if (refusesCommit(usable)) {
                return 0;
            }
            // The mapping first: a request the OS refuses must not count as committed, even for a
            // moment, or the peaks would remember memory the heap never had.
            base = reserveAligned(span, mappingAlignment, true);
            if (base == 0 && span > roundUp(usable, Region.SIZE)) {
                // The room is a convenience: where the OS will not reserve it (strict overcommit,
                // a small address-space limit), the block alone may still fit, in a kept mapping
                // of its own span (a block freed before the room was refused) or a new one.
                span = roundUp(usable, Region.SIZE);
                kept = retained.take(span, mappingAlignment);
                if (kept == null) {
                    base = reserveAligned(span, mappingAlignment, true);
                }
            }
        }
        long committed = usable;
        if (kept != null) {
            committed = recommit(kept, usable);
            if (committed < 0) {
                return 0;
            }
            base = kept.base();
        } else {
            if (base == 0 && !retained.isEmpty()) {
                // The OS refused while freed blocks' mappings hold address space no block uses (a
                // grown block's twice its size, of no use to a block that asks for no room): they
                // go back, and the OS is asked again.
                while (!retained.isEmpty()) {
                    releaseRetained(retained.pollOldest());
                }
                base = reserveAligned(span, mappingAlignment, true);
            }
            if (base == 0) {
                return 0;
            }
            boolean granted;
            try {
                granted = commitBytes(usable, null);
            } catch (RuntimeException | Error e) {
                // As for a refused commit: the mapping, known to no table yet, goes back to the OS,
                // rather than stay mapped and counted as reserved for good.
                unmapUnused(base, span, 0);
                throw e;
            }
            if (!granted) {
                Os.release(base, span);
                munmapCalls++;
                reserved -= span;
                return 0;
            }
        }
        Region region;
        Page page;
        try {
            region = Region.huge(core, base, span);
            page = region.hugePage(span);
            hugeRegions.add(region);
        } catch (OutOfMemoryError e) {
            unmapUnused(base, span, committed);
            throw e;
        }
        try {
            map(region);
        } catch (OutOfMemoryError e) {
            hugeRegions.remove(hugeRegions.size() - 1);
            unmapUnused(base, span, committed);
            throw e;
        }
        page.commitEnd = committed;
        page.formatSingle(Page.HUGE, requested, usable);
        metadata.addAndGet(region.metadataBytes());
        charge(page);
        if (committed > usable) {
            noteTail(page, kept.retainedAtNanos());
        }
        // A kept mapping holds the bytes of the block freed in it.
        return base | (kept == null ? Page.CLEAN : 0);
    }

    /**
     * Zeroes a live huge block by giving its pages back to the OS, which maps zeros in as they are
     * touched: for calloc, when the block came from a kept mapping. The memory stays committed, as
     * a fresh block's is before its first touch.
     *
     * @throws IllegalStateException if the heap was closed meanwhile (nothing is touched then)
     */
    void zeroHuge(long address, long byteSize) {
        lockPolling();
        try {
            // A close racing this calloc (a misuse) unmapped the block, under this lock, and another
            // heap may have mapped the range since: never touch it then.
            core.checkOpen();
            returnToOs(address, roundUp(byteSize, Os.OS_PAGE_SIZE));
            madviseCalls++;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Fits a kept mapping's committed memory to a new huge block of {@code usable} bytes: commits
     * what it lacks. What it has past the block stays committed with the block until the mapping's
     * purge delay ends ({@link #noteTail}): returned at once, a loop of two huge sizes in turn in
     * one mapping (40 and 64 MiB, each written) gave back and faulted in 24 MiB every other round,
     * 34–38 ms a round against 0.84–0.93 for one size.
     *
     * @return the bytes the mapping holds committed from its start for the block, {@code usable}
     *     or more; -1 if the limit refused the commit: the mapping is kept again then, in its place
     *     among the kept mappings and as old as it was, as it is when the commit throws
     */
    private long recommit(RetainedMappings.Mapping kept, long usable) {
        long have = kept.committed();
        if (usable > have) {
            boolean committed;
            try {
                committed = commitBytes(usable - have, null);
            } catch (RuntimeException | Error e) {
                // The purges a commit makes may want Java heap: out of the kept mappings and in no
                // region, the mapping would be lost for good.
                keepAgain(kept);
                throw e;
            }
            if (!committed) {
                keepAgain(kept);
                return -1;
            }
            return usable;
        }
        return have;
    }

    /** Keeps a mapping {@link RetainedMappings#take} took and the block did not get, where its age puts it. */
    private void keepAgain(RetainedMappings.Mapping kept) {
        RetainedMappings.Mapping evicted = retained.putBack(kept);
        if (evicted != null) {
            releaseRetained(evicted);
        }
    }

    /**
     * Resizes a large or huge block in place: within its span, or by taking the free slices right
     * after it.
     *
     * @param preferCommitted whether to refuse a growth that a retired span's committed memory
     *     holds, when in place it would commit fresh memory ({@link #awaitsInCommittedSpan})
     * @return false if it cannot grow in place (or memory is exhausted), or would rather move;
     *     nothing changed then
     */
    boolean resizeInPlace(Page page, long requested, boolean preferCommitted) {
        long usable = roundUp(Math.max(requested, 1), Os.OS_PAGE_SIZE);
        if (preferCommitted && awaitsInCommittedSpan(page, usable)) {
            return false;
        }
        int extra = 0;
        if (usable > page.spanBytes) {
            if (page.sizeClass == Page.HUGE || usable > LARGE_MAX) {
                return false;
            }
            extra = (int) ((usable - page.spanBytes + Region.SLICE_SIZE - 1) >>> Region.SLICE_SHIFT);
            if (!page.region.extend(page, extra)) {
                return false;
            }
            page.sliceCount += extra;
            page.spanBytes += (long) extra << Region.SLICE_SHIFT;
        }
        if (!commitTo(page, usable)) {
            if (extra > 0) {
                // Back to the region: kept, they would be out of every other span's reach until
                // the block is freed.
                page.sliceCount -= extra;
                page.spanBytes -= (long) extra << Region.SLICE_SHIFT;
                page.region.freeSlices(page.firstSlice + page.sliceCount, extra);
            }
            return false;
        }
        if (extra > 0) {
            // Pointed at the block only once it has them: slices a refused growth gives back keep
            // their old page, so a late free of a block that page held is still named a double free.
            page.region.mapSlices(page, page.firstSlice + page.sliceCount - extra, extra);
        }
        if (usable > page.largeUsable) {
            page.grownBlock = true;
        }
        page.largeRequested = requested;
        page.largeUsable = usable;
        return true;
    }

    /**
     * Frees a large or huge block that the caller checked is live.
     *
     * @return false, with nothing changed, if the block is huge and a downcall is using it: its
     *     mapping cannot go while the downcall runs
     */
    boolean freeLarge(Page page) {
        if (page.sizeClass == Page.HUGE) {
            Region region = page.region;
            // The mapping's record is made before the block's arena closes, and its range was made
            // with it (Region.unmapped): with no room on the Java heap for the record, the free
            // unmaps at once instead of keeping the mapping, and never fails for want of memory.
            RetainedMappings.Mapping mapping;
            try {
                mapping = new RetainedMappings.Mapping(region.base, region.byteSize, page.commitEnd, System.nanoTime());
            } catch (OutOfMemoryError e) {
                mapping = null;
            }
            // False too when a close racing this free closed the arena first: it unmapped the block.
            if (!HeldArenas.closeWithin(region.arena, HeldArenas.RELEASE_WAIT_NANOS)) {
                return false;
            }
            page.used = 0;
            retainHuge(region, page, mapping);
        } else {
            page.used = 0;
            retire(page);
        }
        return true;
    }

    /**
     * A range this heap unmapped: a huge block's mapping ({@code huge}, the block at {@code start}),
     * or a region of pages.
     *
     * @param mapping the number of the mapping it was ({@link RegionMap#mappingAt})
     */
    record UnmappedRange(long start, long end, boolean huge, long mapping) {
    }

    /**
     * @return the range holding {@code address} that this heap unmapped lately and that no heap
     *     has mapped again since, or null
     */
    UnmappedRange unmappedAt(long address) {
        long mapping = RegionMap.mappingAt(address);
        synchronized (unmapped) {
            for (UnmappedRange range : unmapped) {
                if (range != null && range.mapping == mapping && address >= range.start && address < range.end) {
                    return range;
                }
            }
            return null;
        }
    }

    /**
     * Takes a freed huge block's mapping, whose arena the caller closed, out of the address map,
     * and keeps it, committed, for the purge delay ({@link RetainedMappings}).
     *
     * @param mapping its record, or null to unmap it at once (no room on the Java heap for one)
     */
    private void retainHuge(Region region, Page page, RetainedMappings.Mapping mapping) {
        metadata.addAndGet(-(region.metadataBytes() + page.metadataCharged));
        page.metadataCharged = 0;
        page.retire();
        hugeRegions.remove(region);
        forget(region);
        if (mapping == null) {
            release(region);
            purgedBytes += page.commitEnd;
            uncommitted(page.commitEnd);
        } else {
            RetainedMappings.Mapping evicted = retained.add(mapping);
            if (evicted != null) {
                releaseRetained(evicted);
            }
        }
        page.decommitted();
        Purger.schedule(core, purgeDelayNanos);
    }

    /**
     * Returns the last {@code excess} committed bytes of a kept mapping (rounded up to
     * {@link #RETAINED_TAIL_STEP}) to
     * the OS and keeps the mapping, oldest still, with the rest committed: a commit a few pages past
     * the peak does not cost the next huge block of that span a new mapping and all its page
     * faults. A mapping that has no more than that committed is unmapped.
     */
    private void releaseRetainedTail(RetainedMappings.Mapping mapping, long excess) {
        // A MiB at least, so a run of small commits (one OS page each) costs one madvise, not one each.
        long tail = roundUp(Math.max(excess, 1), RETAINED_TAIL_STEP);
        if (tail >= mapping.committed()) {
            releaseRetained(mapping);
            return;
        }
        long keep = mapping.committed() - tail;
        RetainedMappings.Mapping shrunk;
        try {
            shrunk = new RetainedMappings.Mapping(mapping.base(), mapping.span(), keep, mapping.retainedAtNanos());
        } catch (OutOfMemoryError e) {
            // No room on the Java heap for its new record: unmapped whole, as after the delay,
            // rather than kept with no record of it.
            releaseRetained(mapping);
            return;
        }
        returnCommitted(mapping.base() + keep, tail, tail);
        RetainedMappings.Mapping evicted = retained.putBackOldest(shrunk);
        if (evicted != null) {
            releaseRetained(evicted);
        }
    }

    /** Unmaps a kept mapping: its memory and address space go back to the OS. */
    private void releaseRetained(RetainedMappings.Mapping mapping) {
        unmapRetained(mapping);
        purgedBytes += mapping.committed();
        uncommitted(mapping.committed());
    }

    /** Unmaps a kept mapping's address space; the caller uncounts its committed memory. */
    private void unmapRetained(RetainedMappings.Mapping mapping) {
        Os.release(mapping.base(), mapping.span());
        munmapCalls++;
        reserved -= mapping.span();
    }

    /** Unmaps a region whose arena is closed, so that no segment reaches its memory any more. */
    private void unmapClosed(Region region) {
        forget(region);
        release(region);
    }

    /** Drops a region from the map of addresses: a lookup in it finds memory this heap unmapped. */
    private void forget(Region region) {
        UnmappedRange range = region.unmapped;
        synchronized (unmapped) {
            unmapped[unmappedNext] = range;
            unmappedNext = (unmappedNext + 1) % unmapped.length;
        }
        RegionMap.set(region.base, region.byteSize, null);
    }

    /** Gives a forgotten region's memory back to the OS; its arena is closed, so no segment reaches it. */
    private void release(Region region) {
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
        boolean releasedMappings = false;
        long due = -1;
        List<Page> duePages = new ArrayList<>();
        while (duePages.size() < pool.size()) {
            Page page = pool.get(duePages.size());
            if (!force && now - page.releasedAtNanos < purgeDelayNanos) {
                due = page.releasedAtNanos + purgeDelayNanos;
                break;
            }
            duePages.add(page);
        }
        if (!duePages.isEmpty()) {
            // Listed and sorted while still in the pool: either may want Java heap the full heap
            // does not have, and a page taken out then would be lost to the pool and to the OS.
            duePages.sort(BY_ADDRESS);
            for (int i = 0; i < duePages.size(); i++) {
                takeOldest();
            }
            freedSlices = true;
            if (releaseInRuns(duePages, force ? Long.MAX_VALUE : PURGE_BATCH_BYTES,
                    force ? Integer.MAX_VALUE : PURGE_BATCH_CALLS)) {
                due = now;
            }
        }
        while (!retained.isEmpty()) {
            RetainedMappings.Mapping oldest = retained.peekOldest();
            if (!force && now - oldest.retainedAtNanos() < purgeDelayNanos) {
                long mappingDue = oldest.retainedAtNanos() + purgeDelayNanos;
                due = due < 0 ? mappingDue : Math.min(due, mappingDue);
                break;
            }
            releaseRetained(retained.pollOldest());
            releasedMappings = true;
        }
        // A heap whose memory at rest is freed huge blocks' mappings goes idle as well: counted
        // across its idle times, bursts of 20 to 70 MiB buffers each held 140 MiB from the fifth.
        if ((freedSlices || releasedMappings) && pool.isEmpty() && retained.isEmpty()) {
            resetGuard();
            core.forgetLivePeak();
        }
        long tailsDue = decommitIdleTails(now, force);
        if (tailsDue >= 0) {
            due = due < 0 ? tailsDue : Math.min(due, tailsDue);
        }
        if (force) {
            decommitHugeTails();
        }
        // Forced, also the regions a downcall kept mapped when they emptied (see unmapEmptyRegions).
        if (freedSlices || force) {
            unmapEmptyRegions(force ? 0 : 1);
        }
        return due;
    }

    /**
     * Returns to the OS what live large and huge blocks commit past their usable size: the tail a
     * block shrunk in place by {@code realloc} kept for growing again, or a reused span's memory
     * past a smaller block. No one may touch it (the block ends at its
     * usable size), and a block that grows again commits it anew. Forced purges only (a trim, a
     * request at the limit), so that memory held for nothing does not refuse a request; a reused
     * span's tail also goes when the span's purge delay ends ({@link #decommitIdleTails}).
     */
    private void decommitHugeTails() {
        for (Region region : hugeRegions) {
            decommitTail(region.pageAt(region.base));
        }
        List<Page> pages = new ArrayList<>();
        for (Region region : regions) {
            pages.clear();
            region.addSlicePages(pages, false);
            for (int i = 0; i < pages.size(); i++) {
                decommitTail(pages.get(i));
            }
        }
    }

    /**
     * A live large or huge block, shrunk in place: returns what its page commits past its usable
     * size, and gives a large block's whole slices past it back to its region, for other spans.
     * Under the lock.
     */
    void shrinkToUsable(Page page) {
        decommitTail(page);
        if (page.sizeClass == Page.HUGE) {
            return;
        }
        int keep = Math.max(1, slicesFor(page.largeUsable));
        int extra = page.sliceCount - keep;
        if (extra > 0 && page.commitEnd <= (long) keep << Region.SLICE_SHIFT) {
            page.sliceCount = keep;
            page.spanBytes = (long) keep << Region.SLICE_SHIFT;
            page.region.freeSlicesPastBlock(page.firstSlice + keep, extra);
        }
    }

    /** Returns what a live large or huge block's page commits past the block's usable size. */
    private void decommitTail(Page page) {
        if (page == null || page == growing || !page.isSingle() || page.holeBytes != 0
                || page.blockState(0) != BlockState.LIVE) {
            return;
        }
        long end = roundUp(Math.max(page.largeUsable, 1), Os.OS_PAGE_SIZE);
        if (page.commitEnd > end) {
            long tail = page.commitEnd - end;
            returnCommitted(page.start + end, tail, tail);
            page.commitEnd = end;
        }
    }

    /**
     * Releases retired pages as {@link #release} does, in address order, with one {@code madvise}
     * for each run of adjacent spans instead of one a page: on this kind of machine (a 2-core VM)
     * a call cost 14-105 µs, most of it the TLB flush on the other processor, and 1 GiB of 64 KiB
     * pages freed in random order took 17,934 calls and up to 2.6 s to purge.
     * A span's memory past its committed bytes is untouched, and so are free slices, so a run may
     * cover them.
     *
     * @param pages taken from the pool, in address order; those past the budget go back to it,
     *     still due
     * @param budget the committed bytes to return at most (a page that starts below it is taken
     *     whole)
     * @param maxCalls the {@code madvise} calls to make at most: retired pages apart from each
     *     other (each beside a page in use) take one each
     * @return whether pages went back to the pool for a later run
     */
    private boolean releaseInRuns(List<Page> pages, long budget, int maxCalls) {
        long runStart = 0;
        long runEnd = 0;
        long runCommitted = 0;
        boolean open = false;
        int calls = 0;
        int taken = 0;
        for (; taken < pages.size() && budget > 0; taken++) {
            Page page = pages.get(taken);
            boolean joins = open && (page.start == runEnd || page.region.freeBetween(runEnd, page.start));
            if (page.commitEnd == 0) {
                if (joins) {
                    // Nothing of its own to return, but the run goes on over it to the next.
                    runEnd = page.start + page.spanBytes;
                }
                continue;
            }
            if (open && !joins) {
                if (++calls == maxCalls) {
                    // The open run, returned below, is the last call of this turn.
                    break;
                }
                returnCommitted(runStart, runEnd - runStart, runCommitted);
                open = false;
            }
            if (!open) {
                open = true;
                runStart = page.start;
                runCommitted = 0;
            }
            runEnd = page.start + page.spanBytes;
            runCommitted += page.commitEnd - page.holeBytes;
            budget -= page.commitEnd;
        }
        if (open) {
            returnCommitted(runStart, runEnd - runStart, runCommitted);
        }
        // Decommitted above; their slices go back only now, after the calls that cover them.
        for (int i = 0; i < taken; i++) {
            Page page = pages.get(i);
            page.decommitted();
            page.region.freeSlices(page.firstSlice, page.sliceCount);
        }
        for (int i = pages.size() - 1; i >= taken; i--) {
            untake(pages.get(i));
        }
        return taken < pages.size();
    }

    /** Puts a page {@link #takeOldest} took back at the pool's front, due as it was. */
    private void untake(Page page) {
        pool.addFirst(page);
        counted(page);
    }

    private void decommit(Page page) {
        if (page.commitEnd > 0) {
            long bytes = page.commitEnd - page.holeBytes;
            returnCommitted(page.start, page.commitEnd, bytes);
        }
        page.decommitted();
    }

    // ---- scavenging pages in use (their owner's thread) ----

    /** Purges the pool if a commit of {@code bytes} would still set a new peak. */
    void purgePoolForPeak(long bytes) {
        if (idleCommitted() > 0 && passesGuardedPeak(bytes)) {
            purgeForPeak(bytes);
        }
    }

    /**
     * @return the committed bytes no block uses, waiting out the purge delay: retired pages' and
     *     freed huge blocks' (read without the lock)
     */
    long idleCommitted() {
        return pooledCommitted + retained.committed();
    }

    /**
     * @return how many more bytes of free memory inside pages (beyond what the last scavenge
     *     could not return) make a scavenge worth its scan: 1/32 of the committed bytes, at least
     *     {@link #SCAVENGE_MIN}
     */
    long scavengeWorth() {
        return Math.max(SCAVENGE_MIN, committed.get() >> SCAVENGE_SHIFT);
    }

    /**
     * Returns to the OS the memory of {@code page} (a page of blocks in use, called by its owner)
     * that no live block touches: the committed tail past its bump pointer, and every OS page
     * below it that only free blocks overlap. Those free blocks become holes, out of the free
     * bitmap, until {@link #restoreHoles} gives them back.
     *
     * @return the bytes returned
     */
    long scavenge(Page page) {
        page.collectRemote();
        long touched = (long) page.bump * page.blockSize;
        long keep = roundUp(touched, Os.OS_PAGE_SIZE);
        long returned = 0;
        if (page.commitEnd > keep) {
            returned += decommitRange(page, keep, page.commitEnd);
            page.commitEnd = keep;
        }
        if (page.freeCount == 0) {
            return returned;
        }
        int osPages = (int) (touched / Os.OS_PAGE_SIZE);  // only those wholly below the bump pointer
        // Blocks of an OS page or more: mark the OS pages live blocks touch, fewer than OS pages.
        long[] busy = page.blockSize >= Os.OS_PAGE_SIZE ? busyOsPages(page, osPages) : null;
        OwnFreeRuns runs = new OwnFreeRuns(page, busy);
        return returned + forEachFreeRun(osPages, page.holeOsPages, runs, runs);
    }

    /**
     * {@link #scavenge}'s runs of OS pages that only free blocks overlap, made holes. A class of its
     * own, not a lambda: a call site whose first linking meets a full Java heap fails so at every
     * later call.
     */
    private final class OwnFreeRuns implements IntPredicate, LongBinaryOperator {
        private final Page page;
        /** The OS pages live blocks touch, for blocks of an OS page or more; else null. */
        private final long[] busy;

        OwnFreeRuns(Page page, long[] busy) {
            this.page = page;
            this.busy = busy;
        }

        @Override
        public boolean test(int osPage) {
            return busy != null ? (busy[osPage >>> 6] & (1L << osPage)) == 0
                    : allSet(page, page.freeBits, page.holeBits, osPage);
        }

        @Override
        public long applyAsLong(long from, long to) {
            return makeHoles(page, (int) from, (int) to);
        }
    }

    /**
     * Finds the runs of OS pages below {@code osPages} that are gone already ({@code gone}, may be
     * null) or {@code free}, with at least one free (one madvise covers both kinds), each ending
     * before an OS page that is neither, and hands each to {@code makeHoles}.
     *
     * @return the sum of what {@code makeHoles} returned
     */
    private static long forEachFreeRun(int osPages, long[] gone, IntPredicate free, LongBinaryOperator makeHoles) {
        long returned = 0;
        int runStart = -1;
        boolean runHasNew = false;
        for (int o = 0; o <= osPages; o++) {
            boolean hole = o < osPages && isSet(gone, o);
            boolean fresh = o < osPages && !hole && free.test(o);
            if (hole || fresh) {
                if (runStart < 0) {
                    runStart = o;
                }
                runHasNew |= fresh;
            } else {
                if (runStart >= 0 && runHasNew) {
                    returned += makeHoles.applyAsLong(runStart, o);
                }
                runStart = -1;
                runHasNew = false;
            }
        }
        return returned;
    }

    /**
     * Returns the memory of blocks freed into pages of live platform threads that have not
     * allocated for {@code waitNanos} (with 0, of every live platform thread): the purger's, under
     * the lock. An owner collects other threads' frees only when it allocates from the page's class
     * again, and returns its own free memory only when it commits near the peak or trims, so a
     * thread that stops (a producer whose consumers free everything, a worker that freed most of
     * what it built, then waits) would otherwise keep all of it committed while it lives, out of
     * reach of the purge delay and of {@code trim()} on other threads: 221 MB of 400,000 freed
     * blocks of 16-1,000 B, whether its thread or another freed them.
     *
     * <p>Every OS page that only such free blocks overlap goes back; the blocks become holes that
     * the owner takes over when it next collects ({@link PurgedHoles}). The owner's own free blocks
     * are taken only from pages that are not current for their class, while the owner is held off
     * changing which pages are ({@link ThreadHeap#holdForPurge}): the fast path hands out blocks of
     * the current pages alone, and frees only add to a free bitmap. Of a current page, and of an
     * owner that allocates, only the blocks other threads freed go: those the owner cannot hand
     * out before it collects them.
     *
     * <p>An owner that allocates is left alone in the classes it allocates from: it collects as it
     * goes, and would fault the memory in again (a producer handing 225 MB at a time to a consumer
     * had 620 MB purged and touched again in 6 s when only the frees' wait counted). A class it has
     * left alone for {@code waitNanos} ({@link #classIdle}) is treated as an idle owner's, for its
     * remote frees. Pages of striped heaps are not scanned: their frees are collected under the
     * stripe's lock.
     *
     * <p>Called without the lock, it takes the lock for one page at a time: an owner that waits for
     * the lock in the middle of changing its pages (a refill taking a page from the pool) holds
     * the scan off all its pages while it waits, and a scan of a large heap under one hold of the
     * lock kept a busy thread's pages out of {@code trim()}'s reach (7-14 MB returned of some 100).
     *
     * @param now {@link System#nanoTime} of this look, at which {@link ThreadHeap#noteActivity} ran
     * @param heldOff where to add the pages whose owners were changing their pages, for
     *     {@link #scavengeHeldOff}; null to leave them to a later look (the purger)
     * @return whether some page's free blocks wait for their owner, or its class, to be idle long
     *     enough, or for the owner to finish changing its pages
     */
    boolean scavengeFreeInPages(long now, long waitNanos, Map<ThreadHeap, List<Page>> heldOff) {
        boolean[] waiting = {false};
        List<Region> inUse;
        lockPolling();
        try {
            inUse = List.copyOf(regions);
        } finally {
            lock.unlock();
        }
        List<Page> pages = new ArrayList<>();
        for (Region region : inUse) {
            // The slice map read without the lock: each page is judged anew under it.
            pages.clear();
            region.addSlicePages(pages, false);
            for (int next = 0; next < pages.size(); ) {
                next = scavengeRunOfPages(pages, next, now, waitNanos, waiting, heldOff);
                if (next < 0) {
                    return waiting[0];
                }
            }
        }
        return waiting[0];
    }

    /**
     * {@link #scavengeFreeInPages} for a region's pages from {@code from} on, in address order,
     * under one hold of the lock: the free memory of idle owners' pages goes back in one call for
     * each run of adjacent pages ({@link ReturnRun}), and those owners stay held off until it has.
     * The hold ends after {@value #SCAN_RUN_PAGES} pages, or after the first page that made a call
     * (free memory apart from the run's, or a page returned at once): with 64 pages' calls in one
     * hold, an owner of blocks of 12 KiB, every other one freed, waited 35 ms for 1,344 calls.
     *
     * @return the index of the next page to scan, or -1 if the heap is closed
     */
    private int scavengeRunOfPages(List<Page> pages, int from, long now, long waitNanos, boolean[] waiting,
            Map<ThreadHeap, List<Page>> heldOff) {
        // Made before the lock is taken: a full Java heap must not fail the call between the two,
        // leaving the lock held for good.
        ReturnRun run = new ReturnRun();
        lockPolling();
        scanRun = run;
        try {
            if (core.isClosed()) {
                return -1;
            }
            int end = Math.min(pages.size(), from + SCAN_RUN_PAGES);
            long calls = madviseCalls;
            int next = from;
            while (next < end && madviseCalls == calls) {
                Page page = pages.get(next++);
                ThreadHeap atWork = scavengeFreeInPage(page, now, waitNanos, waiting);
                if (atWork != null) {
                    waiting[0] = true;
                    if (heldOff != null) {
                        // No lambda: one whose first linking a full Java heap fails, fails so for good.
                        List<Page> held = heldOff.get(atWork);
                        if (held == null) {
                            held = new ArrayList<>();
                            heldOff.put(atWork, held);
                        }
                        held.add(page);
                    }
                }
            }
            return next;
        } finally {
            scanRun = null;
            try {
                returnRun(run);
            } finally {
                try {
                    run.releaseHeld();
                } finally {
                    lock.unlock();
                }
            }
        }
    }

    /**
     * Returns the free memory of current pages the purger just took from their parked owners
     * ({@link IdleCurrentPages}) at a look that scans no other page: as {@link #scavengeFreeInPages}
     * would. Under the lock.
     */
    void scavengeTakenPages(List<Page> pages, long now, long waitNanos) {
        boolean[] waiting = {false};
        for (Page page : pages) {
            scavengeFreeInPage(page, now, waitNanos, waiting);
        }
    }

    /**
     * Returns the free memory of the pages a scan found held off by their owners changing their
     * pages ({@link #scavengeFreeInPages}): {@code trim()}'s, which has no later look. For each
     * owner it waits until the owner is done (most likely it was waiting for the lock the scan
     * took page by page), then holds it off all those pages at once, so that a busy owner does not
     * come back to its work between two of them; it waits for the owner at most until
     * {@code deadline}. Waiting per page instead, up to 1 ms each, a request refused at the limit
     * beside four busy threads (it trims) took up to 2.7 s.
     */
    void scavengeHeldOff(Map<ThreadHeap, List<Page>> heldOff, long deadline) {
        // No lambda (Map.forEach): see FreedRuns.
        for (Map.Entry<ThreadHeap, List<Page>> entry : heldOff.entrySet()) {
            scavengeHeldOff(entry.getKey(), entry.getValue(), deadline);
        }
    }

    /** {@link #scavengeHeldOff} for one owner's pages. */
    private void scavengeHeldOff(ThreadHeap owner, List<Page> pages, long deadline) {
        for (int attempt = 0; attempt < HOLD_TRIES && owner.awaitPageWorkDone(deadline); attempt++) {
            lockPolling();
            try {
                if (core.isClosed()) {
                    return;
                }
                if (!owner.holdForPurge()) {
                    continue;
                }
                try {
                    for (Page page : pages) {
                        scavengeHeldPage(owner, page);
                    }
                    return;
                } finally {
                    owner.releaseFromPurge();
                }
            } finally {
                lock.unlock();
            }
        }
    }

    /**
     * {@link #scavengeFreeInPages} for one page, under the lock; sets {@code waiting[0]} if its
     * owner or class is not idle long enough.
     *
     * @return the page's owner if it was changing its pages, so that its own free blocks were left
     *     alone; null otherwise
     */
    private ThreadHeap scavengeFreeInPage(Page page, long now, long waitNanos, boolean[] waiting) {
        ThreadHeap owner = page.owner;
        if (!page.active || page.isSingle() || owner == null || owner.thread == null) {
            return null;
        }
        boolean ownerIdle = waitNanos == 0 || now - owner.idleSinceNanos >= waitNanos;
        if (ownerIdle && !page.unchangedSincePurge()) {
            return scavengeIdleOwnersPage(owner, page) ? null : owner;
        }
        // Read once: the owner, not held off here, drops it as it revives a page it kept
        // (Page.reviveLayout), and a page it empties has no remote frees left to take.
        long[] remote = page.remoteBits;
        if (!Page.hasRemoteFrees(remote)) {
            return null;
        }
        noteCollects(owner, page, now);
        if (!ownerIdle && leftAlone(owner, page, now, waitNanos)) {
            // Returned as an idle owner's page is, in runs of adjacent pages: the owner's fast path
            // takes blocks from current pages alone.
            return scavengeIdleOwnersPage(owner, page) ? null : owner;
        }
        if (!ownerIdle && !classIdle(owner, page, now, waitNanos)) {
            waiting[0] = true;
            return null;
        }
        if (remoteFreesChanged(page, remote, waitNanos)) {
            if (ownerIdle) {
                // With the owner's own free blocks, which no change of the page's counts brought
                // back here: an OS page half freed by the owner, half by others, goes back only so.
                return scavengeIdleOwnersPage(owner, page) ? null : owner;
            }
            scavengeFreed(page, false);
        }
        return null;
    }

    /**
     * Returns the free memory of {@code page}, of an idle owner: its own free blocks too if the
     * owner lets it and the page is not current.
     *
     * @return false if the owner was changing its pages (the page waits for the next look)
     */
    private boolean scavengeIdleOwnersPage(ThreadHeap owner, Page page) {
        ReturnRun run = scanRun;
        if (run != null && run.holds(owner)) {
            scavengeHeldPage(owner, page);
            return true;
        }
        if (!owner.holdForPurge()) {
            return false;
        }
        if (run != null) {
            // Held until the run's memory is gone, with the rest of the run's pages.
            run.hold(owner);
            scavengeHeldPage(owner, page);
            return true;
        }
        try {
            scavengeHeldPage(owner, page);
            return true;
        } finally {
            owner.releaseFromPurge();
        }
    }

    /** Returns the free memory of {@code page} while its {@code owner} is held off it ({@link ThreadHeap#holdForPurge}). */
    private void scavengeHeldPage(ThreadHeap owner, Page page) {
        if (page.owner != owner || !page.active || page.isSingle()) {
            // Released or laid out again between the caller's look and the hold.
            return;
        }
        if (owner.isCurrent(page)) {
            if (page.hasRemoteFrees()) {
                scavengeFreed(page, false);
            }
            return;
        }
        scavengeFreed(page, true);
        decommitPastBump(page);
        page.markPurged();
    }

    /**
     * Returns the memory {@code page} holds committed past its bump pointer, which no block of its
     * present layout has used: an earlier layout's (a page laid out again for another class keeps
     * what it had committed), or the tail of a medium page's commit. Under the lock, for a page that
     * is not current while its owner is held off it: the owner hands out blocks past the bump
     * pointer only from its current page. The next commit at the bump pointer counts the memory
     * again.
     */
    private void decommitPastBump(Page page) {
        // The owner of a page just taken may be finishing a malloc at the bump pointer
        // (IdleCurrentPages: it parks only there, committing the block's memory, and may go on
        // between two pages of a scan); the acquire orders the bump pointer's read after its move.
        // A commit that ends inside the block at the bump pointer is left to that block.
        if (page.isCommitting() || page.commitEnd < (long) (page.bump + 1) * page.blockSize) {
            return;
        }
        long keep = roundUp((long) page.bump * page.blockSize, Os.OS_PAGE_SIZE);
        if (page.commitEnd - keep >= Os.OS_PAGE_SIZE) {
            // Holes are of free blocks, all below the bump pointer: none lies past keep.
            returnInRun(page.start + keep, page.commitEnd - keep, page.commitEnd - keep);
            page.commitEnd = keep;
        }
    }

    /**
     * Notes whether the owner collected {@code page}'s remote frees since the purger's last look
     * at them, and since when it has not ({@link Page#remoteSeenSince}).
     */
    private static void noteCollects(ThreadHeap owner, Page page, long now) {
        int collects = page.remoteCollects;
        if (page.remoteSeenCollects != collects || page.remoteSeenSince == 0) {
            // The owner collected since: what the purger gave back then is its own now.
            page.remoteSeenCollects = collects;
            page.remoteReturned = 0;
            startLeftAlone(owner, page, now);
        }
    }

    private static void startLeftAlone(ThreadHeap owner, Page page, long now) {
        page.remoteSeenSince = now != 0 ? now : 1;
        page.remoteSeenRefills = owner.classRefills(page.sizeClass);
    }

    /** @return whether the remote frees of {@code page} changed since the purger last returned what it could */
    private static boolean remoteFreesChanged(Page page, long[] remote, long waitNanos) {
        return waitNanos == 0 || Page.remoteCount(remote) != page.remoteReturned;
    }

    /**
     * Whether an owner that allocates from {@code page}'s class has left the page's remote frees
     * uncollected for {@value #LEFT_ALONE_WAITS} waits, the page not its class's current one, while
     * it refilled its current page of the class fewer than {@value #LEFT_ALONE_REFILLS} times
     * ({@link ThreadHeap#classRefills}). The owner collects a page only when it needs the page's
     * room, so a thread that trickles blocks of a class after a burst that others freed would keep
     * the burst's pages committed for as long as it runs: 1 GiB of 64 B blocks at one block every
     * 10 ms. An owner that refills more often keeps them, as it may soon reach them and would
     * then fault them in again; the wait starts again each time it does, so a burst of its own
     * does not keep them for good.
     */
    private static boolean leftAlone(ThreadHeap owner, Page page, long now, long waitNanos) {
        if (owner.classRefills(page.sizeClass) - page.remoteSeenRefills >= LEFT_ALONE_REFILLS) {
            startLeftAlone(owner, page, now);
            return false;
        }
        return now - page.remoteSeenSince >= LEFT_ALONE_WAITS * waitNanos && !owner.isCurrent(page);
    }

    /**
     * Whether an owner that allocates has left {@code page}'s size class alone for
     * {@code waitNanos} ({@link ThreadHeap#classIdleFor}). The owner collects a class's remote frees
     * only when it allocates from that class, so a class it stopped using (its blocks handed to
     * consumers, the thread busy with other sizes) would keep them committed for as long as the
     * thread lives.
     */
    private static boolean classIdle(ThreadHeap owner, Page page, long now, long waitNanos) {
        int sizeClass = page.sizeClass;
        // Negative: its owner laid it out again since the caller looked, for a large block.
        return sizeClass >= 0 && owner.classIdleFor(sizeClass, now, waitNanos);
    }

    /**
     * Makes holes of the OS pages of {@code page} that only free blocks overlap: uncollected remote
     * frees, and with {@code ownFreeToo} the owner's free blocks and holes (the caller holds the
     * owner off them, {@link ThreadHeap#holdForPurge}).
     */
    private void scavengeFreed(Page page, boolean ownFreeToo) {
        PurgedHoles pending = page.purgedHoles;
        if (!ownFreeToo && pending != null && pending.ownFree) {
            // Holes of the owner's own free blocks, which it may be making current right now: taken
            // off the page here, they would not be the page's own when its fast path hands out
            // those blocks (still in its free bitmap). They wait for the owner, or a look that holds it.
            return;
        }
        // Not held, read once: an owner reviving a kept page drops the bitmap (Page.reviveLayout),
        // and had collected every remote free of it before the page emptied. Blocks taken from it
        // stay counted as used, so the page keeps this bitmap until they are given back.
        long[] remote = ownFreeToo ? page.remoteBits() : page.remoteBits;
        if (remote == null) {
            return;
        }
        long[] taken = new long[remote.length - 1];
        // Made before anything is taken: no room for it then costs nothing.
        FreedRuns runs = new FreedRuns(page, ownFreeToo, taken, scanRun);
        boolean tookRemote = Page.takeRemoteBits(remote, taken);
        if (!tookRemote && !ownFreeToo) {
            return;
        }
        try {
            runs.holes = page.takePurgedHoles();
            runs.returnAll();
            if (runs.inRun) {
                runs.run.giveBackAfter(page, taken, runs.holes);
            } else {
                giveBack(page, taken, runs.holes);
            }
        } catch (OutOfMemoryError e) {
            // No room on the Java heap for what the look makes: the page gets back at once what it
            // took, which would otherwise stay taken for good (blocks freed and never free again),
            // after the run's memory went back, so no block of it goes back into use before.
            if (runs.inRun) {
                returnRun(runs.run);
            }
            // Not counted as returned (giveBack): none of them went back, and the next look must
            // not take them for remote frees it has seen.
            page.giveBackRemote(taken, runs.holes);
            throw e;
        }
    }

    /** Gives {@code page} back the remote frees {@code taken} and {@code holes} now. */
    private static void giveBack(Page page, long[] taken, PurgedHoles holes) {
        int returned = 0;
        for (long bits : taken) {
            returned += Long.bitCount(bits);
        }
        page.remoteReturned = returned;
        page.giveBackRemote(taken, holes);
    }

    /**
     * {@link #scavengeFreed}'s runs of OS pages that only free blocks overlap, once the remote frees
     * ({@code taken}) and the prior holes ({@link #holes}) are taken. A class of its own, not a
     * lambda: a call site whose first linking meets a full Java heap fails so at every later call.
     */
    private final class FreedRuns implements IntPredicate, LongBinaryOperator {
        private final Page page;
        private final boolean ownFreeToo;
        private final long[] taken;
        /** The scan's run the returns join, or null. */
        final ReturnRun run;
        /** The page's holes, the prior ones and those made here; null while there are none. */
        PurgedHoles holes;
        /** Whether a return joined {@link #run}, so the page gets its blocks back after the run's memory. */
        boolean inRun;
        private long[] free;
        private long[] own;

        FreedRuns(Page page, boolean ownFreeToo, long[] taken, ReturnRun run) {
            this.page = page;
            this.ownFreeToo = ownFreeToo;
            this.taken = taken;
            this.run = run;
        }

        /** Returns the free runs of OS pages, or joins them to {@link #run}. */
        void returnAll() {
            PurgedHoles prior = holes;
            own = ownFreeToo ? page.freeBits : null;
            free = taken.clone();
            orInto(free, prior != null ? prior.blocks : null);
            orInto(free, own);
            orInto(free, ownFreeToo ? page.holeBits : null);
            long[] gone = prior != null ? prior.osPages.clone() : null;
            if (ownFreeToo && page.holeOsPages != null) {
                gone = gone == null ? page.holeOsPages.clone() : orInto(gone, page.holeOsPages);
            }
            // Up to the OS page holding the end of the last block: the memory past it is committed
            // with that block and holds nothing.
            int osPages = (int) (roundUp((long) page.capacity * page.blockSize, Os.OS_PAGE_SIZE) / Os.OS_PAGE_SIZE);
            forEachFreeRun(osPages, gone, this, this);
        }

        @Override
        public boolean test(int osPage) {
            return allSet(page, free, null, osPage);
        }

        @Override
        public long applyAsLong(long from, long to) {
            if (holes == null) {
                holes = new PurgedHoles(taken.length, (int) ((page.spanBytes / Os.OS_PAGE_SIZE + 63) >>> 6));
                metadata.addAndGet(holes.metadataBytes);
            }
            moveBlocks(page, taken, holes.blocks, (int) from, (int) to);
            if (own != null && copyBlocks(page, own, holes.blocks, (int) from, (int) to)) {
                holes.ownFree = true;
            }
            long bytes = markOsPages(holes.osPages, ownFreeToo ? page.holeOsPages : null, (int) from, (int) to);
            long address = page.start + from * Os.OS_PAGE_SIZE;
            if (ownFreeToo || run != null) {
                // The owner is held off this page, which is not current; or the blocks stay taken
                // off it until the run's memory is gone: none goes back into use before. One call
                // for the run: one a page took 16,384 calls for 1 GiB of 64 B blocks of a class
                // their busy owner left for another (core README).
                inRun |= !ownFreeToo;
                returnInRun(address, (to - from) * Os.OS_PAGE_SIZE, bytes);
            } else {
                // The owner may take these blocks as soon as the page has them back below.
                returnCommitted(address, (to - from) * Os.OS_PAGE_SIZE, bytes);
            }
            holes.bytes += bytes;
            return bytes;
        }
    }

    /** ORs {@code bits} (may be null) into {@code into}, word by word. @return {@code into} */
    private static long[] orInto(long[] into, long[] bits) {
        if (bits != null) {
            for (int w = 0; w < into.length && w < bits.length; w++) {
                into[w] |= bits[w];
            }
        }
        return into;
    }

    /**
     * The run of adjacent pages' free memory that {@link #scavengeRunOfPages} gives back in one
     * call; null outside it. Under the lock.
     */
    private ReturnRun scanRun;

    /** Scratch for {@link #busyOsPages}, under the lock: a bit per OS page of a medium page. */
    private final long[] busyScratch = new long[(int) (MEDIUM_PAGE_SLICES * Region.SLICE_SIZE / Os.OS_PAGE_SIZE / 64)];

    /** @return a bit set of the OS pages below {@code osPages} that a live block of {@code page} overlaps */
    private long[] busyOsPages(Page page, int osPages) {
        long[] busy = busyScratch;
        java.util.Arrays.fill(busy, 0, (osPages + 63) >>> 6, 0L);
        long[] free = page.freeBits;
        long[] holes = page.holeBits;
        int bump = page.bump;
        for (int w = 0; w <= (bump - 1) >>> 6; w++) {
            long live = ~(free[w] | (holes != null ? holes[w] : 0));
            if (w == (bump - 1) >>> 6 && (bump & 63) != 0) {
                live &= -1L >>> (64 - (bump & 63));
            }
            while (live != 0) {
                int b = (w << 6) | Long.numberOfTrailingZeros(live);
                live &= live - 1;
                int first = (int) ((long) b * page.blockSize / Os.OS_PAGE_SIZE);
                int last = Math.min(osPages - 1, (int) (((long) (b + 1) * page.blockSize - 1) / Os.OS_PAGE_SIZE));
                for (int o = first; o <= last; o++) {
                    busy[o >>> 6] |= 1L << o;
                }
            }
        }
        return busy;
    }

    /**
     * @return whether every block of {@code page} overlapping its OS page {@code o} has its bit set
     *     in {@code bits} or in {@code more} (may be null); the memory past the last block holds none
     */
    private static boolean allSet(Page page, long[] bits, long[] more, int o) {
        int first = firstBlock(page, o);
        int last = Math.min(lastBlock(page, o), page.capacity - 1);
        for (int w = first >>> 6; w <= last >>> 6; w++) {
            long mask = -1L;
            if (w == first >>> 6) {
                mask &= -1L << first;
            }
            if (w == last >>> 6) {
                mask &= -1L >>> (63 - (last & 63));
            }
            long set = bits[w] | (more != null ? more[w] : 0);
            if ((set & mask) != mask) {
                return false;
            }
        }
        return true;
    }

    private static int firstBlock(Page page, int osPage) {
        return (int) ((long) osPage * Os.OS_PAGE_SIZE / page.blockSize);
    }

    private static int lastBlock(Page page, int osPage) {
        return (int) (((long) (osPage + 1) * Os.OS_PAGE_SIZE - 1) / page.blockSize);
    }

    private static boolean isSet(long[] bits, int index) {
        return bits != null && (bits[index >>> 6] & (1L << index)) != 0;
    }

    /**
     * Decommits OS pages {@code [fromOs, toOs)} of {@code page}, which only free blocks and holes
     * overlap (some may be holes already), and makes those free blocks holes.
     */
    private long makeHoles(Page page, int fromOs, int toOs) {
        if (page.holeBits == null) {
            // Both made before either is set: a full Java heap must not leave holes with no OS pages.
            long[] blocks = new long[page.freeBits.length];
            long[] osPages = new long[(int) ((page.spanBytes / Os.OS_PAGE_SIZE + 63) >>> 6)];
            page.holeBits = blocks;
            page.holeOsPages = osPages;
            long bytes = Page.holeMetadataBytes(page.holeBits.length, page.holeOsPages.length);
            page.metadataCharged += bytes;
            metadata.addAndGet(bytes);
        }
        int moved = moveBlocks(page, page.freeBits, page.holeBits, fromOs, toOs);
        page.freeCount -= moved;
        page.holeCount += moved;
        long bytes = markOsPages(page.holeOsPages, fromOs, toOs);
        // The range may cover holes too: telling the OS again about those costs nothing.
        returnCommitted(page.start + (long) fromOs * Os.OS_PAGE_SIZE, (long) (toOs - fromOs) * Os.OS_PAGE_SIZE, bytes);
        page.holeBytes += bytes;
        return bytes;
    }

    /**
     * Moves the blocks of {@code page} overlapping OS pages {@code [fromOs, toOs)} whose bits are
     * set in {@code from} to {@code to}.
     *
     * @return how many moved
     */
    private static int moveBlocks(Page page, long[] from, long[] to, int fromOs, int toOs) {
        int moved = 0;
        // The last OS page may end past the last block (the purger's runs reach it).
        int last = Math.min(lastBlock(page, toOs - 1), page.capacity - 1);
        for (int b = firstBlock(page, fromOs); b <= last; b++) {
            long bit = 1L << b;
            if ((from[b >>> 6] & bit) != 0) {
                from[b >>> 6] &= ~bit;
                to[b >>> 6] |= bit;
                moved++;
            }
        }
        return moved;
    }

    /** Sets the bits of OS pages {@code [fromOs, toOs)} in {@code osPages}. @return the bytes of those newly set */
    private static long markOsPages(long[] osPages, int fromOs, int toOs) {
        return markOsPages(osPages, null, fromOs, toOs);
    }

    /**
     * Sets the bits of OS pages {@code [fromOs, toOs)} in {@code osPages}.
     *
     * @param goneAlready OS pages whose memory went back before (may be null): not counted
     * @return the bytes of those newly set and not gone already
     */
    private static long markOsPages(long[] osPages, long[] goneAlready, int fromOs, int toOs) {
        long bytes = 0;
        for (int o = fromOs; o < toOs; o++) {
            if (!isSet(osPages, o)) {
                osPages[o >>> 6] |= 1L << o;
                if (!isSet(goneAlready, o)) {
                    bytes += Os.OS_PAGE_SIZE;
                }
            }
        }
        return bytes;
    }

    /**
     * Sets in {@code to} the bits set in {@code from} of the blocks of {@code page} overlapping OS
     * pages {@code [fromOs, toOs)}, leaving {@code from} as it is.
     *
     * @return whether any was set
     */
    private static boolean copyBlocks(Page page, long[] from, long[] to, int fromOs, int toOs) {
        boolean any = false;
        int last = Math.min(lastBlock(page, toOs - 1), page.capacity - 1);
        for (int b = firstBlock(page, fromOs); b <= last; b++) {
            long bit = from[b >>> 6] & (1L << b);
            to[b >>> 6] |= bit;
            any |= bit != 0;
        }
        return any;
    }

    private long decommitRange(Page page, long from, long to) {
        long bytes = to - from;
        returnCommitted(page.start + from, bytes, bytes);
        return bytes;
    }

    /**
     * Gives the lowest holes of {@code page} back to its free bitmap, at least {@link #RESTORE_MIN}
     * bytes of their OS pages (or all), with every other hole those OS pages then back, counting
     * the OS pages as committed again (the OS maps them back when they are touched). By the page's
     * owner, when the page has no other room.
     *
     * @return false if the page has no hole or the commit limit refused
     */
    boolean restoreHoles(Page page) {
        if (page.holeCount == 0) {
            return false;
        }
        long[] holes = page.holeBits;
        long[] osPages = page.holeOsPages;
        // Pick the OS pages of the lowest holes, in ascending order, until there are enough.
        long bytes = 0;
        int fromOs = Integer.MAX_VALUE;
        int toOs = -1;
        for (int word = 0; word < holes.length && bytes < RESTORE_MIN; word++) {
            long bits = holes[word];
            while (bits != 0 && bytes < RESTORE_MIN) {
                int block = (word << 6) | Long.numberOfTrailingZeros(bits);
                bits &= bits - 1;
                int first = Math.max(toOs + 1, (int) ((long) block * page.blockSize / Os.OS_PAGE_SIZE));
                int last = (int) (((long) (block + 1) * page.blockSize - 1) / Os.OS_PAGE_SIZE);
                for (int o = first; o <= last; o++) {
                    if ((osPages[o >>> 6] & (1L << o)) != 0) {
                        bytes += Os.OS_PAGE_SIZE;
                    }
                }
                fromOs = Math.min(fromOs, first);
                toOs = Math.max(toOs, last);
            }
        }
        if (bytes > 0 && !commitBytes(bytes, page)) {
            return false;
        }
        for (int o = fromOs; o <= toOs; o++) {
            osPages[o >>> 6] &= ~(1L << o);
        }
        page.holeBytes -= bytes;
        // Every hole those OS pages overlap whose other OS pages are committed is free again.
        long[] free = page.freeBits;
        int lowest = Integer.MAX_VALUE;
        for (int b = firstBlock(page, fromOs); b <= lastBlock(page, toOs); b++) {
            long bit = 1L << b;
            if ((holes[b >>> 6] & bit) != 0 && backed(page, b)) {
                holes[b >>> 6] &= ~bit;
                free[b >>> 6] |= bit;
                page.holeCount--;
                page.freeCount++;
                lowest = Math.min(lowest, b >>> 6);
            }
        }
        if (lowest < page.searchWord) {
            page.searchWord = lowest;
        }
        return true;
    }

    /** @return whether no OS page block {@code b} of {@code page} overlaps is decommitted */
    private static boolean backed(Page page, int b) {
        int fromOs = (int) ((long) b * page.blockSize / Os.OS_PAGE_SIZE);
        int toOs = (int) (((long) (b + 1) * page.blockSize - 1) / Os.OS_PAGE_SIZE);
        for (int o = fromOs; o <= toOs; o++) {
            if (isSet(page.holeOsPages, o)) {
                return false;
            }
        }
        return true;
    }

    private void unmapEmptyRegions(int keep) {
        int empty = 0;
        for (Iterator<Region> it = regions.iterator(); it.hasNext(); ) {
            Region region = it.next();
            // A downcall may still use a block freed in it (a use after free): then it stays.
            if (region.isEmpty() && ++empty > keep && HeldArenas.closeWithin(region.arena, HeldArenas.RELEASE_WAIT_NANOS)) {
                it.remove();
                metadata.addAndGet(-region.metadataBytes());
                unmapClosed(region);
            }
        }
    }

    /**
     * Unmaps everything the closing heap holds but the memory a downcall is using: a region whose
     * arena refuses to close (the JDK refuses while a downcall holds a segment of it), or one that
     * holds an address of {@code inUse} (blocks whose own arenas refused). Those stay mapped, and
     * calling this again after the downcalls returned unmaps them. No thread allocates meanwhile.
     *
     * @param inUse addresses of blocks a downcall is using, each in a region that must stay mapped
     * @param deadline until when ({@link System#nanoTime}) a region a downcall holds is waited for
     * @return the bytes left mapped
     */
    long closeAll(long[] inUse, long deadline) {
        for (Region region : regions) {
            forget(region);
            stillMapped.add(region);
        }
        for (Region region : hugeRegions) {
            forget(region);
            stillMapped.add(region);
        }
        long leftMapped = 0;
        long leftCommitted = 0;
        for (Iterator<Region> it = stillMapped.iterator(); it.hasNext(); ) {
            Region region = it.next();
            if (!holdsAny(region, inUse) && HeldArenas.closeBy(region.arena, deadline)) {
                it.remove();
                release(region);
            } else {
                leftMapped += region.byteSize;
                leftCommitted += region.committedBytes();
            }
        }
        // Their committed memory is uncounted with the rest below: all but what the regions left
        // mapped still commit, which the stats go on showing until a later close unmaps them.
        for (RetainedMappings.Mapping mapping; (mapping = retained.pollOldest()) != null; ) {
            unmapRetained(mapping);
        }
        regions.clear();
        hugeRegions.clear();
        pool.clear();
        pooledCommitted = 0;
        purgedAhead = 0;
        resetGuard();
        java.util.Arrays.fill(pooledBySlices, 0);
        uncommitted(committed.get() - leftCommitted);
        closedCommitted = leftCommitted;
        return leftMapped;
    }

    /** @return the pages laid out for blocks of a size class in this heap's regions; under the lock */
    List<Page> pagesOfBlocks() {
        List<Page> pages = new ArrayList<>();
        for (Region region : regions) {
            region.addSlicePages(pages, true);
        }
        return pages;
    }

    /**
     * The heap is about to say it is closed, under the lock: until {@link #closeAll} has unmapped
     * its memory, a closed heap's stats count all it commits now, which a close waiting for a
     * downcall to let go of a region keeps mapped meanwhile.
     */
    void closing() {
        closedCommitted = committed.get();
    }

    /** @return a closed heap's committed bytes ({@link #closedCommitted}); meaningless before a close */
    long closedCommitted() {
        return closedCommitted;
    }

    /**
     * @return the bytes the heap's mappings commit, summed page by page: what {@link #committed}
     *     counts, for a check of it; under the lock, with no thread allocating
     */
    long committedInMappings() {
        long sum = retained.committed();
        for (Region region : regions) {
            sum += region.committedBytes();
        }
        for (Region region : hugeRegions) {
            sum += region.committedBytes();
        }
        return sum;
    }

    /** @return whether a close left memory mapped that a downcall was using */
    boolean leftMapped() {
        return !stillMapped.isEmpty();
    }

    private static boolean holdsAny(Region region, long[] addresses) {
        for (long address : addresses) {
            if (address >= region.base && address < region.base + region.byteSize) {
                return true;
            }
        }
        return false;
    }

    static long roundUp(long value, long alignment) {
        return (value + alignment - 1) & -alignment;
    }
}
