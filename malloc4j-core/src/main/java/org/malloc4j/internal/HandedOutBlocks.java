package org.malloc4j.internal;

import org.malloc4j.MemoryMisuseException;

/**
 * What a holder that hands out blocks of its own from inside the heap blocks it holds (a pool, from
 * its pages) tells a leak report about them: which are still handed out, and where each was taken;
 * and what it tells {@code Heap.check()}: damage to the redzones it keeps around them.
 */
@FunctionalInterface
public interface HandedOutBlocks {
    /**
     * Adds to {@code tally} each block handed out from inside the held block at {@code heldAddress}
     * and not given back.
     *
     * <p>A leak report calls it on any thread, while other threads may be using the holder: it must
     * not throw, nor wait for anything but a short lock, and must only read the holder's bookkeeping
     * on the Java heap, never the blocks' memory, which may be unmapped meanwhile.
     *
     * @return false, having added nothing, if the holder no longer holds a block there: it gave it
     *     back since the report listed it, which then leaves it out
     */
    boolean tally(long heldAddress, HandedOutTally tally);

    /**
     * Where the block handed out at {@code address}, inside the held block at {@code heldAddress},
     * was last taken and given back, for a report of a misuse of that block through the heap (a
     * pool's block freed with {@code Heap.free}). Called on the misusing thread, with the same
     * limits as {@link #tally}.
     *
     * @return the history in a report's words ({@link SanitizerReports#stack} lines, or a line
     *     saying it is not known), or null if no block handed out from there starts at
     *     {@code address}
     */
    default String historyAt(long heldAddress, long address) {
        return null;
    }

    /**
     * The block handed out from inside the held block at {@code heldAddress} whose bytes include
     * {@code address}, for a report of an address inside it misused through the heap. With the
     * same limits as {@link #tally}.
     *
     * @return the address that block starts at, or -1 if no block handed out from there holds
     *     {@code address} (padding between blocks, a slot never handed out)
     */
    default long blockAt(long heldAddress, long address) {
        return -1;
    }

    /**
     * What the holder says of {@code address}, inside the held block at {@code heldAddress}, for
     * {@code Heap.describe}: where it lies against the block it handed out whose slot (the block
     * and the redzones around it) holds it, and that block's history
     * ({@link SanitizerReports#locatedInHandedOut}). With the same limits as {@link #tally}.
     *
     * @return the lines, or null if no block it handed out from there has its slot at {@code address}
     */
    default String describeAt(long heldAddress, long address) {
        return null;
    }

    /**
     * Verifies the redzones the holder keeps around the blocks it handed out from inside the held
     * block at {@code heldAddress}, for {@code Heap.check()}: each damage reported once, the canaries
     * put back. Called on the checking thread, which the heap's check asks to be the only one using
     * the heap; the holder takes its own lock, if it has one. Unlike {@link #tally}, it reads the
     * blocks' memory.
     *
     * @return the report of the first damage, with every other damage it found suppressed in it,
     *     or null if there is none, the holder keeps no redzones, or it no longer holds that block
     */
    default MemoryMisuseException damagedRedzones(long heldAddress) {
        return null;
    }
}
