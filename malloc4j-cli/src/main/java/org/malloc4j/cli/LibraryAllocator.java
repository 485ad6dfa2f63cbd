package org.malloc4j.cli;

import java.util.function.LongBinaryOperator;
import java.util.function.LongConsumer;
import java.util.function.LongUnaryOperator;

/**
 * A C allocator whose {@code malloc}, {@code realloc} and {@code free} are linked from a
 * {@link NativeLibrary}: glibc, jemalloc, mimalloc, tcmalloc. This class loads the library and makes
 * the three calls for all of them; a subclass says where its functions are, how it gives free memory
 * back, and, if not the RSS, how its footprint is read.
 *
 * <p>A subclass keeps its {@link MallocFamily} in a static final field, in a holder class that is
 * initialized once this constructor has loaded the library, and hands the constructor three lambdas
 * that read that field at each call:
 *
 * <pre>{@code
 * super("glibc", LIBRARY, size -> Functions.FAMILY.malloc(size),
 *         (address, size) -> Functions.FAMILY.realloc(address, size), address -> Functions.FAMILY.free(address));
 * }</pre>
 *
 * <p>Not {@code Functions.FAMILY::malloc}: a bound method reference captures the record in an
 * instance field, and a handle read from an instance field is not a constant to the JIT (measured:
 * about 20 ns more per malloc/free pair, on calls that take about 40). With the lambdas, a worker
 * JVM (which runs one allocator) inlines the lambda, the handle is a constant and the C function is
 * called directly; a JVM that runs several allocators makes an interface call to the lambda, whose
 * handle is still a constant. A single {@code family()} hook returning the record would be shorter,
 * but where several allocators run in one JVM (the tests) its handles stop being constants, and
 * JDK 25's C2 has been seen to crash compiling such a call site.
 */
abstract class LibraryAllocator extends NativeAllocator {
    private final LongUnaryOperator malloc;
    private final LongBinaryOperator realloc;
    private final LongConsumer free;

    /**
     * Loads the allocator's library.
     *
     * @param name the allocator's name on the command line
     * @param library where its functions are
     * @param malloc calls its {@code malloc(size)}
     * @param realloc calls its {@code realloc(address, size)}
     * @param free calls its {@code free(address)}
     * @throws AllocatorUnavailableException if the library is missing, does not load or lacks a function
     */
    LibraryAllocator(String name, NativeLibrary library, LongUnaryOperator malloc, LongBinaryOperator realloc,
            LongConsumer free) throws AllocatorUnavailableException {
        super(name);
        library.load();
        this.malloc = malloc;
        this.realloc = realloc;
        this.free = free;
    }

    @Override
    public final long malloc(int id, long size) {
        return malloc.applyAsLong(size);
    }

    @Override
    public final long realloc(int id, long address, long size) {
        return realloc.applyAsLong(address, size);
    }

    @Override
    public final void free(int id, long address) {
        free.accept(address);
    }
}
