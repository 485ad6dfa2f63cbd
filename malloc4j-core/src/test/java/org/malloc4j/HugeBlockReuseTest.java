package org.malloc4j;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A freed huge block's mapping (over 16 MiB) stays mapped and committed for the purge delay, so a
 * loop that allocates and frees huge blocks of one size maps once, and the memory still goes back
 * to the OS on its own, at a trim, under a limit and at close. Misuse of the freed block is caught
 * as before.
 */
class HugeBlockReuseTest {
    private static final long MIB = 1 << 20;
    private static final long HUGE = 64 * MIB;

    private static Heap.Builder heap(String name) {
        return Heap.builder().name(name).purgeDelay(Duration.ofHours(1));
    }

    @ParameterizedTest
    @EnumSource(value = CheckMode.class, names = {"FAST", "FULL"})
    void aLoopAllocatingAndFreeingAHugeBlockMapsItOnce(CheckMode mode) {
        try (Heap heap = heap("huge loop").checkMode(mode).quarantineBytes(0).build()) {
            heap.free(touched(heap.malloc(HUGE)));
            HeapStats before = heap.stats();
            for (int round = 0; round < 20; round++) {
                heap.free(touched(heap.malloc(HUGE)));
            }
            HeapStats after = heap.stats();
            assertEquals(before.mmapCalls(), after.mmapCalls(), after.toText());
            assertEquals(before.munmapCalls(), after.munmapCalls(), after.toText());
            assertEquals(before.madviseCalls(), after.madviseCalls(), after.toText());
            assertEquals(0, after.liveBlocks());
            assertTrue(after.committedBytes() >= HUGE, "the freed block's memory waits out the purge delay: "
                    + after.toText());

            heap.trim();
            HeapStats trimmed = heap.stats();
            assertEquals(0, trimmed.committedBytes(), trimmed.toText());
            assertEquals(0, trimmed.reservedBytes(), trimmed.toText());
        }
    }

    @Test
    void aKeptMappingGoesBackToTheOsAfterThePurgeDelayWithoutTrim() throws InterruptedException {
        try (Heap heap = Heap.builder().name("huge purge").purgeDelay(Duration.ofMillis(50)).build()) {
            heap.free(touched(heap.malloc(HUGE)));
            long munmapsAtFree = heap.stats().munmapCalls();
            long committed = PurgeTest.pollCommittedUntilAtMost(heap, 0);
            assertEquals(0, committed, heap.stats().toText());
            assertEquals(0, heap.stats().reservedBytes(), heap.stats().toText());
            assertEquals(munmapsAtFree + 1, heap.stats().munmapCalls(), heap.stats().toText());
        }
    }

    /**
     * A smaller block in a kept mapping leaves the memory past it committed until the mapping's
     * purge delay ends, or a {@code trim()}: the next larger block of the span then needs no commit.
     */
    @Test
    void aBlockOfAnotherSizeInTheSameSpanReusesTheMappingAndItsMemoryUntilThePurgeDelay() {
        try (Heap heap = heap("huge resize").build()) {
            heap.free(touched(heap.malloc(HUGE)));
            long smaller = HUGE - 20 * MIB;
            MemorySegment block = heap.malloc(smaller);
            HeapStats stats = heap.stats();
            assertEquals(1, stats.mmapCalls(), stats.toText());
            assertEquals(HUGE, stats.committedBytes(), stats.toText());
            assertEquals(0, stats.madviseCalls(), stats.toText());
            heap.free(block);
            MemorySegment larger = heap.malloc(HUGE);
            assertEquals(HUGE, heap.stats().committedBytes(), heap.stats().toText());
            assertEquals(1, heap.stats().mmapCalls());
            heap.free(larger);

            MemorySegment again = heap.malloc(smaller);
            heap.trim();
            assertEquals(smaller, heap.stats().committedBytes(), heap.stats().toText());
            assertEquals(again.address(), larger.address(), "the mapping was not reused");
            heap.free(again);
        }
    }

    /** What a smaller block leaves of its kept mapping goes back once the purge delay ends, with no call. */
    @Test
    void theMemoryPastASmallerBlockInAKeptMappingGoesBackAfterThePurgeDelay() throws InterruptedException {
        try (Heap heap = Heap.builder().name("huge tail").purgeDelay(Duration.ofMillis(50)).build()) {
            heap.free(touched(heap.malloc(HUGE)));
            long smaller = HUGE - 20 * MIB;
            MemorySegment block = touched(heap.malloc(smaller));
            long committed = PurgeTest.pollCommittedUntilAtMost(heap, smaller);
            assertEquals(smaller, committed, heap.stats().toText());
            assertEquals(1, heap.stats().mmapCalls(), heap.stats().toText());
            heap.free(block);
        }
    }

    /**
     * Two huge sizes of one span in turn, each block written whole: the memory the larger one
     * committed stays for the next, instead of going back and being faulted in again every other
     * round.
     */
    @Test
    void twoSizesOfOneSpanInTurnReturnNothingRoundAfterRound() {
        try (Heap heap = heap("huge in turn").build()) {
            for (int round = 0; round < 20; round++) {
                heap.free(touched(heap.malloc(round % 2 == 0 ? 40 * MIB : HUGE)));
            }
            HeapStats stats = heap.stats();
            assertEquals(0, stats.madviseCalls(), stats.toText());
            assertEquals(0, stats.purgedBytes(), stats.toText());
            assertEquals(1, stats.mmapCalls(), stats.toText());
        }
    }

