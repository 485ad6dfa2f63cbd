package org.malloc4j.internal;

/**
 * The held block whose holder (a scope, bump arena, pool or growable array) is resizing or freeing
 * it through the heap on the calling thread. The block stays held all the while, so a free or
 * realloc of it by anyone else (a program's own call through the heap, say on another thread) is
 * refused as a mismatch, as at any other time; only the holder's own call, on this thread, may move
 * and free it, and drops the hold once it has claimed the block. A thread works on one held block
 * at a time.
 */
final class HolderCall {
    private static final ThreadLocal<long[]> AT_WORK = ThreadLocal.withInitial(() -> new long[1]);

    private HolderCall() {
    }

    /** Marks {@code address} as the held block this thread's holder is resizing or freeing. */
    static void begin(long address) {
        AT_WORK.get()[0] = address;
    }

    /** Ends {@link #begin}. */
    static void end() {
        AT_WORK.get()[0] = 0;
    }

    /**
     * @return whether the calling thread's holder is resizing or freeing the held block at
     *     {@code address}: a call on its behalf, which a held block does not refuse
     */
    static boolean isHolders(long address) {
        return address != 0 && AT_WORK.get()[0] == address;
    }
}
