package org.malloc4j.internal;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The records of the blocks a checked heap freed last, by the address each started at: what names
 * a double free after the block left quarantine, and what a report or {@code Heap.describe} tells
 * of an address inside a freed block, also once other blocks took its memory. At most
 * {@code capacity} are kept; the one freed longest ago goes first, and a later free at the same
 * address replaces it.
 *
 * <p>Kept in address order, so that the freed block around an address is found among its
 * neighbours: reading every record took about half a millisecond for 65,536 of them, holding up
 * the heap's checked frees meanwhile. Thread-safe: one lock, held for a map operation or a short
 * walk.
 */
final class FreedRecords {
    /**
     * How many records below an address a search for the block around it reads at most: freed
     * blocks overlap only where memory was handed out again, so the one around an address is
     * among the first below it unless its memory was reused by that many blocks, freed since.
     */
    private static final int NEIGHBOURS = 64;

    private final TreeMap<Long, Freed> byAddress = new TreeMap<>();
    /** The same records in the order they were put, for eviction, as the heap always kept them. */
    private final LinkedHashMap<Long, Freed> byAge;
    private long sequence;

    /** One record and when it was put, to tell the latest of overlapping ones. */
    private record Freed(BlockRecord block, long sequence) {
    }

    FreedRecords(int capacity) {
        this.byAge = new LinkedHashMap<>(1024, 0.75f, false) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Long, Freed> eldest) {
                if (size() <= capacity) {
                    return false;
                }
                byAddress.remove(eldest.getKey());
                return true;
            }
        };
    }

    /** Remembers {@code block}, freed, by its address; forgets the oldest record past the capacity. */
    synchronized void put(BlockRecord block) {
        Freed freed = new Freed(block, sequence++);
        byAddress.put(block.address, freed);
        byAge.put(block.address, freed);
    }

    /** @return the record of the freed block that started at {@code address}, or null */
    synchronized BlockRecord get(long address) {
        Freed freed = byAddress.get(address);
        return freed == null ? null : freed.block;
    }

    /** Forgets {@code block}'s record if it is the one at its address: its free was undone. */
    synchronized void remove(BlockRecord block) {
        Freed freed = byAddress.get(block.address);
        if (freed != null && freed.block == block) {
            byAddress.remove(block.address);
            byAge.remove(block.address);
        }
    }

    /**
     * @return the latest freed block remembered whose memory, redzones included, held
     *     {@code address}, or null
     */
    synchronized BlockRecord around(long address) {
        Freed latest = null;
        // A front redzone lies below its block's address: the blocks just above may hold it.
        Map.Entry<Long, Freed> entry = byAddress.higherEntry(address);
        for (int i = 0; entry != null && i < NEIGHBOURS && entry.getValue().block.base <= address; i++) {
            latest = later(latest, entry.getValue(), address);
            entry = byAddress.higherEntry(entry.getKey());
        }
        entry = byAddress.floorEntry(address);
        for (int i = 0; entry != null && i < NEIGHBOURS; i++) {
            latest = later(latest, entry.getValue(), address);
            entry = byAddress.lowerEntry(entry.getKey());
        }
        return latest == null ? null : latest.block;
    }

    private static Freed later(Freed latest, Freed candidate, long address) {
        BlockRecord block = candidate.block;
        boolean holds = address >= block.base && address < block.base + block.span;
        return holds && (latest == null || candidate.sequence > latest.sequence) ? candidate : latest;
    }
}
