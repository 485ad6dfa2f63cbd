package org.malloc4j.cli;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.invoke.MethodHandle;

/**
 * The C library's {@code malloc}, {@code realloc} and {@code free} (glibc's ptmalloc on Linux),
 * from the default symbol lookup. Before each trace {@code malloc_trim(0)} returns free memory to
 * the operating system. Footprint: RSS growth; glibc's own figure, {@code mallinfo2()}, walks every
 * free chunk and takes milliseconds on a fragmented heap, too slow to sample after each request.
 */
final class GlibcAllocator extends LibraryAllocator {
    private static final NativeLibrary LIBRARY = NativeLibrary.cLibrary();

    /** @throws AllocatorUnavailableException if the C library lacks one of the functions */
    GlibcAllocator() throws AllocatorUnavailableException {
        super("glibc", LIBRARY, size -> Functions.FAMILY.malloc(size),
                (address, size) -> Functions.FAMILY.realloc(address, size), address -> Functions.FAMILY.free(address));
        requireTrim();
    }

    /** @throws AllocatorUnavailableException if the C library has no {@code malloc_trim} (not glibc) */
    static void requireTrim() throws AllocatorUnavailableException {
        Downcalls.require(LIBRARY.symbols(), "the C library (not glibc?)", "malloc_trim");
    }

    /** {@code malloc_trim(0)}: glibc gives the free pages of all its arenas back to the system. */
    static void trim() {
        Downcalls.call(Trim.MALLOC_TRIM, 0L);
    }

    @Override
    void releaseFreeMemory() {
        trim();
    }

    /** Linked when first used, after the constructor has found every symbol. */
    private static final class Functions {
        static final MallocFamily FAMILY = LIBRARY.link();
    }

    /** Linked when first used, after {@link #requireTrim()}; the {@code arena} adapter uses it too. */
    private static final class Trim {
        static final MethodHandle MALLOC_TRIM = Downcalls.function(LIBRARY.symbols(), "malloc_trim",
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
    }
}
