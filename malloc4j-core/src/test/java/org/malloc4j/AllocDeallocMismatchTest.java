package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** In checked mode, a block is freed through the API that allocated it, or the heap says so. */
class AllocDeallocMismatchTest {
    private final Heap heap = Heap.builder().name("mismatch").checkMode(CheckMode.FULL).build();

    @AfterEach
    void closeHeap() {
        heap.close();
    }

    @Test
    void aScopesBlockFreedThroughTheHeapIsAMismatchAndStaysLive() {
        try (Arena scope = heap.newScope()) {
            MemorySegment block = scope.allocate(48);
            MemoryMisuseException misuse = assertThrows(MemoryMisuseException.class, () -> heap.free(block));
            assertEquals(MemoryMisuseException.Kind.ALLOC_DEALLOC_MISMATCH, misuse.kind());
            assertTrue(misuse.getMessage().contains("held by a heap scope"), misuse.getMessage());
            block.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 0, (byte) 1);
        }
        assertEquals(0, heap.stats().liveBlocks());
    }

    @Test
    void aBumpArenasChunkFreedThroughTheHeapIsAMismatch() {
        try (BumpArena arena = BumpArena.ofConfined(heap)) {
            MemorySegment slice = arena.allocate(64, 16);
            MemoryMisuseException misuse = assertThrows(MemoryMisuseException.class,
                    () -> heap.freeAddress(slice.address()));
            assertEquals(MemoryMisuseException.Kind.ALLOC_DEALLOC_MISMATCH, misuse.kind());
        }
        assertEquals(0, heap.stats().liveBlocks());
    }

    @Test
    void aPoolPageResizedThroughTheHeapIsAMismatch() {
        try (FixedSizePool pool = FixedSizePool.builder(heap, 32).name("points").build()) {
            MemorySegment first = pool.allocate();
            MemoryMisuseException misuse = assertThrows(MemoryMisuseException.class,
                    () -> heap.reallocAddress(first.address(), 4096));
            assertEquals(MemoryMisuseException.Kind.ALLOC_DEALLOC_MISMATCH, misuse.kind());
            assertTrue(misuse.getMessage().contains("FixedSizePool 'points'"), misuse.getMessage());
            pool.free(first);
        }
    }

    @Test
    void aHeapBlockFreedThroughAPoolIsAMismatch() {
        MemorySegment block = heap.malloc(32);
        try (FixedSizePool pool = FixedSizePool.builder(heap, 32).build()) {
            MemoryMisuseException misuse = assertThrows(MemoryMisuseException.class, () -> pool.free(block));
            assertEquals(MemoryMisuseException.Kind.ALLOC_DEALLOC_MISMATCH, misuse.kind());
        }
        heap.free(block);
        assertEquals(0, heap.stats().liveBlocks());
    }

    /**
     * A pool's block past the first of its page, or an arena's slice past the start of its chunk,
     * lies inside a block the holder has from the heap: freeing or resizing it through the heap is
     * the same mismatch as for the first one, in every mode, and changes nothing.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(CheckMode.class)
    void aPoolBlockOrArenaSliceInsideAHeldBlockFreedThroughTheHeapIsAMismatch(CheckMode mode) {
        try (Heap checked = Heap.builder().name("inside").checkMode(mode).sampleInterval(1).build();
                FixedSizePool pool = FixedSizePool.builder(checked, 64).name("nodes").build();
                BumpArena arena = BumpArena.ofConfined(checked)) {
            pool.allocate();
            MemorySegment second = pool.allocate();
            arena.allocate(8);
            MemorySegment slice = arena.allocate(32);
            long live = checked.stats().liveBlocks();
            for (MemorySegment inside : java.util.List.of(second, slice)) {
                MemoryMisuseException byFree = assertThrows(MemoryMisuseException.class, () -> checked.free(inside));
                assertEquals(MemoryMisuseException.Kind.ALLOC_DEALLOC_MISMATCH, byFree.kind(), byFree.getMessage());
                assertTrue(byFree.getMessage().contains("held by"), byFree.getMessage());
                MemoryMisuseException byRealloc = assertThrows(MemoryMisuseException.class,
                        () -> checked.realloc(inside, 4096));
                assertEquals(MemoryMisuseException.Kind.ALLOC_DEALLOC_MISMATCH, byRealloc.kind(), byRealloc.getMessage());
            }
            assertEquals(live, checked.stats().liveBlocks());
            assertEquals(2, pool.liveBlocks());
            pool.free(second);
            assertEquals(1, pool.liveBlocks());
        }
    }

    /**
     * The usable size of what a holder handed out is the holder's to tell: through the heap, a
     * pool's block or an arena's slice, at the start of the holder's block or inside it, and a
     * scope's block, are the same mismatch as a free, in every mode, and name the holder's part.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(CheckMode.class)
    void theUsableSizeOfAHeldBlockIsAMismatchWhereverItLies(CheckMode mode) {
        try (Heap checked = Heap.builder().name("sizes").checkMode(mode).sampleInterval(1).build();
                FixedSizePool pool = FixedSizePool.builder(checked, 48).name("nodes").build();
                BumpArena arena = BumpArena.ofConfined(checked);
                Arena scope = checked.newScope()) {
            MemorySegment first = pool.allocate();
            MemorySegment second = pool.allocate();
            MemorySegment firstSlice = arena.allocate(8);
            MemorySegment slice = arena.allocate(32);
            MemorySegment scoped = scope.allocate(100);
            for (MemorySegment held : java.util.List.of(first, second, firstSlice, slice, scoped)) {
                MemoryMisuseException misuse = assertThrows(MemoryMisuseException.class,
                        () -> checked.usableSize(held));
                assertEquals(MemoryMisuseException.Kind.ALLOC_DEALLOC_MISMATCH, misuse.kind(), misuse.getMessage());
                assertTrue(misuse.getMessage().contains("vs Heap.usableSize"), misuse.getMessage());
                assertTrue(misuse.getMessage().contains("its holder, not the heap, says what of it it hands out"),
                        misuse.getMessage());
            }
            MemorySegment own = checked.malloc(100);
            assertTrue(checked.usableSize(own) >= 100, "the heap's own block still answers");
            checked.free(own);
            pool.free(first);
            pool.free(second);
        }
    }
    /**
     * Bug: a pool's block freed through the heap was reported with the stack that allocated the
     * pool's page, not the one that took the block from the pool, and the pool's first block (at
     * the page's first byte) was worded as a block the pool holds, the others as blocks it hands out.
     */
    @Test
    void aPoolBlockFreedThroughTheHeapIsReportedWithWhereItWasTaken() {
        try (FixedSizePool pool = FixedSizePool.builder(heap, 48).name("nodes").build()) {
            MemorySegment first = takeTheFirstNode(pool);
            MemorySegment second = takeTheSecondNode(pool);
            for (MemorySegment node : java.util.List.of(first, second)) {
                MemoryMisuseException misuse = assertThrows(MemoryMisuseException.class, () -> heap.free(node));
                String report = misuse.getMessage();
                String taker = node == first ? "takeTheFirstNode" : "takeTheSecondNode";
                assertEquals(MemoryMisuseException.Kind.ALLOC_DEALLOC_MISMATCH, misuse.kind(), report);
                assertTrue(report.contains("what it hands out is freed through it"), report);
                assertTrue(report.contains("0x" + Long.toHexString(node.address())
                        + " is a block FixedSizePool 'nodes' handed out:\nallocated by thread"), report);
                String frame = report.substring(report.indexOf("handed out:\n"));
                frame = frame.substring(frame.indexOf("#0 "), frame.indexOf('\n', frame.indexOf("#0 ")));
                assertTrue(frame.contains(taker), taker + " took it: " + report);
            }
            MemorySegment neverTaken = MemorySegment.ofAddress(second.address() + 48);
            MemoryMisuseException inside = assertThrows(MemoryMisuseException.class, () -> heap.free(neverTaken));
            assertTrue(!inside.getMessage().contains("handed out:"), inside.getMessage());
            pool.free(first);
            pool.free(second);
        }
    }

    /**
     * Bug: an address inside a pool's block, freed through the heap, was reported with the stack
     * that allocated the pool's page: the block the program misused went unnamed.
     */
    @Test
    void anAddressInsideAPoolBlockFreedThroughTheHeapNamesThatBlock() {
        try (FixedSizePool pool = FixedSizePool.builder(heap, 48).name("nodes").build()) {
            MemorySegment first = takeTheFirstNode(pool);
            MemorySegment second = takeTheSecondNode(pool);
            long inside = second.address() + 20;
            MemoryMisuseException misuse = assertThrows(MemoryMisuseException.class,
                    () -> heap.freeAddress(inside));
            String report = misuse.getMessage();
            assertEquals(MemoryMisuseException.Kind.ALLOC_DEALLOC_MISMATCH, misuse.kind(), report);
            assertEquals(inside, misuse.address());
            assertTrue(report.contains("0x" + Long.toHexString(inside) + " is 20 bytes inside the block at 0x"
                    + Long.toHexString(second.address()) + ", a block FixedSizePool 'nodes' handed out:\nallocated by thread"),
                    report);
            String frame = report.substring(report.indexOf("handed out:\n"));
            frame = frame.substring(frame.indexOf("#0 "), frame.indexOf('\n', frame.indexOf("#0 ")));
            assertTrue(frame.contains("takeTheSecondNode"), report);
            pool.free(first);
            pool.free(second);
        }
    }

    /** Bug: in sampled mode a slot the pool never handed out was reported as a block it handed out. */
    @Test
    void aSlotThePoolNeverHandedOutIsNoBlockItHandedOutInSampledModeEither() {
        try (Heap sampled = Heap.builder().name("sampled").checkMode(CheckMode.SAMPLED).sampleInterval(1).build();
                FixedSizePool pool = FixedSizePool.builder(sampled, 48).blocksPerPage(4).build()) {
            MemorySegment first = pool.allocate();
            MemorySegment taken = takeTheSecondNode(pool);
            long stride = taken.address() - first.address();
            MemorySegment neverTaken = MemorySegment.ofAddress(taken.address() + stride);
            MemoryMisuseException slot = assertThrows(MemoryMisuseException.class, () -> sampled.free(neverTaken));
            assertTrue(!slot.getMessage().contains("handed out:"), slot.getMessage());
            MemoryMisuseException block = assertThrows(MemoryMisuseException.class, () -> sampled.free(taken));
            assertTrue(block.getMessage().contains("handed out:\nallocated by thread"), block.getMessage());
            assertTrue(block.getMessage().contains("takeTheSecondNode"), block.getMessage());
            pool.free(first);
            pool.free(taken);
        }
    }

    private static MemorySegment takeTheFirstNode(FixedSizePool pool) {
        return pool.allocate();
    }

    private static MemorySegment takeTheSecondNode(FixedSizePool pool) {
        return pool.allocate();
    }
}
