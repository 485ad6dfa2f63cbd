package org.malloc4j;

import java.util.List;

/**
 * Blocks still live in a checked heap, grouped by allocation site as LeakSanitizer groups them.
 * In {@link CheckMode#SAMPLED} mode only sampled blocks appear; in {@link CheckMode#FAST} mode
 * no block has a recorded site, so the report is always empty.
 *
 * <p>A block that a scope, bump arena, fixed-size pool or growable array holds (a pool's page, an
 * arena's chunk, an array's storage) is reported whole, with its holder: such a leak is a holder
 * left open, which its {@code close()} would have freed.
 *
 * @param blocks live blocks found
 * @param bytes their requested bytes in total
 * @param sites one entry per distinct allocation stack and holder name (pools of one name made at
 *     one place, say in a loop, share an entry, which counts them), largest first
 * @param text the report, LeakSanitizer's layout; empty when there are no leaks
 */
public record LeakReport(long blocks, long bytes, List<Site> sites, String text) {
    /**
     * One allocation site's leaks.
     *
     * @param blocks how many blocks leaked from here
     * @param bytes their requested bytes
     * @param stack the allocation stack, innermost frame first, malloc4j's own frames left out
     * @param heldBy what holds the blocks, as reports name it ({@code FixedSizePool 'nodes'},
     *     {@code a BumpArena}, {@code a heap scope}, {@code a NativeLongArray}); empty for blocks
     *     of the heap's own API
     * @param holders how many holders of that name hold the blocks (arrays made in a loop are many);
     *     0 for blocks of the heap's own API
     */
    public record Site(long blocks, long bytes, List<StackTraceElement> stack, String heldBy, long holders) {
        /** A site of blocks of the heap's own API, which nothing holds. */
        public Site(long blocks, long bytes, List<StackTraceElement> stack) {
            this(blocks, bytes, stack, "", 0);
        }

        /**
         * @return the words a report puts after a leak's object count: empty for blocks of the
         *     heap's own API, else who holds them, left open
         */
        public String heldByWords() {
            if (heldBy.isEmpty()) {
                return "";
            }
            return holders > 1
                    ? " held by " + holders + " holders named " + heldBy
                            + ", none of them closed (closing them frees them),"
                    : " held by " + heldBy + ", which was not closed (closing it frees them),";
        }
    }

    /** @return whether nothing leaked */
    public boolean isEmpty() {
        return blocks == 0;
    }
}
