package org.malloc4j.internal;

/**
 * The fields of a {@link Page} that no free touches, nor a malloc of a freed block: a malloc at the
 * bump pointer reads {@link #commitEnd} and {@link #cleanFrom}, and one that commits memory writes
 * {@link #committing}, all the owner's. Laid out between {@link PageSharedFields} and the owner's
 * per-block counters, at least 64 bytes of them, so that those two groups never share a cache line.
 */
abstract class PageColdFields extends PageSharedFields {
    final int firstSlice;
    int sliceCount;
    /** The metadata bytes this page added to the heap's estimate when it was laid out. */
    long metadataCharged;
    /** For a large or huge page: the single block's requested and usable bytes. */
    long largeRequested;
    long largeUsable;
    /**
     * How many large or huge blocks the page has held; under the span lock. A freed large block's
     * page object holds the next large block at its address, so a realloc that found the block
     * live tells by this number that what it frees (or keeps) is still that block, not one a free
     * and a malloc racing it (a misuse) put there since, another caller's or another realloc's new
     * block, which it would free behind its owner's back.
     */
    long largeBlocks;
    long commitEnd;
    long cleanFrom;
    /**
     * Free blocks whose memory went back to the OS while the page stayed in use (see
     * {@link SpanAllocator#scavenge}): taken out of {@link Page#freeBits} so no allocation hands them
     * out until the owner {@linkplain SpanAllocator#restoreHoles restores} them; null if none ever were.
     */
    long[] holeBits;
    /** Bit set: OS pages of the page that went back to the OS with {@link Page#holeBits}; null with it. */
    long[] holeOsPages;
    int holeCount;
    /** Bytes below {@link Page#commitEnd} that went back to the OS with {@link Page#holeBits}: not committed. */
    long holeBytes;
    /**
     * Holes the purger made of free blocks the owner did not collect or left alone, waiting for the
     * owner's next {@link Page#collectRemote}; null if none.
     */
    volatile PurgedHoles purgedHoles;
    /** How many times the owner collected remote frees: the purger tells an owner that stopped collecting by it. */
    int remoteCollects;
    /**
     * The purger's: how many remote frees it gave back without purging at its last scavenge of the
     * page, while the owner has not collected since ({@link #remoteCollects} was
     * {@link #remoteSeenCollects}), so that it does not redo a page where nothing changed.
     */
    int remoteReturned;
    int remoteSeenCollects;
    /**
     * The purger's: when ({@link System#nanoTime}) it first saw {@link #remoteCollects} at
     * {@link #remoteSeenCollects}, at a look that found remote frees in the page; 0 when it has
     * not since the page was laid out.
     */
    long remoteSeenSince;
    /** The purger's: the owner's {@link ThreadHeap#classRefills} of the page's class at {@link #remoteSeenSince}. */
    int remoteSeenRefills;
    /**
     * The purger's: {@link Page#freeCount} and {@link Page#committedBytes} once it last returned the
     * free memory of the page of an idle owner, or of an ended thread's page, so that it does not
     * redo a page where nothing was freed since ({@link Page#unchangedSincePurge}); -1 when the page
     * is laid out.
     */
    int purgerSeenFree = -1;
    long purgerSeenCommitted;
    /** When ({@link System#nanoTime}) the page last went to the pool, or its thread ended and left it in use. */
    long releasedAtNanos;
    /**
     * When ({@link System#nanoTime}) the committed memory of the page, a reused span, past the live
     * large block it holds began to wait: when the span was retired. The span allocator's alone,
     * under the span lock, as is the field below.
     */
    long tailSinceNanos;
    /** Whether the page is in the span allocator's list of such spans ({@code SpanAllocator#tails}). */
    boolean tailListed;
    /**
     * Whether the page's large block, or its last one, was placed or grown by realloc: its memory
     * was written as it grew (a copy, then the caller's fills), so what it commits is most likely
     * resident, not only counted. The span allocator's alone, under the span lock.
     */
    boolean grownBlock;
    /** Whether the page is in the span allocator's pool of retired pages; under the span lock. */
    boolean pooled;
    /**
     * Set by the owner while a malloc commits the memory of the block at the bump pointer, until it
     * has moved the bump pointer past it (released then): the purger leaves the memory past the bump
     * pointer alone meanwhile ({@code SpanAllocator.decommitPastBump}).
     */
    boolean committing;
    /** Its thread heap's malloc count when the page, a spare, was last laid out for another class; 0 if never. */
    long spareTakenAt;
    Page next;
    Page prev;
    /**
     * True while the owner lays the page out again for its one block's new size class (a realloc
     * in place): a racing call on that block that finds it free or never allocated waits this out
     * before reporting it, and reports a block changed under it if it is live again.
     */
    volatile boolean changingClass;

    PageColdFields(Region region, int firstSlice, long start) {
        super(region, start);
        this.firstSlice = firstSlice;
    }
}
