package org.malloc4j.internal;

import java.util.Arrays;

/**
 * Thread heaps of their own for virtual threads, so that a virtual thread's pairs take the owner's
 * fast path, with no stripe lock, as a platform thread's do. The heaps, and their metadata, grow
 * with the number of processors and not with the number of virtual threads: at most {@link
 * #capacity} at once, one per stripe; a virtual thread without one allocates from the stripes.
 *
 * <p>A virtual thread asks for a heap at its {@link HeapCore#HANDOVER_AFTER}-th malloc on the
 * stripes, so a thread of one to three mallocs (a takeover costs more than their stripe locks)
 * never asks; heaps given to such early askers are at most half the places
 * ({@link #takesEarlyAsker}). It takes over the heap of a virtual thread that ended ({@link
 * #ended}), pages and free blocks included, preferring the one last given on its own stripe,
 * whose memory is most likely in the same processor's cache; or a new heap while places are free.
 * A thread asks again, for any place, when sampling sees it: every {@link #SAMPLE_MASK}{@code +
 * 1}-th malloc of a stripe looks at the virtual thread making it, and a thread seen {@link #LOOKS}
 * times (over 3,000 of its mallocs, for a thread alone on its stripe) asks. The purger's sweep for ended threads
 * returns the pages of the heaps that no thread took over, and frees their places.
 *
 * <p>Thread-safe: {@link #find} and {@link #takesEarlyAsker} read a published array without a
 * lock, and {@link #takeOverOnStripe} a stripe's last given heap; the rest holds this object's own
 * lock or, for {@link #add}, {@link #remove}, {@link #given} and {@link #ended}, the span lock. A
 * heap passes from an ended thread to the next by a compare-and-set on its owner ({@link
 * ThreadHeap#takeOver}), with or without the span lock.
 */
final class VirtualThreadHeaps {
    /** A stripe looks at the virtual thread allocating once every this many plus one of its mallocs. */
    static final long SAMPLE_MASK = (1 << 10) - 1;
    /** How many looks find a virtual thread before it earns a heap; more than one (a first look only remembers it). */
    static final int LOOKS = 4;
    /** How many virtual threads seen by a look are remembered, the oldest forgotten first. */
    private static final int CANDIDATES = 16;
    /** {@link #lastGiven}'s entries a stripe apart: 16 references, 64 bytes or more. */
    private static final int SLOT_SHIFT = 4;

    private final int capacity;
    /**
     * How many of the heaps were last given to a thread that asked early, whether or not it is
     * alive: at most half the places. Written under the span lock.
     */
    private volatile int earlyHeld;
    /**
     * The heap last given to a thread of each stripe, at {@link #slot}: a cache line apart, since
     * each stripe's processor writes its own when it gives a heap under the span lock. Read without
     * the lock by {@link #takeOverOnStripe}, where a stale entry is only a heap less local (the
     * takeover's compare-and-set settles who owns it).
     */
    private final ThreadHeap[] lastGiven;
    /** The heaps of virtual threads, published whole: copied on each change, under the span lock. */
    private volatile ThreadHeap[] heaps = new ThreadHeap[0];
    private final Object candidateLock = new Object();
    private final Thread[] candidates = new Thread[CANDIDATES];
    private final int[] looks = new int[CANDIDATES];
    private int nextCandidate;

    /** @param capacity the most virtual threads that have a heap at once */
    VirtualThreadHeaps(int capacity) {
        this.capacity = capacity;
        this.lastGiven = new ThreadHeap[capacity << SLOT_SHIFT];
    }

    /** @return the heap of {@code thread}, a virtual thread, or null if it has none */
    ThreadHeap find(Thread thread) {
        for (ThreadHeap heap : heaps) {
            if (heap.thread == thread) {
                return heap;
            }
        }
        return null;
    }

    /**
     * A stripe's sampled malloc was made by {@code thread}.
     *
     * @return whether {@code thread} has now been seen often enough to earn a heap; it is then
     *     forgotten as a candidate, whether or not a heap is free for it
     */
    boolean look(Thread thread) {
        synchronized (candidateLock) {
            for (int i = 0; i < CANDIDATES; i++) {
                if (candidates[i] == thread) {
                    if (++looks[i] < LOOKS) {
                        return false;
                    }
                    candidates[i] = null;
                    looks[i] = 0;
                    return true;
                }
            }
            // Ended threads are forgotten in turn, so the array keeps none of them for long.
            candidates[nextCandidate] = thread;
            looks[nextCandidate] = 1;
            nextCandidate = (nextCandidate + 1) % CANDIDATES;
            return false;
        }
    }

