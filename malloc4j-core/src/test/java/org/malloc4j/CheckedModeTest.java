package org.malloc4j;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What {@link CheckMode#FULL} does to memory besides reporting misuse: uninitialised reads are made
 * visible (new blocks hold {@link CheckMode#JUNK_BYTE}, calloc's blocks zeros, freed blocks
 * {@link CheckMode#POISON_BYTE}), redzones hold {@link CheckMode#CANARY_BYTE}, and the counters stay
 * exact with every block checked.
 */
class CheckedModeTest {
    static final long KIB = 1024;
    static final long MIB = 1024 * KIB;

    Heap heap;

    @BeforeEach
    void makeHeap() {
        heap = Heap.builder().name("checked").checkMode(CheckMode.FULL).purgeDelay(Duration.ofHours(1)).build();
    }

    @AfterEach
    void closeHeap() {
        if (!heap.isClosed()) {
            heap.close();
        }
    }

    /** @return a segment over raw memory, to read bytes no Java segment of the heap reaches any more */
    static MemorySegment raw(long address, long byteSize) {
        return MemorySegment.ofAddress(address).reinterpret(byteSize);
    }

    /** @return the first offset of {@code memory} not holding {@code value}, or -1 */
    static long firstNot(MemorySegment memory, byte value) {
        byte[] expected = new byte[(int) Math.min(memory.byteSize(), 64 * KIB)];
        java.util.Arrays.fill(expected, value);
        MemorySegment pattern = MemorySegment.ofArray(expected);
        for (long done = 0; done < memory.byteSize(); done += expected.length) {
            long chunk = Math.min(expected.length, memory.byteSize() - done);
            long mismatch = MemorySegment.mismatch(memory, done, done + chunk, pattern, 0, chunk);
            if (mismatch >= 0) {
                return done + mismatch;
            }
        }
        return -1;
    }

    static void assertFilled(MemorySegment memory, byte value, String what) {
        long bad = firstNot(memory, value);
        assertEquals(-1, bad, () -> what + ": byte " + bad + " of " + memory.byteSize() + " is "
                + memory.get(JAVA_BYTE, bad) + ", expected " + value);
    }

    @ParameterizedTest(name = "{0} bytes")
    @ValueSource(longs = {1, 40, 4096, 100_000, MIB, 20 * MIB})
    void aNewBlockHoldsTheJunkByte(long byteSize) {
        MemorySegment block = heap.malloc(byteSize);
        assertFilled(block, CheckMode.JUNK_BYTE, "malloc");
        long address = heap.mallocAddress(byteSize);
        assertFilled(raw(address, byteSize), CheckMode.JUNK_BYTE, "mallocAddress");
        MemorySegment aligned = heap.mallocAligned(byteSize, 256);
        assertFilled(aligned, CheckMode.JUNK_BYTE, "mallocAligned");
        heap.free(block);
        heap.freeAddress(address);
        heap.free(aligned);
    }

    @ParameterizedTest(name = "{0} bytes")
    @ValueSource(longs = {1, 40, 4096, 100_000, MIB})
    void callocsBlockHoldsZeros(long byteSize) {
        MemorySegment block = heap.calloc(1, byteSize);
        assertFilled(block, (byte) 0, "calloc");
        MemorySegment tried = heap.tryCalloc(byteSize, 1);
        assertFilled(tried, (byte) 0, "tryCalloc");
        heap.free(block);
        heap.free(tried);
    }

    @Test
    void freeingAnotherHeapsBlockAtAnAddressThisHeapOnceFreedIsABadFreeNamingThatHeap() {
        try (Heap other = Heap.builder().name("other").checkMode(CheckMode.FULL).build()) {
            // A huge block has a mapping of its own: once freed, the address may go to any heap.
            long mine = heap.mallocAddress(20 << 20);
            heap.freeAddress(mine);
            // Out of quarantine and out of the mappings kept for reuse: back to the OS.
            heap.trim();
            MemorySegment theirs = null;
            List<MemorySegment> tried = new ArrayList<>();
            for (int i = 0; i < 64 && theirs == null; i++) {
                MemorySegment block = other.malloc(64);
                if (block.address() == mine) {
                    theirs = block;
                } else {
                    tried.add(block);
                }
            }
            tried.forEach(other::free);
            assumeTrue(theirs != null, "the OS gave the address to no other heap");
            MemorySegment stolen = theirs;
            MemoryMisuseException misuse = assertThrows(MemoryMisuseException.class, () -> heap.free(stolen));
            assertEquals(MemoryMisuseException.Kind.BAD_FREE, misuse.kind(), misuse.getMessage());
            assertTrue(misuse.getMessage().contains("heap 'other'"), misuse.getMessage());
            other.free(stolen);
        }
    }

    @Test
    void aQuarantinedBlockFreedAgainAfterMoreThan65536OtherFreesIsADoubleFreeNamingBothStacks() {
        long kept = heap.mallocAddress(16);
        heap.freeAddress(kept);
        // More frees than the records of freed blocks the heap keeps besides its quarantine's.
        for (int i = 0; i < 70_000; i++) {
            heap.freeAddress(heap.mallocAddress(16));
        }
        long interior = kept + 8;
        MemoryMisuseException again = assertThrows(MemoryMisuseException.class, () -> heap.freeAddress(kept));
        MemoryMisuseException inside = assertThrows(MemoryMisuseException.class, () -> heap.freeAddress(interior));
        MemoryMisuseException asked = assertThrows(MemoryMisuseException.class, () -> heap.usableSize(kept));
        assertAll(
                () -> assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE, again.kind(), again.getMessage()),
                () -> assertTrue(again.getMessage().contains("freed by thread")
                        && again.getMessage().contains("previously allocated by thread"), again.getMessage()),
                () -> assertEquals(MemoryMisuseException.Kind.BAD_FREE, inside.kind(), inside.getMessage()),
                () -> assertTrue(inside.getMessage().contains("8 bytes inside of the 16-byte region")
                        && inside.getMessage().contains("freed by thread"), inside.getMessage()),
                () -> assertEquals(MemoryMisuseException.Kind.USE_AFTER_FREE, asked.kind(), asked.getMessage()),
                () -> assertTrue(heap.describe(kept).contains("freed by thread"), heap.describe(kept)));
    }

    @Test
    void quarantinedBlocksMakeWayBeforeAHeapUnderItsLimitReportsExhaustion() {
        try (Heap limited = Heap.builder().name("checked-limit").checkMode(CheckMode.FULL)
                .maxCommittedBytes(4L << 20).build()) {
            List<Long> blocks = new ArrayList<>();
            try {
                while (true) {
                    blocks.add(limited.mallocAddress(64 << 10));
                }
            } catch (HeapExhaustedError expected) {
                // the limit is reached
            }
            assertTrue(blocks.size() > 8, "blocks that fit under the limit: " + blocks.size());
            blocks.forEach(limited::freeAddress);
            assertEquals(0, limited.stats().liveBlocks());
            // Nothing is live: whatever quarantine holds must not make these fail.
            long big = limited.mallocAddress(1 << 20);
            for (int i = 0; i < 1_000; i++) {
                limited.freeAddress(limited.mallocAddress(64 << 10));
            }
            limited.freeAddress(big);
            assertEquals(0, limited.stats().liveBlocks());
        }
    }

    /**
     * A malloc under the limit that needs the quarantine's memory verifies the blocks it takes out:
     * one written after its free is reported, that malloc allocates nothing, and the next succeeds.
     */
    @Test
    void aMallocThatTakesABlockWrittenAfterFreeOutOfQuarantineReportsItAndAllocatesNothing() {
        try (Heap limited = Heap.builder().name("checked-limit").checkMode(CheckMode.FULL)
                .maxCommittedBytes(1L << 20).build()) {
            long written = limited.mallocAddress(100_000);
            limited.freeAddress(written);
            raw(written, 1).set(JAVA_BYTE, 0, (byte) 1);
            List<Long> blocks = new ArrayList<>();
            MemoryMisuseException found = null;
            while (found == null) {
                HeapStats before = limited.stats();
                try {
                    blocks.add(limited.mallocAddress(100_000));
                } catch (MemoryMisuseException e) {
                    found = e;
                    assertEquals(before.mallocCount(), limited.stats().mallocCount(), "blocks allocated");
                }
            }
            assertEquals(MemoryMisuseException.Kind.USE_AFTER_FREE, found.kind(), found.getMessage());
            assertEquals(written, found.address(), found.getMessage());
            blocks.add(limited.mallocAddress(100_000));
            blocks.forEach(limited::freeAddress);
            limited.check();
        }
    }

    @Test
    void trimReportsABlockWrittenAfterFreeAndStillEmptiesTheQuarantine() {
        long written = heap.mallocAddress(64);
        heap.freeAddress(written);
        raw(written + 8, 1).set(JAVA_BYTE, 0, (byte) 1);
        MemoryMisuseException found = assertThrows(MemoryMisuseException.class, heap::trim);
        assertEquals(MemoryMisuseException.Kind.USE_AFTER_FREE, found.kind(), found.getMessage());
        assertEquals(written + 8, found.address(), found.getMessage());
        // The trim that reported it finished its work: a second one has nothing left to give back.
        long committed = heap.stats().committedBytes();
        heap.trim();
        assertEquals(committed, heap.stats().committedBytes());
        heap.check();
    }

    /**
     * An overflow reported while a block was live is one damage; a write into it after its free is
     * another, and must be reported too.
     */
    @Test
    void aBlockWhoseOverflowWasReportedStillReportsAWriteAfterItsFree() {
        long block = heap.mallocAddress(64);
        raw(block, 65).set(JAVA_BYTE, 64, (byte) 1);
        MemoryMisuseException overflow = assertThrows(MemoryMisuseException.class, heap::check);
        assertEquals(MemoryMisuseException.Kind.HEAP_BUFFER_OVERFLOW, overflow.kind(), overflow.getMessage());
        heap.check();
        heap.freeAddress(block);
        raw(block, 8).set(JAVA_BYTE, 0, (byte) 1);
        MemoryMisuseException written = assertThrows(MemoryMisuseException.class, heap::check);
        assertEquals(MemoryMisuseException.Kind.USE_AFTER_FREE, written.kind(), written.getMessage());
        assertEquals(block, written.address());
        heap.check();
    }

    @Test
    void trimReportsEveryBlockWrittenAfterFree() {
        long first = heap.mallocAddress(64);
        long second = heap.mallocAddress(64);
        heap.freeAddress(first);
        heap.freeAddress(second);
        raw(first + 8, 1).set(JAVA_BYTE, 0, (byte) 1);
        raw(second + 16, 1).set(JAVA_BYTE, 0, (byte) 1);
        MemoryMisuseException found = assertThrows(MemoryMisuseException.class, heap::trim);
        assertEquals(1, found.getSuppressed().length, found::toString);
        MemoryMisuseException other = (MemoryMisuseException) found.getSuppressed()[0];
        assertEquals(java.util.Set.of(first + 8, second + 16), java.util.Set.of(found.address(), other.address()));
        heap.check();
    }

    @Test
    void callocZeroesMemoryThatWasPoisonedBefore() {
        heap.close();
        heap = Heap.builder().name("checked").checkMode(CheckMode.FULL).quarantineBytes(0).build();
        for (int i = 0; i < 64; i++) {
            MemorySegment block = heap.malloc(48);
            block.fill((byte) 0x55);
            heap.free(block);
        }
        for (int i = 0; i < 64; i++) {
            MemorySegment block = heap.calloc(6, 8);
            assertFilled(block, (byte) 0, "calloc over reused memory");
            heap.free(block);
        }
    }

    @Test
    void aScopesBlockHoldsZerosAsTheJdksArenasDo() {
        try (Arena scope = heap.newScope()) {
            assertFilled(scope.allocate(40), (byte) 0, "newScope().allocate");
            assertFilled(scope.allocate(40, 4096), (byte) 0, "newScope().allocate aligned");
        }
        assertEquals(0, heap.stats().liveBlocks());
    }

    @Test
    void aFreedBlockHoldsThePoisonByte() {
        long byteSize = 40;
        MemorySegment block = heap.malloc(byteSize);
        block.fill((byte) 0x33);
        heap.free(block);
        assertThrows(IllegalStateException.class, () -> block.get(JAVA_BYTE, 0));
        assertFilled(raw(block.address(), byteSize), CheckMode.POISON_BYTE, "freed block, read raw");

        long address = heap.mallocAddress(5000);
        raw(address, 5000).fill((byte) 0x44);
        heap.freeAddress(address);
        assertFilled(raw(address, 5000), CheckMode.POISON_BYTE, "freed raw block");
        heap.check();
    }

    @Test
    void reallocKeepsThePrefixAndTheGrownTailIsJunk() {
        MemorySegment block = heap.malloc(40);
        block.fill((byte) 0x21);
        MemorySegment grown = heap.realloc(block, 100);
        assertFilled(grown.asSlice(0, 40), (byte) 0x21, "kept prefix");
        assertFilled(grown.asSlice(40), CheckMode.JUNK_BYTE, "grown tail");
        // checked realloc always moves (as ASan does), so the old segment is dead and poisoned
        assertThrows(IllegalStateException.class, () -> block.get(JAVA_BYTE, 0));
        assertFilled(raw(block.address(), 40), CheckMode.POISON_BYTE, "the old block");

        MemorySegment shrunk = heap.realloc(grown, 10);
        assertFilled(shrunk, (byte) 0x21, "shrunk");
        heap.free(shrunk);
        heap.check();
        assertEquals(0, heap.stats().liveBlocks());
    }

    @Test
    void redzonesOfCanariesSurroundEveryBlock() {
        for (long byteSize : new long[] {0, 1, 40, 48, 4096}) {
            long address = heap.mallocAddress(byteSize);
            assertFilled(raw(address - 16, 16), CheckMode.CANARY_BYTE, "front redzone of " + byteSize);
            assertFilled(raw(address + byteSize, 16), CheckMode.CANARY_BYTE, "back redzone of " + byteSize);
            heap.freeAddress(address);
        }
    }

    @Test
    void usableSizeIsExactlyTheRequestSoEveryByteBeyondIsARedzone() {
        for (long byteSize : new long[] {0, 1, 37, 40, 100_000}) {
            MemorySegment block = heap.malloc(byteSize);
            assertEquals(byteSize, heap.usableSize(block));
            assertEquals(byteSize, heap.usableSize(block.address()));
            heap.free(block);
        }
    }

    /** goodSize names what malloc gives: in full mode the request itself, every byte past it a redzone. */
    @Test
    void goodSizeIsTheUsableSizeMallocGivesAndStillRejectsANegativeSize() {
        for (long byteSize : new long[] {0, 1, 17, 129, 8 * KIB + 1, 128 * KIB + 1, 16 * MIB + 1}) {
            MemorySegment block = heap.malloc(byteSize);
            assertEquals(heap.usableSize(block), heap.goodSize(byteSize), "goodSize(" + byteSize + ")");
            heap.free(block);
        }
        assertThrows(IllegalArgumentException.class, () -> heap.goodSize(-1));
    }

    @Test
    void countersStayExactWithEveryBlockChecked() {
        List<MemorySegment> blocks = new ArrayList<>();
        long requested = 0;
        for (int i = 1; i <= 50; i++) {
            blocks.add(heap.malloc(i * 10L));
            requested += i * 10L;
        }
        HeapStats stats = heap.stats();
        assertAll(
                () -> assertEquals(50, stats.liveBlocks()),
                () -> assertEquals(50, stats.mallocCount()),
                () -> assertEquals(0, stats.freeCount()));
        assertEquals(requested, stats.requestedBytes());
        assertTrue(stats.requestedBytes() <= stats.usableBytes());
        assertEquals(50, heap.leaks().blocks());
        assertEquals(requested, heap.leaks().bytes());
        heap.check();
        blocks.forEach(heap::free);
        HeapStats after = heap.stats();
        assertEquals(0, after.liveBlocks());
        assertEquals(50, after.freeCount());
        assertEquals(0, after.requestedBytes());
        assertTrue(heap.leaks().isEmpty());
        heap.check();
    }

    @Test
    void zeroLengthBlocksAreCheckedToo() {
        MemorySegment empty = heap.malloc(0);
        assertEquals(0, empty.byteSize());
        MisuseCatalogueTest.poke(empty.address(), (byte) 1);
        MemoryMisuseException e = assertThrows(MemoryMisuseException.class, heap::check);
        assertEquals(MemoryMisuseException.Kind.HEAP_BUFFER_OVERFLOW, e.kind());
        assertTrue(e.getMessage().contains("0 bytes after the 0-byte region"), e.getMessage());
        MisuseCatalogueTest.poke(empty.address(), CheckMode.CANARY_BYTE);
        heap.free(empty);
        assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE,
                assertThrows(MemoryMisuseException.class, () -> heap.free(empty)).kind());
    }

    /**
     * After close, the leak report must still show what the heap leaked, as its statistics do: an
     * empty report then would tell a test that checks {@code leaks()} after closing that nothing leaked.
     */
    @Test
    void afterCloseTheLeakReportIsWhatTheHeapLeaked() {
        Heap leaky = Heap.builder().name("leaky").checkMode(CheckMode.FULL).build();
        leaky.mallocAddress(24);
        leaky.mallocAddress(40);
        leaky.freeAddress(leaky.mallocAddress(100));
        PrintStream original = System.err;
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        System.setErr(new PrintStream(printed, true));
        try {
            leaky.close();
        } finally {
            System.setErr(original);
        }
        LeakReport leaks = leaky.leaks();
        assertEquals(2, leaks.blocks(), leaks::text);
        assertEquals(64, leaks.bytes());
        assertEquals(leaky.stats().liveBlocks(), leaks.blocks());
        assertEquals(printed.toString().strip(), leaks.text().strip());
    }

    @Test
    void aHeapBuiltWithoutTheLeakReportAtClosePrintsNothingAndStillReportsWhatItLeaked() {
        Heap quiet = Heap.builder().name("quiet").checkMode(CheckMode.FULL).leakReportAtClose(false).build();
        quiet.mallocAddress(24);
        PrintStream original = System.err;
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        System.setErr(new PrintStream(printed, true));
        try {
            quiet.close();
        } finally {
            System.setErr(original);
        }
        assertEquals("", printed.toString());
        assertEquals(1, quiet.leaks().blocks(), quiet.leaks()::text);
        assertEquals(1, quiet.stats().liveBlocks());
    }

    /**
     * A leaked growable array is reported at the user's line, as LeakSanitizer's reports start at
     * the user's frame: {@code StackCapture} once dropped only the frames of {@code Heap},
     * {@code HeapScope}, {@code FaultInjection}, {@code BumpArena}, {@code FixedSizePool} and
     * {@code internal}, and reported such a block as allocated by
     * {@code org.malloc4j.NativeArray.resizeBlock}, a malloc4j frame.
     */
    @Test
    void aLeakedGrowableArrayIsReportedAtTheUsersLine() {
        NativeLongArray array = new NativeLongArray(heap, 4);
        array.add(1);
        LeakReport leaks = heap.leaks();
        array.close();
        assertEquals(1, leaks.blocks());
        StackTraceElement top = leaks.sites().get(0).stack().get(0);
        assertEquals(CheckedModeTest.class.getName() + ".aLeakedGrowableArrayIsReportedAtTheUsersLine",
                top.getClassName() + "." + top.getMethodName(), leaks.text());
    }

    /**
     * A block kept only through a segment derived from malloc's (here by {@code reinterpret}) is
     * reported when malloc's segment becomes unreachable: as a probable leak, with its allocation
     * stack and the other ways a program may still reach it, and changing nothing.
     */
    @Test
    void aDroppedSegmentOfALiveBlockIsReportedAsAProbableLeakAndTheBlockCanStillBeFreed() throws Exception {
        PrintStream original = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        MemorySegment view;
        try {
            view = keepOnlyADerivedSegment(heap);
            for (int i = 0; i < 200 && !captured.toString(StandardCharsets.UTF_8).contains("allocated from"); i++) {
                System.gc();
                Thread.sleep(10);
            }
        } finally {
            System.setErr(original);
        }
        String printed = captured.toString(StandardCharsets.UTF_8);
        assertAll(
                () -> assertTrue(printed.contains("became unreachable without free in heap 'checked'"), printed),
                () -> assertTrue(printed.contains("a probable leak of the 48-byte region"), printed),
                () -> assertTrue(printed.contains("a segment derived from it (asSlice, reinterpret)"), printed),
                () -> assertTrue(printed.contains("allocated by thread \"main\" here:\n    #0 "
                        + CheckedModeTest.class.getName()
                        + ".keepOnlyADerivedSegment("), printed),
                () -> assertFalse(printed.contains("ERROR"), printed));
        heap.free(view);
        assertEquals(0, heap.stats().liveBlocks());
    }

    private static MemorySegment keepOnlyADerivedSegment(Heap heap) {
        return heap.malloc(48).reinterpret(48);
    }

    /**
     * {@code CheckedAllocator.segment} registers every checked segment with a {@code Cleaner} that
     * warns when the segment is collected while its block is live. malloc4j's own scopes, bump arenas
     * and pools keep blocks by address and drop any segment the heap made for them, so they must take
     * their blocks through the raw API: otherwise every block they hold prints a false "became
     * unreachable without free" warning once the GC runs (as {@code HeapScope} did when it called
     * {@code heap.calloc(..).address()}). The loop gives the GC a bounded number of chances; the
     * assertion can only fail when a false warning was printed.
     */
    @Test
    void blocksHeldByScopesArenasAndPoolsDoNotTriggerTheUnreachableSegmentWarning() throws InterruptedException {
        PrintStream original = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try (Arena scope = heap.newScope();
             BumpArena bump = BumpArena.ofConfined(heap, 1024);
             FixedSizePool pool = FixedSizePool.builder(heap, 40).blocksPerPage(8).build()) {
            List<MemorySegment> kept = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                kept.add(scope.allocate(40));
                kept.add(scope.allocate(40, 4096));
                kept.add(bump.allocate(600));
                kept.add(bump.allocate(4000, 4096));
                kept.add(pool.allocate());
            }
            for (int i = 0; i < 25 && captured.size() == 0; i++) {
                System.gc();
                Thread.sleep(20);
            }
            assertEquals(500, kept.size());
        } finally {
            System.setErr(original);
        }
        String printed = captured.toString(StandardCharsets.UTF_8);
        assertFalse(printed.contains("became unreachable"),
                "false warnings for blocks a live scope, arena or pool still holds:\n" + printed.lines().limit(12)
                        .reduce("", (a, b) -> a + b + "\n"));
        assertEquals(0, heap.stats().liveBlocks());
    }

    /**
     * Heaps with checked blocks: full mode, sampled mode sampling every block (all take the checked
     * path), and sampled mode at its default interval (most take the fast path).
     */
    enum Checked {
        FULL, SAMPLED_EVERY_BLOCK, SAMPLED_DEFAULT_INTERVAL;

        Heap build() {
            Heap.Builder builder = Heap.builder().name("checked-" + name()).purgeDelay(Duration.ofHours(1));
            return switch (this) {
                case FULL -> builder.checkMode(CheckMode.FULL).build();
                case SAMPLED_EVERY_BLOCK -> builder.checkMode(CheckMode.SAMPLED).sampleInterval(1).build();
                case SAMPLED_DEFAULT_INTERVAL -> builder.checkMode(CheckMode.SAMPLED).build();
            };
        }
    }

    /**
     * A request near {@code Long.MAX_VALUE} is exhaustion, as in fast mode: adding the redzones must
     * not overflow into a negative size and an {@code IllegalArgumentException}.
     */
    @ParameterizedTest
    @EnumSource(Checked.class)
    void aRequestNearLongMaxValueIsExhaustionNotANegativeSize(Checked mode) {
        heap.close();
        heap = mode.build();
        long max = Long.MAX_VALUE;
        assertEquals(MemorySegment.NULL, heap.tryMalloc(max));
        assertEquals(MemorySegment.NULL, heap.tryMalloc(max - 15));
        assertEquals(MemorySegment.NULL, heap.tryCalloc(1, max));
        assertEquals(MemorySegment.NULL, heap.tryCalloc(max, 1));
        assertThrows(HeapExhaustedError.class, () -> heap.malloc(max));
        assertThrows(HeapExhaustedError.class, () -> heap.calloc(1, max));
        assertThrows(HeapExhaustedError.class, () -> heap.mallocAligned(max - 4095, 4096));
        assertThrows(HeapExhaustedError.class, () -> heap.mallocAligned(max, 16));
        assertThrows(HeapExhaustedError.class, () -> heap.mallocAligned(16, 1L << 62));
        assertThrows(HeapExhaustedError.class, () -> heap.mallocAddress(max));
        assertThrows(HeapExhaustedError.class, () -> heap.callocAddress(1, max));
        assertThrows(HeapExhaustedError.class, () -> heap.mallocAlignedAddress(max - 4095, 4096));
        HeapExhaustedError error = assertThrows(HeapExhaustedError.class, () -> heap.malloc(max));
        assertEquals(max, error.requestedBytes());

        MemorySegment block = heap.malloc(100);
        block.fill((byte) 0x5a);
        long usable = heap.usableSize(block);
        assertEquals(MemorySegment.NULL, heap.tryRealloc(block, max));
        assertThrows(HeapExhaustedError.class, () -> heap.realloc(block, max));
        assertThrows(HeapExhaustedError.class, () -> heap.reallocAddress(block.address(), max));
        // the old block is still live and unchanged
        assertFilled(block, (byte) 0x5a, "the block a failed realloc kept");
        assertEquals(usable, heap.usableSize(block));
        HeapStats stats = heap.stats();
        assertEquals(1, stats.liveBlocks());
        assertEquals(100, stats.requestedBytes());
        assertEquals(usable, stats.usableBytes());
        heap.check();

        // and the heap still works
        MemorySegment grown = heap.realloc(block, 200);
        assertFilled(grown.asSlice(0, 100), (byte) 0x5a, "the block grown after the failed realloc");
        MemorySegment other = heap.calloc(10, 10);
        assertFilled(other, (byte) 0, "calloc after the failed requests");
        MemorySegment aligned = heap.mallocAligned(4096, 4096);
        assertEquals(0, aligned.address() % 4096);
        heap.free(grown);
        heap.free(other);
        heap.free(aligned);
        heap.check();
        assertEquals(0, heap.stats().liveBlocks());
        assertEquals(0, heap.stats().requestedBytes());
        assertTrue(heap.leaks().isEmpty());
    }

    /**
     * A checked block aligned past an OS page has no front redzone: one as long as its alignment
     * would cost that much memory. Its back redzone still catches an overflow, and up to a page the
     * front one catches an underflow; no pad before a redzone is written, so none is faulted in.
     */
    @ParameterizedTest
    @EnumSource(value = Checked.class, names = {"FULL", "SAMPLED_EVERY_BLOCK"})
    void anAlignedBlockCostsItsSizeNotItsAlignment(Checked mode) {
        heap.close();
        heap = mode.build();
        long before = heap.stats().committedBytes();
        MemorySegment huge = heap.mallocAligned(10, 1L << 30);
        assertEquals(0, huge.address() % (1L << 30));
        assertTrue(heap.stats().committedBytes() - before <= 64 * 1024,
                "committed for a 10-byte block: " + (heap.stats().committedBytes() - before));
        MisuseCatalogueTest.poke(huge.address() + 10, (byte) 1);
        MemoryMisuseException overflow = assertThrows(MemoryMisuseException.class, () -> heap.free(huge));
        assertEquals(MemoryMisuseException.Kind.HEAP_BUFFER_OVERFLOW, overflow.kind());
        assertTrue(overflow.getMessage().contains("0 bytes after the 10-byte region"), overflow.getMessage());
        heap.free(huge); // reported once, then freed

        for (long alignment : new long[] {32, 4096}) {
            MemorySegment block = heap.mallocAligned(100, alignment);
            assertEquals(0, block.address() % alignment);
            assertEquals(CheckMode.CANARY_BYTE, MisuseCatalogueTest.peek(block.address() - 16));
            if (alignment > 32) {
                // The pad before the redzone is never written: not canaries, so not checked either.
                assertTrue(MisuseCatalogueTest.peek(block.address() - alignment) != CheckMode.CANARY_BYTE,
                        "the pad before the redzone was filled");
            }
            MisuseCatalogueTest.poke(block.address() - 16, (byte) 1);
            MemoryMisuseException underflow = assertThrows(MemoryMisuseException.class, () -> heap.free(block));
            assertEquals(MemoryMisuseException.Kind.HEAP_BUFFER_OVERFLOW, underflow.kind());
            assertTrue(underflow.getMessage().contains("16 bytes before the 100-byte region"), underflow.getMessage());
            heap.free(block);
        }
        assertEquals(0, heap.stats().liveBlocks());
        heap.check();
    }

    /** The largest request the heap can hand out passes the guard and fails only for want of memory. */
    @Test
    void aRequestTooLargeForTheLimitIsExhaustionWithItsSize() {
        heap.close();
        heap = Heap.builder().name("checked").checkMode(CheckMode.FULL).maxCommittedBytes(64 * MIB).build();
        assertEquals(MemorySegment.NULL, heap.tryMalloc(1L << 46));
        assertEquals(MemorySegment.NULL, heap.tryMalloc(128 * MIB));
        HeapExhaustedError error = assertThrows(HeapExhaustedError.class, () -> heap.malloc(128 * MIB));
        assertEquals(128 * MIB, error.requestedBytes());
        heap.free(heap.malloc(MIB));
        heap.check();
    }

    static void assertStats(Heap heap, long liveBlocks, long requested, long usable) {
        HeapStats stats = heap.stats();
        assertAll(stats.toText(),
                () -> assertEquals(liveBlocks, stats.liveBlocks(), "live blocks"),
                () -> assertEquals(requested, stats.requestedBytes(), "requested"),
                () -> assertEquals(usable, stats.usableBytes(), "usable"),
                () -> assertTrue(stats.usableBytes() <= stats.committedBytes(), "usable <= committed"));
        heap.check();
    }

    /**
     * {@code usableBytes} is what {@link Heap#usableSize} reports, summed over live blocks: a checked
     * block's usable size is its request, so neither its redzones nor quarantined blocks count
     * (they are footprint, in {@code committedBytes}).
     */
    @ParameterizedTest
    @EnumSource(value = Checked.class, names = {"FULL", "SAMPLED_EVERY_BLOCK"})
    void usableBytesSumsUsableSizeOverLiveBlocksOnly(Checked mode) {
        heap.close();
        heap = mode.build();
        assertStats(heap, 0, 0, 0);
        MemorySegment block = heap.malloc(100);
        assertEquals(100, heap.usableSize(block));
        assertStats(heap, 1, 100, 100);
        assertTrue(heap.stats().committedBytes() >= 100 + 2 * 16, "redzones are footprint");

        heap.free(block);
        assertStats(heap, 0, 0, 0);
        assertTrue(heap.stats().committedBytes() > 0, "the quarantined block is footprint");

        MemorySegment first = heap.malloc(40);
        MemorySegment second = heap.calloc(3, 7);
        MemorySegment aligned = heap.mallocAligned(1000, 4096);
        assertStats(heap, 3, 40 + 21 + 1000, 40 + 21 + 1000);
        assertEquals(40 + 21 + 1000, heap.usableSize(first) + heap.usableSize(second) + heap.usableSize(aligned));

        MemorySegment grown = heap.realloc(first, 300);
        assertStats(heap, 3, 300 + 21 + 1000, 300 + 21 + 1000);
        MemorySegment shrunk = heap.realloc(grown, 5);
        assertStats(heap, 3, 5 + 21 + 1000, 5 + 21 + 1000);
        HeapStats stats = heap.stats();
        assertEquals(6, stats.mallocCount());
        assertEquals(3, stats.freeCount());

        long raw = heap.mallocAddress(77);
        assertStats(heap, 4, 5 + 21 + 1000 + 77, 5 + 21 + 1000 + 77);
        raw = heap.reallocAddress(raw, 0);
        assertStats(heap, 4, 5 + 21 + 1000, 5 + 21 + 1000);
        heap.freeAddress(raw);
        heap.free(shrunk);
        heap.free(second);
        heap.free(aligned);
        assertStats(heap, 0, 0, 0);
        heap.trim();
        assertStats(heap, 0, 0, 0);
    }

    @Test
    void usableBytesIsZeroAfterFreeWhateverTheQuarantine() {
        for (long quarantine : new long[] {0, 1024, 64 * MIB}) {
            try (Heap quarantined = Heap.builder().name("q" + quarantine).checkMode(CheckMode.FULL)
                    .quarantineBytes(quarantine).build()) {
                List<MemorySegment> blocks = new ArrayList<>();
                for (int i = 1; i <= 20; i++) {
                    blocks.add(quarantined.malloc(i * 100L));
                }
                assertStats(quarantined, 20, 21_000, 21_000);
                blocks.forEach(quarantined::free);
                assertStats(quarantined, 0, 0, 0);
            }
        }
    }
}
