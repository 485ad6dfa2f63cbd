package org.malloc4j;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class FixedSizePoolTest {
    private static final Heap HEAP = Heap.builder().name("pool-test").build();

    @AfterAll
    static void closeHeap() {
        HEAP.close();
    }

    private static long liveBlocks() {
        return HEAP.stats().liveBlocks();
    }

    private static FixedSizePool pool(long blockByteSize, int blocksPerPage) {
        return FixedSizePool.builder(HEAP, blockByteSize).blocksPerPage(blocksPerPage).name("test").build();
    }

    // ---- allocation ----

    @Test
    void aPoolOnAClosedHeapCannotBeMade() {
        Heap closed = Heap.builder().name("closed").build();
        closed.close();
        IllegalStateException error = assertThrows(IllegalStateException.class,
                () -> FixedSizePool.builder(closed, 64).build());
        assertTrue(error.getMessage().contains("heap 'closed' is closed"), error.getMessage());
    }

    @Test
    void aPoolBlockPassedToAnotherHeapIsReportedWithoutSendingItToTheHeapItself() {
        try (Heap alpha = Heap.builder().name("alpha").build();
                Heap beta = Heap.builder().name("beta").build();
                FixedSizePool pool = FixedSizePool.builder(alpha, 64).build()) {
            MemorySegment block = pool.allocate();
            MemoryMisuseException error = assertThrows(MemoryMisuseException.class, () -> beta.free(block));
            assertEquals(MemoryMisuseException.Kind.BAD_FREE, error.kind());
            assertTrue(error.getMessage().contains("belongs to heap 'alpha', not 'beta': call free on what allocated"
                    + " it there (that heap, or the scope, arena, pool or array holding it)"), error.getMessage());
            error = assertThrows(MemoryMisuseException.class, () -> beta.usableSize(block));
            assertTrue(error.getMessage().contains("call usableSize on what allocated it there"), error.getMessage());
            pool.free(block);
        }
    }

    @Test
    void blocksHaveTheSizeAndAlignmentAndDoNotOverlap() {
        for (long alignment : new long[] {1, 8, 16, 64, 4096}) {
            try (FixedSizePool pool = FixedSizePool.builder(HEAP, 24).blockByteAlignment(alignment)
                    .blocksPerPage(10).build()) {
                Set<Long> addresses = new HashSet<>();
                for (int i = 0; i < 35; i++) {
                    MemorySegment block = pool.allocate();
                    assertEquals(24, block.byteSize());
                    assertEquals(0, block.address() % alignment, "alignment=" + alignment);
                    assertTrue(addresses.add(block.address()));
                }
                List<Long> sorted = new ArrayList<>(addresses);
                sorted.sort(null);
                for (int i = 1; i < sorted.size(); i++) {
                    assertTrue(sorted.get(i) - sorted.get(i - 1) >= 24);
                }
                assertEquals(35, pool.liveBlocks());
            }
        }
    }

    @Test
    void theDefaultsPackAboutSixtyFourKibibytesAPage() {
        try (FixedSizePool pool = FixedSizePool.builder(HEAP, 100).build()) {
            assertEquals(16, pool.blockByteAlignment());
            assertEquals(112, pool.strideBytes());
            assertEquals(65536 / 112, pool.blocksPerPage());
            assertEquals(65536, pool.pageAlignment());
            assertFalse(pool.isThreadSafe());
        }
    }

    @Test
    void aFreedBlockIsHandedOutAgain() {
        try (FixedSizePool pool = pool(32, 64)) {
            long a = pool.allocateAddress();
            long b = pool.allocateAddress();
            pool.freeAddress(a);
            assertEquals(a, pool.allocateAddress());
            assertEquals(b + 32, pool.allocateAddress());
        }
    }

    @Test
    void growsByPagesAndGivesEmptyPagesBackKeepingOne() {
        long before = liveBlocks();
        try (FixedSizePool pool = pool(64, 16)) {
            List<MemorySegment> blocks = new ArrayList<>();
            for (int i = 0; i < 16 * 4 + 1; i++) {
                blocks.add(pool.allocate());
            }
            assertEquals(5, pool.pageCount());
            assertEquals(5 * 16 * 64, pool.heldBytes());
            assertEquals(before + 5, liveBlocks());
            for (MemorySegment block : blocks) {
                pool.free(block);
            }
            assertEquals(0, pool.liveBlocks());
            assertEquals(1, pool.pageCount());
            assertEquals(before + 1, liveBlocks());
            pool.allocate();
            assertEquals(1, pool.pageCount());
        }
        assertEquals(before, liveBlocks());
    }

    @Test
    void aWriteThroughABlockCannotCorruptThePool() {
        try (FixedSizePool pool = pool(16, 8)) {
            List<MemorySegment> blocks = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                blocks.add(pool.allocate());
            }
            for (MemorySegment block : blocks) {
                pool.free(block);
                block.fill((byte) 0xFF); // a use after free, scribbling where an in-band free list would be
            }
            Set<Long> again = new HashSet<>();
            for (int i = 0; i < 8; i++) {
                again.add(pool.allocate().address());
            }
            assertEquals(8, again.size());
        }
    }

    // ---- misuse ----

    @Test
    void doubleFreeThrowsDoubleFreeAndThePoolStillWorks() {
        try (FixedSizePool pool = pool(48, 8)) {
            MemorySegment keep = pool.allocate();
            MemorySegment block = pool.allocate();
            pool.free(block);
            MemoryMisuseException e = assertThrows(MemoryMisuseException.class, () -> pool.free(block));
            assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE, e.kind());
            assertEquals(block.address(), e.address());
            assertTrue(e.getMessage().contains("attempting double-free on 0x" + Long.toHexString(block.address())),
                    e.getMessage());
            assertTrue(e.getMessage().contains("SUMMARY: malloc4j: double-free in pool 'test'"), e.getMessage());
            assertEquals(1, pool.liveBlocks());
            MemorySegment next = pool.allocate();
            assertEquals(block.address(), next.address());
            pool.free(next);
            pool.free(keep);
            assertEquals(0, pool.liveBlocks());
        }
    }

    @Test
    void freeOfAnInteriorAddressThrowsBadFree() {
        try (FixedSizePool pool = pool(48, 8)) {
            long block = pool.allocateAddress();
            MemoryMisuseException e = assertThrows(MemoryMisuseException.class, () -> pool.freeAddress(block + 8));
            assertEquals(MemoryMisuseException.Kind.BAD_FREE, e.kind());
            assertTrue(e.getMessage().contains("8 bytes inside the block"), e.getMessage());
            assertEquals(1, pool.liveBlocks());
            pool.freeAddress(block);
        }
    }

    @Test
    void aFreeOfAnAddressPastABlocksEndSaysHowFarPastItIs() {
        // 8-byte blocks 16 bytes apart: 12 bytes into a slot is padding, 4 bytes after the block.
        try (FixedSizePool pool = FixedSizePool.builder(HEAP, 8).name("test").build()) {
            long block = pool.allocateAddress();
            MemoryMisuseException e = assertThrows(MemoryMisuseException.class, () -> pool.freeAddress(block + 12));
            assertEquals(MemoryMisuseException.Kind.BAD_FREE, e.kind());
            assertTrue(e.getMessage().contains("0x" + Long.toHexString(block + 12) + " is 4 bytes after the 8-byte block"
                    + " at 0x" + Long.toHexString(block)), e.getMessage());
            assertFalse(e.getMessage().contains("inside the block"), e.getMessage());
            assertEquals(1, pool.liveBlocks());
            pool.freeAddress(block);
        }
        // In FULL mode the slot's back redzone follows the block: 100-byte blocks 8192 bytes apart.
        try (Heap heap = Heap.builder().name("full").checkMode(CheckMode.FULL).leakReportAtClose(false).build();
                FixedSizePool pool = FixedSizePool.builder(heap, 100).blockByteAlignment(8192).blocksPerPage(3)
                        .name("big").build()) {
            long first = pool.allocateAddress();
            long second = pool.allocateAddress();
            MemoryMisuseException e = assertThrows(MemoryMisuseException.class, () -> pool.freeAddress(second - 1));
            assertEquals(MemoryMisuseException.Kind.BAD_FREE, e.kind());
            assertTrue(e.getMessage().contains("is " + (second - 1 - first - 100) + " bytes after the 100-byte block at 0x"
                    + Long.toHexString(first)), e.getMessage());
            assertEquals(2, pool.liveBlocks());
        }
    }

    @Test
    void everyBlockSizeTellsBlockStartsFromInteriorAddresses() {
        for (long size = 1; size <= 130; size++) {
            try (FixedSizePool pool = FixedSizePool.builder(HEAP, size).blockByteAlignment(1).blocksPerPage(5).build()) {
                List<Long> blocks = new ArrayList<>();
                for (int i = 0; i < 12; i++) {
                    blocks.add(pool.allocateAddress());
                }
                for (long block : blocks) {
                    for (long inside = 1; inside < size; inside += Math.max(1, size / 3)) {
                        long address = block + inside;
                        assertEquals(MemoryMisuseException.Kind.BAD_FREE,
                                assertThrows(MemoryMisuseException.class, () -> pool.freeAddress(address)).kind());
                    }
                    pool.freeAddress(block);
                }
                assertEquals(0, pool.liveBlocks());
            }
        }
    }

    @Test
    void freeOfMemoryThePoolDoesNotOwnThrowsBadFree() {
        try (FixedSizePool pool = pool(48, 8); FixedSizePool other = pool(48, 8)) {
            pool.allocate();
            long foreign = other.allocateAddress();
            MemorySegment heapBlock = HEAP.malloc(48);
            assertEquals(MemoryMisuseException.Kind.BAD_FREE,
                    assertThrows(MemoryMisuseException.class, () -> pool.freeAddress(foreign)).kind());
            assertEquals(MemoryMisuseException.Kind.ALLOC_DEALLOC_MISMATCH,
                    assertThrows(MemoryMisuseException.class, () -> pool.free(heapBlock)).kind());
            HEAP.free(heapBlock);
            assertEquals(1, pool.liveBlocks());
            assertEquals(1, other.liveBlocks());
        }
    }

    /** Memory no heap ever had (an FFM arena's) is named as such, not only as another pool's or a heap's. */
    @Test
    void freeOfForeignMemoryThrowsBadFreeSayingItMayBeForeign() {
        try (FixedSizePool pool = pool(48, 8); Arena arena = Arena.ofConfined()) {
            pool.allocate();
            MemorySegment foreign = arena.allocate(48, 16);
            MemoryMisuseException e = assertThrows(MemoryMisuseException.class, () -> pool.free(foreign));
            assertEquals(MemoryMisuseException.Kind.BAD_FREE, e.kind());
            assertTrue(e.getMessage().contains(Long.toHexString(foreign.address()) + " is not in any page of this pool"
                    + " (foreign or stack memory, memory of another pool or of a heap, or a page since given back to"
                    + " the heap)."), e.getMessage());
            assertEquals(1, pool.liveBlocks());
        }
    }

    @Test
    void freeOfABlockNeverHandedOutThrowsBadFree() {
        try (FixedSizePool pool = pool(64, 8)) {
            long first = pool.allocateAddress();
            MemoryMisuseException e = assertThrows(MemoryMisuseException.class,
                    () -> pool.freeAddress(first + 64 * 3));
            assertEquals(MemoryMisuseException.Kind.BAD_FREE, e.kind());
            assertTrue(e.getMessage().contains("never handed out"), e.getMessage());
        }
    }

    @Test
    void freeOfABlockWhosePageWasGivenBackThrowsBadFree() {
        try (FixedSizePool pool = pool(64, 2)) {
            long a = pool.allocateAddress();
            long b = pool.allocateAddress();
            long c = pool.allocateAddress(); // a second page
            pool.freeAddress(a);
            pool.freeAddress(b); // the first page is empty: kept
            pool.freeAddress(c); // the second page is empty too: given back
            assertEquals(1, pool.pageCount());
            MemoryMisuseException e = assertThrows(MemoryMisuseException.class, () -> pool.freeAddress(c));
            assertEquals(MemoryMisuseException.Kind.BAD_FREE, e.kind());
            assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE,
                    assertThrows(MemoryMisuseException.class, () -> pool.freeAddress(a)).kind());
        }
    }

    @Test
    void freeOfASegmentOfTheJavaHeapThrowsBadFreeAsHeapFreeDoes() {
        FixedSizePool pool = pool(48, 8);
        MemorySegment block = pool.allocate();
        MemorySegment onHeap = MemorySegment.ofArray(new byte[48]);
        // address() of a heap segment is an offset into its array: 0 here, 16 for this slice
        for (MemorySegment segment : List.of(onHeap, MemorySegment.ofArray(new byte[64]).asSlice(16))) {
            MemoryMisuseException e = assertThrows(MemoryMisuseException.class, () -> pool.free(segment));
            assertEquals(MemoryMisuseException.Kind.BAD_FREE, e.kind());
            assertEquals(0, e.address());
            assertTrue(e.getMessage().contains("attempting free on a segment of the Java heap"), e.getMessage());
            assertTrue(e.getMessage().contains("SUMMARY: malloc4j: bad-free in pool 'test'"), e.getMessage());
        }
        MemoryMisuseException byHeap = assertThrows(MemoryMisuseException.class, () -> HEAP.free(onHeap));
        assertEquals(MemoryMisuseException.Kind.BAD_FREE, byHeap.kind());
        assertEquals(0, byHeap.address());
        assertEquals(1, pool.liveBlocks());
        pool.free(block);
        assertEquals(0, pool.liveBlocks());
        pool.close();
        // the misuse is reported even once the pool is closed, as Heap.free reports it
        assertEquals(MemoryMisuseException.Kind.BAD_FREE,
                assertThrows(MemoryMisuseException.class, () -> pool.free(onHeap)).kind());
    }

    @Test
    void freeOfNullDoesNothing() {
        try (FixedSizePool pool = pool(64, 8)) {
            pool.free(MemorySegment.NULL);
            pool.freeAddress(0);
            assertEquals(0, pool.liveBlocks());
        }
    }

    @Test
    void freeOfANullReferenceThrowsNullPointerException() {
        try (FixedSizePool pool = pool(64, 8)) {
            assertThrows(NullPointerException.class, () -> pool.free(null));
        }
    }

    // ---- lifetime ----

    @Test
    void closeGivesEveryPageBackAndMakesBlocksInaccessible() {
        long before = liveBlocks();
        FixedSizePool pool = pool(64, 4);
        List<MemorySegment> blocks = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            blocks.add(pool.allocate());
        }
        pool.close();
        assertEquals(before, liveBlocks());
        assertTrue(pool.isClosed());
        assertEquals(0, pool.pageCount());
        assertThrows(IllegalStateException.class, () -> blocks.get(0).get(JAVA_LONG, 0));
    }

    @Test
    void everyOperationAfterCloseThrowsIllegalStateException() {
        FixedSizePool pool = pool(64, 4);
        long block = pool.allocateAddress();
        pool.close();
        assertThrows(IllegalStateException.class, pool::allocate);
        assertThrows(IllegalStateException.class, pool::allocateAddress);
        assertThrows(IllegalStateException.class, () -> pool.freeAddress(block));
        assertThrows(IllegalStateException.class, pool::close);
    }

    /**
     * A downcall holds the segment of one page's block (the array C's {@code qsort} sorts) while
     * its comparator, called back in Java, closes the pool: the close fails, the other pages are
     * closed and given back, the pool stays usable, and a close after the downcall finishes.
     */
    @Test
    void aCloseADowncallInterruptsLeavesAUsablePoolThatALaterCloseFinishes() throws Throwable {
        for (int busy = 0; busy < 4; busy++) {
            long before = liveBlocks();
            FixedSizePool pool = pool(16, 1);
            List<MemorySegment> blocks = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                blocks.add(pool.allocate());
            }
            MemorySegment held = blocks.get(busy);
            held.set(JAVA_LONG, 0, 7);
            boolean[] ran = new boolean[1];
            Downcalls.whileHeldByADowncall(held, () -> {
                ran[0] = true;
                IllegalStateException refused = assertThrows(IllegalStateException.class, pool::close);
                assertTrue(refused.getMessage().contains("is not closed"), refused.getMessage());
                assertFalse(pool.isClosed());
                assertEquals(1, pool.pageCount());
                assertEquals(1, pool.liveBlocks());
                assertEquals(before + 1, liveBlocks(), "the closed pages went back to the heap");
                assertEquals(7, held.get(JAVA_LONG, 0));
                for (MemorySegment block : blocks) {
                    if (block != held) {
                        assertThrows(IllegalStateException.class, () -> block.get(JAVA_LONG, 0));
                    }
                }
                MemorySegment fresh = pool.allocate();
                fresh.set(JAVA_LONG, 0, 42);
                assertEquals(42, fresh.get(JAVA_LONG, 0));
                pool.free(fresh);
                assertEquals(1, pool.liveBlocks());
            });
            assertTrue(ran[0], "the comparator ran");
            pool.close();
            assertTrue(pool.isClosed());
            assertEquals(0, pool.pageCount());
            assertEquals(before, liveBlocks());
            assertThrows(IllegalStateException.class, () -> held.get(JAVA_LONG, 0));
        }
    }

    /**
     * A free that empties a page the pool would give back, while a downcall holds that page's
     * block: the JDK will not close the page's arena now, so the pool keeps the page as a spare
     * empty one; the free succeeds, and the pool's counts, its later frees and its close agree.
     */
    @Test
    void aFreeThatEmptiesAPageADowncallHoldsKeepsThePageAsASpare() throws Throwable {
        long before = liveBlocks();
        FixedSizePool pool = pool(16, 1);
        MemorySegment a = pool.allocate();
        MemorySegment b = pool.allocate();
        MemorySegment c = pool.allocate();
        pool.free(a);
        assertEquals(3, pool.pageCount(), "the first empty page is kept");
        b.set(JAVA_LONG, 0, 7);

        Downcalls.whileHeldByADowncall(b, () -> {
            pool.free(b);
            assertEquals(1, pool.liveBlocks());
            assertEquals(3, pool.pageCount(), "the page under the downcall is kept as a second empty page");
            assertEquals(before + 3, liveBlocks(), "no page went back to the heap");
            assertEquals(7, b.get(JAVA_LONG, 0), "still accessible under the downcall");
        });

        MemoryMisuseException again = assertThrows(MemoryMisuseException.class, () -> pool.free(b));
        assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE, again.kind());
        List<MemorySegment> refill = List.of(pool.allocate(), pool.allocate());
        assertEquals(3, pool.pageCount(), "the spare pages are used again");
        refill.forEach(pool::free);
        pool.free(c);
        assertEquals(1, pool.pageCount());
        pool.close();
        assertEquals(before, liveBlocks());
        assertThrows(IllegalStateException.class, () -> b.get(JAVA_LONG, 0));
    }

    /** As with {@link Heap#free} and C's {@code free(NULL)}: nothing to free, whatever the state. */
    @Test
    void freeOfNullDoesNothingEvenOnceThePoolIsClosed() {
        FixedSizePool pool = pool(64, 4);
        pool.close();
        pool.free(MemorySegment.NULL);
        pool.freeAddress(0);
        assertThrows(IllegalStateException.class, pool::allocate);
    }

    @Test
    void exhaustionThrowsHeapExhaustedErrorAndChangesNothing() {
        try (Heap small = Heap.builder().name("small").maxCommittedBytes(1 << 20).build();
                FixedSizePool pool = FixedSizePool.builder(small, 512 * 1024).blocksPerPage(8).build()) {
            assertThrows(HeapExhaustedError.class, pool::allocate);
            assertEquals(0, pool.pageCount());
            assertEquals(0, pool.liveBlocks());
            assertEquals(0, small.stats().liveBlocks());
        }
    }

    // ---- builder ----

    @Test
    void blockSizeThatIsNotPositiveThrowsIllegalArgumentException() {
        assertThrows(IllegalArgumentException.class, () -> FixedSizePool.builder(HEAP, 0));
        assertThrows(IllegalArgumentException.class, () -> FixedSizePool.builder(HEAP, -8));
    }

    @Test
    void alignmentThatIsNotAPositivePowerOfTwoThrowsIllegalArgumentException() {
        FixedSizePool.Builder builder = FixedSizePool.builder(HEAP, 16);
        for (long alignment : new long[] {0, -8, 12, Long.MIN_VALUE}) {
            assertThrows(IllegalArgumentException.class, () -> builder.blockByteAlignment(alignment));
        }
    }

    @Test
    void blocksPerPageOutOfRangeThrowsIllegalArgumentException() {
        FixedSizePool.Builder builder = FixedSizePool.builder(HEAP, 16);
        assertThrows(IllegalArgumentException.class, () -> builder.blocksPerPage(0));
        assertThrows(IllegalArgumentException.class, () -> builder.blocksPerPage(64 * 64 * 64 + 1));
    }

    @Test
    void aPageSizeThatOverflowsThrowsIllegalArgumentException() {
        assertThrows(IllegalArgumentException.class,
                () -> FixedSizePool.builder(HEAP, Long.MAX_VALUE / 2).blocksPerPage(4).build());
        assertThrows(IllegalArgumentException.class,
                () -> FixedSizePool.builder(HEAP, Long.MAX_VALUE - 4).blockByteAlignment(16).build());
    }

    @Test
    void aPageLargerThanTheLargestBlockThrowsIllegalArgumentExceptionAtBuildNamingTheBound() {
        long live = HEAP.stats().liveBlocks();
        // 4 blocks of 2^45 bytes: 2^47, which overflows nothing but no heap can hand out.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FixedSizePool.builder(HEAP, 1L << 45).blocksPerPage(4).build());
        assertEquals("a page of 4 blocks of 35184372088832 bytes each (the block's 35184372088832 bytes, rounded up"
                + " to the alignment) is"
                + " 140737488355328 bytes, more than the 70368744177664 bytes of the largest block a heap hands out"
                + " (Heap.MAX_BLOCK_BYTE_SIZE): blockByteSize=35184372088832, blockByteAlignment=16,"
                + " blocksPerPage=4", e.getMessage());
        IllegalArgumentException one = assertThrows(IllegalArgumentException.class,
                () -> FixedSizePool.builder(HEAP, (1L << 46) + 16).blocksPerPage(1).build());
        assertTrue(one.getMessage().startsWith("a page of 1 block of "), one.getMessage());
        assertEquals(live, HEAP.stats().liveBlocks());
        try (FixedSizePool pool = FixedSizePool.builder(HEAP, 64).build()) {
            pool.free(pool.allocate());
        }
    }

    /** In FULL mode the redzones make the stride: the message says so, with the block's own size apart. */
    @Test
    void aPageTooLargeOnlyWithItsRedzonesSaysTheRedzonesMadeIt() {
        try (Heap full = Heap.builder().name("full pool bound").checkMode(CheckMode.FULL).build()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> FixedSizePool.builder(full, 1L << 45).blockByteAlignment(1L << 45).blocksPerPage(2).build());
            assertTrue(e.getMessage().startsWith("a page of 2 blocks of 70368744177664 bytes each (the block's"
                    + " 35184372088832 bytes and the redzones the heap's FULL check mode puts around it, rounded up"
                    + " to the alignment) is 140737488355328 bytes"), e.getMessage());
            FixedSizePool.builder(HEAP, 1L << 45).blockByteAlignment(1L << 45).blocksPerPage(2).build().close();
        }
    }

    @Test
    void nullArgumentsThrowNullPointerException() {
        assertThrows(NullPointerException.class, () -> FixedSizePool.builder(null, 16));
        assertThrows(NullPointerException.class, () -> FixedSizePool.builder(HEAP, 16).name(null));
    }

    // ---- threads ----

    @Test
    void aThreadSafePoolServesManyThreadsAtOnce() throws Exception {
        try (FixedSizePool pool = FixedSizePool.builder(HEAP, 16).blocksPerPage(32).threadSafe(true).build()) {
            assertTrue(pool.isThreadSafe());
            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                long id = t + 1;
                Thread thread = new Thread(() -> {
                    try {
                        churn(pool, id);
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                });
                threads.add(thread);
                thread.start();
            }
            for (Thread thread : threads) {
                thread.join();
            }
            assertNull(failure.get());
            assertEquals(0, pool.liveBlocks());
            assertEquals(1, pool.pageCount());
        }
    }

    /** Allocates and frees in waves; every block holds its owner's id, checked before it is freed. */
    private static void churn(FixedSizePool pool, long id) {
        List<MemorySegment> held = new ArrayList<>();
        for (int round = 0; round < 20; round++) {
            for (int i = 0; i < 50; i++) {
                MemorySegment block = pool.allocate();
                block.set(JAVA_LONG, 0, id);
                block.set(JAVA_LONG, 8, block.address());
                held.add(block);
            }
            for (int i = held.size() - 1; i >= 0; i -= 2) {
                MemorySegment block = held.remove(i);
                assertEquals(id, block.get(JAVA_LONG, 0));
                assertEquals(block.address(), block.get(JAVA_LONG, 8));
                pool.free(block);
            }
        }
        for (MemorySegment block : held) {
            assertEquals(id, block.get(JAVA_LONG, 0));
            pool.free(block);
        }
    }

    // ---- property: the pool against a model set ----

    @Provide
    Arbitrary<List<Integer>> operations() {
        return Arbitraries.integers().between(0, 99).list().ofMaxSize(300);
    }

    /**
     * Random allocations, frees and double frees (about 55 / 40 / 5 %): live blocks never share an
     * address, keep their contents, double frees are caught, and the pool holds at most one empty page.
     */
    @Property(tries = 50)
    void thePoolAgreesWithAModelSet(@ForAll("operations") List<Integer> ops) {
        Heap heap = Heap.global();
        try (FixedSizePool pool = FixedSizePool.builder(heap, 40).blockByteAlignment(8).blocksPerPage(7).build()) {
            Map<Long, MemorySegment> live = new HashMap<>();
            List<Long> order = new ArrayList<>();
            List<Long> freed = new ArrayList<>();
            for (int op : ops) {
                if (op < 55 || order.isEmpty()) {
                    MemorySegment block = pool.allocate();
                    assertFalse(live.containsKey(block.address()));
                    block.set(JAVA_LONG, 0, block.address());
                    live.put(block.address(), block);
                    order.add(block.address());
                    freed.remove(block.address());
                } else if (op < 95) {
                    long address = order.remove(op % order.size());
                    assertEquals(address, live.remove(address).get(JAVA_LONG, 0));
                    pool.freeAddress(address);
                    freed.add(address);
                } else if (!freed.isEmpty()) {
                    long address = freed.get(op % freed.size());
                    MemoryMisuseException e = assertThrows(MemoryMisuseException.class, () -> pool.freeAddress(address));
                    assertTrue(e.kind() == MemoryMisuseException.Kind.DOUBLE_FREE
                            || e.kind() == MemoryMisuseException.Kind.BAD_FREE); // BAD_FREE once its page is gone
                }
                assertEquals(live.size(), pool.liveBlocks());
                assertTrue(pool.pageCount() <= live.size() + 1, "at most one empty page is kept");
            }
        }
    }

    /** A close that finds a page overflowed through a raw address reports it and still gives every page back. */
    @Test
    void aCloseThatFindsAnOverflowReportsItAndStillGivesEveryPageBack() {
        try (Heap heap = Heap.builder().name("overflowed").checkMode(CheckMode.FULL).build()) {
            FixedSizePool pool = FixedSizePool.builder(heap, 64).blocksPerPage(2).build();
            List<MemorySegment> blocks = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                blocks.add(pool.allocate());
            }
            MemorySegment.ofAddress(blocks.get(1).address()).reinterpret(65).set(JAVA_BYTE, 64, (byte) 1);

            MemoryMisuseException e = assertThrows(MemoryMisuseException.class, pool::close);
            assertEquals(MemoryMisuseException.Kind.HEAP_BUFFER_OVERFLOW, e.kind());
            assertTrue(pool.isClosed());
            assertEquals(0, heap.stats().liveBlocks());
            assertTrue(heap.leaks().isEmpty(), heap.leaks()::text);
        }
    }

    /** A free that gives an overflowed page back reports it, and the block and page are gone all the same. */
    @Test
    void aFreeThatGivesAnOverflowedPageBackReportsItAndStillGivesThePageBack() {
        try (Heap heap = Heap.builder().name("overflowed").checkMode(CheckMode.FULL).build();
                FixedSizePool pool = FixedSizePool.builder(heap, 64).blocksPerPage(1).build()) {
            MemorySegment kept = pool.allocate();
            MemorySegment damaged = pool.allocate();
            pool.free(kept);
            MemorySegment.ofAddress(damaged.address()).reinterpret(65).set(JAVA_BYTE, 64, (byte) 1);

            MemoryMisuseException e = assertThrows(MemoryMisuseException.class, () -> pool.free(damaged));
            assertEquals(MemoryMisuseException.Kind.HEAP_BUFFER_OVERFLOW, e.kind());
            assertEquals(0, pool.liveBlocks());
            assertEquals(1, pool.pageCount());
            assertEquals(1, heap.stats().liveBlocks());
        }
    }

    // ---- where a misused block was taken and given back ----

    /** Takes a block on a thread named {@code thread}, so a report can name both. */
    private static long takeOn(String thread, FixedSizePool pool) throws InterruptedException {
        long[] block = new long[1];
        Thread taker = Thread.ofPlatform().name(thread).start(() -> block[0] = pool.allocateAddress());
        taker.join();
        return block[0];
    }

    private static void giveBackOn(String thread, FixedSizePool pool, long block) throws InterruptedException {
        Thread.ofPlatform().name(thread).start(() -> pool.freeAddress(block)).join();
    }

    /** @return a report's stack under {@code heading}, to the start of its first frame's method name */
    private static String frames(String heading, String firstMethod) {
        return heading + "\n    #0 " + FixedSizePoolTest.class.getName() + "." + firstMethod;
    }

    @Test
    void aDoubleFreeInFullModeNamesWhereTheBlockWasTakenAndFirstGivenBack() throws InterruptedException {
        try (Heap heap = Heap.builder().name("full").checkMode(CheckMode.FULL).build();
                FixedSizePool pool = FixedSizePool.builder(heap, 48).name("nodes").build()) {
            long block = takeOn("taker", pool);
            giveBackOn("giver", pool, block);

            MemoryMisuseException e = assertThrows(MemoryMisuseException.class, () -> pool.freeAddress(block));
            assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE, e.kind());
            String report = e.getMessage();
            assertTrue(report.startsWith("ERROR: malloc4j: attempting double-free on 0x" + Long.toHexString(block)
                    + " in thread \"main\"\n    #0 " + FixedSizePoolTest.class.getName() + ".lambda$"), report);
            assertTrue(report.contains(frames("freed by thread \"giver\" here:", "lambda$giveBackOn$")), report);
            assertTrue(report.contains(frames("previously allocated by thread \"taker\" here:", "lambda$takeOn$")),
                    report);
            assertTrue(report.indexOf("freed by thread") < report.indexOf("previously allocated by thread"), report);
            // The SUMMARY names the second free's call, as a heap's report does.
            String summary = report.substring(report.lastIndexOf('\n') + 1);
            assertTrue(summary.matches("SUMMARY: malloc4j: double-free "
                    + Pattern.quote(FixedSizePoolTest.class.getName()
                            + ".lambda$aDoubleFreeInFullModeNamesWhereTheBlockWasTakenAndFirstGivenBack$")
                    + "\\d+\\(FixedSizePoolTest\\.java:\\d+\\) in pool 'nodes'"), report);
        }
    }

    @Test
    void aDoubleFreeNamesTheLatestTakingOfAReusedBlock() throws InterruptedException {
        try (Heap heap = Heap.builder().name("full").checkMode(CheckMode.FULL).build();
                FixedSizePool pool = FixedSizePool.builder(heap, 48).build()) {
            long block = takeOn("first", pool);
            pool.freeAddress(block);
            assertEquals(block, takeOn("second", pool));
            giveBackOn("giver", pool, block);

            String report = assertThrows(MemoryMisuseException.class, () -> pool.freeAddress(block)).getMessage();
            assertTrue(report.contains("previously allocated by thread \"second\" here:"), report);
            assertFalse(report.contains("\"first\""), report);
        }
    }

    @Test
    void aFreeOfAnInteriorAddressInFullModeNamesWhereItsBlockWasTakenAndGivenBack() throws InterruptedException {
        try (Heap heap = Heap.builder().name("full").checkMode(CheckMode.FULL).build();
                FixedSizePool pool = FixedSizePool.builder(heap, 48).build()) {
            long live = takeOn("taker", pool);
            String inLive = assertThrows(MemoryMisuseException.class, () -> pool.freeAddress(live + 8)).getMessage();
            assertTrue(inLive.contains("8 bytes inside the block at 0x" + Long.toHexString(live)), inLive);
            assertTrue(inLive.contains(frames("allocated by thread \"taker\" here:", "lambda$takeOn$")), inLive);
            assertFalse(inLive.contains("freed by thread"), inLive);

            long freed = takeOn("taker", pool);
            giveBackOn("giver", pool, freed);
            String inFreed = assertThrows(MemoryMisuseException.class, () -> pool.freeAddress(freed + 8)).getMessage();
            assertTrue(inFreed.contains(frames("freed by thread \"giver\" here:", "lambda$giveBackOn$")), inFreed);
            assertTrue(inFreed.contains(frames("previously allocated by thread \"taker\" here:", "lambda$takeOn$")),
                    inFreed);
            pool.freeAddress(live);
        }
    }

    @Test
    void aDoubleFreeOfASampledBlockNamesWhereItWasTakenAndFirstGivenBack() throws InterruptedException {
        try (Heap heap = Heap.builder().name("sampled").checkMode(CheckMode.SAMPLED).sampleInterval(1).build();
                FixedSizePool pool = FixedSizePool.builder(heap, 48).build()) {
            long block = takeOn("taker", pool);
            giveBackOn("giver", pool, block);

            String report = assertThrows(MemoryMisuseException.class, () -> pool.freeAddress(block)).getMessage();
            assertTrue(report.contains(frames("freed by thread \"giver\" here:", "lambda$giveBackOn$")), report);
            assertTrue(report.contains(frames("previously allocated by thread \"taker\" here:", "lambda$takeOn$")),
                    report);
        }
    }

    @Test
    void aDoubleFreeOfABlockSampledModeDidNotSampleSaysSo() {
        try (Heap heap = Heap.builder().name("sampled").checkMode(CheckMode.SAMPLED).sampleInterval(1 << 30).build();
                FixedSizePool pool = FixedSizePool.builder(heap, 48).build()) {
            long block = pool.allocateAddress();
            pool.freeAddress(block);

            MemoryMisuseException e = assertThrows(MemoryMisuseException.class, () -> pool.freeAddress(block));
            assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE, e.kind());
            String report = e.getMessage();
            assertTrue(report.contains("\nWhere the block was taken and given back is not known: sampled mode "
                    + "records it for one block in the heap's sampleInterval, and did not sample this one.\n"), report);
            assertFalse(report.contains("here:"), report);
        }
    }

    @Test
    void aFreeAfterCloseInFullModeNamesWhereThePoolWasClosed() throws InterruptedException {
        try (Heap heap = Heap.builder().name("full").checkMode(CheckMode.FULL).build()) {
            FixedSizePool pool = FixedSizePool.builder(heap, 48).threadSafe(true).name("nodes").build();
            long block = pool.allocateAddress();
            Thread.ofPlatform().name("closer").start(pool::close).join();

            IllegalStateException e = assertThrows(IllegalStateException.class, () -> pool.freeAddress(block));
            assertTrue(e.getMessage().startsWith("already closed: pool 'nodes' (by its close(), or its heap's)\n"
                    + "closed by thread \"closer\" here:\n    #0 "), e.getMessage());
        }
    }

    @Test
    void aPoolClosedWithItsFullModeHeapNamesTheHeapsClose() {
        Heap heap = Heap.builder().name("full").checkMode(CheckMode.FULL).build();
        FixedSizePool pool = FixedSizePool.builder(heap, 48).build();
        closeHeap(heap);
        String message = assertThrows(IllegalStateException.class, pool::allocate).getMessage();
        assertTrue(message.contains(frames("closed by thread \"main\" here:", "closeHeap(")), message);
    }

    private static void closeHeap(Heap heap) {
        heap.close();
    }

    @Test
    void aDoubleFreeInFastModeTakesNoStacks() {
        try (Heap heap = Heap.builder().name("fast").build();
                FixedSizePool pool = FixedSizePool.builder(heap, 48).name("nodes").build()) {
            long block = pool.allocateAddress();
            pool.freeAddress(block);

            String report = assertThrows(MemoryMisuseException.class, () -> pool.freeAddress(block)).getMessage();
            assertEquals("ERROR: malloc4j: attempting double-free on 0x" + Long.toHexString(block) + " in thread \"main\"\n"
                    + "0x" + Long.toHexString(block) + " is the start of block 0 of the "
                    + pool.blocksPerPage() + "-block page at 0x" + Long.toHexString(block)
                    + " (blockByteSize=48), freed before and not handed out since.\n"
                    + "SUMMARY: malloc4j: double-free in pool 'nodes'", report);
        }
    }
}
