package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link Heap#describe(long)}: what an address is, as AddressSanitizer's
 * {@code __asan_describe_address} says it. From the pages in every mode; with the stacks of the
 * blocks checked mode records.
 */
class DescribeTest {

    @Test
    void aLiveBlockOfAFastHeapIsToldFromItsPage() {
        try (Heap heap = Heap.builder().name("fast").build()) {
            long block = heap.mallocAddress(40);
            long usable = heap.usableSize(block);
            assertEquals(48, usable);
            assertThat(heap.describe(block + 8)).isEqualTo(hex(block + 8) + ": a live block (size class 2) of heap"
                    + " 'fast'\n" + hex(block + 8) + " is located 8 bytes inside of the 48-byte block [" + hex(block)
                    + "," + hex(block + 48) + "), of which 40 bytes were requested\n"
                    + "no stacks: heap 'fast' records where blocks were allocated and freed in FULL mode only\n");
            assertThat(heap.describe(block + 44)).contains("is located 44 bytes inside of the 48-byte block",
                    "of which 40 bytes were requested (4 bytes past them)");
            heap.freeAddress(block);
        }
    }

    @Test
    void aFreedBlockAndOneNeverHandedOut() {
        try (Heap heap = Heap.builder().name("fast").build()) {
            long kept = heap.mallocAddress(40);
            long block = heap.mallocAddress(40);
            heap.freeAddress(block);
            assertThat(heap.describe(block)).startsWith(hex(block) + ": a free block (size class 2) of heap 'fast',"
                    + " handed out and freed since its page was laid out\n" + hex(block)
                    + " is located 0 bytes inside of the 48-byte block").doesNotContain("requested");
            long next = block + 48;
            assertThat(heap.describe(next + 2)).startsWith(hex(next + 2) + ": a block (size class 2) of heap 'fast'"
                    + " never handed out since its page was laid out\n" + hex(next + 2) + " is located 2 bytes inside"
                    + " of the 48-byte block [" + hex(next) + "," + hex(next + 48) + ")\n");
            heap.freeAddress(kept);
        }
    }

    @Test
    void thePagesTailPastItsLastBlock() {
        try (Heap heap = Heap.builder().name("fast").build()) {
            // 64 KiB pages of 48-byte blocks: 1,365 blocks, then 16 bytes no block uses.
            long block = heap.mallocAddress(48);
            long pageStart = block & -(64 << 10);
            long tail = pageStart + 1365 * 48 + 4;
            assertThat(heap.describe(tail)).isEqualTo(hex(tail) + ": no block of heap 'fast'\n" + hex(tail)
                    + " is 4 bytes past the last block of a page of 48-byte blocks (size class 2): the page's tail,"
                    + " which no block uses\n");
            heap.freeAddress(block);
        }
    }

