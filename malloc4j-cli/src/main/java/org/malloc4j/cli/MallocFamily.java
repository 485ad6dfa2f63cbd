package org.malloc4j.cli;

import java.lang.invoke.MethodHandle;

/**
 * A C allocator's {@code malloc}, {@code realloc} and {@code free}, linked by
 * {@link NativeLibrary#link()} as {@link DowncallLinkage} says, and the calls to them.
 *
 * <p>Hold it in a {@code static final} field and reach it through that field at each call: the
 * JIT then sees a constant record, trusts its final fields, and so calls the C function directly.
 * Reached through an instance field, the handle is not a constant and every call goes through the
 * method-handle machinery (measured: about 20 ns more per malloc/free pair). See
 * {@link LibraryAllocator}.
 *
 * @param mallocHandle {@code void *malloc(size_t)}, as {@code (long) -> long}
 * @param reallocHandle {@code void *realloc(void *, size_t)}, as {@code (long, long) -> long}
 * @param freeHandle {@code void free(void *)}, as {@code (long) -> void}
 */
record MallocFamily(MethodHandle mallocHandle, MethodHandle reallocHandle, MethodHandle freeHandle) {
    /** @return {@code malloc(size)} */
    long malloc(long size) {
        try {
            return (long) mallocHandle.invokeExact(size);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    /** @return {@code realloc(address, size)} */
    long realloc(long address, long size) {
        try {
            return (long) reallocHandle.invokeExact(address, size);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    /** Calls {@code free(address)}. */
    void free(long address) {
        try {
            freeHandle.invokeExact(address);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }
}
