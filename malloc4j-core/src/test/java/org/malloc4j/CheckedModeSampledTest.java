package org.malloc4j;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link CheckMode#SAMPLED}: GWP-ASan's idea. One allocation in {@code sampleInterval} gets
 * everything {@link CheckMode#FULL} gives a block, the others take the fast path.
 *
 * <p>A sampled block is told from a fast one by its usable size: a checked block's usable size is
 * exactly its request, while the fast path rounds a 40-byte request up to its 48-byte size class.
 * Every heap here has a purge delay of an hour, so freed fast pages stay mapped and a stale segment
 * of an unsampled block can be read without the memory going away.
 */
class CheckedModeSampledTest {
    static final long SIZE = 40;
    static final long SIZE_CLASS = 48;

    static Heap sampledHeap(Integer interval) {
        Heap.Builder builder = Heap.builder().name("sampled").checkMode(CheckMode.SAMPLED)
                .purgeDelay(Duration.ofHours(1));
        if (interval != null) {
            builder.sampleInterval(interval);
        }
        return builder.build();
    }

    static boolean isSampled(Heap heap, MemorySegment block) {
        long usable = heap.usableSize(block);
        assertTrue(usable == SIZE || usable == SIZE_CLASS, "usable size " + usable);
        return usable == SIZE;
    }

    static boolean accessThrows(MemorySegment block) {
        try {
            block.get(JAVA_BYTE, 0);
            return false;
        } catch (IllegalStateException closed) {
            return true;
        }
    }

    @Test
    void callocIsSampledAtTheInterval() {
        int rounds = 4000;
        try (Heap heap = sampledHeap(16)) {
            int sampled = 0;
            for (int i = 0; i < rounds; i++) {
                MemorySegment block = heap.calloc(1, SIZE);
                if (heap.leaks().blocks() == 1) {
                    sampled++;
                }
                heap.free(block);
            }
            double mean = rounds / 16.0;
            assertTrue(sampled >= mean / 3 && sampled <= 3 * mean, sampled + " of " + rounds
                    + " callocs sampled at interval 16");
        }
    }

    @Test
    void largeBlocksAreSampledToo() {
        assertLargeOrVirtualBlocksAreSampled(200_000, false);
    }

    @Test
    void blocksOfVirtualThreadsAreSampledToo() throws Exception {
        assertLargeOrVirtualBlocksAreSampled(SIZE, true);
    }

    /** Mallocs off the fast path (large ones, virtual threads') are sampled at random, 1 in 16 here. */
    private static void assertLargeOrVirtualBlocksAreSampled(long byteSize, boolean virtual) {
        int rounds = 2000;
        try (Heap heap = sampledHeap(16)) {
            int[] sampled = new int[1];
            Runnable rounds16 = () -> {
                for (int i = 0; i < rounds; i++) {
                    MemorySegment block = heap.malloc(byteSize);
                    boolean checked = heap.leaks().blocks() == 1;
                    heap.free(block);
                    if (checked) {
                        sampled[0]++;
                        assertTrue(accessThrows(block), "a sampled block's segment still works after free");
                    }
                }
            };
            if (virtual) {
                Thread thread = Thread.ofVirtual().start(rounds16);
                assertTrue(joinQuietly(thread));
            } else {
                rounds16.run();
            }
            double mean = rounds / 16.0;
            assertTrue(sampled[0] > 0 && sampled[0] <= 3 * mean, sampled[0] + " of " + rounds + " blocks of "
                    + byteSize + " B sampled at interval 16");
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    private static boolean joinQuietly(Thread thread) {
        try {
            thread.join();
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    @Test
    void withIntervalOneEveryBlockIsChecked() {
        try (Heap heap = sampledHeap(1)) {
            List<MemorySegment> blocks = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                blocks.add(heap.malloc(SIZE));
            }
            assertTrue(blocks.stream().allMatch(block -> isSampled(heap, block)));
            assertEquals(200, heap.leaks().blocks());
            assertTrue(blocks.stream().allMatch(block -> block.get(JAVA_BYTE, 0) == CheckMode.JUNK_BYTE));
            blocks.forEach(heap::free);
            for (MemorySegment block : blocks) {
                assertThrows(IllegalStateException.class, () -> block.get(JAVA_BYTE, 0));
            }
            // and a raw write after free is found in quarantine, as in full mode
            MisuseCatalogueTest.poke(blocks.get(7).address() + 1, (byte) 1);
            MemoryMisuseException e = assertThrows(MemoryMisuseException.class, heap::check);
            assertEquals(MemoryMisuseException.Kind.USE_AFTER_FREE, e.kind());
            MisuseCatalogueTest.poke(blocks.get(7).address() + 1, CheckMode.POISON_BYTE);
            heap.check();
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    @Test
    void withIntervalOneHundredAFewBlocksAreSampledAndTheirUseAfterFreeIsCaught() {
        assertSampling(100, 5_000);
    }

    @Test
    void withTheDefaultIntervalMostBlocksAreUncheckedButASampledUseAfterFreeIsCaught() {
        assertSampling(null, 400_000);
    }

    /**
     * Allocates {@code count} blocks, finds the sampled ones, frees everything and asserts that the
     * sampled blocks, and only they, reject an access after free. At interval N about
     * {@code count / N} blocks are sampled (at the default interval, exactly every 65,536th malloc of
     * the thread's fast path).
     */
    static void assertSampling(Integer interval, int count) {
        // The default interval, 50,000, is rounded up to a power of two; a thread's every 65,536th
        // malloc on the fast path is sampled.
        int expectedInterval = interval == null ? 65_536 : interval;
        try (Heap heap = sampledHeap(interval)) {
            List<MemorySegment> blocks = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                blocks.add(heap.malloc(SIZE));
            }
            List<MemorySegment> sampled = blocks.stream().filter(block -> isSampled(heap, block)).toList();
            int mean = count / expectedInterval;
            assertTrue(!sampled.isEmpty(), "no block sampled out of " + count);
            assertTrue(sampled.size() <= 5 * mean, sampled.size() + " blocks sampled out of " + count
                    + " at interval " + expectedInterval + ": most must take the fast path");
            // leak reports and stats: leaks cover the sampled blocks, stats every block
            assertEquals(sampled.size(), heap.leaks().blocks());
            assertEquals(sampled.size() * SIZE, heap.leaks().bytes());
            assertEquals(count, heap.stats().liveBlocks());

            blocks.forEach(heap::free);
            assertEquals(0, heap.stats().liveBlocks());
            long rejected = blocks.stream().filter(CheckedModeSampledTest::accessThrows).count();
            assertEquals(sampled.size(), rejected, "exactly the sampled blocks reject a use after free");
            assertTrue(sampled.stream().allMatch(CheckedModeSampledTest::accessThrows));
            heap.check();
        }
    }

    @Test
    void theFastPathStillCatchesDoubleAndBadFrees() {
        try (Heap heap = sampledHeap(1_000_000)) {
            MemorySegment block = heap.malloc(SIZE);
            heap.free(block);
            assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE,
                    assertThrows(MemoryMisuseException.class, () -> heap.free(block)).kind());
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment foreign = arena.allocate(SIZE);
                assertEquals(MemoryMisuseException.Kind.BAD_FREE,
                        assertThrows(MemoryMisuseException.class, () -> heap.free(foreign)).kind());
            }
            long raw = heap.mallocAddress(SIZE);
            assertEquals(MemoryMisuseException.Kind.BAD_FREE,
                    assertThrows(MemoryMisuseException.class, () -> heap.freeAddress(raw + 16)).kind());
            heap.freeAddress(raw);
            assertEquals(0, heap.stats().liveBlocks());
            heap.check();
        }
    }

    @Test
    void aSampledBlocksOverflowIsCaughtAtFree() {
        try (Heap heap = sampledHeap(1)) {
            long block = heap.mallocAddress(SIZE);
            MisuseCatalogueTest.poke(block + SIZE, (byte) 1);
            MemoryMisuseException e = assertThrows(MemoryMisuseException.class, () -> heap.freeAddress(block));
            assertEquals(MemoryMisuseException.Kind.HEAP_BUFFER_OVERFLOW, e.kind());
            assertTrue(e.getMessage().contains("0 bytes after the 40-byte region"), e.getMessage());
            MisuseCatalogueTest.poke(block + SIZE, CheckMode.CANARY_BYTE);
            heap.freeAddress(block);
            heap.check();
        }
    }

    /** Sampled blocks come from a core of their own: the two cores share the one limit. */
    @Test
    void sampledAndFastBlocksTogetherStayWithinTheCommitLimit() {
        long limit = 4L << 20;
        for (long size : new long[] {1000, 20_000, 200_000}) {
            try (Heap heap = Heap.builder().name("sampled-limit").checkMode(CheckMode.SAMPLED).sampleInterval(4)
                    .maxCommittedBytes(limit).build()) {
                List<Long> blocks = new ArrayList<>();
                HeapExhaustedError error = assertThrows(HeapExhaustedError.class, () -> {
                    while (true) {
                        blocks.add(heap.mallocAddress(size));
                    }
                });
                HeapStats stats = heap.stats();
                assertTrue(stats.committedBytes() <= limit,
                        size + " B blocks: committed " + stats.committedBytes() + " > limit " + limit);
                assertTrue(stats.peakCommittedBytes() <= limit, "peak " + stats.peakCommittedBytes());
                assertTrue(error.getMessage().contains("limit=" + limit), error.getMessage());
                // Both cores filled up to it: the limit, not one core's share, is what ran out.
                assertTrue(stats.requestedBytes() > limit / 2, "requested " + stats.requestedBytes());
                for (long block : blocks) {
                    heap.freeAddress(block);
                }
                assertEquals(0, heap.stats().requestedBytes());
                // Freed memory counts against the limit no more: the heap can fill up again.
                long again = heap.mallocAddress(size);
                heap.freeAddress(again);
            }
        }
    }

    /**
     * Each malloc is drawn for sampling once, whoever draws it: also in a heap that injects faults,
     * and for a raw malloc aligned to 16 bytes, which the fast path serves as a plain malloc.
     */
    @Test
    void aMallocIsSampledOnceWithFaultInjectionAndWithSmallAlignmentsToo() {
        int interval = 64;
        int count = 64_000;
        int mean = count / interval;
        for (boolean faults : new boolean[] {false, true}) {
            for (boolean aligned : new boolean[] {false, true}) {
                Heap.Builder builder = Heap.builder().name("sampled-once").checkMode(CheckMode.SAMPLED)
                        .sampleInterval(interval).purgeDelay(Duration.ofHours(1));
                if (faults) {
                    builder.faultInjection(FaultInjection.firstN(0));
                }
                try (Heap heap = builder.build()) {
                    List<Long> blocks = new ArrayList<>(count);
                    for (int i = 0; i < count; i++) {
                        blocks.add(aligned ? heap.mallocAlignedAddress(SIZE, 16) : heap.mallocAddress(SIZE));
                    }
                    long sampled = heap.leaks().blocks();
                    assertTrue(sampled >= mean / 2 && sampled <= mean * 3 / 2, sampled + " of " + count
                            + " mallocs sampled at interval " + interval + (faults ? ", injecting faults" : "")
                            + (aligned ? ", aligned to 16" : ""));
                    blocks.forEach(heap::freeAddress);
                }
            }
        }
    }

    /** A sampled malloc hands back the fast block it first got: that block is no malloc of the caller's. */
    @Test
    void eachMallocAndFreeIsCountedOnceWhetherSampledOrNot() {
        int rounds = 20_000;
        for (int interval : new int[] {1, 16, 1024}) {
            try (Heap heap = sampledHeap(interval)) {
                List<Long> blocks = new ArrayList<>();
                for (int i = 0; i < rounds; i++) {
                    blocks.add(heap.mallocAddress(SIZE));
                }
                HeapStats live = heap.stats();
                assertEquals(rounds, live.mallocCount(), "interval " + interval);
                assertEquals(0, live.freeCount(), "interval " + interval);
                for (long block : blocks) {
                    heap.freeAddress(block);
                }
                HeapStats after = heap.stats();
                assertEquals(rounds, after.mallocCount(), "interval " + interval);
                assertEquals(rounds, after.freeCount(), "interval " + interval);
            }
        }
    }

    /**
     * A checked huge block has a mapping of its own, in the checked blocks' core, which is gone
     * once the block leaves quarantine: a second free is still named a double free.
     */
    @Test
    void aSecondFreeOfASampledHugeBlockIsADoubleFree() {
        long huge = 17L << 20;
        try (Heap heap = Heap.builder().name("sampled-huge").checkMode(CheckMode.SAMPLED).sampleInterval(1)
                .quarantineBytes(0).build()) {
            long block = heap.mallocAddress(huge);
            assertEquals(huge, heap.usableSize(block), "not sampled");
            heap.freeAddress(block);
            MemoryMisuseException second = assertThrows(MemoryMisuseException.class, () -> heap.freeAddress(block));
            assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE, second.kind(), second.getMessage());
            assertEquals(0, heap.stats().liveBlocks());
            heap.freeAddress(heap.mallocAddress(huge));
        }
    }

    /**
     * Once {@link Heap#isClosed()} says true, every call refuses, unsampled blocks' included: a close
     * still at work (here, printing the leak report of a sampled block left live) has already
     * closed the heap to its callers.
     */
    @Test
    void whileCloseReportsLeaksUnsampledMallocsAndFreesSayTheHeapIsClosed() throws Exception {
        Heap heap = sampledHeap(2);
        long unsampled = 0;
        while (heap.leaks().isEmpty() || unsampled == 0) {
            long block = heap.mallocAddress(SIZE);
            if (heap.usableSize(block) == SIZE_CLASS && unsampled == 0) {
                unsampled = block;
            }
        }
        java.util.concurrent.CountDownLatch reporting = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch reported = new java.util.concurrent.CountDownLatch(1);
        java.io.PrintStream err = System.err;
        System.setErr(new java.io.PrintStream(new java.io.OutputStream() {
            @Override
            public void write(int b) throws java.io.IOException {
                reporting.countDown();
                try {
                    reported.await();
                } catch (InterruptedException e) {
                    throw new java.io.InterruptedIOException();
                }
            }
        }));
        Thread closer = Thread.ofPlatform().start(heap::close);
        try {
            reporting.await();
            assertTrue(heap.isClosed());
            for (int i = 0; i < 10; i++) {
                assertThrows(IllegalStateException.class, () -> heap.mallocAddress(SIZE));
            }
            long block = unsampled;
            assertThrows(IllegalStateException.class, () -> heap.freeAddress(block));
        } finally {
            reported.countDown();
            closer.join();
            System.setErr(err);
        }
        assertEquals(0, heap.stats().committedBytes());
    }

    /**
     * A sampled huge block's mapping goes when it is freed (no quarantine here): an address inside
     * it is still named as lying in that freed block, with its stacks, as in full mode.
     */
    @Test
    void anAddressInsideAFreedSampledHugeBlockIsNamedAsInsideIt() {
        try (Heap heap = Heap.builder().name("sampled huge").checkMode(CheckMode.SAMPLED).sampleInterval(1)
                .quarantineBytes(0).build()) {
            long block = heap.mallocAddress(20 << 20);
            heap.freeAddress(block);
            heap.trim();
            MemoryMisuseException e = assertThrows(MemoryMisuseException.class,
                    () -> heap.freeAddress(block + (1 << 20)));
            assertEquals(MemoryMisuseException.Kind.BAD_FREE, e.kind(), e.getMessage());
            assertTrue(e.getMessage().contains("is located 1048576 bytes inside of the 20971520-byte region"),
                    e.getMessage());
            assertTrue(e.getMessage().contains("freed by thread"), e.getMessage());
        }
    }

    /**
     * A large or huge malloc that is sampled is drawn before its block is made: it is mapped and
     * committed once, as a checked block, never first as a fast block given back at once.
     */
    @Test
    void aSampledHugeMallocMapsItsBlockOnce() {
        long mib = 1 << 20;
        try (Heap heap = Heap.builder().name("sampled huge once").checkMode(CheckMode.SAMPLED).sampleInterval(1)
                .quarantineBytes(0).build()) {
            List<MemorySegment> blocks = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                // A span of its own each (the 32 MiB steps), so no block reuses another's mapping.
                blocks.add(heap.malloc(17 * mib + i * 32 * mib));
            }
            HeapStats stats = heap.stats();
            assertEquals(16, heap.leaks().blocks(), "every malloc is sampled: " + stats);
            assertEquals(16, stats.mmapCalls(), stats.toText());
            assertEquals(0, stats.purgedBytes(), stats.toText());
            assertEquals(16, stats.mallocCount(), stats.toText());
            assertEquals(0, stats.freeCount(), stats.toText());
            blocks.forEach(heap::free);
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    /**
     * A malloc the slow path samples is checked for its size and the heap's state first: a negative
     * size is an {@link IllegalArgumentException} and a closed heap says it is closed, as without
     * sampling, and nothing is allocated for them.
     */
    @Test
    void aSampledMallocOfANegativeSizeOrOnAClosedHeapIsRefusedAsUnsampledOnesAre() {
        Heap heap = Heap.builder().name("sampled refusals").checkMode(CheckMode.SAMPLED).sampleInterval(1).build();
        for (long size : new long[] {-1, -16, Long.MIN_VALUE}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> heap.mallocAddress(size));
            assertTrue(e.getMessage().contains(Long.toString(size)), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> heap.malloc(size));
        }
        assertEquals(0, heap.stats().mallocCount(), heap.stats().toText());
        assertEquals(0, heap.leaks().blocks());
        heap.close();
        IllegalStateException closed = assertThrows(IllegalStateException.class, () -> heap.mallocAddress(64));
        assertTrue(closed.getMessage().contains("closed"), closed.getMessage());
    }
}