    @Test
    void largeAndHugeBlocksAndTheMemoryAFreedHugeBlockGaveBack() {
        try (Heap heap = Heap.builder().name("fast").build()) {
            long large = heap.mallocAddress(300_000);
            assertThat(heap.describe(large + 299_999)).contains(": a live large block of heap 'fast'\n",
                    "is located 299999 bytes inside of the " + heap.usableSize(large) + "-byte block",
                    "of which 300000 bytes were requested\n");
            long huge = heap.mallocAddress(40L << 20);
            assertThat(heap.describe(huge + 5)).contains(": a live huge block of heap 'fast'\n",
                    "is located 5 bytes inside of the 41943040-byte block");
            heap.freeAddress(huge);
            heap.trim();
            // Kept mapped for the purge delay, then given back: what maps it now the heap cannot know.
            assertThat(heap.describe(huge + 5)).isEqualTo(hex(huge + 5) + ": memory of a huge block heap 'fast'"
                    + " freed\n" + hex(huge + 5) + " is located 5 bytes inside of the 41943040-byte huge block at "
                    + hex(huge) + "\nno heap holds blocks there now: a heap keeps such memory mapped for reuse for at"
                    + " most the purge delay, then gives it back to the OS, and any mapping may take it after\n");
            heap.freeAddress(large);
        }
    }

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void foreignMemoryTheJavaHeapAndAnotherHeap(CheckMode mode) {
        try (Heap heap = Heap.builder().name("h").checkMode(mode).build();
                Heap other = Heap.builder().name("other").build();
                Arena arena = Arena.ofConfined()) {
            MemorySegment foreign = arena.allocate(64);
            assertThat(heap.describe(foreign)).isEqualTo(hex(foreign.address()) + ": not in the memory of any open"
                    + " malloc4j heap\nforeign or stack memory, or memory a heap has given back to the OS (a closed"
                    + " heap's, say)\n");
            assertThat(heap.describe(MemorySegment.ofArray(new byte[8])))
                    .startsWith("0x0: a segment of the Java heap, not off-heap memory\nMemorySegment{")
                    .endsWith(" is no heap's block\n");
            long theirs = other.mallocAddress(8);
            assertThat(heap.describe(theirs)).isEqualTo(hex(theirs) + ": memory of heap 'other', not of heap 'h'\n"
                    + "describe it through heap 'other'\n");
            other.freeAddress(theirs);
        }
    }

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void anyAddressIsDescribedAndNothingChanges(CheckMode mode) {
        try (Heap heap = Heap.builder().checkMode(mode).build()) {
            long block = heap.mallocAddress(100);
            HeapStats before = heap.stats();
            for (long address : List.of(0L, 1L, -1L, Long.MIN_VALUE, Long.MAX_VALUE, block - 1, block + (1 << 20),
                    block + (64L << 30))) {
                assertThat(heap.describe(address)).startsWith("0x" + Long.toHexString(address) + ": ").endsWith("\n");
            }
            assertEquals(before, heap.stats());
            assertEquals(100, heap.usableSize(block) >= 100 ? 100 : -1);
            heap.freeAddress(block);
            heap.check();
        }
    }

    @Test
    void aBlockAScopeHoldsSaysSo() {
        try (Heap heap = Heap.builder().name("fast").build(); Arena scope = heap.newScope()) {
            MemorySegment held = scope.allocate(24);
            assertThat(heap.describe(held)).startsWith(hex(held.address()) + ": a live block (size class 1) of heap"
                    + " 'fast', held by a scope, bump arena, pool or growable array\n");
        }
    }

    @Test
    void aClosedHeapOrANullSegmentIsRefused() {
        Heap heap = Heap.builder().name("gone").build();
        long block = heap.mallocAddress(8);
        heap.close();
        IllegalStateException closed = assertThrows(IllegalStateException.class, () -> heap.describe(block));
        assertEquals("heap 'gone' is closed", closed.getMessage());
        assertThrows(IllegalStateException.class, () -> heap.describe(MemorySegment.ofArray(new int[1])));
        try (Heap open = Heap.builder().build()) {
            assertThrows(NullPointerException.class, () -> open.describe((MemorySegment) null));
        }
    }

    // ---- checked mode: the stacks ----

