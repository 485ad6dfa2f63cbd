package org.malloc4j.internal;

import java.lang.foreign.Arena;

/**
 * Closes the JDK arenas behind the heap's memory, which the JDK refuses to close while a downcall
 * holds one of their segments ("Session is acquired"): a native function a program called with a
 * block, or the heap's own memset zeroing a calloc's block ({@link Os#zero}). Waiting a little lets
 * the heap's own downcalls, and short ones of the program's, return first.
 */
final class HeldArenas {
    /**
     * How long a free of a huge block, or a purge of an empty region, waits before it leaves the
     * memory as it is.
     */
    static final long RELEASE_WAIT_NANOS = 10_000_000;
    /**
     * How long closing the heap waits, in all: longer, since a calloc racing the close holds its
     * block's arena while its memset runs, and on a machine with more busy threads than processors
     * that thread can wait tens of milliseconds to run (1 close in 40 gave up at 10 ms, 8 threads
     * calloc-ing 3 MiB blocks on 2 processors). A close that finds no downcall never waits.
     */
    static final long HEAP_CLOSE_WAIT_NANOS = 250_000_000;

    private HeldArenas() {
    }

    /** @return the deadline ({@link System#nanoTime}) of a heap's close that begins now */
    static long heapCloseDeadline() {
        return System.nanoTime() + HEAP_CLOSE_WAIT_NANOS;
    }

    /**
     * Closes {@code arena}, waiting up to {@code waitNanos} while a downcall holds it.
     *
     * @return whether this call closed it: false if a downcall still held it after the wait, or
     *     it was closed already (by a close racing the caller)
     */
    static boolean closeWithin(Arena arena, long waitNanos) {
        return closeBy(arena, System.nanoTime() + waitNanos);
    }

    /**
     * Closes {@code arena}, waiting until {@code deadline} ({@link System#nanoTime}) while a
     * downcall holds it.
     *
     * @return whether this call closed it: false if a downcall still held it at the deadline, or
     *     it was closed already (by a close racing the caller)
     */
    static boolean closeBy(Arena arena, long deadline) {
        while (true) {
            try {
                arena.close();
                return true;
            } catch (IllegalStateException heldOrClosed) {
                if (!arena.scope().isAlive() || System.nanoTime() - deadline >= 0) {
                    return false;
                }
                Thread.yield();
            }
        }
    }
}