    /**
     * Exact under the span lock; a hint without it.
     *
     * @param stripe the index of the stripe the thread that asks allocated from: the heap last
     *     given there is preferred, as its pages are most likely in the same processor's cache, and
     *     the only one whose owner this reads when a thread per task replaces the one before it
     * @param early whether the thread asks at its first few mallocs: it may take a heap that was
     *     given early before, or any while {@link #earlyHeld} has room
     * @return a heap whose virtual thread ended, which the asking thread may take over ({@link
     *     ThreadHeap#takeOver}), or null if none
     */
    ThreadHeap ended(int stripe, boolean early) {
        boolean earlyRoom = earlyHeld < capacity / 2;
        ThreadHeap own = lastGiven[slot(stripe)];
        if (own != null && mayTake(own, early, earlyRoom)) {
            return own;
        }
        ThreadHeap any = null;
        for (ThreadHeap heap : heaps) {
            if (heap != own && mayTake(heap, early, earlyRoom)) {
                if (heap.stripe == stripe) {
                    return heap;
                }
                any = heap;
            }
        }
        return any;
    }

    private static boolean mayTake(ThreadHeap heap, boolean early, boolean earlyRoom) {
        // The owner last: reading another carrier's running thread misses the cache.
        return (!early || earlyRoom || heap.givenEarly) && heap.endedOwner() != null;
    }

    /**
     * Without the span lock: {@code next}, a virtual thread of {@code stripe} that asks early or
     * not, takes over the heap the thread before it on that stripe left, if that thread ended and
     * its heap was given as {@code next} asks. That changes nothing here: the heap keeps its stripe
     * and stays given early or not, so only {@link ThreadHeap#takeOver}'s compare-and-set is to
     * settle, against other askers and the sweep. (If a heap given under the lock meanwhile became
     * the stripe's last given, {@code next} still gets the one it read: that only costs locality.)
     *
     * @return the heap {@code next} now owns, or null if it took none
     */
    ThreadHeap takeOverOnStripe(int stripe, boolean early, Thread next) {
        ThreadHeap own = lastGiven[slot(stripe)];
        if (own == null) {
            return null;
        }
        // The owner first: its end, and each earlier owner's end and compare-and-set, make the fields
        // the last giver under the span lock wrote visible here.
        Thread ended = own.endedOwner();
        return ended != null && own.givenEarly == early && own.stripe == stripe && own.takeOver(ended, next)
                ? own : null;
    }

    /**
     * Whether a thread asking at its first few mallocs, before it has shown that it allocates much,
     * may have a heap. Such a thread may wait for long with its heap (a connection's thread, parked
     * on its socket), so heaps given early are at most half the places, ended or not: the rest stay
     * for the threads that sampling finds allocating the most. A heap given early that its thread
     * left on {@code stripe} goes to the next early asker there, which keeps the count as it is:
     * a thread per task reads only its own stripe's last thread, which ran on the same processor,
     * instead of every holder's (cache misses on the threads the other processor runs: 4 % of a
     * 64-malloc task's time). Only when that thread lives does it look at the other
     * heaps given early, whose ended threads leave their places to any early asker: else those
     * places would wait for the purger's sweep, up to a second. A hint without the span lock.
     */
    boolean takesEarlyAsker(int stripe) {
        return earlyHeld < capacity / 2 || ended(stripe, true) != null;
    }

    /** @return whether a new heap may be added for a thread that asks early or, if not, late */
    boolean mayAdd(boolean early) {
        return heaps.length < capacity && (!early || earlyHeld < capacity / 2);
    }

    /**
     * Under the span lock, as {@code heap}, added or taken over, goes to a thread of {@code
     * stripe} that asked early or not (before the heap names the new stripe).
     */
    void given(ThreadHeap heap, int stripe, boolean early) {
        if (heap.givenEarly != early) {
            heap.givenEarly = early;
            earlyHeld += early ? 1 : -1;
        }
        forget(heap);
        lastGiven[slot(stripe)] = heap;
    }

    /** Under the span lock, with a place free ({@link #mayAdd}). */
    void add(ThreadHeap heap) {
        ThreadHeap[] now = heaps;
        ThreadHeap[] more = Arrays.copyOf(now, now.length + 1);
        more[now.length] = heap;
        heaps = more;
    }

    /** Under the span lock: takes {@code heap} out, if it is here. */
    void remove(ThreadHeap heap) {
        ThreadHeap[] now = heaps;
        for (int i = 0; i < now.length; i++) {
            if (now[i] == heap) {
                if (heap.givenEarly) {
                    heap.givenEarly = false;
                    earlyHeld--;
                }
                forget(heap);
                ThreadHeap[] fewer = Arrays.copyOf(now, now.length - 1);
                System.arraycopy(now, i + 1, fewer, i, now.length - i - 1);
                heaps = fewer;
                return;
            }
        }
    }

    /** Clears {@code heap} from {@link #lastGiven}: it is at most its present stripe's last given. */
    private void forget(ThreadHeap heap) {
        if (lastGiven[slot(heap.stripe)] == heap) {
            lastGiven[slot(heap.stripe)] = null;
        }
    }

    private static int slot(int stripe) {
        return stripe << SLOT_SHIFT;
    }
}
