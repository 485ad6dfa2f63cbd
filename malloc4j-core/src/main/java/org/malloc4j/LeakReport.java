package org.malloc4j;

import java.util.List;
import java.util.Objects;
import org.malloc4j.internal.BlockHolder;

/**
 * Blocks still live in a checked heap, grouped by allocation site as LeakSanitizer groups them.
 * In {@link CheckMode#SAMPLED} mode only sampled blocks appear; in {@link CheckMode#FAST} mode
 * no block has a recorded site, so the report is always empty.
 *
 * <p>A block that a scope, bump arena, fixed-size pool or growable array holds (a pool's page, an
 * arena's chunk, an array's storage) is reported whole, with its holder: such a leak is a holder
 * left open, which its {@code close()} would have freed. Of a pool's pages, the report also says
 * which of the pool's blocks inside them are still handed out ({@link Site#handedOut()}), by where
 * they were taken: the program's own {@link FixedSizePool#allocate()} calls that leaked.
 *
 * <p>A report is immutable, and may be read on any thread. It is a snapshot taken while other
 * threads may go on using the heap, as {@link Heap#leaks()} says.
 *
 * @param blocks live blocks found
 * @param bytes their requested bytes in total
 * @param sites one entry per distinct allocation stack and holder name (pools of one name made at
 *     one place, say in a loop, share an entry, which counts them), largest first
 * @param text the report, LeakSanitizer's layout; empty when there are no leaks
 */
