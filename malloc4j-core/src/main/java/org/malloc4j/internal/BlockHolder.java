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
    /** How many holders the process has made: the last one's {@link #number}. */
    private static final AtomicLong MADE = new AtomicLong();
    private final String name;
    private final HandedOutBlocks handedOut;
    /** This holder's place in the order holders are made, process-wide, from 1. */
    private final long number = MADE.incrementAndGet();

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

    /** @return this holder's place in the order the process made holders, from 1 */
    long number() {
        return number;
    }

    /** @return how many holders the process has made so far: the number of the latest */
    public static long made() {
        return MADE.get();
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
