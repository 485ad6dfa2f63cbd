package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A buffer realloc grows by doubling to 1 MiB, freed, and grown again takes the span the last
 * round retired, committed still, and grows in place into it: no memory goes back to the OS and
 * comes back again each round. An array grown by half a step moves into that span once its
 * growth would commit fresh memory. A block that takes such a span and stays small gives back what it
 * does not use when the span's purge delay ends, as the span would have from the pool.
 */
class GrownBufferSpanReuseTest {
    private static final long KIB = 1024;
    private static final long MIB = 1024 * KIB;

    /** @return the block, grown by doubling from 32 B to {@code size} */
    private static long grow(Heap heap, long size) {
        long block = heap.mallocAddress(32);
        for (long next = 64; next <= size; next *= 2) {
            block = heap.reallocAddress(block, next);
        }
        return block;
    }

    private static MemorySegment bytes(long address, long byteSize) {
        return MemorySegment.ofAddress(address).reinterpret(byteSize);
    }

    @Test
    void aBufferGrownTo1MibRoundAfterRoundReusesTheLastRoundsSpanWithoutPurging() {
        // A purge delay no round reaches, on a loaded machine too: only a commit purges.
        try (Heap heap = Heap.builder().name("grown rounds").purgeDelay(Duration.ofHours(1)).build()) {
            for (int round = 0; round < 3; round++) {
                heap.freeAddress(grow(heap, MIB));
            }
            HeapStats before = heap.stats();
            for (int round = 0; round < 20; round++) {
                heap.freeAddress(grow(heap, MIB));
            }
            HeapStats after = heap.stats();
            assertEquals(before.purgedBytes(), after.purgedBytes(), "bytes purged in 20 rounds\n" + after.toText());
            assertEquals(before.madviseCalls(), after.madviseCalls(), "madvise calls in 20 rounds");
            assertTrue(after.peakCommittedBytes() <= MIB + 512 * KIB, "a 1 MiB buffer's rounds committed "
                    + after.peakCommittedBytes() + " B at their peak\n" + after.toText());
        }
    }

    /**
     * A growable array grows by half a step, from a start span to well past it: once its growth
     * would commit fresh memory, it moves to the span its last round retired, whose memory is
     * committed, instead of growing in fresh memory while that span waits for its purge.
     */
    @Test
    void anArrayGrownTo4MibRoundAfterRoundMovesToTheLastRoundsSpanWithoutPurging() {
        // A purge delay no round reaches: with the default 250 ms, rounds slowed by a loaded
        // machine let the purger return the retired span between them.
        try (Heap heap = Heap.builder().name("array rounds").purgeDelay(Duration.ofHours(1)).build()) {
            for (int round = 0; round < 3; round++) {
                fillArray(heap);
            }
            HeapStats before = heap.stats();
            for (int round = 0; round < 10; round++) {
                fillArray(heap);
            }
            HeapStats after = heap.stats();
            assertEquals(before.purgedBytes(), after.purgedBytes(), "bytes purged in 10 rounds\n" + after.toText());
            // The 4 MiB span and the span the array starts in (775 KiB at most; before: 8.2 MB,
            // a fresh span each round beside the one retired).
            assertTrue(after.peakCommittedBytes() <= 5 * MIB, "a 4 MiB array's rounds committed "
                    + after.peakCommittedBytes() + " B at their peak\n" + after.toText());
        }
    }