    @Test
    void aUseAfterFreeThroughASegmentIsDescribedWithWhereTheBlockWasFreedAndAllocated() {
        try (Heap heap = Heap.builder().name("dbg").checkMode(CheckMode.FULL).build()) {
            MemorySegment block = allocateForTheTest(heap);
            freeForTheTest(heap, block);
            IllegalStateException access = assertThrows(IllegalStateException.class,
                    () -> block.get(ValueLayout.JAVA_INT, 8));
            assertEquals("Already closed", access.getMessage());
            String text = heap.describe(block.asSlice(8).address());
            assertThat(text).startsWith(hex(block.address() + 8) + ": a block heap 'dbg' freed\n"
                    + hex(block.address() + 8) + " is located 8 bytes inside of the 40-byte region ["
                    + hex(block.address()) + "," + hex(block.address() + 40) + ")\nfreed by thread \"");
            int freed = text.indexOf("freed by thread");
            int allocated = text.indexOf("previously allocated by thread");
            assertTrue(freed >= 0 && freed < allocated, text);
            assertThat(text.substring(freed, allocated)).contains("#0 " + DescribeTest.class.getName()
                    + ".freeForTheTest(");
            assertThat(text.substring(allocated)).contains("#0 " + DescribeTest.class.getName()
                    + ".allocateForTheTest(");
            // The segment itself: its start, and that its scope is closed.
            assertThat(heap.describe(block)).isEqualTo(text.replace(hex(block.address() + 8), hex(block.address()))
                    .replace("located 8 bytes inside", "located 0 bytes inside") + "this segment's scope is closed:"
                    + " the block it was made for was freed, or the scope, arena or heap that made it closed\n");
        }
    }

    @Test
    void aLiveCheckedBlockAndItsRedzones() {
        try (Heap heap = Heap.builder().name("dbg").checkMode(CheckMode.FULL).build()) {
            MemorySegment block = allocateForTheTest(heap);
            long start = block.address();
            assertThat(heap.describe(start + 42)).startsWith(hex(start + 42) + ": the redzone of a live block of heap"
                    + " 'dbg'\n"
                    + hex(start + 42) + " is located 2 bytes to the right of the 40-byte region [" + hex(start) + ","
                    + hex(start + 40) + ")\nallocated by thread \"").contains(".allocateForTheTest(")
                    .doesNotContain("freed by");
            assertThat(heap.describe(start - 3)).startsWith(hex(start - 3) + ": the redzone of a live block")
                    .contains("is located 3 bytes to the left of the 40-byte region");
            heap.free(block);
            assertThat(heap.describe(start + 40)).startsWith(hex(start + 40) + ": the redzone of a block heap 'dbg'"
                    + " freed\n");
        }
    }

    @Test
    void aBlockFreedByItsHolderNamesTheHolder() {
        try (Heap heap = Heap.builder().name("dbg").checkMode(CheckMode.FULL).build()) {
            MemorySegment held;
            try (Arena scope = heap.newScope()) {
                held = scope.allocate(24);
                assertThat(heap.describe(held)).startsWith(hex(held.address()) + ": a live block of heap 'dbg', held"
                        + " by a heap scope\n");
            }
            assertThat(heap.describe(held)).startsWith(hex(held.address()) + ": a block heap 'dbg' freed, held by a"
                    + " heap scope till then\n").contains("freed by thread", " here:\n    #0 "
                    + DescribeTest.class.getName() + ".aBlockFreedByItsHolderNamesTheHolder(");
            // A growable array's storage that a growth moved and freed is the array's.
            NativeLongArray array = new NativeLongArray(heap, 4);
            MemorySegment old = array.asSegment();
            for (int i = 0; i < 100; i++) {
                array.add(i);
            }
            assertThat(heap.describe(old)).startsWith(hex(old.address()) + ": a block heap 'dbg' freed, held by a"
                    + " NativeLongArray till then\n");
            array.close();
            // A block the program freed itself names no holder.
            MemorySegment own = heap.malloc(24);
            heap.free(own);
            assertThat(heap.describe(own)).startsWith(hex(own.address()) + ": a block heap 'dbg' freed\n");
        }
    }

