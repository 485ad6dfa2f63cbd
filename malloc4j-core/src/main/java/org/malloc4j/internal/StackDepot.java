package org.malloc4j.internal;

import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Keeps each distinct stack that checked mode records once, shared by every record of it:
 * AddressSanitizer's stack depot (compiler-rt's {@code sanitizer_stackdepot}), which stores the
 * stacks of allocations and frees by hash so that a million blocks allocated at one line cost one
 * stack. A captured stack of 24 frames is about 1.2 KiB of Java heap (its {@link StackTraceElement}s
 * and their array); without the depot each block record kept its own copy.
 *
 * <p>One depot serves the process ({@link #capture}), never emptied, as the sanitizer's is: a stack
 * is a fact of the program's code, the same for every heap. At most {@value #MAX_STACKS} stacks are
 * kept (about 20 MiB of the Java heap at 24 frames each); past that, a new stack is recorded as
 * captured, unshared, so the depot never grows without bound when a program's stacks do (deep
 * recursion, say). The size check and the insert are not one step, so racing threads may take it a
 * few stacks past the bound. Thread-safe.
 *
 * <p>A kept stack holds no {@link Class}: a {@code StackTraceElement} made by a
 * {@link StackWalker} drops its class once it has worked out its text, so the depot keeps no class
 * loader alive.
 */
public final class StackDepot {
    /** The most distinct stacks the process's depot keeps. */
    static final int MAX_STACKS = 16_384;
    private static final StackDepot PROCESS = new StackDepot(MAX_STACKS);

    private final ConcurrentHashMap<Key, StackTraceElement[]> stacks = new ConcurrentHashMap<>();
    private final int maxStacks;

    /** @param maxStacks the most distinct stacks to keep (the process's depot: {@value #MAX_STACKS}) */
    StackDepot(int maxStacks) {
        this.maxStacks = maxStacks;
    }

    /**
     * @return the calling thread's stack below malloc4j, as {@link StackCapture#capture} gives it,
     *     for a record that outlives the call: the depot's array when it holds the same stack
     */
    public static StackTraceElement[] capture() {
        return PROCESS.intern(StackCapture.capture());
    }

    /**
     * @param stack a captured stack, never changed afterwards
     * @return the depot's array of the same frames, {@code stack} itself if the depot took it now, or
     *     {@code stack} unshared when the depot is full
     */
    StackTraceElement[] intern(StackTraceElement[] stack) {
        Key key = new Key(stack);
        StackTraceElement[] kept = stacks.get(key);
        if (kept != null) {
            return kept;
        }
        if (stacks.size() >= maxStacks) {
            return stack;
        }
        kept = stacks.putIfAbsent(key, stack);
        return kept != null ? kept : stack;
    }

    /** @return how many distinct stacks the depot keeps now */
    int size() {
        return stacks.size();
    }

    /** A stack compared by its frames; its hash worked out once, not at every probe of a resize. */
    private static final class Key {
        final StackTraceElement[] frames;
        final int hash;

        Key(StackTraceElement[] frames) {
            this.frames = frames;
            this.hash = Arrays.hashCode(frames);
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Key key && key.hash == hash && Arrays.equals(key.frames, frames);
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }
}
