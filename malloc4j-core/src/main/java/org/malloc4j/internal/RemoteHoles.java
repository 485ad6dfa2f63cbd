package org.malloc4j.internal;

/**
 * Holes the purger made of a page's remotely freed blocks while the page's owner did not collect
 * them ({@link SpanAllocator#scavengeRemoteFrees}): a live thread that stops allocating would
 * otherwise keep every block other threads free into its pages committed for as long as it lives.
 * The owner takes them over when it next collects its remote frees ({@link Page#collectRemote}),
 * as holes of its own, which it restores when the page runs out of room.
 *
 * <p>Made and filled by the purger under the span lock, then published on the page; from then on
 * only the thread that takes it off the page (its owner, or the purger again) touches it.
 */
final class RemoteHoles {
    /** Bit set, one bit per block as in {@link Page#freeBits}: the blocks that became holes. */
    final long[] blocks;
    /** Bit set: the page's OS pages whose memory went back, all of them under {@link #blocks}. */
    final long[] osPages;
    /** Bytes of {@link #osPages}, no longer counted as committed. */
    long bytes;
    /** What these two bit sets add to the heap's metadata estimate. */
    final long metadataBytes;

    RemoteHoles(int blockWords, int osPageWords) {
        this.blocks = new long[blockWords];
        this.osPages = new long[osPageWords];
        this.metadataBytes = Page.holeMetadataBytes(blockWords, osPageWords);
    }
}
