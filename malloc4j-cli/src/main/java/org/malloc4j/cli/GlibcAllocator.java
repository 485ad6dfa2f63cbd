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
final class GlibcAllocator extends NativeAllocator {
    /** Linked when first used, after {@link #open()} has found every symbol. */
    private static final class Functions {
        static final MethodHandle MALLOC = Downcalls.critical(Downcalls.defaultLookup(), "malloc", Downcalls.MALLOC);
        static final MethodHandle REALLOC = Downcalls.critical(Downcalls.defaultLookup(), "realloc", Downcalls.REALLOC);
        static final MethodHandle FREE = Downcalls.critical(Downcalls.defaultLookup(), "free", Downcalls.FREE);
        static final MethodHandle MALLOC_TRIM = Downcalls.function(Downcalls.defaultLookup(), "malloc_trim",
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
    }

    private GlibcAllocator() {
        super("glibc");
    }

    /**
     * @return the adapter
     * @throws AllocatorUnavailableException if the C library lacks one of the functions
     */
    static GlibcAllocator open() throws AllocatorUnavailableException {
        requireTrim();
        Downcalls.require(Downcalls.defaultLookup(), "the C library", "malloc", "realloc", "free");
        return new GlibcAllocator();
    }

    /** @throws AllocatorUnavailableException if the C library has no {@code malloc_trim} (not glibc) */
    static void requireTrim() throws AllocatorUnavailableException {
        Downcalls.require(Downcalls.defaultLookup(), "the C library (not glibc?)", "malloc_trim");
    }

    /** {@code malloc_trim(0)}: glibc gives the free pages of all its arenas back to the system. */
    static void trim() {
        try {
            int released = (int) Functions.MALLOC_TRIM.invokeExact(0L);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    @Override
    void releaseFreeMemory() {
        trim();
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
