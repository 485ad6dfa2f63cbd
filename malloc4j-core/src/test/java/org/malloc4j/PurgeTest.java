package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Memory goes back to the operating system: after the purge delay on its own, at once with
 * {@link Heap#trim()}, and not on every free of an alloc/free loop. Waits poll the stats every 50 ms
 * a bounded number of times; nothing asserts how long anything took.
 */
class PurgeTest {
    static final long KIB = 1024;
    static final long MIB = 1024 * KIB;

    @Test
    void freedMemoryGoesBackToTheOsAfterThePurgeDelayWithoutTrim() throws InterruptedException {
        try (Heap heap = Heap.builder().name("purge").purgeDelay(Duration.ofMillis(100)).build()) {
            List<MemorySegment> blocks = allocateAbout(heap, 256 * MIB, new SplittableRandom(1));
            blocks.forEach(heap::free);
            HeapStats freed = heap.stats();
            assertEquals(0, freed.liveBlocks());
            long peak = freed.peakCommittedBytes();
            assertTrue(peak >= 256 * MIB, "the blocks were not committed: " + freed.toText());

            long committed = pollCommittedUntilAtMost(heap, peak / 100);

            HeapStats purged = heap.stats();
            assertTrue(committed <= peak / 100, "still committed " + committed + " B of a " + peak
                    + " B peak, 5 s after every block was freed\n" + purged.toText());
            assertTrue(purged.purgedBytes() >= peak - peak / 100, purged.toText());
            assertTrue(purged.madviseCalls() > 0, purged.toText());
        }
    }

    /**
     * Retired pages next to each other go back in one {@code madvise} a run, not one a page, and a
     * run never covers a page in use between them: 64 pages of 8 KiB blocks, every eighth kept
     * live, the rest freed in random order and purged by trim.
     */
    @Test
    void adjacentRetiredPagesGoBackInOneCallARunAndPagesInUseBetweenThemKeepTheirBytes() {
        try (Heap heap = Heap.builder().name("runs").purgeDelay(Duration.ofHours(1)).build()) {
            List<MemorySegment> blocks = smallPages(heap, 64);
            freeAllButEveryEighthPage(heap, blocks, 3);
            HeapStats before = heap.stats();

            heap.trim();

            HeapStats after = heap.stats();
            long calls = after.madviseCalls() - before.madviseCalls();
            long purged = after.purgedBytes() - before.purgedBytes();
            // 56 retired pages in 8 runs between the 8 pages in use (the first run may lie apart).
            assertTrue(purged >= 55 * 64 * KIB, after.toText());
            assertTrue(calls <= 10, calls + " madvise calls for 56 retired pages in 8 runs\n" + after.toText());
            checkAndFreeEveryEighthPage(heap, blocks);
            heap.check();
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    /**
     * A run of retired pages goes on over free slices between them: 64 pages, the even ones freed
     * and purged first, then the odd ones, which now only free slices part, in one call.
     */
    @Test
    void retiredPagesPartedOnlyByFreeSlicesGoBackInOneCall() {
        try (Heap heap = Heap.builder().name("gaps").purgeDelay(Duration.ofHours(1)).build()) {
            List<MemorySegment> blocks = smallPages(heap, 64);
            MemorySegment anchor = heap.malloc(8 * KIB);  // keeps the region mapped through the trims
            for (int parity = 0; parity < 2; parity++) {
                for (int i = 0; i < blocks.size(); i++) {
                    if ((i / PAGE_BLOCKS) % 2 == parity) {
                        heap.free(blocks.get(i));
                    }
                }
                HeapStats before = heap.stats();
                heap.trim();
                HeapStats after = heap.stats();
                long calls = after.madviseCalls() - before.madviseCalls();
                long purged = after.purgedBytes() - before.purgedBytes();
                assertTrue(purged >= 31 * 64 * KIB, after.toText());
                if (parity == 1) {
                    assertTrue(calls <= 2, calls + " madvise calls for 32 retired pages between free slices\n" + after.toText());
                }
            }
            heap.free(anchor);
            heap.check();
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    /**
     * Fresh commits exchanged for retired memory take the oldest retired page and its retired
     * neighbours, up to a MiB, in one call, and the next commits draw on what went beyond their
     * bytes: 16 MiB of small pages retired in address order, then two blocks of six pages' size.
     */
    @Test
    void commitsExchangedForRetiredPagesTakeTheirNeighboursInOneCall() {
        try (Heap heap = Heap.builder().name("exchange").purgeDelay(Duration.ofHours(1)).build()) {
            smallPages(heap, 256).forEach(heap::free);
            HeapStats before = heap.stats();

            MemorySegment first = heap.malloc(6 * 64 * KIB).fill((byte) 2);

            HeapStats afterFirst = heap.stats();
            long calls = afterFirst.madviseCalls() - before.madviseCalls();
            long purged = afterFirst.purgedBytes() - before.purgedBytes();
            assertTrue(calls == 1, calls + " madvise calls to exchange 384 KiB for adjacent retired pages\n" + afterFirst.toText());
            assertTrue(purged >= 6 * 64 * KIB && purged <= MIB, purged + " B purged for a 384 KiB commit\n" + afterFirst.toText());

            MemorySegment second = heap.malloc(6 * 64 * KIB).fill((byte) 3);

            HeapStats afterSecond = heap.stats();
            long moreCalls = afterSecond.madviseCalls() - afterFirst.madviseCalls();
            long morePurged = afterSecond.purgedBytes() - afterFirst.purgedBytes();
            assertTrue(moreCalls <= 1 && purged + morePurged <= 2 * MIB - 6 * 64 * KIB + 64 * KIB,
                    moreCalls + " more calls, " + morePurged + " B more purged\n" + afterSecond.toText());
            assertEquals(-1, firstByteNot(first, (byte) 2));
            assertEquals(-1, firstByteNot(second, (byte) 3));
            heap.free(first);
            heap.free(second);
            heap.check();
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    /**
     * A commit at the peak that scavenges the free memory between a thread's live blocks stops
     * after 256 {@code madvise} calls and the next commits go on with the rest, rather than making
     * them all in one malloc: 4,096 blocks of 4 KiB, every other one freed (2,048 holes, one call
     * each), then blocks of 256 KiB past the peak.
     */
    @Test
    void aScavengeAtThePeakMakesABoundedNumberOfCallsAMalloc() {
        try (Heap heap = Heap.builder().name("scavenge").purgeDelay(Duration.ofHours(1)).build()) {
            List<MemorySegment> blocks = everyOtherOsPageFreed(heap);
            long peak = heap.stats().peakCommittedBytes();
            long mostCalls = 0;
            long totalCalls = 0;
            List<MemorySegment> fresh = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                HeapStats before = heap.stats();
                fresh.add(heap.malloc(256 * KIB).fill((byte) i));
                long calls = heap.stats().madviseCalls() - before.madviseCalls();
                mostCalls = Math.max(mostCalls, calls);
                totalCalls += calls;
            }
            HeapStats after = heap.stats();
            assertTrue(totalCalls >= 2048 - 8, totalCalls + " calls: the holes did not all go back\n" + after.toText());
            assertTrue(mostCalls <= 256 + 8, mostCalls + " madvise calls in one malloc\n" + after.toText());
            assertTrue(after.peakCommittedBytes() <= peak + 64 * KIB, "the peak grew from " + peak + "\n" + after.toText());
            checkAndFreeTheKeptOsPages(heap, blocks);
            for (int i = 0; i < fresh.size(); i++) {
                assertEquals(-1, firstByteNot(fresh.get(i), (byte) i));
                heap.free(fresh.get(i));
            }
            heap.check();
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    /**
     * The free memory between a thread's live blocks goes back at its own {@code trim()}, as the
     * documentation says: a scavenge at the peak stopped at its cap, then the thread only trims
     * (and a thread that never reached the peak trims just the same).
     */
    @Test
    void aThreadsOwnTrimReturnsTheFreeMemoryBetweenItsLiveBlocks() {
        try (Heap heap = Heap.builder().name("own-trim").purgeDelay(Duration.ofHours(1)).build()) {
            List<MemorySegment> blocks = everyOtherOsPageFreed(heap);
            MemorySegment fresh = heap.malloc(256 * KIB).fill((byte) 7);
            HeapStats before = heap.stats();

            heap.trim();

            HeapStats after = heap.stats();
            long calls = after.madviseCalls() - before.madviseCalls();
            assertTrue(calls >= 2048 - 256 - 8, calls + " calls: the holes the capped scavenge left stayed\n" + after.toText());
            assertTrue(after.committedBytes() <= 2048 * 4 * KIB + 256 * KIB + 256 * KIB,
                    "still committed after the owner's trim()\n" + after.toText());
            checkAndFreeTheKeptOsPages(heap, blocks);
            assertEquals(-1, firstByteNot(fresh, (byte) 7));
            heap.free(fresh);
            heap.check();
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    /**
     * @return 4,096 blocks of 4 KiB, each patterned by its index, of which every other one is freed:
     *     2,048 free OS pages between live blocks, one {@code madvise} each to return
     */
    private static List<MemorySegment> everyOtherOsPageFreed(Heap heap) {
        List<MemorySegment> blocks = new ArrayList<>();
        for (int i = 0; i < 4096; i++) {
            MemorySegment block = heap.malloc(4 * KIB);
            Patterns.fill(block, i);
            blocks.add(block);
        }
        for (int i = 1; i < blocks.size(); i += 2) {
            heap.free(blocks.get(i));
        }
        return blocks;
    }

    /** Checks that the blocks {@link #everyOtherOsPageFreed} kept hold their patterns, and frees them. */
    private static void checkAndFreeTheKeptOsPages(Heap heap, List<MemorySegment> blocks) {
        for (int i = 0; i < blocks.size(); i += 2) {
            assertEquals(-1, Patterns.firstMismatch(blocks.get(i), i, 4 * KIB), "a live block lost its bytes");
            heap.free(blocks.get(i));
        }
    }

    /** Blocks of 8 KiB, which fill a 64 KiB small page: {@value #PAGE_BLOCKS} a page. */
    private static final int PAGE_BLOCKS = 8;

    /** @return the blocks of {@code pages} small pages, in address order, each block patterned by its index */
    private static List<MemorySegment> smallPages(Heap heap, int pages) {
        List<MemorySegment> blocks = new ArrayList<>();
        for (int i = 0; i < pages * PAGE_BLOCKS; i++) {
            MemorySegment block = heap.malloc(8 * KIB);
            Patterns.fill(block, i);
            blocks.add(block);
        }
        return blocks;
    }

    /** Frees, in an order drawn from {@code seed}, the blocks of every page but every eighth. */
    private static void freeAllButEveryEighthPage(Heap heap, List<MemorySegment> blocks, long seed) {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < blocks.size(); i++) {
            if ((i / PAGE_BLOCKS) % 8 != 0) {
                order.add(i);
            }
        }
        java.util.Collections.shuffle(order, new java.util.Random(seed));
        order.forEach(i -> heap.free(blocks.get(i)));
    }

    /** Checks that the blocks {@link #freeAllButEveryEighthPage} kept hold their patterns, and frees them. */
    private static void checkAndFreeEveryEighthPage(Heap heap, List<MemorySegment> blocks) {
        for (int i = 0; i < blocks.size(); i += PAGE_BLOCKS * 8) {
            for (int b = i; b < i + PAGE_BLOCKS; b++) {
                assertEquals(-1, Patterns.firstMismatch(blocks.get(b), b, 8 * KIB), "a live block lost its bytes");
                heap.free(blocks.get(b));
            }
        }
    }

    private static long firstByteNot(MemorySegment block, byte value) {
        for (long i = 0; i < block.byteSize(); i++) {
            if (block.get(ValueLayout.JAVA_BYTE, i) != value) {
                return i;
            }
        }
        return -1;
    }

    /**
     * A span that no region has free slices for is made from the retired pages over one run of
     * slices, and only those are purged: two regions of small pages, every eighth kept in use, the
     * rest retired in random order, then a block of six pages' size. Purging the oldest retired
     * pages until some region had six free slices in a row took hundreds of calls here.
     */
    @Test
    void aSpanThatNeedsRoomPurgesOnlyTheRetiredPagesOverOneRun() {
        try (Heap heap = Heap.builder().name("room").purgeDelay(Duration.ofHours(1)).build()) {
            List<MemorySegment> blocks = smallPages(heap, 1024);  // two 32 MiB regions of them
            freeAllButEveryEighthPage(heap, blocks, 5);
            HeapStats before = heap.stats();

            MemorySegment large = heap.malloc(6 * 64 * KIB);

            HeapStats after = heap.stats();
            long calls = after.madviseCalls() - before.madviseCalls();
            long purged = after.purgedBytes() - before.purgedBytes();
            assertEquals(before.mmapCalls(), after.mmapCalls(), "a region was mapped while retired pages could make room\n" + after.toText());
            assertTrue(calls <= 2, calls + " madvise calls to make room for one block of 6 pages\n" + after.toText());
            assertTrue(purged >= 6 * 64 * KIB && purged <= 7 * 64 * KIB, purged + " B purged for 6 pages\n" + after.toText());
            Patterns.fill(large, -1);
            assertEquals(-1, Patterns.firstMismatch(large, -1, large.byteSize()));
            checkAndFreeEveryEighthPage(heap, blocks);
            heap.free(large);
            heap.check();
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    @Test
    void aLiveThreadThatUsedEveryMediumClassKeepsOnlyAFewMediumPages() throws Exception {
        try (Heap heap = Heap.builder().name("medium-spares").purgeDelay(Duration.ofMillis(50)).build()) {
            CountDownLatch freed = new CountDownLatch(1);
            CountDownLatch done = new CountDownLatch(1);
            Thread worker = Thread.ofPlatform().start(() -> {
                // Fill a whole 512 KiB page of each medium class (8 KiB < block <= 128 KiB), then free it.
                for (long size = 10 * KIB; size <= 128 * KIB; size += size / 4) {
                    List<MemorySegment> page = new ArrayList<>();
                    for (long used = 0; used + size <= 512 * KIB; used += size) {
                        MemorySegment block = heap.malloc(size);
                        block.fill((byte) 1);
                        page.add(block);
                    }
                    page.forEach(heap::free);
                }
                freed.countDown();
                awaitQuietly(done);
            });
            try {
                freed.await();
                long peak = heap.stats().peakCommittedBytes();
                assertTrue(peak >= 512 * KIB, "the pages were not committed: " + heap.stats().toText());
                // Three spare medium pages of 512 KiB, and what the small classes keep.
                long committed = pollCommittedUntilAtMost(heap, 3 * 512 * KIB + 128 * KIB);
                assertTrue(committed <= 3 * 512 * KIB + 128 * KIB, "a live, idle thread still holds " + committed
                        + " B of the medium pages it emptied\n" + heap.stats().toText());
            } finally {
                done.countDown();
                worker.join();
            }
        }
    }

    @Test
    void theMemoryOfAnEndedThreadGoesBackWithoutAnyOtherActivity() throws Exception {
        try (Heap heap = Heap.builder().name("ended").purgeDelay(Duration.ofMillis(50)).build()) {
            Thread worker = Thread.ofPlatform().start(() -> {
                // One page of one class: its thread keeps it as the class's spare, nothing retires,
                // so no purge is scheduled by the frees.
                List<MemorySegment> blocks = new ArrayList<>();
                for (int i = 0; i < 400; i++) {
                    MemorySegment block = heap.malloc(128);
                    block.fill((byte) 7);
                    blocks.add(block);
                }
                blocks.forEach(heap::free);
            });
            worker.join();
            assertTrue(heap.stats().committedBytes() >= 48 * KIB, heap.stats().toText());
            // Nothing here allocates, frees or trims: only the purger can find the ended thread.
            long committed = pollCommittedUntilAtMost(heap, 0);
            assertEquals(0, committed, "committed bytes of a thread that ended\n" + heap.stats().toText());
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void aMebibyteAllocFreeLoopDoesNotCallTheOsOnEveryIteration() {
        try (Heap heap = Heap.builder().name("loop").build()) {
            MemorySegment warmUp = heap.malloc(MIB);
            heap.free(warmUp);
            long before = heap.stats().osCalls();
            int iterations = 1000;
            for (int i = 0; i < iterations; i++) {
                MemorySegment block = heap.malloc(MIB);
                block.set(ValueLayout.JAVA_INT, 0, i);
                block.set(ValueLayout.JAVA_INT, MIB - 4, i);
                heap.free(block);
            }
            long calls = heap.stats().osCalls() - before;
            assertTrue(calls < iterations / 10, calls + " mmap/munmap/madvise calls in " + iterations
                    + " iterations of malloc(1 MiB) + free\n" + heap.stats().toText());
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    @Test
    void aSmallBlockAllocFreeLoopDoesNotCallTheOsOnEveryIteration() {
        try (Heap heap = Heap.builder().name("small-loop").purgeDelay(Duration.ZERO).build()) {
            heap.free(heap.malloc(100));
            long before = heap.stats().osCalls();
            for (int i = 0; i < 10_000; i++) {
                heap.free(heap.malloc(100));
            }
            assertTrue(heap.stats().osCalls() - before < 100, heap.stats().toText());
        }
    }

    /**
     * A buffer grown by realloc from 16 B to 1 MiB by doubling, then freed, over and over: once
     * warmed up, each round reuses the memory the last one left (the 1 MiB span, its small and
     * medium pages) without returning any of it to the OS to keep under the peak. The purge delay
     * is long so that the purger cannot run between rounds.
     */
    @Test
    void aBufferGrownByReallocAndFreedInALoopStopsReturningMemoryAtThePeak() {
        try (Heap heap = Heap.builder().name("realloc-loop").purgeDelay(Duration.ofHours(1)).build()) {
            for (int round = 0; round < 100; round++) {
                growAndFree(heap, round);
            }
            HeapStats warm = heap.stats();
            int rounds = 1000;
            for (int round = 0; round < rounds; round++) {
                growAndFree(heap, round);
            }
            HeapStats after = heap.stats();
            assertEquals(0, after.madviseCalls() - warm.madviseCalls(), "madvise calls in " + rounds
                    + " rounds after the warm-up\n" + after.toText());
            assertEquals(warm.purgedBytes(), after.purgedBytes(), after.toText());
            assertEquals(warm.osCalls(), after.osCalls(), after.toText());
            assertEquals(warm.peakCommittedBytes(), after.peakCommittedBytes(), after.toText());
            // What the loop keeps between rounds besides the span: a small and a medium page.
            assertTrue(after.peakCommittedBytes() <= MIB + 128 * KIB, after.toText());
            assertEquals(0, after.liveBlocks());
        }
    }

    /**
     * Two large buffers of different sizes allocated in turn (15 MiB, then 3 MiB, each freed before
     * the other): each commit that would raise the peak, or take fresh slices while the pool holds
     * the other buffer's span, takes only what it needs from that span's tail, so the 15 MiB span
     * stays mostly committed for the next round instead of being released whole and faulted in
     * again: 18 MiB a round purged and faulted in before, 3 MiB from the tail of one span and the
     * 3 MiB span itself after. Each buffer's free empties the heap, and the large spans a round
     * purges count as that round returning memory, so the guard lets the peak grow after the first
     * rounds: both spans stay, 18 MiB, and 4 MiB were purged in all (16 MiB peak and 3 MiB a round
     * when large spans did not count). The purge delay is long so that the purger cannot run
     * between rounds.
     */
    @Test
    void largeBuffersOfTwoSizesInTurnGiveBackOnlyTheTailTheirCommitsNeed() {
        try (Heap heap = Heap.builder().name("alternating").purgeDelay(Duration.ofHours(1)).build()) {
            int rounds = 5;
            for (int round = 0; round < rounds; round++) {
                touchAndFree(heap, 15 * MIB);
                touchAndFree(heap, 3 * MIB);
            }
            HeapStats stats = heap.stats();
            assertTrue(stats.purgedBytes() <= 6 * MIB, stats.toText());
            assertTrue(stats.peakCommittedBytes() <= 18 * MIB + 256 * KIB, stats.toText());
            assertEquals(0, stats.liveBlocks());
        }
    }

    private static void touchAndFree(Heap heap, long byteSize) {
        MemorySegment block = heap.malloc(byteSize);
        for (long offset = 0; offset < byteSize; offset += 4096) {
            block.set(ValueLayout.JAVA_BYTE, offset, (byte) 1);
        }
        heap.free(block);
    }

    private static void growAndFree(Heap heap, int round) {
        MemorySegment block = heap.malloc(16);
        block.set(ValueLayout.JAVA_INT, 0, round);
        for (long size = 32; size <= MIB; size *= 2) {
            block = heap.realloc(block, size);
        }
        assertEquals(round, block.get(ValueLayout.JAVA_INT, 0));
        block.set(ValueLayout.JAVA_INT, MIB - 4, round);
        heap.free(block);
    }

    /**
     * 1,000 blocks of 16 to 4096 bytes allocated, then all freed in a shuffled order, over and
     * over: once warmed up, no round returns memory to the OS (purging retired pages or scavenging
     * pages) only for the next round to fault it in again; the peak stays near the first round's.
     */
    @Test
    void aBatchAllocatedAndFreedInALoopStopsReturningMemoryAtThePeak() {
        try (Heap heap = Heap.builder().name("batch-loop").purgeDelay(Duration.ofHours(1)).build()) {
            SplittableRandom random = new SplittableRandom(42);
            long[] sizes = new long[1000];
            int[] freeOrder = new int[sizes.length];
            for (int i = 0; i < sizes.length; i++) {
                sizes[i] = random.nextInt(16, 4097);
                freeOrder[i] = i;
            }
            for (int i = freeOrder.length - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                int t = freeOrder[i];
                freeOrder[i] = freeOrder[j];
                freeOrder[j] = t;
            }
            long[] addresses = new long[sizes.length];
            batch(heap, sizes, freeOrder, addresses);
            long firstPeak = heap.stats().peakCommittedBytes();
            for (int round = 0; round < 500; round++) {
                batch(heap, sizes, freeOrder, addresses);
            }
            HeapStats warm = heap.stats();
            int rounds = 500;
            for (int round = 0; round < rounds; round++) {
                batch(heap, sizes, freeOrder, addresses);
            }
            HeapStats after = heap.stats();
            assertEquals(0, after.madviseCalls() - warm.madviseCalls(), "madvise calls in " + rounds
                    + " rounds after the warm-up\n" + after.toText());
            assertEquals(warm.osCalls(), after.osCalls(), after.toText());
            assertEquals(warm.peakCommittedBytes(), after.peakCommittedBytes(), after.toText());
            assertTrue(after.peakCommittedBytes() <= firstPeak + firstPeak / 8, "first round's peak "
                    + firstPeak + " B\n" + after.toText());
            assertEquals(0, after.liveBlocks());
        }
    }

    /**
     * A program's round replayed over and over on one heap: 200,000 steps of mallocs (16 B to 20 KB)
     * and frees at random over 20,000 slots, half the blocks freed midway, the rest at the end.
     * Its pages fragment differently each round, so each round reaches the footprint's peak in a
     * new layout, and the peak guard returned memory (scavenging, purging retired pages) that the
     * same round then faulted in again: 670–690 {@code madvise}s and about 10 MB (over half its peak) every
     * round, for as long as the loop ran. The guard now lets go for good after a few rounds.
     */
    @Test
    void aRoundReplayedOverAndOverStopsReturningMemoryAtThePeakForGood() {
        try (Heap heap = Heap.builder().name("round-loop").purgeDelay(Duration.ofHours(1)).build()) {
            programRound(heap);
            HeapStats first = heap.stats();
            for (int round = 0; round < 11; round++) {
                programRound(heap);
            }
            HeapStats warm = heap.stats();
            for (int round = 0; round < 3; round++) {
                programRound(heap);
            }
            HeapStats after = heap.stats();
            long madvises = after.madviseCalls() - warm.madviseCalls();
            assertTrue(madvises <= first.madviseCalls() / 50, madvises + " madvise calls in the last 3 rounds, "
                    + first.madviseCalls() + " in the first\n" + after.toText());
            assertTrue(after.purgedBytes() - warm.purgedBytes() <= 4 * MIB, after.toText());
            assertTrue(after.peakCommittedBytes() <= first.peakCommittedBytes() + first.peakCommittedBytes() / 4,
                    "first round's peak " + first.peakCommittedBytes() + " B\n" + after.toText());
            assertEquals(0, after.liveBlocks());
        }
    }

    /**
     * Rounds of 2,400 blocks of 24 B to 32 KB, a third of them freed at random as the round goes
     * and the rest at its end, each round at the footprint's peak in a new layout. The guard's
     * scavenging dug holes at the peak, and each page retiring with holes returned everything past
     * its first one: 10.5 MB returned (and faulted in again) every round, 119 {@code madvise}s, for
     * a 28 MB peak. A retiring page now counts a few holes as committed again: 4.3 MB a round; and
     * once the guard has scavenged the peak's worth (the 14th round), it tolerates a quarter over
     * the peak: 0.9 MB a round.
     */
    @Test
    void pagesRetiringWithAFewHolesKeepTheirTailsForTheNextRound() {
        try (Heap heap = Heap.builder().name("medium-rounds").purgeDelay(Duration.ofHours(1)).build()) {
            mediumRounds(heap, 1);
            long firstPeak = heap.stats().peakCommittedBytes();
            mediumRounds(heap, 9);
            assertPurgedInRoundsAtMost(heap, 3, 18 * MIB, firstPeak);
            // By now the guard has scavenged the peak's worth: it tolerates a quarter over the peak.
            mediumRounds(heap, 4);
            assertPurgedInRoundsAtMost(heap, 3, 4 * MIB, firstPeak);
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    /**
     * The same rounds, each ending with every block freed: the heap empties and climbs back to its
     * peak round after round, as malloc-lab's random-bal replayed on one heap. The peak guard took
     * each round for new growth and scavenged it under the first round's peak (28.8 MB) until the
     * bytes it returned reached the peak's worth: 63 to 74 {@code madvise}s and 4.2 to 5.2 MB
     * returned (and faulted in again) a round, through the 14th round. A round that climbs back from
     * an emptied heap repeats an earlier one: the guard lets go in the second round, once it has
     * scavenged a sixteenth of the peak, and from the third a round makes 1 to 3 calls (a retiring
     * page's tail, the exchange for commits), none from the 11th.
     */
    @Test
    void roundsThatEmptyTheHeapStopReturningMemoryAtThePeakFromTheThirdRound() {
        try (Heap heap = Heap.builder().name("emptying-rounds").purgeDelay(Duration.ofHours(1)).build()) {
            mediumRounds(heap, 1);
            HeapStats first = heap.stats();
            mediumRounds(heap, 1);
            HeapStats second = heap.stats();
            mediumRounds(heap, 4);
            HeapStats after = heap.stats();
            long madvises = after.madviseCalls() - second.madviseCalls();
            long purged = after.purgedBytes() - second.purgedBytes();
            String counts = madvises + " madvise calls and " + purged + " B purged in rounds 3 to 6; first round "
                    + first.madviseCalls() + " and " + first.purgedBytes() + " B, second "
                    + (second.madviseCalls() - first.madviseCalls()) + " and " + (second.purgedBytes()
                    - first.purgedBytes()) + " B\n" + after.toText();
            assertTrue(madvises <= 12, counts);
            assertTrue(purged <= 6 * MIB, counts);
            assertTrue(after.peakCommittedBytes() <= first.peakCommittedBytes() + first.peakCommittedBytes() / 4,
                    "first round's peak " + first.peakCommittedBytes() + " B; " + counts);
            assertEquals(0, after.liveBlocks());
        }
    }

    /**
     * Rounds of 8 KiB blocks, some of them freed, a 256 KiB block on top, then everything freed:
     * each round scavenges at the peak. The guard counted what it scavenged a round at a time, so it
     * missed rounds that each scavenge less than its sixteenth of the peak (every 16th of 512 blocks
     * freed: 37 {@code madvise}s every round, for as long as the loop ran), and a round that
     * scavenged it in one commit, since the test comes before a commit's scavenge (every other of 64
     * blocks freed: 35 and 33 in rounds 3 and 4). The count now runs on over the rounds.
     */
    @ParameterizedTest(name = "one in {0} of {1} blocks freed")
    @CsvSource({"2, 64", "16, 512"})
    void roundsThatScavengeAtThePeakStopReturningMemoryAfterAFewRounds(int stride, int blocks) {
        try (Heap heap = Heap.builder().name("scavenging-rounds").purgeDelay(Duration.ofHours(1)).build()) {
            assertRoundsStopReturningMemory(heap, () -> scavengingRound(heap, stride, blocks), 17, 1, 2);
        }
    }

    /**
     * Rounds of a buffer grown by realloc in 128-byte steps to 600 KB beside a small block taken and
     * given back at each step, then freed, as malloc-lab's realloc-bal: each round retires the
     * buffer's large spans, and the next round's commits past the peak purged them (3, 3 and 1
     * {@code madvise}s in rounds 2 to 4), since retired pages did not count as a round returning
     * memory. Large spans count now, and the rounds stop returning memory after the second.
     */
    @Test
    void roundsThatGrowABufferStopPurgingItsSpansAfterTheSecondRound() {
        try (Heap heap = Heap.builder().name("growing-rounds").purgeDelay(Duration.ofHours(1)).build()) {
            assertRoundsStopReturningMemory(heap, () -> growingBufferRound(heap), 2, 0, 1);
        }
    }

    /**
     * Runs {@code round} twice, then {@code skipped} more times, then four times more, and asserts
     * that the first two made at least {@code firstTwoAtLeast} {@code madvise} calls (else the rounds
     * test nothing) and the last four at most {@code lastFourAtMost}, every block freed.
     */
    private static void assertRoundsStopReturningMemory(Heap heap, Runnable round, long firstTwoAtLeast,
                                                        int skipped, long lastFourAtMost) {
        for (int i = 0; i < 2; i++) {
            round.run();
        }
        HeapStats second = heap.stats();
        for (int i = 0; i < skipped; i++) {
            round.run();
        }
        long before = heap.stats().madviseCalls();
        for (int i = 0; i < 4; i++) {
            round.run();
        }
        HeapStats after = heap.stats();
        long madvises = after.madviseCalls() - before;
        assertTrue(second.madviseCalls() >= firstTwoAtLeast,
                "the rounds returned nothing, so they test nothing\n" + second.toText());
        assertTrue(madvises <= lastFourAtMost, madvises + " madvise calls in rounds " + (3 + skipped) + " to "
                + (6 + skipped) + ", " + second.madviseCalls() + " in the first two\n" + after.toText());
        assertEquals(0, after.liveBlocks());
    }

    private static void growingBufferRound(Heap heap) {
        long buffer = heap.mallocAddress(512);
        long small = 0;
        for (long size = 640; size <= 600_000; size += 128) {
            buffer = heap.reallocAddress(buffer, size);
            long next = heap.mallocAddress(128);
            if (small != 0) {
                heap.freeAddress(small);
            }
            small = next;
        }
        heap.freeAddress(small);
        heap.freeAddress(buffer);
    }

    private static void scavengingRound(Heap heap, int stride, int blocks) {
        long[] live = new long[blocks];
        for (int i = 0; i < live.length; i++) {
            live[i] = heap.mallocAddress(8192);
        }
        for (int i = 0; i < live.length; i += stride) {
            heap.freeAddress(live[i]);
            live[i] = 0;
        }
        heap.freeAddress(heap.mallocAddress(256 * 1024));
        for (long block : live) {
            if (block != 0) {
                heap.freeAddress(block);
            }
        }
    }

    /** Runs {@code rounds} rounds; they purge at most {@code maxPurged} and stay a quarter over {@code firstPeak}. */
    private static void assertPurgedInRoundsAtMost(Heap heap, int rounds, long maxPurged, long firstPeak) {
        long before = heap.stats().purgedBytes();
        mediumRounds(heap, rounds);
        HeapStats after = heap.stats();
        long purged = after.purgedBytes() - before;
        assertTrue(purged <= maxPurged, purged + " B purged in " + rounds + " rounds\n" + after.toText());
        assertTrue(after.peakCommittedBytes() <= firstPeak + firstPeak / 4, "first round's peak "
                + firstPeak + " B\n" + after.toText());
    }

    /**
     * After rounds that empty the heap (so the peak guard let go, as above), twice their live bytes,
     * churned without emptying: growth past the live peak, which the guard watches again as it
     * would on a heap that never emptied. Had the let-go outlived that growth, the churn's peak
     * would have risen by what its layout asked for: 95.2 MB against 90.4 (and 459 {@code madvise}
     * calls against 2,894), where the same churn on a new heap peaks at 90.4 MB too.
     */
    @Test
    void aHeapThatGrowsAfterRoundsThatEmptiedItIsGuardedAsOneThatNeverEmptied() {
        long fresh;
        try (Heap heap = Heap.builder().name("never-emptied").purgeDelay(Duration.ofHours(1)).build()) {
            fresh = largerChurn(heap);
        }
        try (Heap heap = Heap.builder().name("emptied-then-growing").purgeDelay(Duration.ofHours(1)).build()) {
            mediumRounds(heap, 3);
            long afterRounds = largerChurn(heap);
            assertTrue(afterRounds <= fresh + fresh / 32, "peak " + afterRounds + " B after the emptying rounds, "
                    + fresh + " B on a new heap\n" + heap.stats().toText());
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    /**
     * Twice {@link #mediumRound}'s blocks live at once, then 40,000 frees each followed by a malloc
     * of another random size, then every block freed.
     *
     * @return the heap's peak committed bytes
     */
    private static long largerChurn(Heap heap) {
        SplittableRandom random = new SplittableRandom(5);
        long[] live = new long[4800];
        for (int i = 0; i < live.length; i++) {
            live[i] = heap.mallocAddress(random.nextInt(24, 32_740));
        }
        for (int i = 0; i < 40_000; i++) {
            int victim = random.nextInt(live.length);
            heap.freeAddress(live[victim]);
            live[victim] = heap.mallocAddress(random.nextInt(24, 32_740));
        }
        for (long block : live) {
            heap.freeAddress(block);
        }
        return heap.stats().peakCommittedBytes();
    }

    private static void mediumRounds(Heap heap, int rounds) {
        for (int round = 0; round < rounds; round++) {
            mediumRound(heap);
        }
    }

    private static void mediumRound(Heap heap) {
        mediumRound(heap, 2400);
    }

    private static void mediumRound(Heap heap, int blocks) {
        SplittableRandom random = new SplittableRandom(11);
        long[] live = new long[blocks];
        int count = 0;
        for (int i = 0; i < live.length; i++) {
            live[count++] = heap.mallocAddress(random.nextInt(24, 32_740));
            if (random.nextInt(3) == 0) {
                int victim = random.nextInt(count);
                heap.freeAddress(live[victim]);
                live[victim] = live[--count];
            }
        }
        for (int i = 0; i < count; i++) {
            heap.freeAddress(live[i]);
        }
    }

    /**
     * A loop of huge buffers (20 and 36 MiB in turn, each freed before the next), long enough that
     * the heap knows it goes round at its peak, then a loop of larger ones (80 and 100 MiB). The
     * buffer is all the live data there is, and it counted as live only once it had its memory,
     * so the live bytes never grew: the second loop found the peak guard let go, and the first
     * loop's kept mappings stayed committed under its own, a 236 MiB peak for 100 MiB of live data
     * (with an hour's or a 10 s purge delay alike). The second loop keeps its own two now.
     */
    @Test
    void aLoopOfLargerHugeBuffersAfterALoopAtThePeakIsGuardedAgain() {
        try (Heap heap = Heap.builder().name("huge-loops").purgeDelay(Duration.ofHours(1)).build()) {
            HeapStats first = hugeBuffersInTurn(heap, 30, 20, 36);
            HeapStats after = hugeBuffersInTurn(heap, 30, 80, 100);
            assertTrue(after.peakCommittedBytes() <= (80 + 100) * MIB, "first loop's peak "
                    + first.peakCommittedBytes() + " B\n" + after.toText());
            assertEquals(0, after.liveBlocks());
        }
    }

    /**
     * The same two loops of huge buffers, with 128 MiB of another thread's blocks live in the heap
     * all along. The live bytes were those of the committing thread's view, which holds neither the
     * other thread's blocks nor the ones it freed, so the second loop's 100 MiB buffer did not look
     * like growth against the 128 MiB the other thread had set: the first loop's kept mappings stayed
     * committed under the second's, 236 MiB over the held blocks instead of 180.
     */
    @Test
    void aLoopOfLargerHugeBuffersIsGuardedAgainWhileAnotherThreadHoldsMoreLiveBytes() throws InterruptedException {
        try (Heap heap = Heap.builder().name("huge-loops-held").purgeDelay(Duration.ofHours(1)).build()) {
            long[] held = new long[2048];
            Thread holder = new Thread(() -> {
                for (int i = 0; i < held.length; i++) {
                    held[i] = heap.mallocAddress(64 * KIB);
                }
            });
            holder.start();
            holder.join();
            long heldCommitted = heap.stats().committedBytes();
            HeapStats first = hugeBuffersInTurn(heap, 60, 20, 36);
            HeapStats after = hugeBuffersInTurn(heap, 30, 80, 100);
            assertTrue(after.peakCommittedBytes() - heldCommitted <= (80 + 100) * MIB, heldCommitted + " B held, first"
                    + " loop's peak " + first.peakCommittedBytes() + " B\n" + after.toText());
            for (long block : held) {
                heap.freeAddress(block);
            }
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    /**
     * Bursts of huge buffers (20, 36, 50 and 70 MiB, each freed before the next) with the heap idle
     * between them, until the purger has given every kept mapping back. With no retired page to
     * purge, it did not count that as idle, so what the peak guard returned added up across the
     * bursts until the heap judged it a loop at its peak: from the fifth burst on, each held
     * 140 MiB, twice its largest buffer.
     */
    @Test
    void burstsOfHugeBuffersWithTheHeapIdleBetweenThemStayAtTheirPeak() throws InterruptedException {
        try (Heap heap = Heap.builder().name("huge-bursts").purgeDelay(Duration.ofMillis(50)).build()) {
            long most = 0;
            for (int burst = 0; burst < 8; burst++) {
                for (long size : new long[] {20, 36, 50, 70}) {
                    MemorySegment block = heap.malloc(size * MIB);
                    most = Math.max(most, heap.stats().committedBytes());
                    heap.free(block);
                }
                assertEquals(0, pollCommittedUntilAtMost(heap, 0), "burst " + burst + "'s mappings are still kept\n"
                        + heap.stats().toText());
            }
            assertTrue(most <= 70 * MIB, most + " B committed at most\n" + heap.stats().toText());
        }
    }

    /** Allocates and frees {@code rounds} huge buffers, of {@code evenMib} and {@code oddMib} MiB in turn. */
    private static HeapStats hugeBuffersInTurn(Heap heap, int rounds, long evenMib, long oddMib) {
        for (int round = 0; round < rounds; round++) {
            heap.free(heap.malloc((round % 2 == 0 ? evenMib : oddMib) * MIB));
        }
        return heap.stats();
    }

    private static void programRound(Heap heap) {
        SplittableRandom random = new SplittableRandom(7);
        long[] live = new long[20_000];
        for (int step = 0; step < 200_000; step++) {
            boolean growing = step < 100_000;
            LiveAddresses.churnStep(heap, live, random, () -> growing || random.nextInt(4) != 0);
            if (step == 100_000) {
                for (int i = 0; i < live.length; i += 2) {
                    if (live[i] != 0) {
                        heap.freeAddress(live[i]);
                        live[i] = 0;
                    }
                }
            }
        }
        LiveAddresses.freeAll(heap, live);
    }

    private static void batch(Heap heap, long[] sizes, int[] freeOrder, long[] addresses) {
        for (int i = 0; i < sizes.length; i++) {
            addresses[i] = heap.mallocAddress(sizes[i]);
        }
        for (int i : freeOrder) {
            heap.freeAddress(addresses[i]);
        }
    }

    @ParameterizedTest(name = "{0} blocks of {1} bytes")
    @CsvSource({"64, 1048576", "2000, 3000", "300, 100000"})
    void blocksFreedInABurstStayCommittedForTheNextBurstUntilThePurgeDelay(int count, long size) {
        try (Heap heap = Heap.builder().name("bursts").purgeDelay(Duration.ofHours(1)).build()) {
            burst(heap, count, size);
            HeapStats first = heap.stats();
            assertEquals(0, first.madviseCalls(), "retired pages were purged before the delay\n" + first.toText());
            assertTrue(first.committedBytes() >= count * size, first.toText());
            for (int round = 0; round < 10; round++) {
                burst(heap, count, size);
            }
            HeapStats later = heap.stats();
            // Only what a commit past the peak needs is purged (pages come back in another order,
            // so a round may need an OS page more than the first): a small part of what is reused.
            assertTrue(later.purgedBytes() <= 10L * count * size / 20, "purged " + later.purgedBytes()
                    + " B in 10 rounds of " + count * size + " B\n" + later.toText());
            assertEquals(first.mmapCalls(), later.mmapCalls(), later.toText());
            // Pages come back in another order, so a partly used one may commit a few more OS pages.
            assertTrue(later.peakCommittedBytes() <= first.peakCommittedBytes() + MIB, later.toText());
            heap.trim();
            assertEquals(0, heap.stats().committedBytes(), heap.stats().toText());
        }
    }

    @Test
    void committedMemoryDoesNotGrowWhileRetiredMemoryWaitsToBePurged() {
        try (Heap heap = Heap.builder().name("exchange").purgeDelay(Duration.ofHours(1)).build()) {
            burst(heap, 40, MIB);
            long peak = heap.stats().peakCommittedBytes();
            // Up to 16 MiB at a time of other sizes than the retired pages hold: fresh pages from the
            // regions' free slices, each purging as much retired memory.
            burst(heap, 256, 60 * KIB);
            burst(heap, 4096, 4000);
            burst(heap, 10, 1500 * KIB);
            HeapStats after = heap.stats();
            assertTrue(after.peakCommittedBytes() <= peak + 8 * MIB, "committed grew from " + peak + " B while "
                    + "retired pages held memory\n" + after.toText());
            assertTrue(after.madviseCalls() > 0, after.toText());
            assertEquals(0, after.liveBlocks());
        }
    }

    /**
     * A retired page taken again with part of its memory committed purges nothing while its blocks
     * fit in that part: only what it commits is exchanged for retired memory. Purging for all it
     * might commit took a whole retired page from a heap that reuses its pages round after round
     * (perl-wordfreq's replay: 1.5 MiB purged and faulted in again every pass).
     */
    @Test
    void aRetiredPageReusedWithinWhatItCommittedPurgesNothingAndItsCommitsStillDo() {
        try (Heap heap = Heap.builder().name("reuse").purgeDelay(Duration.ofHours(1)).build()) {
            // 10 MiB of full medium pages, then one block in each of ten more medium classes
            // (pages committed only as far as that block); all freed, so the pool holds more than
            // the 4 MiB it keeps without exchange, the partly committed pages newest. The class of
            // 20,000 B takes its own page back, committed only as far as its first block.
            List<MemorySegment> full = new ArrayList<>();
            for (int i = 0; i < 640; i++) {
                full.add(heap.malloc(16 * KIB));
            }
            List<MemorySegment> partial = new ArrayList<>();
            partial.add(heap.malloc(20_000));
            for (long size = 40 * KIB; size <= 120 * KIB; size += 10 * KIB) {
                partial.add(heap.malloc(size));
            }
            full.forEach(heap::free);
            partial.forEach(heap::free);
            HeapStats retired = heap.stats();

            List<MemorySegment> reused = new ArrayList<>();
            reused.add(heap.malloc(20_000));
            HeapStats within = heap.stats();
            assertEquals(retired.madviseCalls(), within.madviseCalls(), within.toText());
            assertEquals(retired.committedBytes(), within.committedBytes(), within.toText());

            // Filling the page commits past what it had: as much retired memory goes back.
            for (int i = 0; i < 25; i++) {
                MemorySegment block = heap.malloc(20_000);
                block.fill((byte) i);
                reused.add(block);
            }
            HeapStats past = heap.stats();
            assertTrue(past.madviseCalls() > within.madviseCalls(), past.toText());
            assertTrue(past.committedBytes() <= retired.committedBytes(), "committed grew from "
                    + retired.committedBytes() + " B while retired pages held memory\n" + past.toText());
            reused.forEach(heap::free);
        }
    }

    @Test
    void aLargeBlockFindsRoomAmongRetiredSmallPagesWhenTheRegionsAreFull() {
        try (Heap heap = Heap.builder().name("room").purgeDelay(Duration.ofHours(1)).build()) {
            List<MemorySegment> blocks = new ArrayList<>();
            // Two regions' worth of small pages (16 blocks a 64 KiB page), retired in random order.
            for (int i = 0; i < 2 * 512 * 16; i++) {
                blocks.add(heap.malloc(4000));
            }
            long mmaps = heap.stats().mmapCalls();
            SplittableRandom random = new SplittableRandom(3);
            for (int i = blocks.size() - 1; i > 0; i--) {
                java.util.Collections.swap(blocks, i, random.nextInt(i + 1));
            }
            blocks.forEach(heap::free);
            MemorySegment large = heap.malloc(8 * MIB);
            Patterns.fill(large, 7);
            assertEquals(-1, Patterns.firstMismatch(large, 7, large.byteSize()));
            assertEquals(mmaps, heap.stats().mmapCalls(), "mapped a region while retired pages held room\n"
                    + heap.stats().toText());
            heap.free(large);
        }
    }

    /** Allocates {@code count} blocks of {@code size}, writes a byte in each 4 KiB page, frees them all. */
    private static void burst(Heap heap, int count, long size) {
        List<MemorySegment> blocks = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            MemorySegment block = heap.malloc(size);
            for (long offset = 0; offset < size; offset += 4 * KIB) {
                block.set(ValueLayout.JAVA_BYTE, offset, (byte) i);
            }
            blocks.add(block);
        }
        blocks.forEach(heap::free);
    }

    /**
     * 4 KiB blocks fill 64 MiB of pages, then all but one in four pages' first block are freed: 48
     * MiB of empty pages wait in the pool, and 16 MiB of pages in use hold 256 KiB of live blocks.
     * Large blocks that then take the footprint past its peak must first take back the pool's
     * memory and then the free OS pages inside the pages in use (scavenging), as small blocks
     * would, instead of growing the peak by 15 MiB.
     */
    @Test
    void largeBlocksSettingANewPeakFirstTakeBackTheFreeMemoryInsideTheThreadsPages() {
        try (Heap heap = Heap.builder().name("scavenge-large").purgeDelay(Duration.ofHours(1)).build()) {
            int count = (int) (64 * MIB / (4 * KIB));
            MemorySegment[] small = new MemorySegment[count];
            for (int i = 0; i < count; i++) {
                small[i] = heap.malloc(4 * KIB);
                small[i].set(ValueLayout.JAVA_BYTE, 0, (byte) 1);
            }
            for (int i = 0; i < count; i++) {
                if (i % 64 != 0) {
                    heap.free(small[i]);
                }
            }
            HeapStats freed = heap.stats();
            long peak = freed.peakCommittedBytes();
            assertTrue(freed.committedBytes() >= 64 * MIB, "memory went back before the large blocks\n" + freed.toText());

            List<MemorySegment> large = new ArrayList<>();
            for (long total = 0; total < 64 * MIB; total += MIB) {
                MemorySegment block = heap.malloc(MIB);
                block.set(ValueLayout.JAVA_BYTE, MIB - 1, (byte) 1);
                large.add(block);
            }
            HeapStats after = heap.stats();
            assertTrue(after.peakCommittedBytes() <= peak + 4 * MIB, "a peak of " + after.peakCommittedBytes()
                    + " B after " + peak + " B, with 15 MiB free inside pages to take back\n" + after.toText());
            large.forEach(heap::free);
            for (int i = 0; i < count; i += 64) {
                heap.free(small[i]);
            }
        }
    }

    @Test
    void trimBringsCommittedToZeroWhenNothingIsLive() {
        try (Heap heap = Heap.builder().name("trim").purgeDelay(Duration.ofHours(1)).build()) {
            List<MemorySegment> blocks = new ArrayList<>();
            for (long size : new long[] {0, 16, 100, 1000, 8 * KIB, 20_000, 100_000, 128 * KIB, 300_000, 3 * MIB,
                    17 * MIB}) {
                for (int i = 0; i < 20; i++) {
                    blocks.add(heap.malloc(size));
                }
            }
            blocks.forEach(heap::free);
            assertTrue(heap.stats().committedBytes() > 0, "freeing alone released everything: nothing to trim");
            heap.trim();
            HeapStats trimmed = heap.stats();
            assertEquals(0, trimmed.committedBytes(), trimmed.toText());
            assertEquals(0, trimmed.reservedBytes(), trimmed.toText());
            MemorySegment after = heap.malloc(100);
            after.set(ValueLayout.JAVA_BYTE, 99, (byte) 1);
            heap.free(after);
        }
    }

    @Test
    void trimCollectsBlocksOtherThreadsFreedIntoTheCallersPages() throws InterruptedException {
        try (Heap heap = Heap.builder().name("trim-remote").purgeDelay(Duration.ofHours(1)).build()) {
            List<MemorySegment> blocks = new ArrayList<>();
            for (int i = 0; i < 5000; i++) {
                blocks.add(heap.malloc(16 + (i % 100) * 16));
            }
            Thread other = Thread.ofPlatform().start(() -> blocks.forEach(heap::free));
            other.join();
            assertEquals(0, heap.stats().liveBlocks());
            heap.trim();
            assertEquals(0, heap.stats().committedBytes(), heap.stats().toText());
        }
    }

    @Test
    void trimKeepsLiveBlocksIntact() {
        try (Heap heap = Heap.builder().name("trim-live").purgeDelay(Duration.ofHours(1)).build()) {
            List<MemorySegment> blocks = new ArrayList<>();
            for (int i = 0; i < 2000; i++) {
                blocks.add(heap.malloc(1 + (i * 97L) % 300_000));
            }
            List<MemorySegment> kept = new ArrayList<>();
            for (int i = 0; i < blocks.size(); i++) {
                if (i % 7 == 0) {
                    Patterns.fill(blocks.get(i), i);
                    kept.add(blocks.get(i));
                } else {
                    heap.free(blocks.get(i));
                }
            }
            heap.trim();
            for (int k = 0; k < kept.size(); k++) {
                assertEquals(-1, Patterns.firstMismatch(kept.get(k), k * 7L, kept.get(k).byteSize()));
            }
            assertEquals(kept.size(), heap.stats().liveBlocks());
            assertTrue(heap.stats().usableBytes() <= heap.stats().committedBytes());
            kept.forEach(heap::free);
        }
    }

    @Test
    void purgedMemoryReadsAsZerosWhenCallocTakesItAgain() {
        try (Heap heap = Heap.builder().name("purged-calloc").purgeDelay(Duration.ofHours(1)).build()) {
            List<MemorySegment> blocks = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                MemorySegment block = heap.malloc(200_000);
                block.fill((byte) 0x5A);
                blocks.add(block);
            }
            blocks.forEach(heap::free);
            heap.trim();
            for (int i = 0; i < 64; i++) {
                MemorySegment block = heap.calloc(1, 200_000);
                assertEquals(-1, Patterns.firstNonZero(block, 200_000), "block " + i);
                heap.free(block);
            }
        }
    }

    static List<MemorySegment> allocateAbout(Heap heap, long totalBytes, SplittableRandom random) {
        List<MemorySegment> blocks = new ArrayList<>();
        long allocated = 0;
        while (allocated < totalBytes) {
            long size = random.nextLong(64 * KIB, MIB + 1);
            MemorySegment block = heap.malloc(size);
            block.set(ValueLayout.JAVA_BYTE, 0, (byte) 1);
            block.set(ValueLayout.JAVA_BYTE, size - 1, (byte) 1);
            blocks.add(block);
            allocated += size;
        }
        return blocks;
    }

    static long pollCommittedUntilAtMost(Heap heap, long bound) throws InterruptedException {
        long committed = heap.stats().committedBytes();
        for (int poll = 0; poll < 100 && committed > bound; poll++) {
            Thread.sleep(50);
            committed = heap.stats().committedBytes();
        }
        return committed;
    }
}
