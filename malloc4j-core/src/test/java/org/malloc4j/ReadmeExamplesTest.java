package org.malloc4j;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** The README's code, run as written, so the front page never shows code that does not work. */
class ReadmeExamplesTest {

    @Test
    void usingIt() {
        Heap heap = Heap.global();
        long liveBefore = heap.stats().liveBlocks();
        MemorySegment block = heap.malloc(1024);
        block = heap.realloc(block, 4096);
        heap.free(block);

        MemorySegment longs = heap.allocate(JAVA_LONG, 100);
        heap.free(longs);

        try (Heap own = Heap.builder().name("cache").maxCommittedBytes(256L << 20).build()) {
            long address = own.mallocAddress(64);
            own.freeAddress(address);
        }
        assertEquals(liveBefore, heap.stats().liveBlocks());
    }

    @Test
    void scopesArenasPoolsAndArrays() {
        try (Heap heap = Heap.builder().build()) {
            try (Arena scope = heap.newScope()) {
                MemorySegment name = scope.allocateFrom("malloc4j");
                assertEquals("malloc4j", name.getString(0));
            }
            try (BumpArena frame = BumpArena.ofConfined(heap)) {
                BumpArena.Mark mark = frame.mark();
                MemorySegment scratch = frame.allocate(256, 64);
                assertEquals(0, scratch.address() % 64);
                frame.rewind(mark);
            }
            try (FixedSizePool nodes = FixedSizePool.builder(heap, 48).threadSafe(true).build();
                    NativeLongArray ids = new NativeLongArray(heap)) {
                MemorySegment node = nodes.allocate();
                ids.add(42);
                assertEquals(42, ids.get(0));
                nodes.free(node);
            }
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    @Test
    void checkedModeAndFaultInjection() {
        try (Heap debug = Heap.builder().checkMode(CheckMode.FULL).build();
                Heap flaky = Heap.builder().faultInjection(FaultInjection.everyNth(10)).build()) {
            MemorySegment block = debug.malloc(40);
            debug.free(block);
            MemoryMisuseException misuse = assertThrows(MemoryMisuseException.class, () -> debug.free(block));
            assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE, misuse.kind());
            for (int i = 1; i < 10; i++) {
                flaky.free(flaky.malloc(8));
            }
            assertThrows(HeapExhaustedError.class, () -> flaky.malloc(8));
        }
    }
}
