package org.malloc4j;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.malloc4j.MemoryMisuseException.Kind.BAD_FREE;
import static org.malloc4j.MemoryMisuseException.Kind.DOUBLE_FREE;
import static org.malloc4j.MemoryMisuseException.Kind.HEAP_BUFFER_OVERFLOW;
import static org.malloc4j.MemoryMisuseException.Kind.USE_AFTER_FREE;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The misuse catalogue (DESIGN §5, §8): one deliberately wrong program per kind of error, each run
 * in {@link CheckMode#FULL}, asserting the exact {@link MemoryMisuseException.Kind} and what the
 * report names, in AddressSanitizer's layout: the bad address, where it lies relative to the block
 * ("0 bytes after the 40-byte region"), the thread, the method that freed the block and the method
 * that allocated it. Every program ends by showing the heap is still usable.
 *
 * <p>The wrong programs allocate and free through the helper methods below, whose names the
 * reports must show as the innermost frame of the "allocated by" and "freed by" stacks. Raw
 * accesses go through {@link #poke}, a segment made from a bare address, as C code would write
 * through a dangling or overflowing pointer.
 */
class MisuseCatalogueTest {
    static final long SIZE = 40;
    static final byte SCRIBBLE = 0x11;
    static final String TEST_CLASS = MisuseCatalogueTest.class.getName();
    /** Keep the builder's default quarantine (20 MiB): nothing leaves it during a test. */
    static final long DEFAULT_QUARANTINE = -1;
    /** Room for exactly one freed 40-byte block (its span: 16 + 48 + 16 = 80 bytes). */
    static final long ONE_SMALL_BLOCK = 100;

    Heap heap;

    @BeforeEach
    void makeHeap() {
        heap = fullHeap("catalogue", DEFAULT_QUARANTINE);
    }

    @AfterEach
    void closeHeap() {
        if (!heap.isClosed()) {
            heap.close();
        }
    }

    static Heap fullHeap(String name, long quarantineBytes) {
        Heap.Builder builder = Heap.builder().name(name).checkMode(CheckMode.FULL).purgeDelay(Duration.ofHours(1));
        if (quarantineBytes >= 0) {
            builder.quarantineBytes(quarantineBytes);
        }
        return builder.build();
    }

    // ---- the wrong programs' building blocks: their names must appear in the reports ----

    static MemorySegment allocateTheBuffer(Heap heap, long byteSize) {
        return heap.malloc(byteSize);
    }

    static long allocateTheRawBuffer(Heap heap, long byteSize) {
        return heap.mallocAddress(byteSize);
    }

    static void freeTheBuffer(Heap heap, MemorySegment block) {
        heap.free(block);
    }

    static void freeTheRawBuffer(Heap heap, long address) {
        heap.freeAddress(address);
    }

    static void freeItAgain(Heap heap, long address) {
        heap.freeAddress(address);
    }

    static long takeTheRawNode(FixedSizePool pool) {
        return pool.allocateAddress();
    }

    static MemorySegment leakFromSiteA(Heap heap, long byteSize) {
        return heap.malloc(byteSize);
    }

    static long leakFromSiteB(Heap heap) {
        return heap.mallocAddress(100);
    }

    /** Writes one byte through a bare address, unchecked, as C code writes through a pointer. */
    static void poke(long address, byte value) {
        MemorySegment.ofAddress(address).reinterpret(1).set(JAVA_BYTE, 0, value);
    }

    static byte peek(long address) {
        return MemorySegment.ofAddress(address).reinterpret(1).get(JAVA_BYTE, 0);
    }

    // ---- report helpers ----

    static MemoryMisuseException misuse(Executable call) {
        return assertThrows(MemoryMisuseException.class, call);
    }

    static String hex(long address) {
        return "0x" + Long.toHexString(address);
    }

    static String region(long address, long byteSize) {
        return "the " + byteSize + "-byte region [" + hex(address) + "," + hex(address + byteSize) + ")";
    }

    /** @return the first frame ("#0 ...") listed under the line of {@code report} starting with {@code heading} */
    static String firstFrameUnder(String report, String heading) {
        String[] lines = report.split("\n");
        for (int i = 0; i < lines.length - 1; i++) {
            if (lines[i].startsWith(heading)) {
                return lines[i + 1].trim();
            }
        }
        return fail("no line starting with '" + heading + "' in the report:\n" + report);
    }

    /** Asserts that the innermost frame under {@code heading} is {@code method} of this class. */
    static void assertFrame(String report, String heading, String method) {
        String frame = firstFrameUnder(report, heading);
        assertTrue(frame.startsWith("#0 " + TEST_CLASS + "." + method + "(MisuseCatalogueTest.java:"),
                () -> "expected " + method + " as the innermost frame under '" + heading + "', got '" + frame
                        + "' in:\n" + report);
    }

    static void assertContains(String report, String expected) {
        assertTrue(report.contains(expected), () -> "expected '" + expected + "' in the report:\n" + report);
    }

    static String thread() {
        return "\"" + Thread.currentThread().getName() + "\"";
    }

    /**
     * The heap still works after the misuse it reported: it verifies, its counters agree, and a round
     * of malloc, realloc and free leaves the live blocks as they were.
     */
    static void assertStillUsable(Heap heap, long expectedLiveBlocks) {
        heap.check();
        assertEquals(expectedLiveBlocks, heap.stats().liveBlocks(), "live blocks after the misuse");
        MemorySegment a = heap.malloc(100);
        a.fill((byte) 7);
        long b = heap.mallocAddress(3000);
        MemorySegment c = heap.calloc(10, 10);
        MemorySegment moved = heap.realloc(a, 5000);
        assertEquals(7, moved.get(JAVA_BYTE, 99));
        heap.free(moved);
        heap.freeAddress(b);
        heap.free(c);
        HeapStats stats = heap.stats();
        assertAll(
                () -> assertEquals(expectedLiveBlocks, stats.liveBlocks()),
                () -> assertTrue(stats.requestedBytes() <= stats.usableBytes(), stats::toText),
                () -> assertTrue(stats.usableBytes() <= stats.committedBytes(), stats::toText),
                () -> assertTrue(stats.committedBytes() <= stats.reservedBytes(), stats::toText));
        heap.check();
    }

    // =====================================================================================

    @Nested
    class HeapUseAfterFree {
        @Test
        void anAccessThroughTheSegmentAfterFreeThrowsBecauseTheBlocksScopeIsClosed() {
            MemorySegment block = allocateTheBuffer(heap, SIZE);
            block.set(JAVA_LONG, 0, 42);
            freeTheBuffer(heap, block);

            assertFalse(block.scope().isAlive());
            assertThrows(IllegalStateException.class, () -> block.get(JAVA_BYTE, 0));
            assertThrows(IllegalStateException.class, () -> block.set(JAVA_LONG, 8, 1L));
            assertThrows(IllegalStateException.class, () -> block.fill((byte) 0));
            assertStillUsable(heap, 0);
        }

        @Test
        void aSliceOfTheBlockDiesWithIt() {
            MemorySegment block = allocateTheBuffer(heap, SIZE);
            MemorySegment field = block.asSlice(8, 8);
            freeTheBuffer(heap, block);
            assertThrows(IllegalStateException.class, () -> field.get(JAVA_LONG, 0));
            assertStillUsable(heap, 0);
        }

        @Test
        void aRawWriteAfterFreeIsReportedByCheckNamingTheFreeingAndAllocatingMethodsAndTheOffset() {
            long block = allocateTheRawBuffer(heap, SIZE);
            freeTheRawBuffer(heap, block);
            poke(block + 8, SCRIBBLE);

            MemoryMisuseException e = misuse(heap::check);
            String report = e.getMessage();
            assertAll(
                    () -> assertEquals(USE_AFTER_FREE, e.kind()),
                    () -> assertEquals(block + 8, e.address()),
                    () -> assertTrue(report.startsWith("ERROR: malloc4j: heap-use-after-free on address "
                            + hex(block + 8) + " in thread " + thread()), report),
                    () -> assertContains(report, "found by check()"),
                    () -> assertContains(report, hex(block + 8) + " is located 8 bytes inside of "
                            + region(block, SIZE)),
                    () -> assertContains(report, "freed by thread " + thread() + " here:"),
                    () -> assertFrame(report, "freed by thread", "freeTheRawBuffer"),
                    () -> assertFrame(report, "previously allocated by thread", "allocateTheRawBuffer"),
                    // No call made the write: the SUMMARY names where the block was freed, and says so.
                    () -> assertContains(report, "SUMMARY: malloc4j: heap-use-after-free in the block freed at "
                            + TEST_CLASS + ".freeTheRawBuffer"),
                    () -> assertContains(report, "in heap 'catalogue'"));

            // Each damage is reported once: the next check passes, and the heap is whole again.
            heap.check();
            assertStillUsable(heap, 0);
        }

        @Test
        void aFreedBlockLargerThanTheQuarantineLeavesTheOtherQuarantinedBlocksWatched() {
            heap.close();
            heap = fullHeap("catalogue", 1 << 20);
            long dangling = allocateTheRawBuffer(heap, SIZE);
            freeTheRawBuffer(heap, dangling);
            long big = heap.mallocAddress(2 << 20);
            heap.freeAddress(big);
            poke(dangling + 8, SCRIBBLE);

            MemoryMisuseException e = misuse(heap::check);
            assertAll(
                    () -> assertEquals(USE_AFTER_FREE, e.kind()),
                    () -> assertEquals(dangling + 8, e.address()));
            assertStillUsable(heap, 0);
        }

        @Test
        void aRawWriteAfterFreeIsReportedWhenTheBlockLeavesQuarantine() {
            heap.close();
            heap = fullHeap("catalogue", ONE_SMALL_BLOCK);
            long dangling = allocateTheRawBuffer(heap, SIZE);
            freeTheRawBuffer(heap, dangling);
            poke(dangling, SCRIBBLE);
            long next = heap.mallocAddress(SIZE);

            // Freeing the next block pushes the dangling one out of the quarantine: its poison is verified.
            MemoryMisuseException e = misuse(() -> heap.freeAddress(next));
            String report = e.getMessage();
            assertAll(
                    () -> assertEquals(USE_AFTER_FREE, e.kind()),
                    () -> assertEquals(dangling, e.address()),
                    () -> assertContains(report, "heap-use-after-free on address " + hex(dangling)),
                    () -> assertContains(report, "found when it left quarantine"),
                    () -> assertContains(report, hex(dangling) + " is located 0 bytes inside of "
                            + region(dangling, SIZE)),
                    () -> assertFrame(report, "freed by thread", "freeTheRawBuffer"),
                    () -> assertFrame(report, "previously allocated by thread", "allocateTheRawBuffer"));

            // The report is about the evicted block. Whether the call that found it freed its own block
            // is the subject of the two tests below; either way the heap goes on working.
            if (heap.stats().liveBlocks() == 1) {
                heap.freeAddress(next);
            }
            assertStillUsable(heap, 0);
        }

        /**
         * Bug: a write after free found when a block is pushed out of quarantine is thrown from the
         * free of another block, after that block was freed: the caller, told by the exception that
         * nothing changed (MemoryMisuseException's Javadoc), still holds a block that is gone, and a
         * retry is reported as a double free.
         */
        @Test
        void freeingABlockThatPushesADamagedOneOutOfQuarantineLeavesTheCallersBlockAsItWas() {
            heap.close();
            heap = fullHeap("catalogue", ONE_SMALL_BLOCK);
            long dangling = allocateTheRawBuffer(heap, SIZE);
            freeTheRawBuffer(heap, dangling);
            poke(dangling, SCRIBBLE);
            long mine = heap.mallocAddress(SIZE);

            assertEquals(USE_AFTER_FREE, misuse(() -> heap.freeAddress(mine)).kind());
            assertAll(
                    () -> assertEquals(1, heap.stats().liveBlocks(), "the caller's block is still live"),
                    () -> assertEquals(SIZE, heap.usableSize(mine)));
        }

        /**
         * Bug: the same through realloc, which is worse: the old block is freed and the new one,
         * already allocated and filled, is never returned, so it leaks.
         */
        @Test
        void reallocThatPushesADamagedBlockOutOfQuarantineLeaksNothing() {
            heap.close();
            heap = fullHeap("catalogue", ONE_SMALL_BLOCK);
            long dangling = allocateTheRawBuffer(heap, SIZE);
            freeTheRawBuffer(heap, dangling);
            poke(dangling, SCRIBBLE);
            long mine = heap.mallocAddress(SIZE);
            poke(mine, (byte) 0x42);

            assertEquals(USE_AFTER_FREE, misuse(() -> heap.reallocAddress(mine, 2 * SIZE)).kind());
            assertAll(
                    () -> assertEquals(1, heap.stats().liveBlocks(), "only the caller's block is live"),
                    () -> assertEquals(SIZE, heap.usableSize(mine), "the caller's block is still live"),
                    () -> assertEquals(0x42, peek(mine)));
        }

        @Test
        void aRawWriteAfterFreeIsReportedByTrim() {
            long block = allocateTheRawBuffer(heap, SIZE);
            freeTheRawBuffer(heap, block);
            poke(block + SIZE - 1, SCRIBBLE);

            MemoryMisuseException e = misuse(heap::trim);
            assertEquals(USE_AFTER_FREE, e.kind());
            assertContains(e.getMessage(), "found by trim()");
            assertContains(e.getMessage(), (SIZE - 1) + " bytes inside of " + region(block, SIZE));
            assertStillUsable(heap, 0);
        }

        /**
         * Bug: close() emptied the quarantine without verifying it, so a write after free into a
         * block still held there when the heap closed was never reported.
         */
        @Test
        void aRawWriteAfterFreeIsReportedWhenTheHeapClosesWhichClosesAllTheSame() {
            long block = allocateTheRawBuffer(heap, SIZE);
            long overflowed = allocateTheRawBuffer(heap, SIZE);
            freeTheRawBuffer(heap, block);
            freeTheRawBuffer(heap, overflowed);
            poke(block + 5, SCRIBBLE);
            poke(overflowed + SIZE, SCRIBBLE);

            MemoryMisuseException e = misuse(heap::close);
            String report = e.getMessage();
            assertAll(
                    () -> assertEquals(USE_AFTER_FREE, e.kind()),
                    () -> assertEquals(block + 5, e.address()),
                    () -> assertContains(report, "found when the heap closed"),
                    () -> assertContains(report, hex(block + 5) + " is located 5 bytes inside of "
                            + region(block, SIZE)),
                    () -> assertFrame(report, "freed by thread", "freeTheRawBuffer"),
                    () -> assertFrame(report, "previously allocated by thread", "allocateTheRawBuffer"),
                    () -> assertEquals(1, e.getSuppressed().length, e::toString),
                    () -> assertEquals(HEAP_BUFFER_OVERFLOW, ((MemoryMisuseException) e.getSuppressed()[0]).kind()),
                    () -> assertEquals(overflowed + SIZE, ((MemoryMisuseException) e.getSuppressed()[0]).address()),
                    () -> assertTrue(heap.isClosed()),
                    () -> assertEquals(0, heap.stats().committedBytes()),
                    () -> assertEquals(0, heap.stats().reservedBytes()),
                    () -> assertThrows(IllegalStateException.class, heap::close, "closed already"));
        }

        /**
         * Bug: a close that found damage both in a block of a scope it closed first and, after, in a
         * block still in quarantine threw the quarantine's report, with the scope's suppressed,
         * where close() says it throws the first report with the others suppressed.
         */
        @Test
        void aCloseThatFindsDamageInAScopeAndInQuarantineThrowsTheScopesReportFirst() {
            long block = allocateTheRawBuffer(heap, SIZE);
            freeTheRawBuffer(heap, block);
            poke(block + 5, SCRIBBLE);
            Arena scope = heap.newSharedScope();
            MemorySegment held = scope.allocate(SIZE);
            poke(held.address() + SIZE, SCRIBBLE);

            MemoryMisuseException e = misuse(heap::close);
            assertAll(
                    () -> assertEquals(HEAP_BUFFER_OVERFLOW, e.kind(), e::toString),
                    () -> assertEquals(held.address() + SIZE, e.address()),
                    () -> assertEquals(1, e.getSuppressed().length, e::toString),
                    () -> assertEquals(USE_AFTER_FREE, ((MemoryMisuseException) e.getSuppressed()[0]).kind()),
                    () -> assertEquals(block + 5, ((MemoryMisuseException) e.getSuppressed()[0]).address()),
                    () -> assertTrue(heap.isClosed()));
        }

        /**
         * Bug: once a write after free into a block was reported, the block was never verified
         * again, so a later write through the same dangling pointer, at another byte, was silent.
         * Each damage is reported once; a new one is a new report.
         */
        @Test
        void aSecondWriteAfterFreeIntoTheSameBlockIsReportedToo() {
            long block = allocateTheRawBuffer(heap, SIZE);
            freeTheRawBuffer(heap, block);
            poke(block + 1, SCRIBBLE);
            assertEquals(block + 1, misuse(heap::check).address());
            heap.check();

            poke(block + 20, SCRIBBLE);
            MemoryMisuseException e = misuse(heap::check);
            assertAll(
                    () -> assertEquals(USE_AFTER_FREE, e.kind()),
                    () -> assertEquals(block + 20, e.address()),
                    () -> assertContains(e.getMessage(), hex(block + 20) + " is located 20 bytes inside of "
                            + region(block, SIZE)),
                    () -> assertFrame(e.getMessage(), "freed by thread", "freeTheRawBuffer"));
            assertStillUsable(heap, 0);
        }

        @Test
        void aBlockFreedOnAnotherThreadNamesThatThread() throws InterruptedException {
            long block = allocateTheRawBuffer(heap, SIZE);
            Thread freer = new Thread(() -> freeTheRawBuffer(heap, block), "the-freeing-thread");
            freer.start();
            freer.join();
            poke(block + 3, SCRIBBLE);

            String report = misuse(heap::check).getMessage();
            assertContains(report, "freed by thread \"the-freeing-thread\" here:");
            assertFrame(report, "freed by thread", "freeTheRawBuffer");
            assertContains(report, "previously allocated by thread " + thread() + " here:");
            poke(block + 3, CheckMode.POISON_BYTE);
            assertStillUsable(heap, 0);
        }
    }

    // =====================================================================================

    @Nested
    class HeapBufferOverflow {
        @ParameterizedTest(name = "{0}-byte block")
        @ValueSource(longs = {0, 1, 37, SIZE, 4096, 200_000})
        void aRawWriteOneBytePastTheEndIsReportedAtFree(long byteSize) {
            long block = allocateTheRawBuffer(heap, byteSize);
            poke(block + byteSize, SCRIBBLE);

            MemoryMisuseException e = misuse(() -> freeTheRawBuffer(heap, block));
            String report = e.getMessage();
            assertAll(
                    () -> assertEquals(HEAP_BUFFER_OVERFLOW, e.kind()),
                    () -> assertEquals(block + byteSize, e.address()),
                    () -> assertTrue(report.startsWith("ERROR: malloc4j: heap-buffer-overflow on address "
                            + hex(block + byteSize) + " in thread " + thread()), report),
                    () -> assertContains(report, "found at free, which freed nothing: the block is still live,"
                            + " so free it again\n"),
                    () -> assertContains(report, hex(block + byteSize) + " is located 0 bytes after "
                            + region(block, byteSize)),
                    () -> assertFrame(report, "allocated by thread", "allocateTheRawBuffer"),
                    () -> assertContains(report, "SUMMARY: malloc4j: heap-buffer-overflow in the block allocated at "
                            + TEST_CLASS + ".allocateTheRawBuffer"));

            // The free changed nothing: the block is still live. Restore the canary and it frees.
            assertEquals(1, heap.stats().liveBlocks());
            assertEquals(byteSize, heap.usableSize(block));
            poke(block + byteSize, CheckMode.CANARY_BYTE);
            freeTheRawBuffer(heap, block);
            assertStillUsable(heap, 0);
        }

        @Test
        void aRawWriteOneBytePastTheEndIsReportedAtReallocWhichLeavesTheBlockAsItWas() {
            long block = allocateTheRawBuffer(heap, SIZE);
            poke(block, (byte) 7);
            poke(block + SIZE, SCRIBBLE);

            MemoryMisuseException e = misuse(() -> heap.reallocAddress(block, 4 * SIZE));
            assertEquals(HEAP_BUFFER_OVERFLOW, e.kind());
            assertContains(e.getMessage(), "found at realloc, which changed nothing: the block is as it was\n");
            assertEquals(1, heap.stats().liveBlocks());
            assertEquals(SIZE, heap.usableSize(block));

            // Reported once, its canary put back: the next realloc moves it with its contents.
            long moved = heap.reallocAddress(block, 4 * SIZE);
            assertEquals(7, peek(moved));
            heap.freeAddress(moved);
            assertStillUsable(heap, 0);
        }

        @Test
        void aRawWriteOneBytePastAPoolsBlockIsReportedAtItsFreeThroughThePool() {
            try (FixedSizePool pool = FixedSizePool.builder(heap, SIZE).name("nodes").build()) {
                long block = takeTheRawNode(pool);
                poke(block + SIZE, SCRIBBLE);

                MemoryMisuseException e = misuse(() -> pool.freeAddress(block));
                String report = e.getMessage();
                assertAll(
                        () -> assertEquals(HEAP_BUFFER_OVERFLOW, e.kind()),
                        () -> assertEquals(block + SIZE, e.address()),
                        () -> assertContains(report, "found at free, which freed it all the same\n"),
                        () -> assertContains(report, hex(block + SIZE) + " is located 0 bytes after "
                                + region(block, SIZE) + ", block 0 of the "),
                        () -> assertFrame(report, "allocated by thread", "takeTheRawNode"),
                        () -> assertContains(report, "SUMMARY: malloc4j: heap-buffer-overflow in the block "
                                + "allocated at " + TEST_CLASS + ".takeTheRawNode"),
                        () -> assertTrue(report.endsWith(" in pool 'nodes'"), report));

                // Unlike a heap block, a pool's block is freed all the same, its canary put back.
                assertEquals(0, pool.liveBlocks());
                assertEquals(block, takeTheRawNode(pool));
                pool.freeAddress(block);
            }
            assertStillUsable(heap, 0);
        }

        @Test
        void aRawWriteFurtherPastTheEndNamesItsDistance() {
            long block = allocateTheRawBuffer(heap, SIZE);
            poke(block + SIZE + 5, SCRIBBLE);
            MemoryMisuseException e = misuse(heap::check);
            assertEquals(HEAP_BUFFER_OVERFLOW, e.kind());
            assertContains(e.getMessage(), hex(block + SIZE + 5) + " is located 5 bytes after " + region(block, SIZE));
            poke(block + SIZE + 5, CheckMode.CANARY_BYTE);
            freeTheRawBuffer(heap, block);
            assertStillUsable(heap, 0);
        }

        @Test
        void aRawWriteOneBytePastTheEndIsReportedByCheck() {
            long block = allocateTheRawBuffer(heap, SIZE);
            poke(block + SIZE, SCRIBBLE);

            MemoryMisuseException e = misuse(heap::check);
            assertAll(
                    () -> assertEquals(HEAP_BUFFER_OVERFLOW, e.kind()),
                    () -> assertEquals(block + SIZE, e.address()),
                    () -> assertContains(e.getMessage(), "found by check()"),
                    () -> assertContains(e.getMessage(), "0 bytes after " + region(block, SIZE)),
                    () -> assertFrame(e.getMessage(), "allocated by thread", "allocateTheRawBuffer"));
            poke(block + SIZE, CheckMode.CANARY_BYTE);
            freeTheRawBuffer(heap, block);
            assertStillUsable(heap, 0);
        }

        @Test
        void aRawWriteOneByteBeforeTheStartIsReportedAtFreeAndByCheck() {
            long checked = allocateTheRawBuffer(heap, SIZE);
            long freed = allocateTheRawBuffer(heap, SIZE);
            poke(checked - 1, SCRIBBLE);

            MemoryMisuseException byCheck = misuse(heap::check);
            poke(freed - 1, SCRIBBLE);
            MemoryMisuseException atFree = misuse(() -> freeTheRawBuffer(heap, freed));
            for (var report : List.of(java.util.Map.entry(checked, byCheck), java.util.Map.entry(freed, atFree))) {
                long block = report.getKey();
                MemoryMisuseException e = report.getValue();
                assertAll(
                        () -> assertEquals(HEAP_BUFFER_OVERFLOW, e.kind()),
                        () -> assertEquals(block - 1, e.address()),
                        () -> assertContains(e.getMessage(), "heap-buffer-overflow on address " + hex(block - 1)),
                        () -> assertContains(e.getMessage(), hex(block - 1) + " is located 1 bytes before "
                                + region(block, SIZE)),
                        () -> assertFrame(e.getMessage(), "allocated by thread", "allocateTheRawBuffer"));
            }
            assertContains(byCheck.getMessage(), "found by check()");
            assertContains(atFree.getMessage(), "found at free");
            // Each damage is reported once: both blocks can be freed now.
            freeTheRawBuffer(heap, checked);
            freeTheRawBuffer(heap, freed);
            assertStillUsable(heap, 0);
        }

        /**
         * Bug: a write into the redzone of a freed block (a zero-byte block has nothing else to write
         * into) was reported with the allocation stack only, as if the block were live, although its
         * free, which verified the redzones, proves the write came after it. ASan names both stacks.
         */
        @ParameterizedTest(name = "{0}-byte block")
        @ValueSource(longs = {0, SIZE})
        void aWriteIntoTheRedzoneOfAFreedBlockNamesWhereItWasFreed(long byteSize) {
            long block = allocateTheRawBuffer(heap, byteSize);
            freeTheRawBuffer(heap, block);
            poke(block + byteSize, SCRIBBLE);

            MemoryMisuseException e = misuse(heap::check);
            String report = e.getMessage();
            assertAll(
                    () -> assertEquals(HEAP_BUFFER_OVERFLOW, e.kind()),
                    () -> assertEquals(block + byteSize, e.address()),
                    () -> assertContains(report, hex(block + byteSize) + " is located 0 bytes after "
                            + region(block, byteSize)),
                    () -> assertFrame(report, "freed by thread", "freeTheRawBuffer"),
                    () -> assertFrame(report, "previously allocated by thread", "allocateTheRawBuffer"));
            assertStillUsable(heap, 0);
        }

        /**
         * Bug: once an overflow of a block was reported, its redzones were never verified again, so
         * a later write before its start or past its end was silent, at check() and at free alike.
         */
        @Test
        void aNewOverflowOfABlockWhoseOverflowWasReportedIsReportedToo() {
            long block = allocateTheRawBuffer(heap, SIZE);
            poke(block + SIZE, SCRIBBLE);
            assertEquals(block + SIZE, misuse(heap::check).address());
            heap.check();

            poke(block - 1, SCRIBBLE);
            MemoryMisuseException byCheck = misuse(heap::check);
            assertAll(
                    () -> assertEquals(HEAP_BUFFER_OVERFLOW, byCheck.kind()),
                    () -> assertEquals(block - 1, byCheck.address()),
                    () -> assertContains(byCheck.getMessage(), hex(block - 1) + " is located 1 bytes before "
                            + region(block, SIZE)));
            poke(block + SIZE + 3, SCRIBBLE);
            MemoryMisuseException atFree = misuse(() -> freeTheRawBuffer(heap, block));
            assertAll(
                    () -> assertEquals(HEAP_BUFFER_OVERFLOW, atFree.kind()),
                    () -> assertEquals(block + SIZE + 3, atFree.address()),
                    () -> assertContains(atFree.getMessage(), "found at free"),
                    () -> assertContains(atFree.getMessage(), hex(block + SIZE + 3) + " is located 3 bytes after "
                            + region(block, SIZE)));
            assertEquals(1, heap.stats().liveBlocks(), "the free that reported the overflow freed nothing");
            freeTheRawBuffer(heap, block);
            assertStillUsable(heap, 0);
        }

        /**
         * Bug: a freed block written both in its redzone and inside was reported, when it left
         * quarantine, for the redzone only, and went back to the heap: the write after free was
         * never reported. Both are, in address order: the write after free first, as the first
         * damaged byte, the overflow riding along.
         */
        @Test
        void aFreedBlockWrittenInItsRedzoneAndInsideReportsBothWhenItLeavesQuarantine() {
            heap.close();
            heap = fullHeap("catalogue", ONE_SMALL_BLOCK);
            long dangling = allocateTheRawBuffer(heap, SIZE);
            freeTheRawBuffer(heap, dangling);
            poke(dangling + SIZE, SCRIBBLE);
            poke(dangling + 2, SCRIBBLE);
            long next = heap.mallocAddress(SIZE);

            MemoryMisuseException e = misuse(() -> heap.freeAddress(next));
            assertEquals(USE_AFTER_FREE, e.kind(), e::getMessage);
            assertEquals(dangling + 2, e.address());
            assertEquals(1, e.getSuppressed().length, e::toString);
            MemoryMisuseException overflow = (MemoryMisuseException) e.getSuppressed()[0];
            assertEquals(HEAP_BUFFER_OVERFLOW, overflow.kind());
            assertEquals(dangling + SIZE, overflow.address());
            heap.freeAddress(next);
            assertStillUsable(heap, 0);
        }

        /**
         * Bug: one store through a dangling address that began inside the freed block and ran into
         * its redzone was thrown as an overflow at the redzone, the write after free at its first
         * byte suppressed: the wrong kind, and not the first damaged byte that
         * {@link MemoryMisuseException#address()} promises.
         */
        @Test
        void aWriteAfterFreeThatRunsIntoTheRedzoneIsReportedAtItsFirstByte() {
            heap.close();
            heap = fullHeap("catalogue", ONE_SMALL_BLOCK);
            long dangling = allocateTheRawBuffer(heap, SIZE);
            freeTheRawBuffer(heap, dangling);
            MemorySegment.ofAddress(dangling + SIZE - 2).reinterpret(4).set(JAVA_INT_UNALIGNED, 0, 0x11223344);
            long next = heap.mallocAddress(SIZE);

            MemoryMisuseException e = misuse(() -> heap.freeAddress(next));
            assertAll(
                    () -> assertEquals(USE_AFTER_FREE, e.kind(), e::getMessage),
                    () -> assertEquals(dangling + SIZE - 2, e.address()),
                    () -> assertContains(e.getMessage(), (SIZE - 2) + " bytes inside of " + region(dangling, SIZE)),
                    () -> assertContains(e.getMessage(), "SUMMARY: malloc4j: heap-use-after-free in the block freed at"),
                    () -> assertEquals(1, e.getSuppressed().length, e::toString),
                    () -> assertEquals(HEAP_BUFFER_OVERFLOW, ((MemoryMisuseException) e.getSuppressed()[0]).kind()),
                    () -> assertEquals(dangling + SIZE, ((MemoryMisuseException) e.getSuppressed()[0]).address()));
            heap.freeAddress(next);
            assertStillUsable(heap, 0);
        }

        /**
         * Bug: the report of a block pushed out of quarantine did not say that the free which found
         * it freed nothing, so a reader of the report alone took that block for freed and leaked it.
         */
        @Test
        void theReportOfABlockAFreePushesOutOfQuarantineSaysThatFreeFreedNothing() {
            heap.close();
            heap = fullHeap("catalogue", ONE_SMALL_BLOCK);
            long dangling = allocateTheRawBuffer(heap, SIZE);
            freeTheRawBuffer(heap, dangling);
            poke(dangling, SCRIBBLE);
            long mine = heap.mallocAddress(SIZE);

            MemoryMisuseException e = misuse(() -> heap.freeAddress(mine));
            assertContains(e.getMessage(), "found when it left quarantine, pushed out by the free of " + hex(mine)
                    + ", which freed nothing: that block is still live, so free it again");
            heap.freeAddress(mine);
            assertStillUsable(heap, 0);
        }

        @Test
        void theReportOfABlockAReallocPushesOutOfQuarantineSaysThatReallocChangedNothing() {
            heap.close();
            heap = fullHeap("catalogue", ONE_SMALL_BLOCK);
            long dangling = allocateTheRawBuffer(heap, SIZE);
            freeTheRawBuffer(heap, dangling);
            poke(dangling, SCRIBBLE);
            long mine = heap.mallocAddress(SIZE);

            MemoryMisuseException e = misuse(() -> heap.reallocAddress(mine, 2 * SIZE));
            assertContains(e.getMessage(), "pushed out by the realloc of " + hex(mine)
                    + ", which changed nothing: that block is live as it was");
            heap.freeAddress(mine);
            assertStillUsable(heap, 0);
        }

        /** A growing array pushing a damaged block out of quarantine is named, not a realloc the program never made. */
        @Test
        void theReportOfABlockAGrowingArrayPushesOutOfQuarantineNamesTheArray() {
            heap.close();
            heap = fullHeap("catalogue", ONE_SMALL_BLOCK);
            NativeLongArray array = new NativeLongArray(heap, 2);
            long dangling = allocateTheRawBuffer(heap, SIZE);
            freeTheRawBuffer(heap, dangling);
            poke(dangling, SCRIBBLE);
            array.add(1);
            array.add(2);

            MemoryMisuseException e = misuse(() -> array.add(3));
            assertContains(e.getMessage(), "pushed out as a NativeLongArray resized 0x");
            assertContains(e.getMessage(), "which changed nothing: it is as it was");
            assertEquals(2, array.size());
            array.add(3);
            assertEquals(3, array.get(2));
            array.close();
            assertStillUsable(heap, 0);
        }

        /**
         * Bug: a live block written before and after was reported for the write before only, and its
         * redzones were both put back, so the write after was never reported.
         */
        @Test
        void aBlockOverflowedAtBothEndsReportsBothOnce() {
            long block = allocateTheRawBuffer(heap, SIZE);
            poke(block - 5, SCRIBBLE);
            poke(block + SIZE + 3, SCRIBBLE);

            MemoryMisuseException e = misuse(heap::check);
            assertAll(
                    () -> assertEquals(HEAP_BUFFER_OVERFLOW, e.kind()),
                    () -> assertEquals(block - 5, e.address()),
                    () -> assertContains(e.getMessage(), "5 bytes before " + region(block, SIZE)),
                    () -> assertEquals(1, e.getSuppressed().length, e::toString),
                    () -> assertEquals(block + SIZE + 3, ((MemoryMisuseException) e.getSuppressed()[0]).address()),
                    () -> assertContains(e.getSuppressed()[0].getMessage(), "3 bytes after " + region(block, SIZE)));
            heap.check();
            freeTheRawBuffer(heap, block);
            assertStillUsable(heap, 0);
        }

        /**
         * Bug: with two blocks each overflowed at both ends, the second block's back-end report
         * hung one level down, suppressed in its front-end report, where a caller reading the
         * thrown report's suppressed list did not find it.
         */
        @Test
        void theReportsOfSeveralDamagedBlocksAreAllSuppressedInTheFirst() {
            long first = allocateTheRawBuffer(heap, SIZE);
            long second = allocateTheRawBuffer(heap, SIZE);
            long low = Math.min(first, second);
            long high = Math.max(first, second);
            for (long block : new long[] {first, second}) {
                poke(block - 5, SCRIBBLE);
                poke(block + SIZE + 3, SCRIBBLE);
            }

            MemoryMisuseException e = misuse(heap::check);
            Throwable[] rest = e.getSuppressed();
            Set<Long> addresses = new TreeSet<>();
            addresses.add(e.address());
            for (Throwable report : rest) {
                addresses.add(((MemoryMisuseException) report).address());
            }
            assertAll(
                    () -> assertEquals(3, rest.length, e::toString),
                    () -> assertEquals(Set.of(low - 5, low + SIZE + 3, high - 5, high + SIZE + 3), addresses),
                    () -> assertTrue(Arrays.stream(rest).allMatch(r -> r.getSuppressed().length == 0),
                            "a suppressed report carries reports of its own"));
            heap.check();
            freeTheRawBuffer(heap, first);
            freeTheRawBuffer(heap, second);
            assertStillUsable(heap, 0);
        }

        /**
         * Bug: a block overflowed and never freed (a leak) was reported at close as a leak only: no
         * free verified its redzones, and close did not either.
         */
        @Test
        void anOverflowOfALeakedBlockIsReportedWhenTheHeapCloses() {
            long leaked = allocateTheRawBuffer(heap, SIZE);
            poke(leaked + SIZE, SCRIBBLE);

            MemoryMisuseException e = misuse(heap::close);
            assertAll(
                    () -> assertEquals(HEAP_BUFFER_OVERFLOW, e.kind(), e::getMessage),
                    () -> assertEquals(leaked + SIZE, e.address()),
                    () -> assertContains(e.getMessage(), "found when the heap closed, with the block still live (leaked)"),
                    () -> assertContains(e.getMessage(), "0 bytes after " + region(leaked, SIZE)),
                    () -> assertFrame(e.getMessage(), "allocated by thread", "allocateTheRawBuffer"),
                    () -> assertTrue(heap.isClosed()),
                    () -> assertEquals(0, heap.stats().committedBytes()));
        }

        @Test
        void anAlignedBlockHasRedzonesToo() {
            MemorySegment block = heap.mallocAligned(SIZE, 4096);
            assertEquals(0, block.address() % 4096);
            poke(block.address() - 1, SCRIBBLE);
            MemoryMisuseException e = misuse(heap::check);
            assertEquals(HEAP_BUFFER_OVERFLOW, e.kind());
            assertContains(e.getMessage(), "1 bytes before " + region(block.address(), SIZE));
            poke(block.address() - 1, CheckMode.CANARY_BYTE);
            heap.free(block);
            assertStillUsable(heap, 0);
        }

        @Test
        void throughTheSegmentTheJvmBoundsCheckThrowsAndNothingIsWritten() {
            MemorySegment block = allocateTheBuffer(heap, SIZE);
            assertThrows(IndexOutOfBoundsException.class, () -> block.set(JAVA_BYTE, SIZE, SCRIBBLE));
            assertThrows(IndexOutOfBoundsException.class, () -> block.set(JAVA_BYTE, -1, SCRIBBLE));
            assertThrows(IndexOutOfBoundsException.class, () -> block.set(JAVA_LONG, SIZE - 4, 1L));
            assertThrows(IndexOutOfBoundsException.class, () -> block.asSlice(0, SIZE + 1));
            heap.check();
            freeTheBuffer(heap, block);
            assertStillUsable(heap, 0);
        }

        /**
         * Bug: {@code realloc} of a block whose redzone is damaged reports the overflow (correctly) but
         * only after it has allocated the new block, which is then never freed nor returned: one block
         * leaks per attempt, although the Javadoc promises a misuse changes nothing.
         */
        @Test
        void reallocOfAnOverflowedBlockReportsItAndChangesNothing() {
            long block = allocateTheRawBuffer(heap, SIZE);
            poke(block + SIZE, SCRIBBLE);
            HeapStats before = heap.stats();

            MemoryMisuseException e = misuse(() -> heap.reallocAddress(block, 2 * SIZE));
            assertEquals(HEAP_BUFFER_OVERFLOW, e.kind());
            assertContains(e.getMessage(), "0 bytes after " + region(block, SIZE));
            HeapStats after = heap.stats();
            poke(block + SIZE, CheckMode.CANARY_BYTE);
            freeTheRawBuffer(heap, block);
            assertAll(
                    () -> assertEquals(before.liveBlocks(), after.liveBlocks(),
                            "realloc that reported misuse left a new block live"),
                    () -> assertEquals(before.requestedBytes(), after.requestedBytes()),
                    () -> assertTrue(heap.leaks().isEmpty(), () -> heap.leaks().text()));
        }
    }

    // =====================================================================================

    @Nested
    class DoubleFree {
        @Test
        void aSecondFreeOfASegmentNamesTheFirstFreeAndTheAllocation() {
            MemorySegment block = allocateTheBuffer(heap, SIZE);
            freeTheBuffer(heap, block);

            MemoryMisuseException e = misuse(() -> freeItAgain(heap, block.address()));
            String report = e.getMessage();
            assertAll(
                    () -> assertEquals(DOUBLE_FREE, e.kind()),
                    () -> assertEquals(block.address(), e.address()),
                    () -> assertTrue(report.startsWith("ERROR: malloc4j: attempting double-free on "
                            + hex(block.address()) + " (free) in thread " + thread()), report),
                    () -> assertContains(report, hex(block.address()) + " is located 0 bytes inside of "
                            + region(block.address(), SIZE)),
                    () -> assertContains(report, "freed by thread " + thread() + " here:"),
                    () -> assertFrame(report, "freed by thread", "freeTheBuffer"),
                    () -> assertFrame(report, "previously allocated by thread", "allocateTheBuffer"),
                    // the SUMMARY line names where the second free happened
                    () -> assertContains(report, "SUMMARY: malloc4j: double-free " + TEST_CLASS + ".freeItAgain"));
            assertStillUsable(heap, 0);
        }

        @Test
        void aThreadRenamedBetweenTheAllocationAndTheFreeIsNamedAsItWasAtEach() {
            Thread thread = Thread.currentThread();
            String name = thread.getName();
            MemorySegment block;
            try {
                thread.setName("before the rename");
                block = allocateTheBuffer(heap, SIZE);
                thread.setName("after the rename");
                freeTheBuffer(heap, block);
            } finally {
                thread.setName(name);
            }
            String report = misuse(() -> freeItAgain(heap, block.address())).getMessage();
            assertAll(
                    () -> assertContains(report, "freed by thread \"after the rename\" here:"),
                    () -> assertContains(report, "previously allocated by thread \"before the rename\" here:"),
                    () -> assertContains(report, "(free) in thread " + thread()));
            assertStillUsable(heap, 0);
        }

        @Test
        void aSecondFreeThroughTheSegmentApiIsCaughtToo() {
            MemorySegment block = allocateTheBuffer(heap, SIZE);
            freeTheBuffer(heap, block);
            MemoryMisuseException e = misuse(() -> heap.free(block));
            assertEquals(DOUBLE_FREE, e.kind());
            assertFrame(e.getMessage(), "freed by thread", "freeTheBuffer");
            assertStillUsable(heap, 0);
        }

        @Test
        void aDoubleFreeAfterTheBlockLeftQuarantineIsStillNamedFromHistory() {
            heap.close();
            heap = fullHeap("catalogue", 0);
            long block = allocateTheRawBuffer(heap, SIZE);
            freeTheRawBuffer(heap, block); // quarantine 0: the block goes straight back to the allocator

            MemoryMisuseException e = misuse(() -> freeItAgain(heap, block));
            assertAll(
                    () -> assertEquals(DOUBLE_FREE, e.kind()),
                    () -> assertEquals(block, e.address()),
                    () -> assertFrame(e.getMessage(), "freed by thread", "freeTheRawBuffer"),
                    () -> assertFrame(e.getMessage(), "previously allocated by thread", "allocateTheRawBuffer"));
            assertStillUsable(heap, 0);
        }

        @Test
        void reallocOfAFreedBlockIsADoubleFree() {
            MemorySegment block = allocateTheBuffer(heap, SIZE);
            freeTheBuffer(heap, block);
            MemoryMisuseException e = misuse(() -> heap.realloc(block, 2 * SIZE));
            assertEquals(DOUBLE_FREE, e.kind());
            assertContains(e.getMessage(), "attempting double-free on " + hex(block.address()) + " (realloc)");
            assertFrame(e.getMessage(), "freed by thread", "freeTheBuffer");
            assertEquals(DOUBLE_FREE, misuse(() -> heap.tryRealloc(block, 2 * SIZE)).kind());
            assertStillUsable(heap, 0);
        }

        @Test
        void aDoubleFreeOnAnotherThreadNamesBothThreads() throws InterruptedException {
            long block = allocateTheRawBuffer(heap, SIZE);
            freeTheRawBuffer(heap, block);
            AtomicReference<MemoryMisuseException> caught = new AtomicReference<>();
            Thread other = new Thread(() -> {
                try {
                    freeItAgain(heap, block);
                } catch (MemoryMisuseException e) {
                    caught.set(e);
                }
            }, "the-second-freer");
            other.start();
            other.join();
            String report = caught.get().getMessage();
            assertEquals(DOUBLE_FREE, caught.get().kind());
            assertContains(report, "in thread \"the-second-freer\"");
            assertContains(report, "freed by thread " + thread() + " here:");
            assertStillUsable(heap, 0);
        }

        /**
         * Bug: virtual threads have no name by default, so a report of their misuse said
         * {@code in thread ""}, {@code freed by thread "" here:} and {@code previously allocated by
         * thread "" here:} alike, whichever threads they were. An unnamed thread is named by its id.
         */
        @Test
        void aDoubleFreeOnUnnamedVirtualThreadsNamesEachThreadByItsId() throws InterruptedException {
            long[] block = new long[1];
            Thread allocator = Thread.ofVirtual().start(() -> block[0] = allocateTheRawBuffer(heap, SIZE));
            allocator.join();
            Thread freer = Thread.ofVirtual().start(() -> freeTheRawBuffer(heap, block[0]));
            freer.join();
            AtomicReference<MemoryMisuseException> caught = new AtomicReference<>();
            Thread again = Thread.ofVirtual().start(() -> caught.set(misuse(() -> freeItAgain(heap, block[0]))));
            again.join();

            String report = caught.get().getMessage();
            assertAll(
                    () -> assertEquals(DOUBLE_FREE, caught.get().kind()),
                    () -> assertContains(report, " in virtual thread #" + again.threadId() + "\n"),
                    () -> assertContains(report, "freed by virtual thread #" + freer.threadId() + " here:"),
                    () -> assertContains(report, "previously allocated by virtual thread #" + allocator.threadId()
                            + " here:"),
                    () -> assertFalse(report.contains("thread \"\""), report));
            try (Heap fast = Heap.builder().name("fast").build()) {
                long freed = fast.mallocAddress(SIZE);
                fast.freeAddress(freed);
                Thread platform = Thread.ofPlatform().name("").start(
                        () -> caught.set(misuse(() -> fast.freeAddress(freed))));
                platform.join();
                assertContains(caught.get().getMessage(), " in thread #" + platform.threadId() + "\n");
            }
            assertStillUsable(heap, 0);
        }

        /** A named virtual thread is still said to be one, as an unnamed one is. */
        @Test
        void aDoubleFreeOnANamedVirtualThreadSaysItIsVirtual() throws InterruptedException {
            long[] block = new long[1];
            Thread.ofVirtual().name("maker").start(() -> block[0] = allocateTheRawBuffer(heap, SIZE)).join();
            Thread.ofVirtual().name("freer").start(() -> freeTheRawBuffer(heap, block[0])).join();
            AtomicReference<MemoryMisuseException> caught = new AtomicReference<>();
            Thread.ofVirtual().name("again").start(() -> caught.set(misuse(() -> freeItAgain(heap, block[0])))).join();

            String report = caught.get().getMessage();
            assertAll(
                    () -> assertEquals(DOUBLE_FREE, caught.get().kind()),
                    () -> assertContains(report, " in virtual thread \"again\"\n"),
                    () -> assertContains(report, "freed by virtual thread \"freer\" here:"),
                    () -> assertContains(report, "previously allocated by virtual thread \"maker\" here:"));
            assertStillUsable(heap, 0);
        }
    }

    // =====================================================================================

    @Nested
    class BadFree {
        @Test
        void foreignMemoryFromAConfinedArena() {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment foreign = arena.allocate(64);
                HeapStats before = heap.stats();
                MemoryMisuseException e = misuse(() -> heap.free(foreign));
                assertAll(
                        () -> assertEquals(BAD_FREE, e.kind()),
                        () -> assertEquals(foreign.address(), e.address()),
                        () -> assertTrue(e.getMessage().startsWith("ERROR: malloc4j: attempting free on address "
                                + "which was not malloc()-ed: " + hex(foreign.address()) + " in thread " + thread()),
                                e.getMessage()),
                        () -> assertContains(e.getMessage(), "SUMMARY: malloc4j: bad-free"),
                        () -> assertEquals(before, heap.stats()));
                foreign.set(JAVA_BYTE, 63, (byte) 1); // still the arena's, untouched
            }
            assertStillUsable(heap, 0);
        }

        @Test
        void anInteriorPointerSaysHowFarInsideWhichBlockItIs() {
            long block = allocateTheRawBuffer(heap, SIZE);
            MemoryMisuseException e = misuse(() -> heap.freeAddress(block + 8));
            String report = e.getMessage();
            assertAll(
                    () -> assertEquals(BAD_FREE, e.kind()),
                    () -> assertEquals(block + 8, e.address()),
                    () -> assertContains(report, "attempting free on address which was not malloc()-ed: "
                            + hex(block + 8)),
                    () -> assertContains(report, hex(block + 8) + " is located 8 bytes inside of "
                            + region(block, SIZE)),
                    () -> assertFrame(report, "allocated by thread", "allocateTheRawBuffer"));
            // nothing changed: the block is live and whole
            assertEquals(SIZE, heap.usableSize(block));
            heap.check();
            freeTheRawBuffer(heap, block);
            assertStillUsable(heap, 0);
        }

        @Test
        void anInteriorSliceOfASegment() {
            MemorySegment block = allocateTheBuffer(heap, SIZE);
            MemoryMisuseException e = misuse(() -> heap.free(block.asSlice(SIZE - 1)));
            assertEquals(BAD_FREE, e.kind());
            assertContains(e.getMessage(), "is located " + (SIZE - 1) + " bytes inside of "
                    + region(block.address(), SIZE));
            assertFrame(e.getMessage(), "allocated by thread", "allocateTheBuffer");
            block.set(JAVA_BYTE, 0, (byte) 1); // the block is still live
            freeTheBuffer(heap, block);
            assertStillUsable(heap, 0);
        }

        @Test
        void aBlockOfAnotherCheckedHeap() {
            try (Heap other = fullHeap("other", -1)) {
                long theirs = other.mallocAddress(SIZE);
                MemoryMisuseException e = misuse(() -> heap.freeAddress(theirs));
                assertEquals(BAD_FREE, e.kind());
                assertEquals(theirs, e.address());
                assertContains(e.getMessage(), "which was not malloc()-ed by heap 'catalogue': " + hex(theirs));
                assertContains(e.getMessage(), "in heap 'catalogue'");
                assertEquals(SIZE, other.usableSize(theirs)); // still live in its own heap
                other.freeAddress(theirs);
                assertTrue(other.leaks().isEmpty());
            }
            assertStillUsable(heap, 0);
        }

        @Test
        void aBlockOfAnotherFastHeap() {
            try (Heap other = Heap.builder().name("fast-other").build()) {
                MemorySegment theirs = other.malloc(SIZE);
                MemoryMisuseException e = misuse(() -> heap.free(theirs));
                assertEquals(BAD_FREE, e.kind());
                assertContains(e.getMessage(), hex(theirs.address()));
                other.free(theirs);
                assertEquals(0, other.stats().liveBlocks());
            }
            assertStillUsable(heap, 0);
        }

        @Test
        void anAddressInARedzoneSaysHowFarLeftOrRightOfWhichBlockItIs() {
            long block = allocateTheRawBuffer(heap, SIZE);
            MemoryMisuseException left = misuse(() -> heap.freeAddress(block - 16));
            MemoryMisuseException right = misuse(() -> heap.freeAddress(block + SIZE + 2));
            assertAll(
                    () -> assertEquals(BAD_FREE, left.kind()),
                    () -> assertContains(left.getMessage(), hex(block - 16) + " is located 16 bytes to the left of "
                            + region(block, SIZE)),
                    () -> assertFrame(left.getMessage(), "allocated by thread", "allocateTheRawBuffer"),
                    () -> assertEquals(BAD_FREE, right.kind()),
                    () -> assertContains(right.getMessage(), hex(block + SIZE + 2)
                            + " is located 2 bytes to the right of " + region(block, SIZE)));
            heap.check();
            freeTheRawBuffer(heap, block);
            assertStillUsable(heap, 0);
        }

        @Test
        void anInteriorPointerOfAFreedBlockSaysWhereThatBlockWasFreedAndAllocated() {
            long block = allocateTheRawBuffer(heap, SIZE);
            freeTheRawBuffer(heap, block);
            MemoryMisuseException e = misuse(() -> heap.freeAddress(block + 8));
            String report = e.getMessage();
            assertAll(
                    () -> assertEquals(BAD_FREE, e.kind()),
                    () -> assertEquals(block + 8, e.address()),
                    () -> assertContains(report, hex(block + 8) + " is located 8 bytes inside of "
                            + region(block, SIZE)),
                    () -> assertFrame(report, "freed by thread", "freeTheRawBuffer"),
                    () -> assertFrame(report, "previously allocated by thread", "allocateTheRawBuffer"));
            assertStillUsable(heap, 0);
        }

        @Test
        void anAddressNeverAllocated() {
            long block = allocateTheRawBuffer(heap, SIZE);
            for (long never : new long[] {0x1000, block + 64 * 1024}) {
                MemoryMisuseException e = misuse(() -> heap.freeAddress(never));
                assertEquals(BAD_FREE, e.kind(), e.getMessage());
                assertEquals(never, e.address());
                assertContains(e.getMessage(), "which was not malloc()-ed: " + hex(never));
                // The first is in no heap's memory; the second in this heap's, where no block starts.
                assertContains(e.getMessage(), never == 0x1000 ? "is not in the memory of any open malloc4j heap"
                        : "is not the start of any live block of heap 'catalogue'");
            }
            freeTheRawBuffer(heap, block);
            assertStillUsable(heap, 0);
        }
    }

    // =====================================================================================

    @Nested
    class Leaks {
        @Test
        void leaksAreGroupedByAllocationSiteLargestFirst() {
            List<MemorySegment> fromA = new ArrayList<>();
            List<Long> fromB = new ArrayList<>();
            for (long byteSize : new long[] {10, 20, 30}) {
                fromA.add(leakFromSiteA(heap, byteSize));
            }
            for (int i = 0; i < 2; i++) {
                fromB.add(leakFromSiteB(heap));
            }

            LeakReport leaks = heap.leaks();
            assertAll(
                    () -> assertFalse(leaks.isEmpty()),
                    () -> assertEquals(5, leaks.blocks()),
                    () -> assertEquals(260, leaks.bytes()),
                    () -> assertEquals(2, leaks.sites().size()),
                    () -> assertEquals(2, leaks.sites().get(0).blocks()),
                    () -> assertEquals(200, leaks.sites().get(0).bytes()),
                    () -> assertEquals("leakFromSiteB", leaks.sites().get(0).stack().get(0).getMethodName()),
                    () -> assertEquals("leaksAreGroupedByAllocationSiteLargestFirst",
                            leaks.sites().get(0).stack().get(1).getMethodName()),
                    () -> assertEquals(3, leaks.sites().get(1).blocks()),
                    () -> assertEquals(60, leaks.sites().get(1).bytes()),
                    () -> assertEquals("leakFromSiteA", leaks.sites().get(1).stack().get(0).getMethodName()),
                    () -> assertTrue(leaks.text().startsWith("ERROR: malloc4j: "
                            + MemoryMisuseException.Kind.LEAK.asanName() + " in heap 'catalogue'"), leaks.text()),
                    () -> assertContains(leaks.text(), "Direct leak of 200 byte(s) in 2 object(s) allocated from:\n"
                            + "    #0 " + TEST_CLASS + ".leakFromSiteB(MisuseCatalogueTest.java:"),
                    () -> assertContains(leaks.text(), "Direct leak of 60 byte(s) in 3 object(s) allocated from:\n"
                            + "    #0 " + TEST_CLASS + ".leakFromSiteA(MisuseCatalogueTest.java:"),
                    () -> assertTrue(leaks.text().endsWith("SUMMARY: malloc4j: 260 byte(s) leaked in 5 allocation(s)."),
                            leaks.text()),
                    () -> assertTrue(leaks.text().indexOf("leakFromSiteB") < leaks.text().indexOf("leakFromSiteA")));

            heap.free(fromA.get(1));
            assertEquals(4, heap.leaks().blocks());
            assertEquals(240, heap.leaks().bytes());
            fromA.forEach(block -> {
                if (block.scope().isAlive()) {
                    heap.free(block);
                }
            });
            fromB.forEach(heap::freeAddress);
            LeakReport none = heap.leaks();
            assertTrue(none.isEmpty());
            assertEquals(0, none.bytes());
            assertEquals(List.of(), none.sites());
            assertEquals("", none.text());
            assertStillUsable(heap, 0);
        }

        @Test
        void closePrintsTheLeakReportToStandardErrorAndStillCloses() {
            MemorySegment leaked = leakFromSiteA(heap, 24);
            long rawLeak = leakFromSiteB(heap);
            String expected = heap.leaks().text();

            PrintStream original = System.err;
            ByteArrayOutputStream captured = new ByteArrayOutputStream();
            System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
            try {
                heap.close();
            } finally {
                System.setErr(original);
            }
            String printed = captured.toString(StandardCharsets.UTF_8);
            assertAll(
                    () -> assertContains(printed, expected),
                    () -> assertContains(printed, "detected memory leaks in heap 'catalogue'"),
                    () -> assertContains(printed, "Direct leak of 100 byte(s) in 1 object(s) allocated from:\n"
                            + "    #0 " + TEST_CLASS + ".leakFromSiteB("),
                    () -> assertContains(printed, "Direct leak of 24 byte(s) in 1 object(s) allocated from:\n"
                            + "    #0 " + TEST_CLASS + ".leakFromSiteA("),
                    () -> assertTrue(heap.isClosed()),
                    () -> assertThrows(IllegalStateException.class, () -> leaked.get(JAVA_BYTE, 0)),
                    () -> assertThrows(IllegalStateException.class, () -> heap.malloc(1)),
                    () -> assertThrows(IllegalStateException.class, () -> heap.freeAddress(rawLeak)));
        }

        @Test
        void aHeapWithoutLeaksPrintsNothingAtClose() {
            heap.free(heap.malloc(10));
            PrintStream original = System.err;
            ByteArrayOutputStream captured = new ByteArrayOutputStream();
            System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
            try {
                heap.close();
            } finally {
                System.setErr(original);
            }
            assertFalse(captured.toString(StandardCharsets.UTF_8).contains("detected memory leaks"));
        }
    }
}
