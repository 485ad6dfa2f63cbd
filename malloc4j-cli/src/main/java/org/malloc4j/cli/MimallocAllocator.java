package org.malloc4j.cli;

import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * mimalloc, from Debian's {@code libmimalloc.so.2}: {@code mi_malloc}, {@code mi_realloc},
 * {@code mi_free}. Before each trace {@code mi_collect(true)} frees what it can. Footprint: RSS
 * growth, because mimalloc counts its whole first 32 MiB region as committed.
 */
final class MimallocAllocator extends NativeAllocator {
    static final String LIBRARY = "libmimalloc.so.2";

    /** Linked when first used, after {@link #open()} has loaded the library. */
    private static final class Functions {
        static final SymbolLookup LIB = Downcalls.loaded(LIBRARY);
        static final MethodHandle MALLOC = Downcalls.critical(LIB, "mi_malloc", Downcalls.MALLOC);
        static final MethodHandle REALLOC = Downcalls.critical(LIB, "mi_realloc", Downcalls.REALLOC);
        static final MethodHandle FREE = Downcalls.critical(LIB, "mi_free", Downcalls.FREE);
        static final MethodHandle COLLECT = Downcalls.function(LIB, "mi_collect",
                FunctionDescriptor.ofVoid(JAVA_BOOLEAN));
    }

    private MimallocAllocator() {
        super("mimalloc");
    }

    /**
     * @return the adapter
     * @throws AllocatorUnavailableException if the library is missing or does not load
     */
    static MimallocAllocator open() throws AllocatorUnavailableException {
        SymbolLookup lib = Downcalls.library(LIBRARY, "Debian: apt-get install libmimalloc2.0");
        Downcalls.require(lib, LIBRARY, "mi_malloc", "mi_realloc", "mi_free", "mi_collect");
        return new MimallocAllocator();
    }

    @Override
    void releaseFreeMemory() {
        try {
            Functions.COLLECT.invokeExact(true);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    @Override
    public long malloc(int id, long size) {
        try {
            return (long) Functions.MALLOC.invokeExact(size);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    @Override
    public long realloc(int id, long address, long size) {
        try {
            return (long) Functions.REALLOC.invokeExact(address, size);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    @Override
    public void free(int id, long address) {
        try {
            Functions.FREE.invokeExact(address);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }
}