    @Test
    void memoryHandedOutAgainIsTheLiveBlockFirstThenTheFreedOne() {
        // No quarantine: the freed block's memory goes straight to the next malloc that fits it.
        try (Heap heap = Heap.builder().name("dbg").checkMode(CheckMode.FULL).quarantineBytes(0).build()) {
            MemorySegment first = allocateForTheTest(heap);
            long address = first.address();
            freeForTheTest(heap, first);
            // Aligned further, the new block starts past the freed one's start, its front redzone over it.
            MemorySegment second = heap.mallocAligned(40, 32);
            assertTrue(second.address() > address && second.address() - address < 32,
                    "the freed memory was handed out again: " + hex(address) + ", " + hex(second.address()));
            String text = heap.describe(address);
            assertThat(text).startsWith(hex(address) + ": the redzone of a live block of heap 'dbg'\n" + hex(address)
                    + " is located "
                    + (second.address() - address) + " bytes to the left of the 40-byte region");
            int before = text.indexOf("before it, the memory held a block heap 'dbg' freed:\n" + hex(address)
                    + " is located 0 bytes inside of the 40-byte region");
            assertTrue(before > 0, text);
            assertThat(text.substring(0, before)).doesNotContain("freed by");
            assertThat(text.substring(before)).contains("freed by thread", ".freeForTheTest(",
                    "previously allocated by thread", ".allocateForTheTest(");
            heap.free(second);
        }
    }

    @Test
    void aBlockStartingWhereAFreedOneStartedIsToldBeforeIt() {
        try (Heap heap = Heap.builder().name("dbg").checkMode(CheckMode.FULL).quarantineBytes(0).build()) {
            MemorySegment first = allocateForTheTest(heap);
            freeForTheTest(heap, first);
            MemorySegment second = heap.malloc(40);
            assertEquals(first.address(), second.address(), "the freed memory was handed out again");
            String text = heap.describe(second);
            int before = text.indexOf("before it, the memory held a block heap 'dbg' freed:\n");
            assertThat(text).startsWith(hex(second.address()) + ": a live block of heap 'dbg'\n");
            assertTrue(before > 0, text);
            assertThat(text.substring(before)).contains(".freeForTheTest(", ".allocateForTheTest(");
            heap.free(second);
            // A double free of the new block names the new block: its free replaced the old record.
            MemoryMisuseException twice = assertThrows(MemoryMisuseException.class, () -> heap.free(second));
            assertThat(twice.getMessage()).contains("DescribeTest.aBlockStartingWhereAFreedOneStartedIsToldBeforeIt(")
                    .doesNotContain(".freeForTheTest(");
        }
    }

    @Test
    void aPoolsBlockInAFullHeapIsToldWithThePoolsHistoryAndRedzones() {
        try (Heap heap = Heap.builder().name("dbg").checkMode(CheckMode.FULL).build();
                FixedSizePool pool = FixedSizePool.builder(heap, 48).name("p").build()) {
            MemorySegment block = allocateFromPool(pool);
            long start = block.address();
            String heading = ": a block of heap 'dbg' held by FixedSizePool 'p', which hands out blocks of its own"
                    + " there\n";
            assertThat(heap.describe(start + 4)).startsWith(hex(start + 4) + heading).contains(hex(start + 4)
                    + " is located 4 bytes inside of the 48-byte region [" + hex(start) + "," + hex(start + 48)
                    + "), a live block FixedSizePool 'p' handed out:\nallocated by thread", ".allocateFromPool(");
            // The pool's redzones: an overflow's address is told against the block it overflowed.
            assertThat(heap.describe(start + 48)).contains(hex(start + 48) + " is located 0 bytes to the right of the"
                    + " 48-byte region [" + hex(start) + "," + hex(start + 48) + "), a live block FixedSizePool 'p'"
                    + " handed out:\n");
            assertThat(heap.describe(start - 1)).contains(" is located 1 bytes to the left of the 48-byte region");
            freeToPool(pool, block);
            assertThat(heap.describe(start)).startsWith(hex(start) + heading).contains("a block FixedSizePool 'p'"
                    + " handed out and took back:\nfreed by thread", ".freeToPool(", "previously allocated by thread",
                    ".allocateFromPool(");
        }
    }

