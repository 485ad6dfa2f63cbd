package org.malloc4j;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/**
 * In {@link CheckMode#FULL} a side block is exactly its slice, so that the heap's redzone follows
 * the slice, and a spare side block (freed by a rewind or reset) serves only a slice of its own size.
 *
 * <p>Bug: a spare served any smaller slice, as in the other modes, so a write one byte past that
 * slice landed inside the spare, where no redzone is, and went unreported.
 */
class BumpArenaFullModeSideBlockReuseTest {
    private static final long CHUNK = 1024;

    /** Writes one byte just past {@code slice}, through a raw address, as native code might. */
    private static void overflowByOne(MemorySegment slice) {
        MemorySegment.ofAddress(slice.address() + slice.byteSize()).reinterpret(1).set(JAVA_BYTE, 0, (byte) 1);
    }

    @Test
    void aWriteJustPastASliceAfterARewindIsReportedAtClose() {
        try (Heap heap = Heap.builder().name("full").checkMode(CheckMode.FULL).build()) {
            BumpArena arena = BumpArena.ofConfined(heap, CHUNK);
            BumpArena.Mark mark = arena.mark();
            arena.allocate(5000, 16);
            arena.rewind(mark);
            MemorySegment slice = arena.allocate(4000, 16); // the 5,000-byte spare would hold it
            assertEquals(4000 + 5000, arena.heldBytes(), "a side block of its own");
            assertEquals(0, arena.wastedBytes());
            overflowByOne(slice);

            MemoryMisuseException overflow = assertThrows(MemoryMisuseException.class, arena::close);
            assertEquals(MemoryMisuseException.Kind.HEAP_BUFFER_OVERFLOW, overflow.kind());
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    /** A spare of the slice's own size is still reused, so a loop asking the same size holds one block. */
    @Test
    void aSpareOfTheSlicesOwnSizeIsReused() {
        try (Heap heap = Heap.builder().name("full").checkMode(CheckMode.FULL).build();
                BumpArena arena = BumpArena.ofConfined(heap, CHUNK)) {
            BumpArena.Mark mark = arena.mark();
            long first = arena.allocate(5000, 16).address();
            for (int i = 0; i < 10; i++) {
                arena.rewind(mark);
                assertEquals(first, arena.allocate(5000, 16).address());
            }
            assertEquals(1, arena.blockCount());
            assertEquals(5000, arena.heldBytes());
        }
    }

    /**
     * What the class documentation says of a loop that marks, allocates a large slice and rewinds:
     * in FULL mode it holds a side block for every distinct size it asked for, each exactly that
     * size, whichever order the sizes come in.
     */
    @Test
    void aMarkAllocateRewindLoopHoldsASideBlockForEveryDistinctSize() {
        try (Heap heap = Heap.builder().name("full").checkMode(CheckMode.FULL).build();
                BumpArena arena = BumpArena.ofConfined(heap, CHUNK)) {
            BumpArena.Mark mark = arena.mark();
            long[] sizes = {5000, 4000, 3000, 5000, 3000, 4000};
            for (long size : sizes) {
                MemorySegment slice = arena.allocate(size, 16);
                assertEquals(0, arena.wastedBytes(), "slice of " + size + " fills its side block");
                slice.fill((byte) 1);
                arena.rewind(mark);
            }
            assertEquals(3, arena.blockCount());
            assertEquals(5000 + 4000 + 3000, arena.heldBytes());
        }
    }

    /** The other modes are unchanged: a spare with room serves a smaller slice. */
    @Test
    void inFastModeASpareServesASmallerSlice() {
        try (Heap heap = Heap.builder().name("fast").build(); BumpArena arena = BumpArena.ofConfined(heap, CHUNK)) {
            BumpArena.Mark mark = arena.mark();
            long spare = arena.allocate(5000, 16).address();
            arena.rewind(mark);
            assertEquals(spare, arena.allocate(4000, 16).address());
            assertEquals(1, arena.blockCount());
            assertNotEquals(0, arena.wastedBytes());
        }
    }
}
