package org.malloc4j;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.malloc4j.PoolThreads.giveOnGiver;
import static org.malloc4j.PoolThreads.takeOnTaker;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * In {@link CheckMode#FULL} every block of a {@link FixedSizePool} has redzones: a write just before
 * or past it through a raw address is reported when it is freed, by {@link Heap#check()} and when the
 * pool closes, as the heap reports its own blocks' overflows.
 */
class FixedSizePoolRedzonesTest {
    private static final long BLOCK = 48;

    /** Writes one byte at {@code offset} from {@code block}, as a program with a raw address would. */
    private static void writeAt(long block, long offset) {
        MemorySegment.ofAddress(block + offset).reinterpret(1).set(JAVA_BYTE, 0, (byte) 0x42);
    }

    private static Heap fullHeap() {
        return Heap.builder().name("full").checkMode(CheckMode.FULL).build();
    }

    private static FixedSizePool nodes(Heap heap) {
        return FixedSizePool.builder(heap, BLOCK).name("nodes").build();
    }

    /** The line of a report that places the bad byte against the block, up to the block's page. */
    private static String located(long block, long offset) {
        String where = offset < 0 ? -offset + " bytes before " : offset - BLOCK + " bytes after ";
        return "0x" + Long.toHexString(block + offset) + " is located " + where + "the " + BLOCK + "-byte region [0x"
                + Long.toHexString(block) + ",0x" + Long.toHexString(block + BLOCK) + "), block ";
    }

    /** Asserts {@code e} is the report of the byte at {@code offset} from {@code block}, written after it was taken by "taker". */
    private static void assertOverflowReport(MemoryMisuseException e, long block, long offset, String when) {
        assertEquals(MemoryMisuseException.Kind.HEAP_BUFFER_OVERFLOW, e.kind());
        assertEquals(block + offset, e.address());
        String report = e.getMessage();
        assertTrue(report.startsWith("ERROR: malloc4j: heap-buffer-overflow on address 0x"
                + Long.toHexString(block + offset) + " in thread \"main\"\n"), report);
        assertTrue(report.contains("\nWRITE of unknown size found " + when + "\n"), report);
        assertTrue(report.contains("\n" + located(block, offset)), report);
        assertTrue(report.contains(" of pool 'nodes'\nallocated by thread \"taker\" here:\n    #0 "
                + PoolThreads.class.getName() + ".lambda$takeOnTaker$"), report);
        String summary = report.substring(report.lastIndexOf('\n') + 1);
        assertTrue(summary.matches("SUMMARY: malloc4j: heap-buffer-overflow in the block allocated at "
                + Pattern.quote(PoolThreads.class.getName() + ".lambda$takeOnTaker$")
                + "\\d+\\(PoolThreads\\.java:\\d+\\) in pool 'nodes'"), report);
    }

    // ---- where damage is found ----

    /** Offsets from a block's start: the byte before it, the first byte past it, the ninth byte past it. */
    @ParameterizedTest
    @ValueSource(longs = {-1, BLOCK, BLOCK + 8})
    void aWriteBesideABlockIsReportedAtItsFreeWhichStillFreesIt(long offset) throws InterruptedException {
        try (Heap heap = fullHeap(); FixedSizePool pool = nodes(heap)) {
            long before = pool.allocateAddress();
            long block = takeOnTaker(pool);
            long after = pool.allocateAddress();
            writeAt(block, offset);

            MemoryMisuseException e = assertThrows(MemoryMisuseException.class, () -> pool.freeAddress(block));
            assertOverflowReport(e, block, offset, "at free, which freed it all the same");
            assertEquals(2, pool.liveBlocks());
            assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE,
                    assertThrows(MemoryMisuseException.class, () -> pool.freeAddress(block)).kind());
            // The canaries were put back: the block's next take and free find nothing.
            assertEquals(block, pool.allocateAddress());
            heap.check();
            pool.freeAddress(block);
            pool.freeAddress(after);
            pool.freeAddress(before);
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {-1, BLOCK, BLOCK + 8})
    void aWriteBesideALiveBlockIsReportedByTheHeapsCheckOnce(long offset) throws InterruptedException {
        try (Heap heap = fullHeap(); FixedSizePool pool = nodes(heap)) {
            long before = pool.allocateAddress();
            long block = takeOnTaker(pool);
            writeAt(block, offset);

            MemoryMisuseException e = assertThrows(MemoryMisuseException.class, heap::check);
            assertOverflowReport(e, block, offset, "by check()");
            heap.check();
            assertEquals(2, pool.liveBlocks());
            pool.freeAddress(block);
            pool.freeAddress(before);
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {-1, BLOCK, BLOCK + 8})
    void aWriteBesideALiveBlockIsReportedWhenThePoolClosesWhichStillGivesEveryPageBack(long offset)
            throws InterruptedException {
        try (Heap heap = fullHeap()) {
            FixedSizePool pool = nodes(heap);
            pool.allocateAddress();
            long block = takeOnTaker(pool);
            writeAt(block, offset);

            MemoryMisuseException e = assertThrows(MemoryMisuseException.class, pool::close);
            assertOverflowReport(e, block, offset, "when pool 'nodes' closed, with the block still live");
            assertTrue(pool.isClosed());
            assertEquals(0, heap.stats().liveBlocks());
            heap.check();
            heap.free(heap.malloc(BLOCK));
        }
    }

    @Test
    void aWriteBesideALiveBlockIsReportedWhenTheHeapClosesThePool() throws InterruptedException {
        Heap heap = fullHeap();
        FixedSizePool pool = nodes(heap);
        long block = takeOnTaker(pool);
        writeAt(block, BLOCK);

        MemoryMisuseException e = assertThrows(MemoryMisuseException.class, heap::close);
        assertOverflowReport(e, block, BLOCK, "when pool 'nodes' closed, with the block still live");
        assertTrue(pool.isClosed());
        assertTrue(heap.isClosed());
    }

    @Test
    void aWriteBesideAFreedBlockIsReportedByCheckWithWhereItWasGivenBack() throws InterruptedException {
        try (Heap heap = fullHeap(); FixedSizePool pool = nodes(heap)) {
            long block = takeOnTaker(pool);
            long kept = pool.allocateAddress();
            giveOnGiver(pool, block);
            writeAt(block, BLOCK + 8);

            MemoryMisuseException e = assertThrows(MemoryMisuseException.class, heap::check);
            assertEquals(MemoryMisuseException.Kind.HEAP_BUFFER_OVERFLOW, e.kind());
            String report = e.getMessage();
            assertTrue(report.contains(located(block, BLOCK + 8)), report);
            assertTrue(report.contains("freed by thread \"giver\" here:"), report);
            assertTrue(report.contains("previously allocated by thread \"taker\" here:"), report);
            pool.freeAddress(kept);
        }
    }

    /**
     * Bug: taking a freed block's slot again refilled its canaries unverified, so a write beside the
     * freed block that no check() had found yet was never reported.
     */
    @ParameterizedTest
    @EnumSource(RetakenSlotReporter.class)
    void aWriteBesideAFreedBlockIsReportedAfterItsSlotIsTakenAgain(RetakenSlotReporter reportedBy) throws InterruptedException {
        try (Heap heap = fullHeap()) {
            FixedSizePool pool = nodes(heap);
            long block = takeOnTaker(pool);
            long kept = pool.allocateAddress();
            giveOnGiver(pool, block);
            writeAt(block, BLOCK + 8);

            long again = pool.allocateAddress();
            assertEquals(block, again, "the pool hands the freed slot out again");
            MemoryMisuseException e = reportedBy.report(heap, pool, kept);
            assertEquals(MemoryMisuseException.Kind.HEAP_BUFFER_OVERFLOW, e.kind());
            String report = e.getMessage();
            assertTrue(report.contains("\nWRITE of unknown size found when its slot was taken again\n"), report);
            assertTrue(report.contains(located(block, BLOCK + 8)), report);
            assertTrue(report.contains("freed by thread \"giver\" here:"), report);
            assertTrue(report.contains("previously allocated by thread \"taker\" here:"), report);
            // Reported once, and the block taken again is whole.
            heap.check();
            reportedBy.finish(pool, again, kept);
        }
    }

    @Test
    void aWriteBesideAFreedBlockIsReportedWhenItsPageGoesBackToTheHeap() throws InterruptedException {
        try (Heap heap = fullHeap();
                FixedSizePool pool = FixedSizePool.builder(heap, BLOCK).blocksPerPage(2).name("nodes").build()) {
            long first = takeOnTaker(pool);
            long second = pool.allocateAddress();
            long onAnotherPage = pool.allocateAddress();
            pool.freeAddress(onAnotherPage);
            pool.freeAddress(first);
            writeAt(first, BLOCK + 8);

            // The free of the page's last live block gives the page back: the kept empty page is the other one.
            MemoryMisuseException e = assertThrows(MemoryMisuseException.class, () -> pool.freeAddress(second));
            assertEquals(MemoryMisuseException.Kind.HEAP_BUFFER_OVERFLOW, e.kind());
            String report = e.getMessage();
            assertTrue(report.contains("found when pool 'nodes' gave its page back to the heap\n"), report);
            assertTrue(report.contains(located(first, BLOCK + 8)), report);
            assertTrue(report.contains("previously allocated by thread \"taker\" here:"), report);
            assertEquals(0, pool.liveBlocks());
            assertEquals(1, pool.pageCount());
            assertEquals(1, heap.stats().liveBlocks());
        }
    }

    @Test
    void damageToBothSidesOfABlockIsReportedOnceWithTheSecondSuppressed() throws InterruptedException {
        try (Heap heap = fullHeap(); FixedSizePool pool = nodes(heap)) {
            pool.allocateAddress();
            long block = takeOnTaker(pool);
            writeAt(block, -1);
            writeAt(block, BLOCK);

            MemoryMisuseException e = assertThrows(MemoryMisuseException.class, () -> pool.freeAddress(block));
            assertOverflowReport(e, block, -1, "at free, which freed it all the same");
            assertEquals(1, e.getSuppressed().length);
            assertOverflowReport((MemoryMisuseException) e.getSuppressed()[0], block, BLOCK, "at free, which freed it all the same");
        }
    }

    @Test
    void aThreadSafePoolsBlocksAreVerifiedByCheckToo() throws InterruptedException {
        try (Heap heap = fullHeap();
                FixedSizePool pool = FixedSizePool.builder(heap, BLOCK).threadSafe(true).name("nodes").build()) {
            long block = takeOnTaker(pool);
            writeAt(block, BLOCK + 8);

            assertOverflowReport(assertThrows(MemoryMisuseException.class, heap::check), block, BLOCK + 8,
                    "by check()");
            pool.freeAddress(block);
        }
    }

    // ---- layout ----

    @Test
    void fullModeAddsThirtyTwoBytesToTheStrideAndKeepsBlocksPerPage() {
        try (Heap fast = Heap.builder().name("fast").build();
                Heap full = fullHeap();
                FixedSizePool plain = FixedSizePool.builder(fast, BLOCK).build();
                FixedSizePool redzoned = FixedSizePool.builder(full, BLOCK).build()) {
            assertEquals(BLOCK, plain.strideBytes());
            assertEquals(BLOCK + 32, redzoned.strideBytes());
            assertEquals(plain.blocksPerPage(), redzoned.blocksPerPage());
            long first = redzoned.allocateAddress();
            long second = redzoned.allocateAddress();
            assertEquals(BLOCK + 32, second - first);
            assertEquals(0, first % Heap.MIN_ALIGNMENT);
            assertEquals(redzoned.blocksPerPage() * (BLOCK + 32), redzoned.heldBytes());
            redzoned.freeAddress(first);
            redzoned.freeAddress(second);
        }
    }

    /** Fast and sampled modes keep the packed layout: no redzones, the same stride, the same footprint. */
    @ParameterizedTest
    @ValueSource(strings = {"FAST", "SAMPLED"})
    void otherModesKeepThePackedStrideAndFootprint(String mode) {
        try (Heap heap = Heap.builder().name(mode).checkMode(CheckMode.valueOf(mode)).sampleInterval(1).build();
                FixedSizePool pool = FixedSizePool.builder(heap, BLOCK).build()) {
            assertEquals(BLOCK, pool.strideBytes());
            assertEquals(65536 / BLOCK, pool.blocksPerPage());
            assertEquals(65536, pool.pageAlignment());
            long first = pool.allocateAddress();
            long second = pool.allocateAddress();
            assertEquals(BLOCK, second - first);
            assertEquals(pool.blocksPerPage() * BLOCK, pool.heldBytes());
            // Nothing there to find: the byte past the first block is the second block's.
            writeAt(first, BLOCK);
            heap.check();
            pool.freeAddress(first);
            pool.freeAddress(second);
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 8, 16, 64, 4096, 8192})
    void redzonedBlocksKeepTheirAlignmentAndAreFoundBackFromTheirAddress(long alignment) {
        try (Heap heap = fullHeap();
                FixedSizePool pool = FixedSizePool.builder(heap, 24).blockByteAlignment(alignment).blocksPerPage(5)
                        .name("nodes").build()) {
            assertTrue(pool.strideBytes() >= 24 + 16 + (alignment <= 4096 ? 16 : 0), pool::toString);
            List<Long> blocks = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                long block = pool.allocateAddress();
                assertEquals(0, block % alignment, "alignment=" + alignment);
                // Filled up to its last byte and past nothing: no report.
                MemorySegment.ofAddress(block).reinterpret(24).fill((byte) 7);
                blocks.add(block);
            }
            heap.check();
            // Interior addresses and redzones are refused, whichever side of the block.
            long middle = blocks.get(6);
            assertEquals(MemoryMisuseException.Kind.BAD_FREE,
                    assertThrows(MemoryMisuseException.class, () -> pool.freeAddress(middle + 24)).kind());
            if (alignment <= 4096) {
                String report = assertThrows(MemoryMisuseException.class, () -> pool.freeAddress(middle - 1))
                        .getMessage();
                assertTrue(report.contains("is 1 bytes before the block at 0x" + Long.toHexString(middle)), report);
            }
            for (int i = blocks.size() - 1; i >= 0; i -= 2) {
                pool.freeAddress(blocks.get(i));
            }
            long freed = blocks.get(3);
            assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE,
                    assertThrows(MemoryMisuseException.class, () -> pool.freeAddress(freed)).kind());
            for (int i = blocks.size() - 2; i >= 0; i -= 2) {
                pool.freeAddress(blocks.get(i));
            }
            assertEquals(0, pool.liveBlocks());
        }
    }

    @Test
    void aBlockFreedThroughTheHeapIsStillNamedAsThePoolsBlock() throws InterruptedException {
        try (Heap heap = fullHeap(); FixedSizePool pool = nodes(heap)) {
            long block = takeOnTaker(pool);
            MemoryMisuseException e = assertThrows(MemoryMisuseException.class, () -> heap.freeAddress(block));
            assertEquals(MemoryMisuseException.Kind.ALLOC_DEALLOC_MISMATCH, e.kind());
            assertTrue(e.getMessage().contains("0x" + Long.toHexString(block) + " is a block FixedSizePool 'nodes'"
                    + " handed out:\nallocated by thread \"taker\" here:"), e.getMessage());
            assertFalse(e.getMessage().contains("bytes inside the block"), e.getMessage());
            pool.freeAddress(block);
        }
    }
}
