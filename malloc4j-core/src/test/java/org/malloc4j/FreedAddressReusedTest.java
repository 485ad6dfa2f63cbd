package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A checked heap remembers where it freed blocks after their memory is handed out again. A call on
 * an address that a live block now covers is about that block (its interior, or its holder's
 * memory), not a double free or use after free of the block freed there before.
 */
class FreedAddressReusedTest {
    private static final long LARGE = 1 << 20;
    private final Heap heap = Heap.builder().name("reused").checkMode(CheckMode.FULL).quarantineBytes(0)
            .leakReportAtClose(false).build();

    @AfterEach
    void closeHeap() {
        heap.close();
    }

    /** @return the starts of 2,000 blocks of 16 B, freed, with their pages given back */
    private long[] freedStarts() {
        long[] starts = new long[2_000];
        for (int i = 0; i < starts.length; i++) {
            starts[i] = heap.mallocAddress(16);
        }
        for (long start : starts) {
            heap.freeAddress(start);
        }
        heap.trim();
        return starts;
    }

    @Test
    void anInteriorAddressOfALiveBlockWhereABlockWasFreedIsABadFree() {
        long[] starts = freedStarts();
        long large = heap.mallocAddress(LARGE);
        long inside = Arrays.stream(starts).filter(start -> start > large && start < large + LARGE).findFirst()
                .orElseThrow(() -> new AssertionError("the large block reused none of the small blocks' memory"));
        for (MemoryMisuseException misuse : new MemoryMisuseException[] {
            assertThrows(MemoryMisuseException.class, () -> heap.freeAddress(inside)),
            assertThrows(MemoryMisuseException.class, () -> heap.reallocAddress(inside, 64)),
            assertThrows(MemoryMisuseException.class, () -> heap.usableSize(inside))}) {
            assertEquals(MemoryMisuseException.Kind.BAD_FREE, misuse.kind(), misuse.getMessage());
            String where = (inside - large) + " bytes inside of the " + LARGE + "-byte region";
            assertTrue(misuse.getMessage().contains(where), misuse.getMessage());
        }
        heap.freeAddress(large);
        assertEquals(0, heap.stats().liveBlocks());
    }

    /**
     * A redzone of a live block is no address a call could mean for that block: a second free there
     * is the freed block's double free, with its record.
     */
    @Test
    void aFreedStartThatOnlyALiveBlocksRedzoneCoversIsADoubleFree() {
        int found = 0;
        for (int round = 0; round < 200 && found < 3; round++) {
            long freed = heap.mallocAddress(16 + round % 20 * 24);
            heap.freeAddress(freed);
            List<Long> kept = new ArrayList<>();
            String described = "";
            for (int i = 0; i < 40 && !described.contains(" live block"); i++) {
                // Aligned blocks get front redzones of their own width, which may cover the freed start.
                kept.add(i % 2 == 0 ? heap.mallocAlignedAddress(8 + i * 8, 64 << i % 4)
                        : heap.mallocAddress(8 + i * 40));
                described = heap.describe(freed);
            }
            String first = described.lines().skip(1).findFirst().orElse("");
            if (!kept.contains(freed) && (first.contains("to the left of") || first.contains("to the right of"))) {
                found++;
                MemoryMisuseException misuse = assertThrows(MemoryMisuseException.class, () -> heap.freeAddress(freed));
                assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE, misuse.kind(),
                        described + "\n" + misuse.getMessage());
            }
            kept.forEach(heap::freeAddress);
        }
        assertTrue(found > 0, "no freed start came to lie in a live block's redzone");
        assertEquals(0, heap.stats().liveBlocks());
    }

    @Test
    void aPoolsBlockWhereAHeapBlockWasFreedIsAMismatch() {
        long[] starts = freedStarts();
        try (FixedSizePool pool = FixedSizePool.builder(heap, 32).name("points").build()) {
            MemorySegment first = pool.allocate();
            assertTrue(Arrays.stream(starts).anyMatch(start -> start == first.address()),
                    "the pool's first block is not where a freed heap block started");
            MemoryMisuseException misuse = assertThrows(MemoryMisuseException.class, () -> heap.free(first));
            assertEquals(MemoryMisuseException.Kind.ALLOC_DEALLOC_MISMATCH, misuse.kind(), misuse.getMessage());
            assertTrue(misuse.getMessage().contains("FixedSizePool 'points'"), misuse.getMessage());
            pool.free(first);
        }
    }
}
