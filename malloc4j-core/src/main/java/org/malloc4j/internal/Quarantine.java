package org.malloc4j.internal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Freed blocks held back from reuse, oldest first, capped in bytes (AddressSanitizer's and
 * Valgrind's quarantine), so a dangling pointer keeps pointing at poisoned memory for a while.
 * Guarded by its own monitor.
 */
final class Quarantine {
    private final long capacityBytes;
    private final ArrayDeque<BlockRecord> blocks = new ArrayDeque<>();
    private long bytes;

    Quarantine(long capacityBytes) {
        this.capacityBytes = capacityBytes;
    }

    /**
     * Adds a freed block. A block larger than the whole quarantine passes straight through: holding
     * it would push out every other block, ending their watch for writes after free for nothing.
     *
     * @return the blocks pushed out to make room, oldest first, or the block itself if it does not fit
     */
    synchronized List<BlockRecord> add(BlockRecord block) {
        if (block.span > capacityBytes) {
            return List.of(block);
        }
        blocks.addLast(block);
        bytes += block.span;
        return makeRoom(0);
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
            // It will not stay (add), so it needs no room.
            return evicted;
        }
        while (bytes + incomingBytes > capacityBytes && !blocks.isEmpty()) {
            if (evicted.isEmpty()) {
                evicted = new ArrayList<>();
            }
            BlockRecord oldest = blocks.pollFirst();
            bytes -= oldest.span;
            evicted.add(oldest);
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
        return new ArrayList<>(blocks);
    }

    /** Removes and returns everything (the heap is closing or trimming). */
    synchronized List<BlockRecord> drain() {
        List<BlockRecord> all = new ArrayList<>(blocks);
        blocks.clear();
        bytes = 0;
        return all;
    }
}
