package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A segment whose scope is closed names a block that is gone: a scope's block after the scope
 * closed, an arena's slice after the arena closed. Its address may hold another block by then, which
 * a free, realloc or usableSize through the dead segment must not touch, in every mode.
 */
class ClosedScopeSegmentTest {
    private static Heap heap(CheckMode mode) {
        return Heap.builder().name("dead-" + mode).checkMode(mode).sampleInterval(1).leakReportAtClose(false)
                .build();
    }

    /** @return a 64-byte block of a scope closed since, whose address another malloc took again */
    private static MemorySegment deadScopeBlockAtLiveAddress(Heap heap, long[] reusedBy) {
        MemorySegment dead;
        try (Arena scope = heap.newScope()) {
            dead = scope.allocate(64);
        }
        for (int i = 0; i < 1_000; i++) {
            long address = heap.mallocAddress(64);
            if (address == dead.address()) {
                reusedBy[0] = address;
                return dead;
            }
        }
        reusedBy[0] = 0;
        return dead;
    }

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void aScopesBlockFreedThroughTheHeapAfterTheScopeClosedIsRefusedAndTheBlockNowThereStaysLive(CheckMode mode) {
        try (Heap heap = heap(mode)) {
            long[] reusedBy = new long[1];
            MemorySegment dead = deadScopeBlockAtLiveAddress(heap, reusedBy);
            long liveBlocks = heap.stats().liveBlocks();
            for (Consumer<MemorySegment> call : List.<Consumer<MemorySegment>>of(heap::free,
                    segment -> heap.realloc(segment, 256), segment -> heap.tryRealloc(segment, 16))) {
                MemoryMisuseException misuse = assertThrows(MemoryMisuseException.class, () -> call.accept(dead));
                assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE, misuse.kind(), misuse.getMessage());
            }
            MemoryMisuseException query = assertThrows(MemoryMisuseException.class, () -> heap.usableSize(dead));
            assertEquals(MemoryMisuseException.Kind.USE_AFTER_FREE, query.kind(), query.getMessage());
            assertEquals(liveBlocks, heap.stats().liveBlocks(), "a refused call freed or made a block");
            if (reusedBy[0] != 0) {
                // The block handed out at the dead segment's address was not touched.
                assertTrue(heap.usableSize(reusedBy[0]) >= 64);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void theReportSaysTheSegmentsScopeIsClosedAndWhatTheAddressIsNow(CheckMode mode) {
        try (Heap heap = heap(mode)) {
            long[] reusedBy = new long[1];
            MemorySegment dead = deadScopeBlockAtLiveAddress(heap, reusedBy);
            if (mode == CheckMode.FAST) {
                // Fast mode hands the address out again at once; a checked mode quarantines it.
                assertEquals(dead.address(), reusedBy[0], "the scope's freed block was not reused");
            }
            String report = assertThrows(MemoryMisuseException.class, () -> heap.free(dead)).getMessage();
            String hex = Long.toHexString(dead.address());
            assertTrue(report.startsWith("ERROR: malloc4j: attempting double-free on 0x" + hex + " (free)"), report);
            if (mode == CheckMode.FAST) {
                assertTrue(report.contains("segment whose scope is closed"), report);
                assertTrue(report.contains("a live block"), report);
            } else {
                // A checked block's record tells where it was allocated and freed.
                assertTrue(report.contains("freed by thread"), report);
                assertTrue(report.contains("previously allocated by thread"), report);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void anArenasSliceFreedAfterTheArenaClosedIsRefused(CheckMode mode) {
        try (Heap heap = heap(mode)) {
            MemorySegment slice;
            try (BumpArena arena = BumpArena.ofConfined(heap)) {
                slice = arena.allocate(32, 16);
            }
            long taken = heap.mallocAddress(4096);
            MemoryMisuseException misuse = assertThrows(MemoryMisuseException.class, () -> heap.free(slice));
            assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE, misuse.kind(), misuse.getMessage());
            heap.freeAddress(taken);
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void aLiveBlockSeenThroughAClosedArenasSegmentIsRefusedThroughItAndFreedByItsAddress(CheckMode mode) {
        try (Heap heap = heap(mode)) {
            MemorySegment block = heap.malloc(48);
            MemorySegment view;
            try (Arena own = Arena.ofConfined()) {
                view = block.reinterpret(own, null);
            }
            assertThrows(MemoryMisuseException.class, () -> heap.free(view));
            assertEquals(1, heap.stats().liveBlocks());
            heap.freeAddress(view.address());
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    /**
     * A closed view of a live block at an address where a checked block was freed before is about
     * the live block, not a double free of the freed one, whose stacks would name an unrelated
     * block (a review found the report naming only the freed block).
     */
    @Test
    void aClosedViewOfABlockWhereACheckedBlockWasFreedSaysTheLiveBlockIsThere() {
        try (Heap heap = Heap.builder().name("view").checkMode(CheckMode.FULL).quarantineBytes(0)
                .leakReportAtClose(false).build()) {
            MemorySegment first = heap.malloc(64);
            heap.free(first);
            MemorySegment second = heap.malloc(64);
            assertEquals(first.address(), second.address(), "the freed block's address was not reused");
            MemorySegment view;
            try (Arena own = Arena.ofConfined()) {
                view = second.reinterpret(64, own, null);
            }
            String report = assertThrows(MemoryMisuseException.class, () -> heap.free(view)).getMessage();
            assertTrue(report.contains("segment whose scope is closed"), report);
            assertTrue(report.contains("a live block of heap 'view'"), report);
            heap.free(second);
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void aDeadSegmentAfterTheHeapClosedIsTheClosedHeapsError(CheckMode mode) {
        Heap heap = heap(mode);
        MemorySegment block = heap.malloc(64);
        heap.close();
        IllegalStateException closed = assertThrows(IllegalStateException.class, () -> heap.free(block));
        assertTrue(closed.getMessage().contains("is closed"), closed.getMessage());
    }

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void nullThroughAClosedScopeIsStillNothing(CheckMode mode) {
        try (Heap heap = heap(mode)) {
            MemorySegment none;
            try (Arena own = Arena.ofConfined()) {
                none = MemorySegment.NULL.reinterpret(own, null);
            }
            heap.free(none);
            assertEquals(0, heap.stats().liveBlocks());
        }
    }
}
