package org.malloc4j.cli;

import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;

import java.lang.foreign.FunctionDescriptor;
import java.lang.invoke.MethodHandle;
import java.util.List;

/**
 * mimalloc, from Debian's {@code libmimalloc.so.2}: {@code mi_malloc}, {@code mi_realloc},
 * {@code mi_free}. Before each trace {@code mi_collect(true)} frees what it can. Footprint: RSS
 * growth, because mimalloc counts its whole first 32 MiB region as committed.
 */
final class MimallocAllocator extends LibraryAllocator {
    private static final NativeLibrary LIBRARY = new NativeLibrary("libmimalloc.so.2",
            "Debian: apt-get install libmimalloc2.0", "mi_malloc", "mi_realloc", "mi_free",
            List.of("mi_collect"));

    MimallocAllocator() throws AllocatorUnavailableException {
        super("mimalloc", LIBRARY, size -> Functions.FAMILY.malloc(size),
                (address, size) -> Functions.FAMILY.realloc(address, size), address -> Functions.FAMILY.free(address));
    }

    @Override
    void releaseFreeMemory() {
        Downcalls.call(Functions.COLLECT, true);
    }

    /** Linked when first used, after the constructor has loaded the library. */
    private static final class Functions {
        static final MallocFamily FAMILY = LIBRARY.link();
        static final MethodHandle COLLECT = Downcalls.function(LIBRARY.symbols(), "mi_collect",
                FunctionDescriptor.ofVoid(JAVA_BOOLEAN));
    }
}
