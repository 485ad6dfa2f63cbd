package org.malloc4j.cli;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;

/**
 * jemalloc, from Debian's {@code libjemalloc.so.2}, whose {@code malloc}, {@code realloc} and
 * {@code free} are jemalloc's own (looked up in the library, they do not replace the C library's in
 * the rest of the JVM). Before each trace {@code mallctl("thread.tcache.flush")} empties the thread
 * cache and {@code mallctl("arena.4096.purge")} purges the dirty pages of all arenas. Footprint: RSS
 * growth; jemalloc's {@code stats.resident} needs an {@code epoch} refresh that takes 50–100 µs, too
 * slow to sample after each request.
 *
 * <p>Debian's build uses initial-exec TLS: it loads into a running JVM only if the JVM was started
 * with {@code GLIBC_TUNABLES=glibc.rtld.optional_static_tls=8192}, which the worker processes get.
 */
final class JemallocAllocator extends LibraryAllocator {
    private static final NativeLibrary LIBRARY = new NativeLibrary("libjemalloc.so.2",
            "Debian: apt-get install libjemalloc2", "malloc", "realloc", "free",
            List.of("mallctl"));
    private static final String FLUSH_TCACHE = "thread.tcache.flush";
    private static final String PURGE_ALL_ARENAS = "arena.4096.purge";

    JemallocAllocator() throws AllocatorUnavailableException {
        super("jemalloc", LIBRARY, size -> Functions.FAMILY.malloc(size),
                (address, size) -> Functions.FAMILY.realloc(address, size), address -> Functions.FAMILY.free(address));
    }

    @Override
    void releaseFreeMemory() {
        command(Functions.FLUSH, FLUSH_TCACHE);
        command(Functions.PURGE, PURGE_ALL_ARENAS);
    }

    /** Runs a {@code mallctl} that takes and returns nothing. */
    private static void command(MemorySegment name, String text) {
        int status = (int) Downcalls.call(Functions.MALLCTL, name, MemorySegment.NULL, MemorySegment.NULL,
                MemorySegment.NULL, 0L);
        if (status != 0) {
            throw new IllegalStateException("mallctl(\"" + text + "\") failed with error " + status);
        }
    }

    /** Linked when first used, after the constructor has loaded the library. */
    private static final class Functions {
        static final MallocFamily FAMILY = LIBRARY.link();
        static final MethodHandle MALLCTL = Downcalls.function(LIBRARY.symbols(), "mallctl",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG));
        static final MemorySegment FLUSH = Arena.global().allocateFrom(FLUSH_TCACHE);
        static final MemorySegment PURGE = Arena.global().allocateFrom(PURGE_ALL_ARENAS);
    }
}
