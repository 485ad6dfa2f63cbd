package org.malloc4j.internal;

import java.lang.ref.Reference;
import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Keeps each distinct stack that checked mode records once, shared by every record of it:
 * AddressSanitizer's stack depot (compiler-rt's {@code sanitizer_stackdepot}), which stores the
 * stacks of allocations and frees by hash so that a million blocks allocated at one line cost one
 * stack. A captured stack of 24 frames is about 1.2 KiB of Java heap (its {@link StackTraceElement}s
 * and their array); without the depot each block record kept its own copy.
 *
 * <p>One depot serves the process ({@link #capture}): a stack is a fact of the program's code, the
 * same for every heap. Unlike the sanitizer's, it holds its stacks weakly: a stack goes once no
 * record holds it, so a long run that passes through ever new stacks (a test suite, say) keeps only
 * those of its live and recently freed blocks, about 70 bytes of the depot's own for each.
 * Thread-safe; threads interning one stack at once all get the same array.
 *
 * <p>A kept stack holds no {@link Class}: a {@code StackTraceElement} made by a
 * {@link StackWalker} drops its class once it has worked out its text, so the depot keeps no class
 * loader alive either way.
 */
public final class StackDepot {
    private static final StackDepot PROCESS = new StackDepot();

    /** Each kept stack, by itself: a {@link Probe} finds it by its frames. */
    private final ConcurrentHashMap<Object, Kept> stacks = new ConcurrentHashMap<>();
    private final ReferenceQueue<StackTraceElement[]> cleared = new ReferenceQueue<>();
    /**
     * Taken, by hash, to add a stack: the map's keys are equal only to themselves, so its own atomic
     * inserts cannot tell that another thread is adding the same frames. Only new stacks take one.
     */
    private final Object[] adding = new Object[64];

    StackDepot() {
        for (int i = 0; i < adding.length; i++) {
            adding[i] = new Object();
        }
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
     * @return the depot's array of the same frames, or {@code stack} itself, which the depot keeps
     *     from now on
     */
    StackTraceElement[] intern(StackTraceElement[] stack) {
        forgetCleared();
        Probe probe = new Probe(stack, Arrays.hashCode(stack));
        while (true) {
            Kept kept = stacks.get(probe);
            if (kept == null) {
                synchronized (adding[probe.hash & (adding.length - 1)]) {
                    kept = stacks.get(probe);
                    if (kept == null) {
                        Kept fresh = new Kept(stack, probe.hash, cleared);
                        stacks.put(fresh, fresh);
                        return stack;
                    }
                }
            }
            StackTraceElement[] frames = kept.get();
            if (frames != null) {
                return frames;
            }
            // Collected, and not yet taken off the queue.
            stacks.remove(kept, kept);
        }
    }

    /** @return how many stacks the depot keeps now, those collected but not yet forgotten among them */
    int size() {
        return stacks.size();
    }

    private void forgetCleared() {
        for (Reference<? extends StackTraceElement[]> gone; (gone = cleared.poll()) != null; ) {
            stacks.remove(gone, gone);
        }
    }

    /** A kept stack, weakly, and its own key: equal only to itself, and to a {@link Probe} of its frames. */
    private static final class Kept extends WeakReference<StackTraceElement[]> {
        final int hash;

        Kept(StackTraceElement[] stack, int hash, ReferenceQueue<StackTraceElement[]> cleared) {
            super(stack, cleared);
            this.hash = hash;
        }

        @Override
        public boolean equals(Object other) {
            return other == this;
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }

    /** A lookup by frames: the map compares the key it is given with the keys it holds. */
    private record Probe(StackTraceElement[] frames, int hash) {
        @Override
        public boolean equals(Object other) {
            return other instanceof Kept kept && kept.hash == hash && Arrays.equals(frames, kept.get());
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }
}