public record LeakReport(long blocks, long bytes, List<Site> sites, String text) {
    /**
     * Keeps an immutable copy of {@code sites}.
     *
     * @throws NullPointerException if {@code sites} or {@code text} is null, or {@code sites} holds null
     * @throws IllegalArgumentException if {@code blocks} or {@code bytes} is not the sum of the
     *     sites' (so an empty report has no site), if those sums overflow a {@code long}, or if
     *     there is no site and {@code text} is not empty
     */
    public LeakReport {
        sites = List.copyOf(Objects.requireNonNull(sites, "sites"));
        Objects.requireNonNull(text, "text");
        long siteBlocks = 0;
        long siteBytes = 0;
        try {
            for (Site site : sites) {
                siteBlocks = Math.addExact(siteBlocks, site.blocks());
                siteBytes = Math.addExact(siteBytes, site.bytes());
            }
        } catch (ArithmeticException overflow) {
            throw new IllegalArgumentException("the sites' blocks or bytes add up past Long.MAX_VALUE");
        }
        if (blocks != siteBlocks || bytes != siteBytes) {
            throw new IllegalArgumentException("blocks and bytes must be the sums of the sites' (" + siteBlocks
                    + " blocks, " + siteBytes + " bytes): blocks=" + blocks + ", bytes=" + bytes);
        }
        if (sites.isEmpty() && !text.isEmpty()) {
            throw new IllegalArgumentException("a report with no site has no text: text=" + text);
        }
    }

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
     * @param poolPages whether these blocks are a {@link FixedSizePool}'s pages, of which the report
     *     says which of the pool's blocks are still handed out; false for every other site
     * @param handedOut when {@code poolPages}, the pool's blocks inside these pages that were handed
     *     out and not given back, grouped by where they were taken and by block size (the pages of
     *     pools of one name, made at one place, share a site, and their blocks may differ in size),
     *     largest first, the blocks whose take was not recorded last, a group for each block size;
     *     empty when none is handed out (the pages are only held by the pool left open), and always
     *     empty when not {@code poolPages}
     * @param newestHolder the number of the newest of the holders: the process numbers scopes,
     *     arenas, pools and growable arrays from 1 by when it makes them, and each
     *     {@link #holdersMade()} call moves the numbers on, so a test harness that took that mark
     *     before a test tells the holders the test made (above it) from those it shares with other
     *     tests (at or below it),
     *     whose memory may grow during the test without the test leaking it; 0 for blocks of the
     *     heap's own API, and when not known
     */
    public record Site(long blocks, long bytes, List<StackTraceElement> stack, String heldBy, long holders,
            boolean poolPages, List<HandedOut> handedOut, long newestHolder) {
        /**
         * Keeps immutable copies of {@code stack} and {@code handedOut}.
         *
         * @throws NullPointerException if {@code stack}, {@code heldBy} or {@code handedOut} is null,
         *     or a list holds null
         * @throws IllegalArgumentException if {@code blocks < 1}, {@code bytes < 0},
         *     {@code holders < 0} or {@code newestHolder < 0}, if {@code handedOut} is not empty but
         *     {@code poolPages} is false, or if {@code newestHolder} is not 0 but {@code holders} is
         */
        public Site {
            stack = List.copyOf(Objects.requireNonNull(stack, "stack"));
            Objects.requireNonNull(heldBy, "heldBy");
            handedOut = List.copyOf(Objects.requireNonNull(handedOut, "handedOut"));
            if (blocks < 1 || bytes < 0 || holders < 0 || newestHolder < 0) {
                throw new IllegalArgumentException("blocks must be positive, bytes, holders and newestHolder not "
                        + "negative: blocks=" + blocks + ", bytes=" + bytes + ", holders=" + holders
                        + ", newestHolder=" + newestHolder);
            }
            if (!poolPages && !handedOut.isEmpty()) {
                throw new IllegalArgumentException("only pool pages have blocks handed out: " + handedOut);
            }
            if (holders == 0 && newestHolder != 0) {
                throw new IllegalArgumentException("blocks no holder holds have no newest holder: " + newestHolder);
            }
        }

        /**
         * A site whose holders' numbers are not known ({@code newestHolder} 0), as sites were before
         * reports numbered holders.
         *
         * @param blocks how many blocks leaked from here
         * @param bytes their requested bytes
         * @param stack the allocation stack, innermost frame first
         * @param heldBy what holds the blocks, as reports name it; empty for blocks of the heap's own API
         * @param holders how many holders of that name hold the blocks; 0 for blocks of the heap's own API
         * @param poolPages whether these blocks are a {@link FixedSizePool}'s pages
         * @param handedOut when {@code poolPages}, the pool's blocks inside these pages still handed out
         * @throws NullPointerException if {@code stack}, {@code heldBy} or {@code handedOut} is null,
         *     or a list holds null
         * @throws IllegalArgumentException if {@code blocks < 1}, {@code bytes < 0} or
         *     {@code holders < 0}, or if {@code handedOut} is not empty but {@code poolPages} is false
         */
        public Site(long blocks, long bytes, List<StackTraceElement> stack, String heldBy, long holders,
                boolean poolPages, List<HandedOut> handedOut) {
            this(blocks, bytes, stack, heldBy, holders, poolPages, handedOut, 0);
        }

        /**
         * A site of blocks whose holder hands out none of its own from inside them (every holder but a
         * pool), as sites were before reports said which of a pool's blocks are handed out: neither
         * {@code poolPages} nor any {@code handedOut}.
         *
         * @param blocks how many blocks leaked from here
         * @param bytes their requested bytes
         * @param stack the allocation stack, innermost frame first
         * @param heldBy what holds the blocks, as reports name it; empty for blocks of the heap's own API
         * @param holders how many holders of that name hold the blocks; 0 for blocks of the heap's own API
         * @throws NullPointerException if {@code stack} or {@code heldBy} is null, or {@code stack} holds null
         * @throws IllegalArgumentException if {@code blocks < 1}, {@code bytes < 0} or {@code holders < 0}
         */
        public Site(long blocks, long bytes, List<StackTraceElement> stack, String heldBy, long holders) {
            this(blocks, bytes, stack, heldBy, holders, false, List.of());
        }

        /**
         * A site of blocks of the heap's own API, which nothing holds.
         *
         * @param blocks how many blocks leaked from here, 1 or more
         * @param bytes their requested bytes, 0 or more
         * @param stack the allocation stack, innermost frame first
         * @throws NullPointerException if {@code stack} is null or holds null
         * @throws IllegalArgumentException if {@code blocks < 1} or {@code bytes < 0}
         */
        public Site(long blocks, long bytes, List<StackTraceElement> stack) {
            this(blocks, bytes, stack, "", 0);
        }

        /** @return how many of the holder's blocks are still handed out, the sum of {@link #handedOut()}'s */
        public long handedOutBlocks() {
            return handedOut.stream().mapToLong(HandedOut::blocks).sum();
        }

        /** @return their bytes, the sum of {@link #handedOut()}'s */
        public long handedOutBytes() {
            return handedOut.stream().mapToLong(HandedOut::bytes).sum();
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

    /**
     * A mark in the order the process makes holders (scopes, bump arenas, fixed-size pools, growable
     * arrays, whatever their heap): every holder made before this call has this
     * {@linkplain Site#newestHolder number} or a lower one, and every holder made after it returns
     * a higher one. Each call moves the numbers on. Thread-safe.
     *
     * @return the mark, 1 or more
     */
    public static long holdersMade() {
        return BlockHolder.made();
    }

    /**
     * Blocks a holder handed out from inside a site's blocks (a pool's blocks, from its pages) and
     * did not get back, taken at one place, or taken where nothing recorded it.
     *
     * @param blocks how many, at least 1
     * @param bytes their bytes: their count times the size the holder hands its blocks out at
     *     ({@link FixedSizePool#blockByteSize()}), one size for a group the heap reports
     * @param stack where they were taken, innermost frame first, malloc4j's own frames left out;
     *     empty when not {@code recorded}, and for a take recorded on a thread with no frame
     *     outside malloc4j (a native thread calling in through an upcall)
     * @param recorded whether the holder recorded where these blocks were taken: false for the one
     *     group of blocks it did not record, which {@link CheckMode#SAMPLED} mode leaves out of its
     *     sample (and a block taken on another thread at the moment the report read its pool, see
     *     {@link Heap#leaks()})
     */
    public record HandedOut(long blocks, long bytes, List<StackTraceElement> stack, boolean recorded) {
        /**
         * Keeps an immutable copy of {@code stack}.
         *
         * @throws NullPointerException if {@code stack} is null or holds null
         * @throws IllegalArgumentException if {@code blocks < 1}, {@code bytes < 0}, or {@code stack}
         *     is not empty when not {@code recorded}
         */
        public HandedOut {
            stack = List.copyOf(stack);
            if (blocks < 1 || bytes < 0) {
                throw new IllegalArgumentException("blocks must be positive and bytes not negative: blocks="
                        + blocks + ", bytes=" + bytes);
            }
            if (!recorded && !stack.isEmpty()) {
                throw new IllegalArgumentException("a take that was not recorded has no stack: " + stack);
            }
        }
    }

    /** @return whether nothing leaked */
    public boolean isEmpty() {
        return blocks == 0;
    }

    /**
     * @return the report's {@link #text()}, LeakSanitizer's layout, so that printing a report shows
     *     the report; when it is empty, {@code "no leaks recorded"} and which blocks a heap records
     *     (a heap in {@link CheckMode#FAST} mode records none, so its report is always empty)
     */
    @Override
    public String toString() {
        return text.isEmpty() ? "no leaks recorded (a heap records the blocks it checks: in FULL mode all,"
                + " in SAMPLED mode the sampled ones, in FAST mode none)" : text;
    }
}
