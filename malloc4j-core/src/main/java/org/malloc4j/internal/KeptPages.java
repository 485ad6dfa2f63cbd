package org.malloc4j.internal;

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
    /** {@link #taken} with every slot taken: the slots are the 32 bits of an int. */
    private static final int ALL_SLOTS = -1;

    private final Page[] pages = new Page[CAPACITY];
    /**
     * Bit {@code i} set: slot {@code i} holds a page of the class. A batch takes back as many
     * pages as it kept, each of its class: with a scan of the slots for the class, the taking
     * took 3.3 % of a batch's time (async-profiler, the pattern of {@code BatchBenchmark}).
     */
    private final int[] slotsOfClass = new int[SizeClasses.FIRST_MEDIUM];
    /** The class each taken slot's page had when kept: a slot's bit is cleared where it was set. */
    private final byte[] classOfSlot = new byte[CAPACITY];
    /** Bit {@code i} set: slot {@code i} holds a page. */
    private int taken;
    /** The slot a page kept while all are taken takes, round the slots in turn. */
    private int next;
    /**
     * The time ({@link System#nanoTime()}) each page kept now is stamped with, while
     * {@link #clockRead}: read by the first page kept since none was, or since the purger last
     * looked. A clock read for each page kept took 3 % of a batch's time (1,000 blocks of
     * 16-4,096 B allocated, then freed: 28 pages kept and taken back); a batch now reads it once.
     * A page's stamp may so be earlier than its keeping, by no more than the time since the first
     * page with that stamp, which the purger's look a purge delay after that page ends. The page
     * goes back to the pool that much sooner, where it waits a purge delay of its own before its
     * memory goes back to the OS.
     */
    private long clock;
    private boolean clockRead;

    /**
     * Keeps {@code page}, a small page.
     *
     * @return the page it takes the place of, to be given back to the pool, or null
     */
    Page keep(Page page) {
        Page replaced = null;
        int slot;
        if (taken != ALL_SLOTS) {
            slot = Integer.numberOfTrailingZeros(~taken);
        } else {
            slot = next;
            next = (next + 1) % CAPACITY;
            replaced = remove(slot);
        }
        pages[slot] = page;
        taken |= 1 << slot;
        classOfSlot[slot] = (byte) page.sizeClass;
        slotsOfClass[page.sizeClass] |= 1 << slot;
        return replaced;
    }

    /** @return a kept page of {@code sizeClass}, a small class, no longer kept, or null if there is none */
    Page take(int sizeClass) {
        int slots = slotsOfClass[sizeClass];
        return slots == 0 ? null : remove(Integer.numberOfTrailingZeros(slots));
    }

    /** @return any kept page, no longer kept, or null if there is none */
    Page takeAny() {
        return taken == 0 ? null : remove(Integer.numberOfTrailingZeros(taken));
    }

    /**
     * @return the time to stamp a page kept now with ({@link #clock})
     */
    long stamp() {
        return clock;
    }

    /** @return whether a page kept now reads the clock ({@link #readClock}) to be stamped */
    boolean needsClock() {
        return !clockRead;
    }

    /** @return the time now, which stamps the pages kept until the purger looks or none is kept */
    long readClock() {
        clock = System.nanoTime();
        clockRead = true;
        return clock;
    }

    /** The purger looked: the next page kept reads the clock. */
    void forgetClock() {
        clockRead = false;
    }

    /** @return a page kept since before {@code before} (in {@link System#nanoTime()}), no longer kept, or null */
    Page takeKeptBefore(long before) {
        for (int slots = taken; slots != 0; slots &= slots - 1) {
            int slot = Integer.numberOfTrailingZeros(slots);
            if (pages[slot].releasedAtNanos - before < 0) {
                return remove(slot);
            }
        }
        return null;
    }

    private Page remove(int slot) {
        Page page = pages[slot];
        pages[slot] = null;
        taken &= ~(1 << slot);
        slotsOfClass[classOfSlot[slot]] &= ~(1 << slot);
        if (taken == 0) {
            clockRead = false;
        }
        return page;
    }

    boolean isEmpty() {
        return taken == 0;
    }

    /** @return the bytes of this object and its arrays, with compressed references */
    static long metadataBytes() {
        return 32 + ((16 + 4L * CAPACITY + 7) & ~7L) + ((16 + 4L * SizeClasses.FIRST_MEDIUM + 7) & ~7L)
                + ((16 + CAPACITY + 7) & ~7L);
    }
}
