package org.malloc4j.internal;

import java.util.function.Predicate;

/**
 * The empty small pages a thread heap keeps out of its core's pool, out of its page lists and laid
 * out still, for its own classes to take back without the span lock, the pool or a new layout
 * ({@link HeapCore}'s kept pages). At most {@link #CAPACITY}: one given back to the pool for each
 * page kept past them. Changed by the owner at its page work, or under the span lock while the
 * owner is held off ({@link ThreadHeap#holdForPurge}), or for a heap whose thread ended.
 */
final class KeptPages {
    /**
     * At most 2 MiB of small pages: half the 4 MiB gperftools' tcmalloc lets one thread's cache hold
     * ({@code kMaxThreadCacheSize}). A thread that allocates 1,000 blocks of 16-4,096 B and then
     * frees them all empties 28 pages a batch.
     */
    static final int CAPACITY = 32;

    private final Page[] pages = new Page[CAPACITY];
    /** The slot a page kept while all are taken takes, round the slots in turn. */
    private int next;
    private int count;

    /**
     * Keeps {@code page}.
     *
     * @return the page it takes the place of, to be given back to the pool, or null
     */
    Page keep(Page page) {
        if (count < CAPACITY) {
            for (int i = 0; i < CAPACITY; i++) {
                if (pages[i] == null) {
                    pages[i] = page;
                    count++;
                    return null;
                }
            }
        }
        Page replaced = pages[next];
        pages[next] = page;
        next = (next + 1) % CAPACITY;
        return replaced;
    }

    /** @return a kept page of {@code sizeClass}, no longer kept, or null if there is none */
    Page take(int sizeClass) {
        return takeFirst(page -> page.sizeClass == sizeClass);
    }

    /** @return any kept page, no longer kept, or null if there is none */
    Page takeAny() {
        return takeFirst(page -> true);
    }

    /** @return a page kept since before {@code before} (in {@link System#nanoTime()}), no longer kept, or null */
    Page takeKeptBefore(long before) {
        return takeFirst(page -> page.releasedAtNanos - before < 0);
    }

    private Page takeFirst(Predicate<Page> which) {
        if (count == 0) {
            return null;
        }
        for (int i = 0; i < CAPACITY; i++) {
            Page page = pages[i];
            if (page != null && which.test(page)) {
                pages[i] = null;
                count--;
                return page;
            }
        }
        return null;
    }

    boolean isEmpty() {
        return count == 0;
    }

    /** @return the bytes of this object and its array, with compressed references */
    static long metadataBytes() {
        return 24 + ((16 + 4L * CAPACITY + 7) & ~7L);
    }
}
