package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.function.Function;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.malloc4j.MemoryMisuseException.Kind;

/**
 * An address no live block starts at, given to {@code usableSize}: the report's SUMMARY names it
 * {@code bad-malloc_usable_size}, as AddressSanitizer does for {@code malloc_usable_size}, in every
 * check mode and through both APIs, while a free of the same address stays a {@code bad-free}.
 */
class UsableSizeReportTest {

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void anInteriorAddressIsABadUsableSizeNotABadFree(CheckMode mode) {
        try (Heap heap = heap(mode)) {
            long block = heap.mallocAddress(64);
            assertBadUsableSize(heap, block + 8, h -> h.usableSize(block + 8));
            MemoryMisuseException free = assertThrows(MemoryMisuseException.class, () -> heap.freeAddress(block + 8));
            assertSummary(free, "bad-free");
            assertTrue(heap.usableSize(block) >= 64, "the block is still live");
            heap.freeAddress(block);
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void anInteriorSliceOfASegment(CheckMode mode) {
        try (Heap heap = heap(mode)) {
            MemorySegment block = heap.malloc(64);
            MemorySegment slice = block.asSlice(8);
            assertBadUsableSize(heap, slice.address(), h -> h.usableSize(slice));
            heap.free(block);
        }
    }

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void foreignMemoryAndTheJavaHeap(CheckMode mode) {
        try (Heap heap = heap(mode); Arena arena = Arena.ofConfined()) {
            MemorySegment foreign = arena.allocate(64);
            assertBadUsableSize(heap, foreign.address(), h -> h.usableSize(foreign));
            MemorySegment onHeap = MemorySegment.ofArray(new byte[64]);
            assertBadUsableSize(heap, 0, h -> h.usableSize(onHeap));
        }
    }

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void aBlockOfAnotherHeap(CheckMode mode) {
        try (Heap heap = heap(mode); Heap other = heap(mode)) {
            long theirs = other.mallocAddress(64);
            assertBadUsableSize(heap, theirs, h -> h.usableSize(theirs));
            other.freeAddress(theirs);
        }
    }

    private static Heap heap(CheckMode mode) {
        return Heap.builder().checkMode(mode).build();
    }

    /** The query throws a bad-address report named as ASan names it, and the heap still serves. */
    private static void assertBadUsableSize(Heap heap, long address, Function<Heap, Long> query) {
        MemoryMisuseException e = assertThrows(MemoryMisuseException.class, () -> query.apply(heap));
        assertEquals(Kind.BAD_FREE, e.kind(), e.getMessage());
        assertEquals(address, e.address(), e.getMessage());
        assertTrue(e.getMessage().startsWith("ERROR: malloc4j: attempting usableSize on "), e.getMessage());
        assertSummary(e, "bad-malloc_usable_size");
        long fresh = heap.mallocAddress(32);
        assertTrue(heap.usableSize(fresh) >= 32);
        heap.freeAddress(fresh);
    }

    private static void assertSummary(MemoryMisuseException e, String name) {
        String message = e.getMessage();
        String summary = message.substring(message.lastIndexOf("SUMMARY: "));
        assertTrue(summary.startsWith("SUMMARY: malloc4j: " + name + " "), message);
    }
}
