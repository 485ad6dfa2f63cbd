package org.malloc4j.cli;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * jemalloc, from Debian's {@code libjemalloc.so.2}, whose {@code malloc}, {@code realloc} and
 * {@code free} are jemalloc's own (looked up in the library, they do not replace the C library's in
 * the rest of the JVM). Before each trace {@code mallctl("thread.tcache.flush")} empties the thread
 * cache and {@code mallctl("arena.4096.purge")} purges the dirty pages of all arenas. Footprint: RSS growth; jemalloc's {@code stats.resident} needs an
 * {@code epoch} refresh that takes 50–100 µs, too slow to sample after each request.
 *
 * <p>Debian's build uses initial-exec TLS: it loads into a running JVM only if the JVM was started
 * with {@code GLIBC_TUNABLES=glibc.rtld.optional_static_tls=8192}, which the worker processes get.
 */
final class JemallocAllocator extends NativeAllocator {
    static final String LIBRARY = "libjemalloc.so.2";
    private static final String FLUSH_TCACHE = "thread.tcache.flush";
    private static final String PURGE_ALL_ARENAS = "arena.4096.purge";

    /** Linked when first used, after {@link #open()} has loaded the library. */
    private static final class Functions {
        static final SymbolLookup LIB = Downcalls.loaded(LIBRARY);
        static final MethodHandle MALLOC = Downcalls.critical(LIB, "malloc", Downcalls.MALLOC);
        static final MethodHandle REALLOC = Downcalls.critical(LIB, "realloc", Downcalls.REALLOC);
        static final MethodHandle FREE = Downcalls.critical(LIB, "free", Downcalls.FREE);
        static final MethodHandle MALLCTL = Downcalls.function(LIB, "mallctl",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG));
        static final MemorySegment FLUSH = Arena.global().allocateFrom(FLUSH_TCACHE);
        static final MemorySegment PURGE = Arena.global().allocateFrom(PURGE_ALL_ARENAS);
    }

    private JemallocAllocator() {
        super("jemalloc");
    }

    /**
     * @return the adapter
     * @throws AllocatorUnavailableException if the library is missing or does not load
     */
    static JemallocAllocator open() throws AllocatorUnavailableException {
        SymbolLookup lib = Downcalls.library(LIBRARY, "Debian: apt-get install libjemalloc2");
        Downcalls.require(lib, LIBRARY, "malloc", "realloc", "free", "mallctl");
        return new JemallocAllocator();
    }

    @Override
    void releaseFreeMemory() {
        command(Functions.FLUSH, FLUSH_TCACHE);
        command(Functions.PURGE, PURGE_ALL_ARENAS);
    }

    /** Runs a {@code mallctl} that takes and returns nothing. */
    private static void command(MemorySegment name, String text) {
        int status;
        try {
            status = (int) Functions.MALLCTL.invokeExact(name, MemorySegment.NULL, MemorySegment.NULL,
                    MemorySegment.NULL, 0L);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
        if (status != 0) {
            throw new IllegalStateException("mallctl(\"" + text + "\") failed with error " + status);
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