    @Test
    void aSampledHeapTellsItsSampledBlocksStacksAndTheOthersPages() {
        try (Heap every = Heap.builder().name("s1").checkMode(CheckMode.SAMPLED).sampleInterval(1).build()) {
            long sampled = every.mallocAddress(100);
            assertThat(every.describe(sampled)).startsWith(hex(sampled) + ": a live block of heap 's1'\n")
                    .contains("allocated by thread");
            every.freeAddress(sampled);
        }
        try (Heap rarely = Heap.builder().name("s").checkMode(CheckMode.SAMPLED).sampleInterval(1 << 30).build()) {
            long block = rarely.mallocAddress(100);
            assertThat(rarely.describe(block)).isEqualTo(hex(block) + ": a live block (size class 6) of heap 's'\n"
                    + hex(block) + " is located 0 bytes inside of the 112-byte block [" + hex(block) + ","
                    + hex(block + 112) + "), of which 100 bytes were requested\nno stacks: heap 's' records them"
                    + " only for the blocks it samples (SAMPLED mode)\n");
            rarely.freeAddress(block);
        }
    }

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void describingWhileAnotherThreadAllocatesAndFreesNeverThrows(CheckMode mode) throws Exception {
        try (Heap heap = Heap.builder().checkMode(mode).build()) {
            long anchor = heap.mallocAddress(64);
            AtomicBoolean stop = new AtomicBoolean();
            Thread churn = Thread.ofPlatform().start(() -> {
                long[] blocks = new long[256];
                for (int round = 0; !stop.get(); round++) {
                    int i = round & 255;
                    if (blocks[i] != 0) {
                        heap.freeAddress(blocks[i]);
                    }
                    blocks[i] = heap.mallocAddress(16 + (round * 37) % 3000);
                }
                for (long block : blocks) {
                    heap.freeAddress(block);
                }
            });
            try {
                for (int i = 0; i < 20_000; i++) {
                    long address = anchor + (i * 24L) % (256 << 10);
                    assertThat(heap.describe(address)).startsWith("0x" + Long.toHexString(address) + ": ");
                }
            } finally {
                stop.set(true);
                churn.join();
            }
            heap.freeAddress(anchor);
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    /** The README's case: a field of a freed block, read through its stale segment after its memory was reused. */
    @Test
    void aPointerIntoAFreedBlockWhoseMemoryLiveBlocksTookTellsBoth() {
        try (Heap heap = Heap.builder().name("dbg").checkMode(CheckMode.FULL).quarantineBytes(0).build()) {
            MemorySegment block = allocateForTheTest(heap, 3000);
            MemorySegment field = block.asSlice(1000, 8);
            freeForTheTest(heap, block);
            List<MemorySegment> reused = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                reused.add(heap.malloc(100));
            }
            assertThrows(IllegalStateException.class, () -> field.get(ValueLayout.JAVA_LONG, 0));
            String text = heap.describe(field);
            assertThat(text).startsWith(hex(field.address()) + ": a live block of heap 'dbg'\n").contains(
                    "before it, the memory held a block heap 'dbg' freed:\n" + hex(field.address()) + " is located"
                            + " 1000 bytes inside of the 3000-byte region [" + hex(block.address()),
                    ".freeForTheTest(", ".allocateForTheTest(");
            reused.forEach(heap::free);
        }
    }

    @Test
    void aSliceOfAFreedHugeBlockWhoseMappingWentIsToldWithItsStacks() {
        try (Heap heap = Heap.builder().name("dbg").checkMode(CheckMode.FULL).build()) {
            MemorySegment huge = allocateForTheTest(heap, 20 << 20);
            MemorySegment slice = huge.asSlice(4096);
            freeForTheTest(heap, huge);
            assertThat(heap.describe(slice)).startsWith(hex(slice.address()) + ": a block heap 'dbg' freed\n"
                    + hex(slice.address()) + " is located 4096 bytes inside of the 20971520-byte region").contains(
                    ".freeForTheTest(", ".allocateForTheTest(", "no heap holds blocks there now");
        }
    }

    @Test
    void aSampledHugeBlockFreedIsNotForeignMemory() {
        try (Heap heap = Heap.builder().name("s").checkMode(CheckMode.SAMPLED).sampleInterval(1).build()) {
            MemorySegment huge = heap.malloc(20 << 20);
            heap.free(huge);
            for (long address : new long[] {huge.address(), huge.address() + (1 << 20)}) {
                assertThat(heap.describe(address)).startsWith(hex(address) + ": a block heap 's' freed\n")
                        .doesNotContain("foreign");
            }
        }
    }

    @Test
    void theTailOfALargeBlocksSpanIsPastItsEnd() {
        try (Heap heap = Heap.builder().name("h").build()) {
            long block = heap.mallocAddress(300_000);
            long usable = heap.usableSize(block);
            assertThat(heap.describe(block + usable)).startsWith(hex(block + usable) + ": memory past the end of a"
                    + " live large block of heap 'h'\n").contains(" is located 0 bytes to the right of the " + usable
                    + "-byte block");
            heap.freeAddress(block);
        }
    }

    @Test
    void aFullHeapsZeroByteBlockHasNoByteInside() {
        try (Heap heap = Heap.builder().name("dbg").checkMode(CheckMode.FULL).build()) {
            long block = heap.mallocAddress(0);
            assertThat(heap.describe(block)).contains(hex(block) + " is located 0 bytes to the right of the 0-byte"
                    + " region [" + hex(block) + "," + hex(block) + ")\n");
            heap.freeAddress(block);
        }
    }

    @Test
    void aStaleSegmentWhoseMemoryServesAnotherBlockSaysItsScopeIsClosed() {
        try (Heap heap = Heap.builder().name("dbg").checkMode(CheckMode.FULL).quarantineBytes(0).build()) {
            MemorySegment first = heap.malloc(40);
            heap.free(first);
            MemorySegment second = heap.malloc(40);
            assertEquals(first.address(), second.address(), "the freed memory was handed out again");
            assertThat(heap.describe(first)).startsWith(hex(first.address()) + ": a live block of heap 'dbg'\n")
                    .endsWith("\nthis segment's scope is closed: the block it was made for was freed, or the scope,"
                            + " arena or heap that made it closed\n");
            assertThat(heap.describe(second)).doesNotContain("scope is closed");
            heap.free(second);
        }
    }

    @Test
    void checkedMemoryInNoRememberedBlockIsToldAgainstTheLiveBlockBesideIt() {
        try (Heap heap = Heap.builder().name("dbg").checkMode(CheckMode.FULL).build()) {
            long block = heap.mallocAddress(64);
            long address = block + 200;
            assertThat(heap.describe(address)).isEqualTo(hex(address) + ": checked memory of heap 'dbg' in no block"
                    + " it remembers\n" + hex(address) + " is located 136 bytes to the right of the 64-byte region ["
                    + hex(block) + "," + hex(block + 64) + "), a live block allocated by thread \"main\"\nno block it"
                    + " remembers holds it: memory not handed out, or of a block freed before the last 65536 frees, or"
                    + " of a freed block whose start other blocks took since\n");
            heap.freeAddress(block);
        }
    }

    @Test
    void memoryOfAFreedBlockPastASmallerOneNowAtItsStartIsTheFreedBlocks() {
        try (Heap heap = Heap.builder().name("dbg").checkMode(CheckMode.FULL).quarantineBytes(0).build()) {
            long first = heap.mallocAddress(300_000);
            heap.freeAddress(first);
            long second = heap.mallocAddress(200_000);
            assertEquals(first, second, "the freed memory was handed out again");
            long address = second + 200_100;
            assertThat(heap.describe(address)).startsWith(hex(address) + ": a block heap 'dbg' freed\n"
                    + hex(address) + " is located 200100 bytes inside of the 300000-byte region");
            heap.freeAddress(second);
        }
    }

    /** A page's slices keep pointing at it after it is retired, until other pages take them. */
    @Test
    void theOldBoundsOfAFreedLargeBlockAreNotToldOverTheBlockNowThereNorInAReport() {
        try (Heap heap = Heap.builder().name("h").build()) {
            long big = heap.mallocAddress(300_000);
            long keep = heap.mallocAddress(300_000);
            heap.freeAddress(big);
            heap.trim();
            long small = heap.mallocAddress(140_000);
            assumeTrue(small == big, "the freed span was taken again from its start");
            String text = heap.describe(small + 200_000);
            assertThat(text).doesNotContain("303104-byte").doesNotContain("live");
            // A free of the address says the same: no block, not the old one's bounds.
            MemoryMisuseException free = assertThrows(MemoryMisuseException.class,
                    () -> heap.freeAddress(small + 200_000));
            assertThat(free.getMessage()).contains("but in memory no block holds now").doesNotContain("303104");
            assertThat(heap.describe(small + 100)).startsWith(hex(small + 100) + ": a live large block of heap 'h'\n");
            heap.freeAddress(small);
            heap.freeAddress(keep);
        }
    }

    @Test
    void memoryAFreedHugeCheckedBlockGaveBackIsToldAsWhatHoldsItNowThenAsTheFreedBlock() {
        try (Heap heap = Heap.builder().name("dbg").checkMode(CheckMode.FULL).build();
                Heap other = Heap.builder().name("other").build()) {
            MemorySegment huge = heap.malloc(40L << 20);
            long start = huge.address();
            heap.free(huge);
            heap.trim();
            long theirs = other.mallocAddress(40L << 20);
            try {
                assumeTrue(start >= theirs && start < theirs + (40L << 20), "the other heap mapped the range");
                assertThat(heap.describe(huge)).startsWith(hex(start) + ": memory of heap 'other', not of heap 'dbg'\n")
                        .contains("before it, the memory held a block heap 'dbg' freed:\n" + hex(start)
                                + " is located 0 bytes inside of the 41943040-byte region");
            } finally {
                other.freeAddress(theirs);
            }
        }
    }

    private static MemorySegment allocateFromPool(FixedSizePool pool) {
        return pool.allocate();
    }

    private static void freeToPool(FixedSizePool pool, MemorySegment block) {
        pool.free(block);
    }

    private static MemorySegment allocateForTheTest(Heap heap) {
        return allocateForTheTest(heap, 40);
    }

    private static MemorySegment allocateForTheTest(Heap heap, long byteSize) {
        return heap.malloc(byteSize);
    }

    private static void freeForTheTest(Heap heap, MemorySegment block) {
        heap.free(block);
    }

    private static Description assertThat(String text) {
        return new Description(text);
    }

    /** Assertions on a description, each naming the whole text when it fails. */
    private record Description(String text) {
        Description isEqualTo(String expected) {
            assertEquals(expected, text);
            return this;
        }

        Description startsWith(String prefix) {
            assertTrue(text.startsWith(prefix), () -> "expected to start with:\n" + prefix + "\nbut was:\n" + text);
            return this;
        }

        Description endsWith(String suffix) {
            assertTrue(text.endsWith(suffix), () -> "expected to end with:\n" + suffix + "\nbut was:\n" + text);
            return this;
        }

        Description contains(String... parts) {
            for (String part : parts) {
                assertTrue(text.contains(part), () -> "expected to contain:\n" + part + "\nbut was:\n" + text);
            }
            return this;
        }

        Description doesNotContain(String part) {
            assertTrue(!text.contains(part), () -> "expected not to contain:\n" + part + "\nbut was:\n" + text);
            return this;
        }
    }

    private static String hex(long address) {
        return "0x" + Long.toHexString(address);
    }
}