    /**
     * A span whose last block was malloc'd and freed unwritten counts as committed but is not
     * resident: a growing buffer stays where it is rather than copy itself there and fault all of
     * it in.
     */
    @Test
    void aGrowingBufferDoesNotMoveToTheSpanOfABlockNeverGrown() {
        try (Heap heap = Heap.builder().name("unwritten span").build()) {
            // Malloc'd at 64 KiB and grown to 1 MiB in one step: a span with room to grow in place.
            long buffer = heap.reallocAddress(heap.mallocAddress(64 * KIB), MIB);
            bytes(buffer, MIB).fill((byte) 5);
            long unwritten = heap.mallocAddress(4 * MIB);
            heap.freeAddress(unwritten);
            long grown = heap.reallocAddress(buffer, 3 * MIB / 2);
            assertEquals(buffer, grown, "the buffer moved (the unwritten span was at 0x"
                    + Long.toHexString(unwritten) + ")");
            assertEquals(5, bytes(grown, MIB).get(ValueLayout.JAVA_BYTE, MIB - 1));
            heap.freeAddress(grown);
        }
    }

    /** Adds a million ints (4 MB) to a new array, checks them, and frees it. */
    private static void fillArray(Heap heap) {
        try (NativeIntArray array = new NativeIntArray(heap)) {
            for (int i = 0; i < 1_000_000; i++) {
                array.add(i);
            }
            for (int i = 0; i < 1_000_000; i += 4099) {
                assertEquals(i, array.get(i));
            }
        }
    }

    /**
     * Small buffers grown, and kept, each right after a 4 MiB buffer is freed: one of them may
     * take that buffer's span, not each.
     */
    @Test
    void smallBuffersGrownAfterEachFreedLargeOneDoNotEachKeepItsSpan() {
        try (Heap heap = Heap.builder().name("grown small").purgeDelay(Duration.ofSeconds(60)).build()) {
            long[] kept = new long[40];
            for (int round = 0; round < kept.length; round++) {
                heap.freeAddress(grow(heap, 4 * MIB));
                kept[round] = grow(heap, 64 * KIB);
            }
            HeapStats stats = heap.stats();
            // The kept buffers, and a few 4 MiB spans: the big buffer's, retired ones, one a small
            // buffer holds (with 16 for 64: 14.9 MB; when each small buffer took one: 105 MB).
            long bound = kept.length * 64 * KIB + 4 * 4 * MIB + MIB;
            assertTrue(stats.peakCommittedBytes() <= bound, "peak committed " + stats.peakCommittedBytes() + " B for "
                    + kept.length + " kept buffers of 64 KiB\n" + stats.toText());
            for (long block : kept) {
                heap.freeAddress(block);
            }
        }
    }

    @Test
    void aSmallGrownBlockInALargeRetiredSpanGivesBackTheRestAfterThePurgeDelay() throws InterruptedException {
        try (Heap heap = Heap.builder().name("grown tail").purgeDelay(Duration.ofMillis(20)).build()) {
            // A span of exactly 1 MiB (a block realloc grows gets twice its size of room), retired
            // after a larger one, so the peak guard takes from the larger one first.
            long small = heap.mallocAddress(MIB);
            heap.freeAddress(heap.mallocAddress(2 * MIB));
            heap.freeAddress(small);
            // Taken within the delay, before the purger returns the retired span.
            long block = grow(heap, 64 * KIB);
            assertTrue(heap.stats().committedBytes() >= MIB, "the 64 KiB block took no retired span");
            long committed = heap.stats().committedBytes();
            long bound = 64 * KIB + 256 * KIB;
            for (int poll = 0; poll < 100 && committed > bound; poll++) {
                Thread.sleep(50);
                committed = heap.stats().committedBytes();
            }
            assertTrue(committed <= bound, "a 64 KiB block still commits " + committed + " B 5 s after it took a"
                    + " retired 1 MiB span\n" + heap.stats().toText());
            // What went back is past the block: its bytes are all usable, and it still grows.
            bytes(block, 64 * KIB).fill((byte) 3);
            block = heap.reallocAddress(block, 4 * MIB);
            assertEquals(3, bytes(block, 64 * KIB).get(ValueLayout.JAVA_BYTE, 64 * KIB - 1));
            bytes(block, 4 * MIB).fill((byte) 4);
            heap.freeAddress(block);
            heap.check();
        }
    }
}
