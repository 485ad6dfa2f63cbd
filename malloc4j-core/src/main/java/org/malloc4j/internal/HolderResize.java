package org.malloc4j.internal;

/**
 * The held block a holder (a growable array) is resizing through the heap on the calling thread.
 * The block stays held all the while, so a free or realloc of it by anyone else (a program's own
 * call through the heap, say on another thread) is refused as a mismatch, as at any other time;
 * only the resize itself, on this thread, may move and free it. A thread resizes one held block at
 * a time.
 */
final class HolderResize {
    private static final ThreadLocal<long[]> RESIZING = ThreadLocal.withInitial(() -> new long[1]);

    private HolderResize() {
    }

    /** Marks {@code address} as the held block this thread's holder is resizing. */
    static void begin(long address) {
        RESIZING.get()[0] = address;
    }

    /** Ends {@link #begin}. */
    static void end() {
        RESIZING.get()[0] = 0;
    }

    /**
     * @return whether the calling thread's holder is resizing the held block at {@code address}: a
     *     call on its behalf, which a held block does not refuse
     */
    static boolean isResizing(long address) {
        return address != 0 && RESIZING.get()[0] == address;
    }
}
