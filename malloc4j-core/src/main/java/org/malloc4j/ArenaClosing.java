package org.malloc4j;

import java.lang.foreign.Arena;
import java.util.function.BooleanSupplier;

/**
 * How a scope or bump arena closes its JDK arena, whose close runs the cleanup actions attached to
 * its segments ({@code segment.reinterpret(n, arena, cleanup)}), and then gives its blocks back.
 * <ul>
 * <li>The JDK refuses to close an arena a downcall is using: nothing changes, and the holder says
 *     so instead of the JDK's "Session is acquired".
 * <li>A cleanup action that throws leaves the JDK arena closed: the blocks go back all the same,
 *     so that the holder and its heap can close, and what the cleanup threw is thrown.
 * <li>A cleanup action that closes the holder again (or its heap, which closes it) gives the
 *     blocks back at once, the JDK arena being closed already; the close that ran it goes on. So
 *     does every later such cleanup of the same close, with nothing left to give back: each is
 *     part of the close under way, not a second close, so none gets "already closed" in the
 *     middle of its own work.
 * </ul>
 * Not thread-safe: the holder calls it under its lock, or on its own thread.
 */
final class ArenaClosing {
    /** While {@link #close} closes the JDK arena, whose cleanup actions may call the holder again. */
    private boolean closing;

    /** @return whether the holder's close is running the cleanup actions: no block may be added now */
    boolean isClosing() {
        return closing;
    }

    /**
     * @param holder how messages name the holder: {@code "this scope"}
     * @param closed whether the holder has given its blocks back
     * @param release gives the holder's blocks back and marks it closed
     */
    void close(Arena inner, String holder, BooleanSupplier closed, Runnable release) {
        if (closing) {
            if (!closed.getAsBoolean()) {
                release.run();
            }
            return;
        }
        Runnable releaseUnlessClosed = () -> {
            if (!closed.getAsBoolean()) {
                release.run();
            }
        };
        closing = true;
        try {
            inner.close();
        } catch (RuntimeException | Error e) {
            throw failed(inner, holder, e, releaseUnlessClosed);
        } finally {
            closing = false;
        }
        releaseUnlessClosed.run();
    }

    /** @return what to throw when closing the JDK arena threw {@code thrown} (an {@code Error} is thrown here) */
    private static RuntimeException failed(Arena inner, String holder, Throwable thrown, Runnable release) {
        if (inner.scope().isAlive()) {
            if (thrown instanceof IllegalStateException refusal) {
                return new IllegalStateException(holder + " is not closed: a downcall is using one of its segments;"
                        + " nothing changed, so close it again after the downcall returns", refusal);
            }
        } else {
            try {
                release.run();
            } catch (RuntimeException | Error damage) {
                thrown.addSuppressed(damage);
            }
        }
        if (thrown instanceof Error error) {
            throw error;
        }
        return (RuntimeException) thrown;
    }
}
