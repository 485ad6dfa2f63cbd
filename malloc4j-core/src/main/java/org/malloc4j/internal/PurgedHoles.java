package org.malloc4j.internal;

/**
 * Holes the purger made of a page's free blocks while its owner did not collect them (frees by
 * other threads) or left the page alone (its own frees, on a page that is not current), in
 * {@link SpanAllocator#scavengeFreeInPages}: a live thread that stops allocating would otherwise
 * keep its free memory committed for as long as it lives. The owner takes them over when it next
 * collects its remote frees ({@link Page#collectRemote}), as holes of its own, which it restores
 * when the page runs out of room.
 *
 * <p>Made and filled by the purger under the span lock, then published on the page; from then on
 * only the thread that takes it off the page (its owner, or the purger again) touches it.
 */
final class PurgedHoles {
    /**
     * Bit set, one bit per block as in {@link Page#freeBits}: the blocks that became holes. Those
     * the owner freed are still set in its free bitmap until it takes them over; the others, which
     * other threads freed, are in neither bitmap.
     */
    final long[] blocks;
    /** Bit set: the page's OS pages whose memory went back, all of them under {@link #blocks}. */
    final long[] osPages;
    /**
     * Whether some of {@link #blocks} are the owner's own free blocks: such holes leave the page
     * only to the owner, or to a look that holds the owner off ({@link ThreadHeap#holdForPurge}).
     */
    boolean ownFree;
    /** Bytes of {@link #osPages}, no longer counted as committed. */
    long bytes;
    /** What these two bit sets add to the heap's metadata estimate. */
    final long metadataBytes;

    PurgedHoles(int blockWords, int osPageWords) {
        this.blocks = new long[blockWords];
        this.osPages = new long[osPageWords];
        this.metadataBytes = Page.holeMetadataBytes(blockWords, osPageWords);
    }
}
