package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.junit.jupiter.api.Test;

/**
 * {@link FreedRecords}: the latest freed block around an address, however many others were freed
 * inside its memory since, and eviction in the order of the frees.
 */
class FreedRecordsTest {
    private static final long BASE = 0x7f00_0000_0000L;

    /** A block of {@code byteSize} bytes at {@code address}, {@code front} bytes of redzone before it, 16 after. */
    private static BlockRecord block(long address, long byteSize, long front) {
        return new BlockRecord(address - front, address, byteSize, front + byteSize + 16);
    }

    @Test
    void aFreeAtAnAddressAlreadyRememberedCountsAsTheLatestForEviction() {
        FreedRecords records = new FreedRecords(4);
        BlockRecord first = block(BASE, 100, 16);
        records.put(first);
        BlockRecord other = block(BASE + 4096, 100, 16);
        records.put(other);
        BlockRecord again = block(BASE, 100, 16);
        records.put(again);
        for (int i = 2; i <= 4; i++) {
            records.put(block(BASE + i * 4096L, 100, 16));
        }
        // Four kept: the block at BASE + 4096 went first, as the one freed longest ago.
        assertSame(again, records.get(BASE));
        assertSame(again, records.around(BASE + 50));
        assertNull(records.get(BASE + 4096));
        assertNull(records.around(BASE + 4096 + 50));
    }

    @Test
    void aLargeBlockIsFoundPastManyBlocksFreedInsideItsMemorySince() {
        FreedRecords records = new FreedRecords(1 << 16);
        BlockRecord large = block(BASE + 16, 2_000_001, 16);
        records.put(large);
        for (int i = 0; i < 300; i++) {
            records.put(block(BASE + 16 + 4096 + i * 48L, 24, 16));
        }
        assertSame(large, records.around(BASE + 16 + 1_990_000));
        // Where a later block's memory lies over it, the later one is the latest.
        assertSame(records.get(BASE + 16 + 4096), records.around(BASE + 16 + 4096 + 8));
    }

    @Test
    void anAlignedBlocksFrontPaddingIsItsOwnOverAnOlderBlockThere() {
        FreedRecords records = new FreedRecords(1 << 16);
        BlockRecord older = block(BASE + 16, 24, 16);
        records.put(older);
        records.put(block(BASE + 64, 24, 16));
        // Freed later, its 4 KiB of front padding and redzone lie over the older blocks.
        BlockRecord aligned = block(BASE + 4096, 100, 4096);
        records.put(aligned);
        assertSame(aligned, records.around(BASE + 16));
        assertSame(aligned, records.around(BASE));
    }

    @Test
    void aBlockWiderThanTheFilingRangesIsFoundAnywhereInIt() {
        FreedRecords records = new FreedRecords(16);
        BlockRecord huge = block(BASE + 16, 40L << 20, 16);
        records.put(huge);
        assertSame(huge, records.around(BASE + (39L << 20)));
        assertNull(records.around(BASE + (41L << 20)));
    }

    @Test
    void aRecordLeavesEveryRangeItWasFiledUnderWhenEvictedOrUndone() {
        FreedRecords records = new FreedRecords(1);
        BlockRecord spanning = block(BASE + 16, 200_000, 16);
        records.put(spanning);
        BlockRecord next = block(BASE + (1 << 20), 64, 16);
        records.put(next);
        assertNull(records.around(BASE + 100_000));
        assertNull(records.get(BASE + 16));
        records.remove(next);
        assertNull(records.around(BASE + (1 << 20) + 8));
        // Undoing a free that is not the one at its address changes nothing.
        BlockRecord kept = block(BASE + (2 << 20), 64, 16);
        records.put(kept);
        records.remove(block(BASE + (2 << 20), 64, 16));
        assertSame(kept, records.get(BASE + (2 << 20)));
    }
}
