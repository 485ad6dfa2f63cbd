package org.malloc4j;

import java.lang.foreign.Arena;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;
import org.malloc4j.internal.SanitizerReports;

/**
 * How a scope or bump arena closes its JDK arena, whose close runs the cleanup actions attached to
 * its segments ({@code segment.reinterpret(n, arena, cleanup)}), and then gives its blocks back.
 * <ul>
 * <li>The JDK refuses to close an arena a downcall is using: nothing changes, and the holder says
 *     so instead of the JDK's "Session is acquired".
 * <li>A cleanup action that throws leaves the JDK arena closed: the blocks go back all the same,
 *     so that the holder and its heap can close, and what the cleanup threw is thrown as it is,
 *     even a checked exception (a cleanup action in Kotlin, say), with any report of a damaged
 *     block suppressed in it.
 * <li>A cleanup action that closes the holder again returns at once: it is part of the close
 *     under way, not a second close, so it gets no "already closed" in the middle of its own
 *     work. The blocks go back only once every cleanup action has run, since the later ones may
 *     still read theirs through the segments the JDK hands them; a report of a damaged block is
 *     then thrown by the close under way, not into a cleanup action, which could swallow it. (A
 *     cleanup action's close of the heap waits for the close under way likewise: see
 *     {@link ClosesUnderWay}.)
 * </ul>
 * A shared holder calls it under its lock, which {@link #close} lets go while the cleanup actions
 * run: one that waits for another thread using the holder (its {@code allocate} is refused at once,
 * as a JDK shared arena's is) must not deadlock. A confined holder calls it on its own thread.
 */
final class ArenaClosing {
    /** The shared holder's lock, or null. */
    private final ReentrantLock lock;
    /** While {@link #close} closes the JDK arena, whose cleanup actions may call the holder again. */
    private boolean closing;
    /** The thread whose {@link #close} is closing the JDK arena, or null. */
    private Thread closer;

    /** For a confined holder. */
    ArenaClosing() {
        this(null);
    }

    /** @param lock the shared holder's lock, held by every caller of this object's methods */
    ArenaClosing(ReentrantLock lock) {
        this.lock = lock;
    }

    /** @return whether the holder's close is running the cleanup actions: no block may be added now */
    boolean isClosing() {
        return closing;
    }

    /** @return the thread whose close of the holder runs the cleanup actions now, or null */
    Thread closer() {
        return closer;
    }

    /**
     * @param holder how messages name the holder: {@code "this scope"}
     * @param closed whether the holder has given its blocks back
     * @param release gives the holder's blocks back and marks it closed
     */
    void close(Arena inner, String holder, BooleanSupplier closed, Runnable release) {
        if (closing) {
            if (closer != Thread.currentThread()) {
                throw new IllegalStateException(holder + " is being closed by " + SanitizerReports.thread(closer));
            }
            return;
        }
        Throwable thrown = null;
        closing = true;
        closer = Thread.currentThread();
        try {
            closeUnlocked(inner);
        } catch (Throwable e) {
            // Any Throwable: a cleanup action in Kotlin, say, may throw a checked exception.
            thrown = e;
        } finally {
            closing = false;
            closer = null;
        }
        if (thrown != null && inner.scope().isAlive()) {
            // The JDK refused, so no cleanup action ran, and nothing changed.
            throw thrown instanceof IllegalStateException refusal
                    ? new IllegalStateException(holder + " is not closed: a downcall is using one of its segments;"
                            + " nothing changed, so close it again after the downcall returns", refusal)
                    : rethrow(thrown);
        }
        Throwable damage = closed.getAsBoolean() ? null : releasing(release);
        if (thrown == null) {
            thrown = damage;
        } else if (damage != null) {
            thrown = SanitizerReports.rideAlong(thrown, damage);
        }
        if (thrown != null) {
            throw rethrow(thrown);
        }
    }

    /** Closes the JDK arena, running its cleanup actions, without the shared holder's lock. */
    private void closeUnlocked(Arena inner) {
        int holds = lock == null ? 0 : lock.getHoldCount();
        for (int i = 0; i < holds; i++) {
            lock.unlock();
        }
        try {
            inner.close();
        } finally {
            for (int i = 0; i < holds; i++) {
                lock.lock();
            }
        }
    }

    /** @return what giving the blocks back threw, or null */
    private static Throwable releasing(Runnable release) {
        try {
            release.run();
            return null;
        } catch (RuntimeException | Error e) {
            return e;
        }
    }

    /**
     * Throws {@code thrown} as it is, checked or not: what a cleanup action threw goes to the
     * caller of {@code close()} unchanged, as the JDK's own arenas let it through.
     *
     * @return never; declared so that callers can write {@code throw rethrow(e)}
     */
    static RuntimeException rethrow(Throwable thrown) {
        throw ArenaClosing.<RuntimeException>uncheckedThrow(thrown);
    }

    @SuppressWarnings("unchecked")
    private static <T extends Throwable> T uncheckedThrow(Throwable thrown) throws T {
        throw (T) thrown;
    }
}
