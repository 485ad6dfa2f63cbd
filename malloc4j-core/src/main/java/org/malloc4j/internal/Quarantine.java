package org.malloc4j.internal;

import java.util.ArrayList;
import java.util.List;

/**
 * Freed blocks held back from reuse, oldest first, capped in bytes (AddressSanitizer's and
 * Valgrind's quarantine), so a dangling pointer keeps pointing at poisoned memory for a while.
 * Guarded by its own monitor.
 */
final class Quarantine {
    private final long capacityBytes;
    private final RingDeque<BlockRecord> blocks = new RingDeque<>();
    private long bytes;
    /** Room {@link #reserve} holds for blocks being freed, not yet {@linkplain #addReserved added}. */
    private long reservedBytes;

    Quarantine(long capacityBytes) {
        this.capacityBytes = capacityBytes;
    }

    /**
     * {@link #makeRoom} for a block about to be freed, holding the room until the block is
     * {@linkplain #addReserved added} or the free {@linkplain #cancel fails}: a free verifies what
     * its block pushes out before it changes anything, so that a report of a block written after
     * its free leaves the caller's block live, and other threads' frees meanwhile cannot push out
     * more for this free to answer for once it is done.
     *
     * @return the blocks pushed out to make room, oldest first, for the caller to verify
     */
    synchronized List<BlockRecord> reserve(long incomingBytes) {
        List<BlockRecord> evicted = makeRoom(incomingBytes);
        if (incomingBytes <= capacityBytes) {
            reservedBytes += incomingBytes;
        }
        return evicted;
    }

    /**
     * Puts a freed block in the room {@link #reserve} held for it.
     *
     * @return false if the block is larger than the whole quarantine: it passes straight through,
     *     as holding it would push out every other block, ending their watch for writes after free
     *     for nothing, and the caller releases it; false too if the Java heap has no room for the
     *     quarantine to grow (the free is done, and must not fail now)
     */
    synchronized boolean addReserved(BlockRecord block) {
        if (block.span > capacityBytes) {
            return false;
        }
        reservedBytes -= block.span;
        try {
            blocks.addLast(block);
        } catch (OutOfMemoryError e) {
            return false;
        }
        block.quarantined = true;
        bytes += block.span;
        return true;
    }

    /** Gives up the room {@link #reserve} held for a block whose free failed. */
    synchronized void cancel(long incomingBytes) {
        if (incomingBytes <= capacityBytes) {
            reservedBytes -= incomingBytes;
        }
    }

    /**
     * Takes out the oldest blocks until {@code incomingBytes} more fit under the cap, so the caller
     * can verify them before it changes anything of its own.
     *
     * @return the blocks taken out, oldest first
     */
    synchronized List<BlockRecord> makeRoom(long incomingBytes) {
        List<BlockRecord> evicted = List.of();
        if (incomingBytes > capacityBytes) {
            // It will not stay (addReserved passes it through), so it needs no room.
            return evicted;
        }
        try {
            while (bytes + reservedBytes + incomingBytes > capacityBytes && !blocks.isEmpty()) {
                if (evicted.isEmpty()) {
                    evicted = new ArrayList<>();
                }
                // Listed before it leaves, so that a list the full Java heap cannot grow loses none.
                evicted.add(blocks.peekFirst());
                BlockRecord oldest = blocks.pollFirst();
                oldest.quarantined = false;
                bytes -= oldest.span;
            }
        } catch (OutOfMemoryError e) {
            // The caller gets no list to release them from: they stay quarantined, oldest still.
            for (int i = evicted.size() - 1; i >= 0; i--) {
                BlockRecord block = evicted.get(i);
                blocks.addFirst(block);
                block.quarantined = true;
                bytes += block.span;
            }
            throw e;
        }
        return evicted;
    }

    synchronized boolean isEmpty() {
        return blocks.isEmpty();
    }

    /** @return how many blocks are quarantined */
    synchronized int size() {
        return blocks.size();
    }

    /** @return every quarantined block, removing none */
    synchronized List<BlockRecord> snapshot() {
        return blocks.toList();
    }

    /** Removes and returns everything (the heap is closing or trimming). */
    synchronized List<BlockRecord> drain() {
        List<BlockRecord> all = snapshot();
        for (BlockRecord block : all) {
            block.quarantined = false;
        }
        blocks.clear();
        bytes = 0;
        return all;
    }
}
