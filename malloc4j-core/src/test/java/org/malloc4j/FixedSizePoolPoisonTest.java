package org.malloc4j;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.malloc4j.PoolThreads.giveOnGiver;
import static org.malloc4j.PoolThreads.takeOnTaker;

import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * In {@link CheckMode#FULL} a {@link FixedSizePool} poisons a freed block and junks a block taken
 * again, as the heap does its own: a write through a raw address after the free is reported as a
 * use after free when the slot is taken again, by {@link Heap#check()} and when the pool closes.
 */
class FixedSizePoolPoisonTest {
    private static final long BLOCK = 48;

    private static MemorySegment raw(long address) {
        return MemorySegment.ofAddress(address).reinterpret(BLOCK);
    }

    private static FixedSizePool nodes(Heap heap) {
        return FixedSizePool.builder(heap, BLOCK).name("nodes").build();
    }

    private static void assertAll(MemorySegment block, byte value) {
        for (long i = 0; i < BLOCK; i++) {
            assertEquals(value, block.get(JAVA_BYTE, i), "byte " + i);
        }
    }

    private static void assertWriteAfterFreeReport(MemoryMisuseException e, long block, long offset, String when) {
        assertEquals(MemoryMisuseException.Kind.USE_AFTER_FREE, e.kind());
        assertEquals(block + offset, e.address());
        String report = e.getMessage();
        assertTrue(report.startsWith("ERROR: malloc4j: heap-use-after-free on address 0x"
                + Long.toHexString(block + offset) + " in thread "), report);
        assertTrue(report.contains("\nWRITE of unknown size after free, found " + when + "\n"), report);
        assertTrue(report.contains("\n0x" + Long.toHexString(block + offset) + " is located " + offset
                + " bytes inside of the " + BLOCK + "-byte region [0x" + Long.toHexString(block) + ",0x"
                + Long.toHexString(block + BLOCK) + "), block "), report);
        assertTrue(report.contains(" of pool 'nodes'\nfreed by thread \"giver\" here:\n"), report);
        assertTrue(report.contains("previously allocated by thread \"taker\" here:\n"), report);
        String summary = report.substring(report.lastIndexOf('\n') + 1);
        assertTrue(summary.startsWith("SUMMARY: malloc4j: heap-use-after-free in the block freed at ")
                && summary.endsWith(" in pool 'nodes'"), summary);
    }

    @Test
    void aFreedBlockReadsPoisonAndABlockTakenAgainReadsJunk() throws InterruptedException {
        try (Heap heap = Heap.builder().checkMode(CheckMode.FULL).build(); FixedSizePool pool = nodes(heap)) {
            long block = takeOnTaker(pool);
            raw(block).fill((byte) 7);
            pool.freeAddress(block);
            assertAll(raw(block), CheckMode.POISON_BYTE);

            assertEquals(block, pool.allocateAddress(), "the pool hands the freed slot out again");
            assertAll(raw(block), CheckMode.JUNK_BYTE);
            pool.freeAddress(block);
        }
    }

    @ParameterizedTest
    @EnumSource(RetakenSlotReporter.class)
    void aWriteIntoAFreedBlockIsReportedAfterItsSlotIsTakenAgain(RetakenSlotReporter reportedBy) throws InterruptedException {
        try (Heap heap = Heap.builder().checkMode(CheckMode.FULL).build()) {
            FixedSizePool pool = nodes(heap);
            long block = takeOnTaker(pool);
            long kept = pool.allocateAddress();
            giveOnGiver(pool, block);
            raw(block).set(JAVA_BYTE, 20, (byte) 0x42);

            long again = pool.allocateAddress();
            assertEquals(block, again, "the pool hands the freed slot out again");
            assertAll(raw(again), CheckMode.JUNK_BYTE);
            MemoryMisuseException e = reportedBy.report(heap, pool, kept);
            assertWriteAfterFreeReport(e, block, 20, "when its slot was taken again");
            // Reported once.
            heap.check();
            reportedBy.finish(pool, again, kept);
        }
    }

    @Test
    void aWriteIntoAFreedBlockIsReportedByCheckOnceWithItsPoisonPutBack() throws InterruptedException {
        try (Heap heap = Heap.builder().checkMode(CheckMode.FULL).build(); FixedSizePool pool = nodes(heap)) {
            long block = takeOnTaker(pool);
            long kept = pool.allocateAddress();
            giveOnGiver(pool, block);
            raw(block).set(JAVA_BYTE, BLOCK - 1, (byte) 0x42);

            assertWriteAfterFreeReport(assertThrows(MemoryMisuseException.class, heap::check), block, BLOCK - 1,
                    "by check()");
            assertAll(raw(block), CheckMode.POISON_BYTE);
            heap.check();
            pool.freeAddress(kept);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"FAST", "SAMPLED"})
    void otherModesLeaveAFreedBlockAsItWas(String mode) {
        try (Heap heap = Heap.builder().checkMode(CheckMode.valueOf(mode)).build(); FixedSizePool pool = nodes(heap)) {
            long kept = pool.allocateAddress();
            long block = pool.allocateAddress();
            raw(block).fill((byte) 7);
            pool.freeAddress(block);
            assertAll(raw(block), (byte) 7);
            pool.freeAddress(kept);
        }
    }
}
