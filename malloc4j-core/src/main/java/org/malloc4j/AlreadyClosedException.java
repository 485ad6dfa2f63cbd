package org.malloc4j;

/**
 * What a scope, bump arena or pool throws when it is used or closed after its close (or its heap's):
 * an {@link IllegalStateException} that {@link Heap#close()} can tell from what a cleanup action
 * threw, when another thread closed one of its dependents first.
 */
final class AlreadyClosedException extends IllegalStateException {
    private static final long serialVersionUID = 1L;
    /**
     * The scope, arena or pool that was closed: one a cleanup action used is not the one closing.
     * Null when a cleanup action used the holder whose close runs it: that failed the cleanup, and
     * is no close by another thread.
     */
    private final transient Object holder;

    AlreadyClosedException(Object holder, String message) {
        super(message);
        this.holder = holder;
    }

    /** @return whether {@code dependent} is what threw this */
    boolean isOf(Object dependent) {
        return holder == dependent;
    }
}