    @Test
    void callocOfAReusedMappingReadsZeros() {
        try (Heap heap = heap("huge calloc").build()) {
            MemorySegment dirty = heap.malloc(HUGE);
            dirty.fill((byte) 0x55);
            heap.free(dirty);
            MemorySegment zeroed = heap.calloc(HUGE / 8, 8);
            assertEquals(dirty.address(), zeroed.address(), "the mapping was not reused");
            assertEquals(-1, zeroed.mismatch(MemorySegment.ofArray(new byte[(int) HUGE])));
            heap.free(zeroed);
        }
    }

    /**
     * A calloc that reuses a kept mapping zeroes it through the OS, as a fresh mapping reads zeros:
     * writing the zeros would make every page of a sparsely used block resident.
     */
    @Test
    void callocOfAReusedMappingLeavesThePagesItDoesNotTouchOutOfMemory() throws IOException {
        try (Heap heap = heap("huge sparse calloc").build()) {
            long size = 256 * MIB;
            heap.free(touched(heap.malloc(size)));
            long before = residentBytes();
            MemorySegment zeroed = heap.calloc(1, size);
            zeroed.set(JAVA_LONG, 8 * 12_345, 7);
            long after = residentBytes();
            assertTrue(before - after > size / 2, "resident " + before + " B before the calloc, " + after
                    + " B after: its pages were written");
            assertEquals(0, zeroed.get(JAVA_LONG, size - 8));
            heap.free(zeroed);
        }
    }

    /** @return this process's resident set size, from /proc/self/statm */
    private static long residentBytes() throws IOException {
        String[] fields = Files.readString(Path.of("/proc/self/statm")).trim().split(" ");
        return Long.parseLong(fields[1]) * 4096;
    }

