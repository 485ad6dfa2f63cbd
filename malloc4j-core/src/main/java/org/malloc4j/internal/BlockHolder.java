package org.malloc4j.internal;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What holds blocks of a heap on its user's behalf: a scope, bump arena, fixed-size pool or
 * growable array, one instance for each. Reports name it; a leak report tells two holders of one
 * name apart (two pools made in a loop) by the instance, so each holder makes its own. A holder
 * that hands out blocks of its own from inside the blocks it holds (a pool) also tells a leak report
 * which of them are still out.
 */
public final class BlockHolder {
    /**
     * The number the next holder gets: each {@link #made()} call moves it on, so a holder made after
     * that call returns has a higher number. Holders read it, and write nothing shared: a count of
     * holders made took an atomic increment a holder, on one cache line for every thread. With it
     * and the global heap's set of its scopes, two threads opening a scope per 64 B block took 236
     * and 513 ns a scope, 65 and 78 without ({@code CallocBenchmark.malloc4jScope -p size=64 -t 2},
     * two alternated rounds).
     */
    private static final AtomicLong NEXT = new AtomicLong(1);
    private final String name;
    private final HandedOutBlocks handedOut;
    /** When this holder was made, process-wide: the {@link #made()} calls before it, plus 1. */
    private final long number = NEXT.get();

    /**
     * A holder that hands out nothing from inside the blocks it holds, or does not say what.
     *
     * @param name how reports name the holder: {@code FixedSizePool 'nodes'}, {@code a BumpArena}
     */
    public BlockHolder(String name) {
        this(name, null);
    }

    /**
     * @param name how reports name the holder
     * @param handedOut what it tells a leak report of the blocks it handed out from inside those it
     *     holds; null if it hands out none
     */
    public BlockHolder(String name, HandedOutBlocks handedOut) {
        this.name = Objects.requireNonNull(name, "name");
        this.handedOut = handedOut;
    }

    /** @return how reports name the holder */
    public String name() {
        return name;
    }

    /** @return when this holder was made: 1 or more, higher than every {@link #made()} before it */
    long number() {
        return number;
    }

    /**
     * @return a mark in the order the process makes holders: every holder made before this call
     *     has this number or a lower one, every holder made after it returns a higher one
     */
    public static long made() {
        return NEXT.getAndIncrement();
    }

    /** @return what the holder tells a leak report of the blocks it handed out, or null if it hands out none */
    HandedOutBlocks handedOut() {
        return handedOut;
    }

    @Override
    public String toString() {
        return name;
    }
}
