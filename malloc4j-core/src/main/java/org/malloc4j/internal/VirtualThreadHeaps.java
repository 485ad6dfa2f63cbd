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
 * never asks; it gets one while fewer than half the places are held by threads alive
 * ({@link #takesEarlyAsker}). It takes over the heap of a virtual thread that ended ({@link
 * #ended}), pages and free blocks included, preferring the one last used from its own stripe,
 * whose memory is most likely in the same processor's cache; or a new heap while places are free.
 * A thread asks again, for any place, when sampling sees it: every {@link #SAMPLE_MASK}{@code +
 * 1}-th malloc of a stripe looks at the virtual thread making it, and a thread seen {@link #LOOKS}
 * times (over 3,000 of its mallocs, for a thread alone on its stripe) asks. The purger's sweep for ended threads
 * returns the pages of the heaps that no thread took over, and frees their places.
 *
 * <p>Thread-safe: {@link #find} and {@link #takesEarlyAsker} read a published array without a
 * lock; the rest holds this object's own lock or, for {@link #add}, {@link #remove} and {@link
 * #ended}, the span lock.
 */
final class VirtualThreadHeaps {
    /** A stripe looks at the virtual thread allocating once every this many plus one of its mallocs. */
    static final long SAMPLE_MASK = (1 << 10) - 1;
    /** How many looks find a virtual thread before it earns a heap; more than one (a first look only remembers it). */
    static final int LOOKS = 4;
    /** How many virtual threads seen by a look are remembered, the oldest forgotten first. */
    private static final int CANDIDATES = 16;

    private final int capacity;
    /** The heaps of virtual threads, published whole: copied on each change, under the span lock. */
    private volatile ThreadHeap[] heaps = new ThreadHeap[0];
    private final Object candidateLock = new Object();
    private final Thread[] candidates = new Thread[CANDIDATES];
    private final int[] looks = new int[CANDIDATES];
    private int nextCandidate;

    /** @param capacity the most virtual threads that have a heap at once */
    VirtualThreadHeaps(int capacity) {
        this.capacity = capacity;
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
     * Under the span lock.
     *
     * @param stripe the index of the stripe the thread that asks allocated from: a heap last used
     *     there is preferred, as its pages are most likely in the same processor's cache
     * @return a heap whose virtual thread ended, which another may take over ({@link
     *     ThreadHeap#handOver}), or null if every owner is alive
     */
    ThreadHeap ended(int stripe) {
        ThreadHeap any = null;
        for (ThreadHeap heap : heaps) {
            if (!heap.thread.isAlive()) {
                if (heap.stripe == stripe) {
                    return heap;
                }
                any = heap;
            }
        }
        return any;
    }

    /**
     * Whether a thread asking at its first few mallocs, before it has shown
     * that it allocates much, may have a heap. Such a thread may wait for long with its heap (a
     * connection's thread, parked on its socket), so these threads hold at most half the places:
     * the rest stay for the threads that sampling finds allocating the most. Exact under the span
     * lock; a hint without it.
     */
    boolean takesEarlyAsker() {
        int alive = 0;
        for (ThreadHeap heap : heaps) {
            if (heap.thread.isAlive()) {
                alive++;
            }
        }
        return alive < capacity / 2;
    }

    /** @return whether every place for a heap is taken */
    boolean isFull() {
        return heaps.length >= capacity;
    }

    /** Under the span lock, with a place free ({@link #isFull} false). */
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
                ThreadHeap[] fewer = Arrays.copyOf(now, now.length - 1);
                System.arraycopy(now, i + 1, fewer, i, now.length - i - 1);
                heaps = fewer;
                return;
            }
        }
    }
}