    @Test
    void theFreedBlocksSegmentAndAddressAreStillCaughtWhileItsMappingIsKept() {
        try (Heap heap = heap("huge misuse").build()) {
            MemorySegment block = heap.malloc(HUGE);
            long address = block.address();
            heap.free(block);
            assertThrows(IllegalStateException.class, () -> block.get(JAVA_LONG, 0));
            MemoryMisuseException again = assertThrows(MemoryMisuseException.class, () -> heap.freeAddress(address));
            assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE, again.kind(), again.getMessage());
            MemoryMisuseException inside = assertThrows(MemoryMisuseException.class,
                    () -> heap.freeAddress(address + 4096));
            assertEquals(MemoryMisuseException.Kind.BAD_FREE, inside.kind(), inside.getMessage());

            // The next huge block of that span gets the mapping; the old segment still throws.
            MemorySegment next = heap.malloc(HUGE);
            assertEquals(address, next.address());
            assertThrows(IllegalStateException.class, () -> block.get(JAVA_LONG, 0));
            next.set(JAVA_LONG, 0, 42);
            heap.free(next);
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    @Test
    void keptMappingsGiveWayToAllocationsUnderTheLimit() {
        try (Heap heap = heap("huge limit").maxCommittedBytes(100 * MIB).build()) {
            heap.free(touched(heap.malloc(HUGE)));
            // 80 MiB of large blocks fit only if the kept 64 MiB goes back first.
            MemorySegment[] blocks = new MemorySegment[80];
            for (int i = 0; i < blocks.length; i++) {
                blocks[i] = touched(heap.malloc(MIB));
            }
            assertTrue(heap.stats().committedBytes() <= 100 * MIB, heap.stats().toText());
            for (MemorySegment block : blocks) {
                heap.free(block);
            }
            heap.free(touched(heap.malloc(HUGE)));
        }
    }

    /**
     * A commit that would raise the peak while a mapping is kept takes back only the pages it needs
     * from the mapping's tail: small blocks allocated between a huge block's free and the next huge
     * block do not cost that block a new mapping and the faults of all its pages.
     */
    @Test
    void aSmallCommitAtThePeakTakesOnlyItsPagesFromAKeptMapping() {
        try (Heap heap = heap("huge peak").build()) {
            List<MemorySegment> small = new ArrayList<>();
            MemorySegment block = touched(heap.malloc(HUGE));
            long mmapsAtStart = heap.stats().mmapCalls();
            for (int round = 0; round < 5; round++) {
                heap.free(block);
                for (int i = 0; i < 700; i++) {
                    small.add(heap.malloc(100));
                }
                block = touched(heap.malloc(HUGE));
            }
            HeapStats stats = heap.stats();
            // The small blocks' pages map one region; the huge block maps nothing more.
            assertTrue(stats.mmapCalls() - mmapsAtStart <= 1, stats.toText());
            assertTrue(stats.purgedBytes() < HUGE, "the kept mapping went back whole: " + stats.toText());
            assertTrue(stats.peakCommittedBytes() < HUGE + 4 * MIB, stats.toText());
            heap.free(block);
            small.forEach(heap::free);
        }
    }

    /**
     * A huge block shrunk in place keeps its committed tail for growing again, but a request at the
     * limit (and a trim) gets it back: memory no block can use does not refuse a request.
     */
    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void aHugeBlockShrunkInPlaceGivesItsTailBackForARequestAtTheLimit(CheckMode mode) {
        try (Heap heap = heap("huge shrunk").checkMode(mode).quarantineBytes(0).maxCommittedBytes(100 * MIB).build()) {
            MemorySegment block = touched(heap.malloc(55 * MIB));
            block = heap.realloc(block, 30 * MIB);
            MemorySegment other = heap.tryMalloc(60 * MIB);
            assertTrue(other.address() != 0, "30 MiB live, 60 MiB more refused under 100 MiB: " + heap.stats().toText());
            assertEquals(1, block.get(JAVA_BYTE, 30 * MIB - 4096), "the kept bytes");
            heap.free(other);
            block = touched(heap.realloc(block, 50 * MIB));
            heap.trim();
            block = heap.realloc(block, 30 * MIB);
            heap.trim();
            assertTrue(heap.stats().committedBytes() < 31 * MIB, heap.stats().toText());
            heap.free(block);
        }
    }

    /** A block growing in place into its own committed tail, at the limit, keeps that tail counted. */
    @Test
    void aShrunkHugeBlockGrowingInPlaceAtTheLimitKeepsTheCountersExact() {
        try (Heap heap = heap("huge regrow").maxCommittedBytes(41 * MIB + MIB / 2).build()) {
            MemorySegment block = touched(heap.malloc(30 * MIB));
            MemorySegment other = touched(heap.malloc(10 * MIB));
            block = heap.realloc(block, 17 * MIB);
            long address = block.address();
            block = touched(heap.realloc(block, 31 * MIB));
            assertEquals(address, block.address(), "grown in place");
            assertEquals(41 * MIB, heap.stats().committedBytes(), heap.stats().toText());
            heap.free(block);
            heap.free(other);
            heap.trim();
            assertEquals(0, heap.stats().committedBytes(), heap.stats().toText());
            heap.check();
        }
    }

    /**
     * A buffer doubling past the large blocks' range: the block realloc makes reserves twice its
     * size of address space, so the next doubling grows in place (no copy, no new mapping) and its
     * contents stay; the reservation is address space, not memory.
     */
    @Test
    void aHugeBlockThatReallocGrowsHasRoomToGrowInPlaceOnce() {
        try (Heap heap = heap("huge growth").build()) {
            long block = heap.mallocAddress(20 << 20);
            MemorySegment.ofAddress(block).reinterpret(20 << 20).fill((byte) 7);
            long grown = heap.reallocAddress(block, 40 << 20);
            assertNotEquals(block, grown, "a 32 MiB mapping cannot hold 40 MiB");
            HeapStats before = heap.stats();
            long again = heap.reallocAddress(grown, 80 << 20);
            HeapStats after = heap.stats();
            assertEquals(grown, again, "grown in place into the room its realloc reserved");
            assertEquals(before.mmapCalls(), after.mmapCalls());
            MemorySegment contents = MemorySegment.ofAddress(again).reinterpret(80 << 20);
            assertEquals(7, contents.get(JAVA_BYTE, 0));
            assertEquals(7, contents.get(JAVA_BYTE, (20 << 20) - 1));
            assertEquals(80 << 20, heap.usableSize(again));
            assertTrue(after.committedBytes() <= (80 << 20) + (4 << 20), after::toString);
            heap.freeAddress(again);
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    @Test
    void atMostFourMappingsAreKept() {
        try (Heap heap = heap("huge many").build()) {
            MemorySegment[] blocks = new MemorySegment[6];
            for (int i = 0; i < blocks.length; i++) {
                blocks[i] = touched(heap.malloc(20 * MIB));
            }
            long munmapsBefore = heap.stats().munmapCalls();
            for (MemorySegment block : blocks) {
                heap.free(block);
            }
            HeapStats stats = heap.stats();
            assertEquals(munmapsBefore + 2, stats.munmapCalls(), stats.toText());
            assertEquals(4 * 20 * MIB, stats.committedBytes(), stats.toText());
        }
    }

    @Test
    void closingAHeapWithKeptMappingsUnmapsThem() {
        Heap heap = heap("huge close").build();
        heap.free(touched(heap.malloc(HUGE)));
        long munmapsBefore = heap.stats().munmapCalls();
        heap.close();
        HeapStats stats = heap.stats();
        assertEquals(0, stats.committedBytes(), stats.toText());
        assertEquals(0, stats.reservedBytes(), stats.toText());
        assertEquals(munmapsBefore + 1, stats.munmapCalls(), stats.toText());
    }

    /** Writes a byte in every OS page, so the block's memory is really in use. */
    private static MemorySegment touched(MemorySegment block) {
        for (long offset = 0; offset < block.byteSize(); offset += 4096) {
            block.set(JAVA_BYTE, offset, (byte) 1);
        }
        return block;
    }
}
