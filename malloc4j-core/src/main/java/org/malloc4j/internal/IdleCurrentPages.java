package org.malloc4j.internal;

import java.util.ArrayList;
import java.util.List;

/**
 * Takes the current pages of parked threads away from them, so that the purger returns
 * the free memory in those pages as it does in their other pages. A thread that allocated many
 * sizes, freed its blocks and then waits (a pooled worker between tasks) kept up to 64 KiB per
 * small class and 512 KiB per medium one committed for as long as it waited: 300 such threads
 * kept 491 MB for 82.6 MB live.
 *
 * <p>The owner's fast path allocates from its current pages without any handshake, so the purger
 * must know that the owner is not in the middle of one of those mallocs. It holds the heap off its
 * page work ({@link ThreadHeap#holdForPurge}) and swaps each page worth taking out of the owner's
 * current array and the fast path's table of current pages; then a process-wide barrier
 * ({@link Os#fenceAllThreads}, Linux's {@code membarrier}) makes every malloc the owner starts
 * after it see the swap and take the slow path, which waits for the purger. A malloc the owner started before the barrier may still be
 * running; but if the owner is parked, waiting or blocked after the barrier, it is not (a malloc
 * on a current page parks only in the bump path, on the span lock, where it takes no free block),
 * and a second barrier makes the stores it made before it parked visible to the purger. An owner
 * found running gets its pages back at once. Where the OS offers no such barrier, nothing is taken.
 *
 * <p>The fast path pays nothing for this: asymmetric fences, as userspace RCU and tcmalloc's
 * per-processor caches use them ({@code membarrier(2)}).
 */
final class IdleCurrentPages {
    private IdleCurrentPages() {
    }

    /**
     * Under the span lock. An owner whose pages it leaves because the owner runs is marked
     * ({@link ThreadHeap#currentPagesLeft}), for a later look to try again.
     *
     * @param owners thread heaps of their own (platform threads', and those virtual threads earned)
     *     whose owners have not allocated for the purge delay
     * @return the pages taken; their free memory goes back as that of any page not current
     */
    static List<Page> take(List<ThreadHeap> owners) {
        // Room for every owner before any is held: an add that grew the lists could fail for want
        // of Java memory with an owner held, and it would wait for the purger for good.
        List<ThreadHeap> held = new ArrayList<>(owners.size());
        List<Page[]> took = new ArrayList<>(owners.size());
        try {
            return take(owners, held, took);
        } finally {
            // By index: an iterator is an object, which a full Java heap fails.
            for (int i = 0; i < held.size(); i++) {
                held.get(i).releaseFromPurge();
            }
        }
    }

    /** {@link #take(List)}, holding each owner in {@code held} (room made for all) for the caller to let go. */
    private static List<Page> take(List<ThreadHeap> owners, List<ThreadHeap> held, List<Page[]> took) {
        for (int o = 0; o < owners.size(); o++) {
            ThreadHeap heap = owners.get(o);
            if (heap.thread == null) {
                continue;
            }
            // Checked first too, so that an owner at work loses no pages even for a moment.
            if (!isParked(heap.thread) || !heap.holdForPurge()) {
                heap.currentPagesLeft = true;
                continue;
            }
            Page[] pages;
            try {
                pages = heap.takeCurrentPages();
            } catch (OutOfMemoryError e) {
                heap.releaseFromPurge();
                throw e;
            }
            heap.currentPagesLeft = false;
            if (pages == null) {
                heap.releaseFromPurge();
                continue;
            }
            held.add(heap);
            took.add(pages);
        }
        if (held.isEmpty()) {
            return List.of();
        }
        boolean fenced = fence(held, took);
        boolean anyTaken = false;
        for (int i = 0; i < held.size(); i++) {
            ThreadHeap heap = held.get(i);
            if (fenced && isParked(heap.thread)) {
                anyTaken = true;
            } else {
                // Where the OS has no barrier, no later look can take them either.
                giveBack(heap, took, i, fenced);
            }
        }
        if (anyTaken && !fence(held, took)) {
            // Unexpected once the first succeeded; without it the purger could read stale free
            // bits of an owner's last mallocs: give every page back.
            for (int i = 0; i < held.size(); i++) {
                giveBack(held.get(i), took, i, false);
            }
        }
        List<Page> taken = new ArrayList<>();
        for (Page[] pages : took) {
            if (pages != null) {
                for (Page page : pages) {
                    if (page != null) {
                        taken.add(page);
                    }
                }
            }
        }
        return taken;
    }

    /**
     * {@link Os#fenceAllThreads}, giving every page taken back if it throws an
     * {@link OutOfMemoryError}: the JDK makes a downcall's own code at its 128th call, on the Java
     * heap. A page taken and not given back would be scanned as not current without the barrier
     * that makes its owner's last mallocs visible, and the scan could return the memory of a
     * block just allocated.
     */
    private static boolean fence(List<ThreadHeap> held, List<Page[]> took) {
        try {
            return Os.fenceAllThreads();
        } catch (OutOfMemoryError e) {
            for (int i = 0; i < held.size(); i++) {
                giveBack(held.get(i), took, i, true);
            }
            throw e;
        }
    }

    /**
     * Makes the pages taken from {@code heap}, {@code took.get(i)}, current again, if they still are
     * taken.
     *
     * @param tryAgain whether a later look should try to take them again
     */
    private static void giveBack(ThreadHeap heap, List<Page[]> took, int i, boolean tryAgain) {
        Page[] pages = took.get(i);
        if (pages != null) {
            heap.restoreCurrentPages(pages);
            heap.currentPagesLeft = tryAgain;
            took.set(i, null);
        }
    }

    /**
     * Whether the thread runs no code right now, so none of malloc4j's: it waits for something. A
     * virtual thread reads so once it has parked, unmounted or pinned to its carrier; on its way
     * there it reads as runnable, and while mounted it reads as its carrier does.
     */
    private static boolean isParked(Thread thread) {
        Thread.State state = thread.getState();
        return state == Thread.State.WAITING || state == Thread.State.TIMED_WAITING
                || state == Thread.State.BLOCKED;
    }
}
