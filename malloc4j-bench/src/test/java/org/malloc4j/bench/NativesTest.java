package org.malloc4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.LongBinaryOperator;
import java.util.function.LongConsumer;
import java.util.function.LongUnaryOperator;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The standard-downcall peers call the same C functions as the critical ones: a block from either
 * linkage holds what is written to it, keeps it through a realloc, and goes back through the other
 * linkage's free (one allocator behind both).
 */
class NativesTest {
    private record Family(LongUnaryOperator malloc, LongBinaryOperator realloc, LongConsumer free) {
    }

    private static Family critical(Natives.Library library) {
        return switch (library) {
            case GLIBC -> new Family(Natives.Glibc::malloc, Natives.Glibc::realloc, Natives.Glibc::free);
            case JEMALLOC -> new Family(Natives.Jemalloc::malloc, Natives.Jemalloc::realloc, Natives.Jemalloc::free);
            case MIMALLOC -> new Family(Natives.Mimalloc::malloc, Natives.Mimalloc::realloc, Natives.Mimalloc::free);
            case TCMALLOC -> new Family(Natives.Tcmalloc::malloc, Natives.Tcmalloc::realloc, Natives.Tcmalloc::free);
        };
    }

    private static Family standard(Natives.Library library) {
        return switch (library) {
            case GLIBC -> new Family(Natives.Standard.Glibc::malloc, Natives.Standard.Glibc::realloc,
                    Natives.Standard.Glibc::free);
            case JEMALLOC -> new Family(Natives.Standard.Jemalloc::malloc, Natives.Standard.Jemalloc::realloc,
                    Natives.Standard.Jemalloc::free);
            case MIMALLOC -> new Family(Natives.Standard.Mimalloc::malloc, Natives.Standard.Mimalloc::realloc,
                    Natives.Standard.Mimalloc::free);
            case TCMALLOC -> new Family(Natives.Standard.Tcmalloc::malloc, Natives.Standard.Tcmalloc::realloc,
                    Natives.Standard.Tcmalloc::free);
        };
    }

    @ParameterizedTest
    @EnumSource(Natives.Library.class)
    void aStandardBlockKeepsItsContentsThroughReallocAndFreesThroughTheCriticalFree(Natives.Library library) {
        // jemalloc loads only with GLIBC_TUNABLES set, which a test JVM may not have.
        assumeTrue(library.problem() == null, () -> library.peer() + ": " + library.problem());
        Family standard = standard(library);
        long address = standard.malloc().applyAsLong(100);
        assertNotEquals(0, address);
        fill(address, 100, 1);
        long grown = standard.realloc().applyAsLong(address, 10_000);
        assertNotEquals(0, grown);
        assertFilled(grown, 100, 1);
        // The whole grown block is the caller's: a realloc that did not grow it would let the
        // allocator's next block overlap this one.
        fill(grown, 10_000, 2);
        long neighbour = standard.malloc().applyAsLong(10_000);
        fill(neighbour, 10_000, 3);
        assertFilled(grown, 10_000, 2);
        critical(library).free().accept(neighbour);
        critical(library).free().accept(grown);
    }

    @ParameterizedTest
    @EnumSource(Natives.Library.class)
    void aCriticalBlockFreesThroughTheStandardFree(Natives.Library library) {
        assumeTrue(library.problem() == null, () -> library.peer() + ": " + library.problem());
        Family critical = critical(library);
        long address = critical.malloc().applyAsLong(64);
        assertNotEquals(0, address);
        fill(address, 64, 4);
        long grown = critical.realloc().applyAsLong(address, 5_000);
        assertNotEquals(0, grown);
        assertFilled(grown, 64, 4);
        standard(library).free().accept(grown);
    }

    private static void fill(long address, int bytes, int seed) {
        MemorySegment block = Natives.segment(address, bytes);
        for (int i = 0; i < bytes; i++) {
            block.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 7 + seed));
        }
    }

    private static void assertFilled(long address, int bytes, int seed) {
        MemorySegment block = Natives.segment(address, bytes);
        for (int i = 0; i < bytes; i++) {
            assertEquals((byte) (i * 7 + seed), block.get(ValueLayout.JAVA_BYTE, i), "byte " + i);
        }
    }
}
