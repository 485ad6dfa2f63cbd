package org.malloc4j.internal;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The records of the blocks a checked heap freed last, by the address each started at: what names
 * a double free after the block left quarantine, and what a report or {@code Heap.describe} tells
 * of an address inside a freed block, also once other blocks took its memory. At most
 * {@code capacity} are kept; the one freed longest ago goes first, and a later free at the same
 * address replaces the record there (and counts as the latest free). A record whose block is still
 * in quarantine is kept past that, until the block leaves: a double free of it names both stacks
 * however many frees came since, as the quarantine keeps its memory from reuse for as long.
 *
 * <p>Each record is also filed under every 64 KiB of address space its memory (redzones included)
 * touches, and a record wider than {@link #WIDE} in a short list of its own, so that the freed
 * block around an address is found among the records filed there: reading all of them took about
 * half a millisecond for 65,536, holding up the heap's checked frees meanwhile. Thread-safe: one
 * lock, held for a map operation.
 */
final class FreedRecords {
    private static final int SHIFT = 16;
    /** Wider records go in {@link #wide} instead of one list per 64 KiB they touch: a few, large blocks. */
    private static final long WIDE = 32L << 20;

    /** The records in the order of their frees, for eviction. */
    private final LinkedHashMap<Long, Freed> byAge;
    /**
     * Records past the capacity whose blocks were in quarantine when they would have gone, in the
     * order of their frees: the quarantine lets blocks go oldest first, so the oldest here go first.
     */
    private final LinkedHashMap<Long, Freed> pinned = new LinkedHashMap<>();
    /** The records filed under each 64 KiB of address space they touch, by its number (address >> 16). */
    private final Map<Long, List<Freed>> byRange = new HashMap<>();
    private final List<Freed> wide = new ArrayList<>();
    private long sequence;

    /**
     * One record and when it was put, to tell the latest of overlapping ones. Equal only to itself:
     * a record class's equals links through a class of the JDK's at its first call, and one whose
     * initialization met a full Java heap fails every later call in the process, which left a free
     * claimed and still live.
     */
    private static final class Freed {
        final BlockRecord block;
        final long sequence;

        Freed(BlockRecord block, long sequence) {
            this.block = block;
            this.sequence = sequence;
        }

        long end() {
            return block.base + block.span;
        }
    }

    FreedRecords(int capacity) {
        this.byAge = new LinkedHashMap<>(1024, 0.75f, false) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Long, Freed> eldest) {
                if (size() <= capacity) {
                    return false;
                }
                Freed oldest = eldest.getValue();
                if (oldest.block.quarantined) {
                    pinned.put(eldest.getKey(), oldest);
                } else {
                    unfile(oldest);
                }
                return true;
            }
        };
    }

    /** Remembers {@code block}, freed, as the latest free at its address; forgets the oldest past the capacity. */
    synchronized void put(BlockRecord block) {
        // Out first, so that the new record goes to the back of the eviction order.
        Freed previous = byAge.remove(block.address);
        if (previous == null) {
            previous = pinned.remove(block.address);
        }
        if (previous != null) {
            unfile(previous);
        }
        unpinReleased();
        Freed freed = new Freed(block, sequence++);
        try {
            file(freed);
            byAge.put(block.address, freed);
        } catch (OutOfMemoryError e) {
            // No room on the Java heap for the record: none of it stays filed (unfile takes it
            // out of whatever lists it reached).
            unfile(freed);
            throw e;
        }
    }

    /** @return the record of the latest freed block that started at {@code address}, or null */
    synchronized BlockRecord get(long address) {
        Freed freed = byAge.get(address);
        if (freed == null) {
            freed = pinned.get(address);
        }
        return freed == null ? null : freed.block;
    }

    /** Forgets {@code block}'s record if it is the one at its address: its free was undone. */
    synchronized void remove(BlockRecord block) {
        Freed freed = byAge.get(block.address);
        if (freed != null && freed.block == block) {
            byAge.remove(block.address);
            unfile(freed);
        }
        freed = pinned.get(block.address);
        if (freed != null && freed.block == block) {
            pinned.remove(block.address);
            unfile(freed);
        }
    }

    /** Forgets the oldest pinned records whose blocks have left quarantine since. */
    synchronized void unpinReleased() {
        for (var oldest = pinned.values().iterator(); oldest.hasNext(); ) {
            Freed freed = oldest.next();
            if (freed.block.quarantined) {
                return;
            }
            oldest.remove();
            unfile(freed);
        }
    }

    /**
     * @return the latest freed block remembered whose memory, redzones included, held
     *     {@code address}, or null
     */
    synchronized BlockRecord around(long address) {
        Freed latest = latest(null, byRange.get(address >> SHIFT), address);
        latest = latest(latest, wide, address);
        return latest == null ? null : latest.block;
    }

    private static Freed latest(Freed latest, List<Freed> candidates, long address) {
        if (candidates != null) {
            for (Freed candidate : candidates) {
                if (address >= candidate.block.base && address < candidate.end()
                        && (latest == null || candidate.sequence > latest.sequence)) {
                    latest = candidate;
                }
            }
        }
        return latest;
    }

    private void file(Freed freed) {
        if (freed.block.span > WIDE) {
            wide.add(freed);
            return;
        }
        for (long range = freed.block.base >> SHIFT; range <= (freed.end() - 1) >> SHIFT; range++) {
            // No lambda (see StackCapture.BELOW): a checked heap's frees come here.
            List<Freed> freeds = byRange.get(range);
            if (freeds == null) {
                freeds = new ArrayList<>(4);
                byRange.put(range, freeds);
            }
            freeds.add(freed);
        }
    }

    private void unfile(Freed freed) {
        if (freed.block.span > WIDE) {
            wide.remove(freed);
            return;
        }
        for (long range = freed.block.base >> SHIFT; range <= (freed.end() - 1) >> SHIFT; range++) {
            List<Freed> filed = byRange.get(range);
            if (filed != null && filed.remove(freed) && filed.isEmpty()) {
                byRange.remove(range);
            }
        }
    }
}
