package org.malloc4j.internal;

/**
 * The fields of a {@link Page} that a thread freeing into it reads: its shape, the block-state
 * arrays and its owner. They change when the page is laid out or changes hands, not per block, so
 * the owner's per-block writes ({@link Page}'s own fields) must not share their cache lines: a
 * superclass's fields come first in the object, and {@link PageColdFields} keeps the two groups at
 * least a cache line apart. Two threads handing blocks one way then share no page line that the
 * owner writes per block.
 */
abstract class PageSharedFields {
    final Region region;
    /**
     * {@code region.core}, or null for the empty page: the free fast path tells a page of its own
     * heap one dependent load sooner than through the region.
     */
    final HeapCore core;
    final long start;
    /** Bytes of address space the page spans. */
    long spanBytes;
    int sizeClass;
    int blockSize;
    /** {@code floor(2^40 / blockSize) + 1}: turns the division in {@link Page#blockIndex} into a multiply. */
    long indexMagic;
    int capacity;
    int slackWidth;
    /** 1 while the page sits in its owner's full list and no remote free has claimed it since. */
    volatile int full;
    boolean active;
    /** Whether the page was ever laid out; a span taken for a request that then failed was not. */
    boolean laidOut;
    /**
     * Allocated on the first remote free (see {@link Page#remoteBits()}): word 0 counts the remote
     * frees not yet collected, and word {@code 1 + w} holds the remote bits of
     * free-bitmap word {@code w}. The count lives here, in memory the freeing threads write anyway,
     * rather than next to the owner's counters.
     */
    volatile long[] remoteBits;
    /**
     * Blocks a scope, bump arena, pool or growable array holds (set on the first such block): freeing one through
     * the heap is an alloc-dealloc mismatch, caught in every mode.
     */
    volatile long[] ownedBits;
    /**
     * Per block: its unused bytes (usable minus requested), or the free mark (all ones) once freed, in
     * the narrowest of these three arrays that holds the class's slack. Doubles as the block's
     * state: a free claims the block by a compare-and-set of the mark over the slack it read, so
     * of two racing frees of one block (by any threads) exactly one wins. Every block is marked
     * free when the page is laid out, blocks the bump pointer has not reached too.
     */
    byte[] slack8;
    short[] slack16;
    int[] slack32;
    /**
     * Set when a striped heap adopts the page with blocks live (an ended thread's), until its next
     * layout: another thread may be claiming one of them by compare-and-set from the array it read
     * while the page was a thread heap's ({@link Page#claimFromOther}), so the stripe's claims are
     * compare-and-sets too, not its plain write.
     */
    boolean stripeClaimsAtomic;
    volatile ThreadHeap owner;
    /** The owning platform thread, or null: frees from this thread need no atomics. */
    volatile Thread ownerThread;

    PageSharedFields(Region region, long start) {
        this.region = region;
        this.core = region != null ? region.core : null;
        this.start = start;
    }
}
