package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.malloc4j.Heap;
import org.malloc4j.MemoryMisuseException;
import org.junit.jupiter.api.Test;

/**
 * A heap never makes a segment over another heap's memory. Its malloc, calloc and realloc make the
 * segment they return from the address after the block is allocated; when a close of the heap
 * races them (a misuse) and another heap maps the range meanwhile, the address lies in that other
 * heap's region: writes through such a segment changed the other heap's live blocks (a tester's
 * race: 1 to 6 times in 20 s). The lookup they share must refuse any region but its own.
 */
class ForeignRegionSegmentTest {
    @Test
    void aSegmentOfAnAddressInAnotherHeapsRegionIsRefused() throws ReflectiveOperationException {
        try (Heap mine = Heap.builder().name("mine").build(); Heap other = Heap.builder().name("other").build()) {
            HeapCore core = (HeapCore) Fields.read(mine, Heap.class, "core");
            MemorySegment theirs = other.malloc(64);
            theirs.fill((byte) 0x5A);
            mine.free(mine.malloc(64));  // this heap has regions of its own too

            assertThrows(MemoryMisuseException.class, () -> core.segment(theirs.address(), 64).fill((byte) 0));

            for (long offset = 0; offset < 64; offset++) {
                assertEquals((byte) 0x5A, theirs.get(ValueLayout.JAVA_BYTE, offset));
            }
            other.free(theirs);
        }
    }
}
