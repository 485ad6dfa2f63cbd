package org.malloc4j;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link FaultInjection}: each policy fails the requests its Javadoc says, in every
 * {@link CheckMode}, and an injected failure is indistinguishable from real exhaustion.
 *
 * <p>The policies count allocation requests: malloc, calloc, aligned malloc and realloc to a
 * non-zero size, in all their forms (throwing, {@code try*}, raw, {@link java.lang.foreign.SegmentAllocator},
 * scopes). {@link Driver} issues such requests in a fixed rotation of forms and records which
 * failed, interleaving frees and {@code realloc(block, 0)}, which must not count.
 */
class FaultInjectionTest {
    static final long KIB = 1024;
    static final long MIB = 1024 * KIB;

    static Heap heap(CheckMode mode, FaultInjection faults) {
        return Heap.builder().name("faults-" + mode).checkMode(mode).sampleInterval(2)
                .purgeDelay(Duration.ofHours(1)).faultInjection(faults).build();
    }

    /** The forms of an allocation request; each counts as exactly one request. */
    enum Form {
        MALLOC, TRY_MALLOC, CALLOC, TRY_CALLOC, MALLOC_ALIGNED, SEGMENT_ALLOCATOR, MALLOC_ADDRESS,
        REALLOC, TRY_REALLOC, REALLOC_ADDRESS, REALLOC_OF_NULL, SCOPE
    }

    /** Issues requests against one heap and keeps what they return, to free it all at the end. */
    static final class Driver implements AutoCloseable {
        final Heap heap;
        final List<MemorySegment> blocks = new ArrayList<>();
        final List<Long> addresses = new ArrayList<>();
        final Arena scope;
        final List<Integer> failedAt = new ArrayList<>();
        int requests;

        Driver(Heap heap) {
            this.heap = heap;
            this.scope = heap.newScope();
        }

        /** Makes request number {@code requests + 1} in the form the rotation says. */
        boolean request(long byteSize) {
            Form form = Form.values()[requests % Form.values().length];
            requests++;
            boolean ok = request(form, byteSize);
            if (!ok) {
                failedAt.add(requests);
            }
            uncountedOperations();
            return ok;
        }

        boolean request(Form form, long byteSize) {
            try {
                return switch (form) {
                    case MALLOC -> keep(heap.malloc(byteSize));
                    case TRY_MALLOC -> keep(heap.tryMalloc(byteSize));
                    case CALLOC -> keep(heap.calloc(1, byteSize));
                    case TRY_CALLOC -> keep(heap.tryCalloc(byteSize, 1));
                    case MALLOC_ALIGNED -> keep(heap.mallocAligned(byteSize, 64));
                    case SEGMENT_ALLOCATOR -> keep(heap.allocate(byteSize, 8));
                    case MALLOC_ADDRESS -> {
                        addresses.add(heap.mallocAddress(byteSize));
                        yield true;
                    }
                    case REALLOC -> reallocLast(byteSize, true);
                    case TRY_REALLOC -> reallocLast(byteSize, false);
                    case REALLOC_ADDRESS -> {
                        long last = addresses.isEmpty() ? 0 : addresses.removeLast();
                        try {
                            addresses.add(heap.reallocAddress(last, byteSize));
                        } catch (HeapExhaustedError e) {
                            if (last != 0) {
                                addresses.add(last); // still live
                            }
                            throw e;
                        }
                        yield true;
                    }
                    case REALLOC_OF_NULL -> keep(heap.realloc(MemorySegment.NULL, byteSize));
                    case SCOPE -> {
                        scope.allocate(byteSize);
                        yield true;
                    }
                };
            } catch (HeapExhaustedError e) {
                assertEquals(byteSize, e.requestedBytes());
                return false;
            }
        }

        private boolean keep(MemorySegment block) {
            if (block.equals(MemorySegment.NULL)) {
                assertSame(MemorySegment.NULL, block);
                return false;
            }
            blocks.add(block);
            return true;
        }

        /** Reallocates the newest block (grows it): on failure the old block is still live, its bytes kept. */
        private boolean reallocLast(long byteSize, boolean throwing) {
            MemorySegment old = blocks.isEmpty() ? MemorySegment.NULL : blocks.removeLast();
            if (old.byteSize() > 0) {
                old.set(JAVA_BYTE, 0, (byte) 0x5A);
            }
            MemorySegment moved;
            try {
                moved = throwing ? heap.realloc(old, byteSize) : heap.tryRealloc(old, byteSize);
            } catch (HeapExhaustedError e) {
                moved = MemorySegment.NULL;
            }
            if (moved.equals(MemorySegment.NULL)) {
                if (old.byteSize() > 0) {
                    assertEquals(0x5A, old.get(JAVA_BYTE, 0), "a failed realloc keeps the old block's bytes");
                    assertTrue(heap.usableSize(old) >= old.byteSize(), "a failed realloc keeps the old block live");
                }
                if (!old.equals(MemorySegment.NULL)) {
                    blocks.add(old);
                }
                if (throwing) {
                    throw new HeapExhaustedError("rethrown", byteSize);
                }
                return false;
            }
            if (old.byteSize() > 0 && byteSize > 0) {
                assertEquals(0x5A, moved.get(JAVA_BYTE, 0), "realloc keeps the block's bytes");
            }
            blocks.add(moved);
            return true;
        }

        /** Frees and shrinks to zero, neither of which is an allocation request. */
        private void uncountedOperations() {
            if (blocks.size() > 3) {
                heap.free(blocks.removeFirst());
            }
            if (!blocks.isEmpty() && requests % 5 == 0) {
                blocks.add(heap.realloc(blocks.removeFirst(), 0));
            }
        }

        @Override
        public void close() {
            scope.close();
            blocks.forEach(heap::free);
            addresses.forEach(heap::freeAddress);
            assertEquals(0, heap.stats().liveBlocks(), "the driver freed everything");
            heap.check();
        }
    }

    /** @return the request numbers (from 1) that failed among {@code count} requests of {@code byteSize} bytes */
    static List<Integer> failures(CheckMode mode, FaultInjection faults, int count, long byteSize) {
        try (Heap heap = heap(mode, faults); Driver driver = new Driver(heap)) {
            for (int i = 0; i < count; i++) {
                driver.request(byteSize);
            }
            assertEquals(driver.failedAt.size(), faults.injectedFailures(), "injectedFailures counts every failure");
            return List.copyOf(driver.failedAt);
        }
    }

    // ---- the policies ----

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void everyNthFailsRequestsNTwoNThreeN(CheckMode mode) {
        FaultInjection faults = FaultInjection.everyNth(3);
        assertEquals(List.of(3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36), failures(mode, faults, 36, 100));
        assertEquals(12, faults.injectedFailures());
        assertEquals(List.of(1, 2, 3, 4, 5, 6), failures(mode, FaultInjection.everyNth(1), 6, 100));
    }

    /** As Heap.realloc says: every realloc to a non-zero size counts, one that would stay in place too. */
    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void aReallocThatWouldResizeInPlaceCountsAndCanFail(CheckMode mode) {
        FaultInjection faults = FaultInjection.everyNth(2);
        try (Heap heap = heap(mode, faults)) {
            MemorySegment block = heap.malloc(100);                                   // request 1
            block.fill((byte) 0x5A);
            assertThrows(HeapExhaustedError.class, () -> heap.realloc(block, 96));    // request 2 fails
            assertEquals(0x5A, block.get(JAVA_BYTE, 99), "the old block is unchanged");
            MemorySegment same = heap.realloc(block, 100);                            // request 3 passes
            assertSame(MemorySegment.NULL, heap.tryRealloc(same, 96));                // request 4 fails
            MemorySegment resized = heap.realloc(same, 96);                           // request 5 passes
            if (mode == CheckMode.FAST) {
                assertEquals(block.address(), same.address(), "it resizes in place");
                assertEquals(block.address(), resized.address(), "it resizes in place");
            }
            assertEquals(0x5A, resized.get(JAVA_BYTE, 95));
            heap.free(resized);
            assertEquals(2, faults.injectedFailures());
        }
    }

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void firstNFailsTheFirstNRequestsThenNone(CheckMode mode) {
        FaultInjection faults = FaultInjection.firstN(5);
        assertEquals(List.of(1, 2, 3, 4, 5), failures(mode, faults, 30, 100));
        assertEquals(5, faults.injectedFailures());
        assertEquals(List.of(), failures(mode, FaultInjection.firstN(0), 24, 100));
    }

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void afterBytesFailsEachRequestThatWouldPassTheBudget(CheckMode mode) {
        FaultInjection faults = FaultInjection.afterBytes(1000);
        try (Heap heap = heap(mode, faults)) {
            MemorySegment a = heap.malloc(400);                                   // 400 spent
            long b = heap.mallocAddress(500);                                     // 900
            assertSame(MemorySegment.NULL, heap.tryMalloc(200));                  // 1100 > 1000: fails
            assertThrows(HeapExhaustedError.class, () -> heap.calloc(101, 1));    // 1001: fails
            MemorySegment c = heap.calloc(10, 10);                                // 1000: exactly the budget
            assertSame(MemorySegment.NULL, heap.tryMalloc(1));                    // nothing left
            MemorySegment empty = heap.malloc(0);                                 // 0 bytes always fit
            heap.free(a);                                                         // frees give nothing back
            assertSame(MemorySegment.NULL, heap.tryCalloc(1, 1));
            assertSame(MemorySegment.NULL, heap.tryRealloc(c, 200));              // realloc counts its new size
            assertEquals(100, c.byteSize());
            heap.free(heap.realloc(c, 0));                                        // shrinking to 0 is no request
            assertEquals(5, faults.injectedFailures());
            heap.freeAddress(b);
            heap.free(empty);
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    /** A heap whose limit refuses {@link #PAST_THE_LIMIT} bytes, which a budget of 4 MiB allows. */
    static Heap limitedHeap(CheckMode mode, FaultInjection faults) {
        return Heap.builder().name("limited-" + mode).checkMode(mode).sampleInterval(2)
                .purgeDelay(Duration.ofHours(1)).maxCommittedBytes(MIB).faultInjection(faults).build();
    }

    static final long PAST_THE_LIMIT = 3 * MIB;

    /** Takes and frees blocks of {@code byteSize} bytes until one fails; returns how many succeeded. */
    static long spendAll(Heap heap, long byteSize) {
        long succeeded = 0;
        for (MemorySegment block; !(block = heap.tryMalloc(byteSize)).equals(MemorySegment.NULL); succeeded++) {
            heap.free(block);
        }
        return succeeded;
    }

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void afterBytesSpendsNothingOnRequestsTheHeapRefuses(CheckMode mode) {
        FaultInjection faults = FaultInjection.afterBytes(4 * MIB);
        try (Heap heap = limitedHeap(mode, faults)) {
            MemorySegment small = heap.malloc(64);
            long big = PAST_THE_LIMIT;
            // every form, each within the budget on its own, all refused by the limit: none injected
            List<HeapExhaustedError> refused = new ArrayList<>();
            List<Runnable> requests = List.of(
                    () -> heap.malloc(big),
                    () -> heap.mallocAddress(big),
                    () -> heap.calloc(big / 8, 8),
                    () -> heap.mallocAligned(big, 4096),
                    () -> heap.allocate(big, 8),
                    () -> heap.realloc(small, big),
                    () -> heap.reallocAddress(small.address(), big),
                    () -> heap.realloc(MemorySegment.NULL, big),
                    () -> {
                        try (Arena scope = heap.newScope()) {
                            scope.allocate(big);
                        }
                    });
            for (Runnable request : requests) {
                refused.add(assertThrows(HeapExhaustedError.class, request::run));
            }
            assertSame(MemorySegment.NULL, heap.tryMalloc(big));
            assertSame(MemorySegment.NULL, heap.tryCalloc(1, big));
            assertSame(MemorySegment.NULL, heap.tryRealloc(small, big));
            for (HeapExhaustedError e : refused) {
                assertEquals(big, e.requestedBytes());
                assertFalse(e.getMessage().contains("injected"),
                        "refused by the limit, not injected: " + e.getMessage());
            }
            assertEquals(0, faults.injectedFailures());
            assertEquals(64, small.byteSize());

            // the budget is whole but for the 64 bytes that succeeded: 4 MiB - 64 more, then nothing
            assertEquals(15, spendAll(heap, 256 * KIB));
            MemorySegment last = heap.malloc(256 * KIB - 64);
            assertSame(MemorySegment.NULL, heap.tryMalloc(1));
            assertEquals(2, faults.injectedFailures());
            heap.free(last);
            heap.free(small);
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void afterBytesSharedByThreadsSpendsExactlyTheBytesOfRequestsThatSucceeded(CheckMode mode) throws Exception {
        long budget = 4 * MIB;
        long blockSize = 4 * KIB;
        FaultInjection faults = FaultInjection.afterBytes(budget);
        try (Heap heap = limitedHeap(mode, faults)) {
            int threads = 4;
            CyclicBarrier start = new CyclicBarrier(threads);
            AtomicLong succeeded = new AtomicLong();
            List<Future<?>> done = new ArrayList<>();
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                for (int t = 0; t < threads; t++) {
                    done.add(pool.submit(() -> {
                        start.await();
                        for (int round = 0; round < 100; round++) {
                            assertSame(MemorySegment.NULL, heap.tryMalloc(PAST_THE_LIMIT));
                            MemorySegment block = heap.tryMalloc(blockSize);
                            if (!block.equals(MemorySegment.NULL)) {
                                succeeded.incrementAndGet();
                                heap.free(block);
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> future : done) {
                    future.get();
                }
            } finally {
                pool.shutdown();
            }
            assertTrue(succeeded.get() > 0, "the threads' small requests fit the budget");
            // what the threads left of the budget, in blocks: the refused requests spent none of it
            assertEquals(budget / blockSize, succeeded.get() + spendAll(heap, blockSize));
            assertSame(MemorySegment.NULL, heap.tryMalloc(1));
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void withProbabilityRepeatsTheSameFailuresForTheSameSeed(CheckMode mode) {
        List<Integer> first = failures(mode, FaultInjection.withProbability(0.25, 42), 200, 64);
        List<Integer> second = failures(mode, FaultInjection.withProbability(0.25, 42), 200, 64);
        List<Integer> otherSeed = failures(mode, FaultInjection.withProbability(0.25, 43), 200, 64);
        assertEquals(first, second, "same seed, same requests: same failures");
        assertNotEquals(first, otherSeed);
        assertTrue(first.size() >= 20 && first.size() <= 80, first.size() + " failures of 200 at p = 0.25");
        // the draw depends only on the seed and the request's position, not on the mode
        assertEquals(first, failures(CheckMode.FAST, FaultInjection.withProbability(0.25, 42), 200, 64));
    }

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void withProbabilityZeroNeverFailsAndOneAlwaysFails(CheckMode mode) {
        assertEquals(List.of(), failures(mode, FaultInjection.withProbability(0, 7), 48, 64));
        assertEquals(IntStream.rangeClosed(1, 48).boxed().toList(),
                failures(mode, FaultInjection.withProbability(1, 7), 48, 64));
    }

    static MemorySegment allocateInAHelper(Heap heap) {
        return heap.tryMalloc(24);
    }

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void eachCallSiteOnceFailsTheFirstRequestFromEachLine(CheckMode mode) {
        FaultInjection faults = FaultInjection.eachCallSiteOnce();
        try (Heap heap = heap(mode, faults)) {
            List<MemorySegment> got = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                got.add(heap.tryMalloc(32));                  // one site, four requests: only the first fails
            }
            assertSame(MemorySegment.NULL, got.get(0));
            assertTrue(got.subList(1, 4).stream().noneMatch(MemorySegment.NULL::equals));

            assertSame(MemorySegment.NULL, heap.tryCalloc(4, 8)); // a new line is a new site
            MemorySegment x = heap.tryMalloc(8), y = heap.tryMalloc(8); // one line: one site
            assertSame(MemorySegment.NULL, x);
            assertNotSame(MemorySegment.NULL, y);

            // the site is the innermost frame outside malloc4j: a helper is one site, whoever calls it
            assertSame(MemorySegment.NULL, allocateInAHelper(heap));
            MemorySegment fromHelper = allocateInAHelper(heap);
            assertNotSame(MemorySegment.NULL, fromHelper);

            MemorySegment grown = heap.tryRealloc(y, 4096);   // realloc sites fail once too
            assertSame(MemorySegment.NULL, grown);
            assertEquals(8, y.byteSize());
            heap.free(y);
            assertThrows(HeapExhaustedError.class, () -> heap.mallocAddress(16));
            assertEquals(6, faults.injectedFailures());

            got.subList(1, 4).forEach(heap::free);
            heap.free(fromHelper);
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    /**
     * Bug: the call site of an array's growth is {@code NativeArray.resizeBlock}, a malloc4j frame
     * {@code StackCapture} does not skip, so every growable array of the program is one call site:
     * the second array, made on another line, is not failed.
     */
    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void eachCallSiteOnceTellsApartArraysMadeOnDifferentLines(CheckMode mode) {
        FaultInjection faults = FaultInjection.eachCallSiteOnce();
        try (Heap heap = heap(mode, faults)) {
            assertThrows(HeapExhaustedError.class, () -> new NativeLongArray(heap, 8));
            assertThrows(HeapExhaustedError.class, () -> new NativeIntArray(heap, 8),
                    "a different line of the user's code is a different call site");
        }
    }

    // ---- an injected failure is exhaustion ----

    /** What makes a request of {@link #BIG} bytes fail while small ones succeed. */
    enum Exhaustion {
        INJECTED, LIMIT
    }

    static final long BIG = 8 * MIB;

    static Stream<Arguments> modesAndCauses() {
        return Stream.of(CheckMode.values())
                .flatMap(mode -> Stream.of(Exhaustion.values()).map(cause -> Arguments.of(mode, cause)));
    }

    @ParameterizedTest(name = "{0}, {1}")
    @MethodSource("modesAndCauses")
    void anInjectedFailureBehavesExactlyAsRealExhaustion(CheckMode mode, Exhaustion cause) {
        FaultInjection faults = FaultInjection.afterBytes(4096);
        Heap.Builder builder = Heap.builder().name("exhausted").checkMode(mode).sampleInterval(1)
                .purgeDelay(Duration.ofHours(1));
        if (cause == Exhaustion.INJECTED) {
            builder.faultInjection(faults);
        } else {
            builder.maxCommittedBytes(256 * KIB);
        }
        try (Heap heap = builder.build()) {
            MemorySegment small = heap.malloc(64);
            LongStream.range(0, 8).forEach(i -> small.set(JAVA_LONG, i * 8, i * 31));
            HeapStats before = heap.stats();

            HeapExhaustedError thrown = assertThrows(HeapExhaustedError.class, () -> heap.malloc(BIG));
            assertInstanceOf(OutOfMemoryError.class, thrown);
            assertEquals(BIG, thrown.requestedBytes());
            assertAll(
                    () -> assertThrows(HeapExhaustedError.class, () -> heap.mallocAddress(BIG)),
                    () -> assertThrows(HeapExhaustedError.class, () -> heap.calloc(BIG / 8, 8)),
                    () -> assertThrows(HeapExhaustedError.class, () -> heap.mallocAligned(BIG, 4096)),
                    () -> assertThrows(HeapExhaustedError.class, () -> heap.allocate(BIG, 8)),
                    () -> assertSame(MemorySegment.NULL, heap.tryMalloc(BIG)),
                    () -> assertSame(MemorySegment.NULL, heap.tryCalloc(1, BIG)),
                    () -> assertSame(MemorySegment.NULL, heap.tryRealloc(small, BIG)),
                    () -> assertThrows(HeapExhaustedError.class, () -> heap.realloc(small, BIG)),
                    () -> assertThrows(HeapExhaustedError.class, () -> heap.reallocAddress(small.address(), BIG)),
                    () -> {
                        try (Arena scope = heap.newScope()) {
                            assertThrows(HeapExhaustedError.class, () -> scope.allocate(BIG));
                        }
                    });

            // the old block is live and unchanged; nothing was counted, nothing leaked
            LongStream.range(0, 8).forEach(i -> assertEquals(i * 31, small.get(JAVA_LONG, i * 8)));
            assertEquals(64, small.byteSize());
            HeapStats after = heap.stats();
            assertAll(
                    () -> assertEquals(before.mallocCount(), after.mallocCount()),
                    () -> assertEquals(before.freeCount(), after.freeCount()),
                    () -> assertEquals(1, after.liveBlocks()),
                    () -> assertEquals(before.requestedBytes(), after.requestedBytes()));
            heap.check();
            if (mode == CheckMode.FULL) {
                assertEquals(1, heap.leaks().blocks());
                assertEquals(64, heap.leaks().bytes());
            }
            assertEquals(cause == Exhaustion.INJECTED ? 11 : 0, faults.injectedFailures());

            MemorySegment more = heap.malloc(64); // small requests still succeed
            heap.free(more);
            heap.free(small);
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    /**
     * Bug: a request no heap can ever grant failed with "failure injected" when the policy's count
     * fell on it, hiding why it can never succeed, and it used up a count.
     */
    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void aRequestLargerThanAnyBlockFailsForThatReasonAndIsNotCounted(CheckMode mode) {
        FaultInjection faults = FaultInjection.everyNth(2);
        try (Heap heap = heap(mode, faults)) {
            long first = heap.mallocAddress(16);                                      // request 1
            for (int i = 0; i < 3; i++) {
                HeapExhaustedError e = assertThrows(HeapExhaustedError.class,
                        () -> heap.mallocAddress(Heap.MAX_BLOCK_BYTE_SIZE + 1));        // not counted
                assertFalse(e.getMessage().contains("injected"), e.getMessage());
                assertTrue(e.getMessage().contains(Long.toString(Heap.MAX_BLOCK_BYTE_SIZE)), e.getMessage());
            }
            HeapExhaustedError aligned = assertThrows(HeapExhaustedError.class,
                    () -> heap.mallocAligned(16, Heap.MAX_BLOCK_BYTE_SIZE << 1));        // not counted
            assertFalse(aligned.getMessage().contains("injected"), aligned.getMessage());
            assertEquals(0, faults.injectedFailures());
            assertThrows(HeapExhaustedError.class, () -> heap.malloc(16));            // request 2 fails
            assertEquals(1, faults.injectedFailures());
            MemorySegment block = heap.malloc(8);                                     // request 3
            assertSame(MemorySegment.NULL, heap.tryRealloc(block, 1L << 50));       // not counted
            assertEquals(1, faults.injectedFailures());
            assertThrows(HeapExhaustedError.class, () -> heap.malloc(16));            // request 4 fails
            assertEquals(2, faults.injectedFailures());
            heap.free(block);
            heap.freeAddress(first);
        }
    }

    @Test
    void anInjectedFailureSaysSo() {
        try (Heap heap = heap(CheckMode.FAST, FaultInjection.firstN(1))) {
            HeapExhaustedError e = assertThrows(HeapExhaustedError.class, () -> heap.malloc(123));
            assertTrue(e.getMessage().contains("123 bytes"), e.getMessage());
            assertTrue(e.getMessage().contains("injected"), e.getMessage());
        }
    }

    /**
     * An injected failure of an aligned request names the alignment, as real exhaustion's message
     * does; only {@code injected()} tells the two apart.
     */
    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void anInjectedFailureOfAnAlignedRequestNamesTheAlignmentAsRealExhaustionDoes(CheckMode mode) {
        long size = 2 * MIB;
        String real;
        try (Heap limited = Heap.builder().checkMode(mode).maxCommittedBytes(MIB).build()) {
            HeapExhaustedError refused =
                    assertThrows(HeapExhaustedError.class, () -> limited.mallocAligned(size, 4096));
            assertFalse(refused.injected());
            real = refused.getMessage();
        }
        try (Heap heap = heap(mode, FaultInjection.everyNth(1))) {
            HeapExhaustedError injectedError =
                    assertThrows(HeapExhaustedError.class, () -> heap.mallocAligned(size, 4096));
            assertTrue(injectedError.injected());
            String injected = injectedError.getMessage();
            String byAddress = assertThrows(HeapExhaustedError.class,
                    () -> heap.mallocAlignedAddress(size, 64)).getMessage();
            String unaligned = assertThrows(HeapExhaustedError.class, () -> heap.mallocAligned(size, 8)).getMessage();
            String asked = "cannot allocate " + size + " bytes aligned to 4096";
            assertTrue(real.contains(asked), real);
            assertTrue(injected.contains(asked + ": failure injected by FaultInjection"), injected);
            assertTrue(byAddress.contains("cannot allocate " + size + " bytes aligned to 64: "), byAddress);
            // Every block is aligned to 16 bytes: a request for less names no alignment, as exhaustion's does not.
            assertTrue(unaligned.contains("cannot allocate " + size + " bytes: failure injected"), unaligned);
        }
    }

    @Test
    void toStringNamesThePolicyAndCountsFailures() {
        FaultInjection faults = FaultInjection.everyNth(2);
        try (Heap heap = heap(CheckMode.FAST, faults)) {
            heap.free(heap.malloc(1));
            assertSame(MemorySegment.NULL, heap.tryMalloc(1));
        }
        assertEquals("FaultInjection[everyNth=2, injected=1]", faults.toString());
        assertTrue(FaultInjection.withProbability(0.5, 9).toString().contains("probability=0.5, seed=9"));
        assertTrue(FaultInjection.eachCallSiteOnce().toString().contains("eachCallSiteOnce"));
        assertTrue(FaultInjection.afterBytes(10).toString().contains("afterBytes=10"));
        assertTrue(FaultInjection.firstN(3).toString().contains("firstN=3"));
    }

    /** The count is the policy's, as its documentation says: two heaps given one policy share it. */
    @Test
    void heapsGivenOnePolicyShareItsCount() {
        FaultInjection faults = FaultInjection.everyNth(2);
        try (Heap first = heap(CheckMode.FAST, faults); Heap second = heap(CheckMode.FULL, faults)) {
            first.free(first.malloc(10));
            assertSame(MemorySegment.NULL, second.tryMalloc(10), "the second request of the two heaps together");
            second.free(second.malloc(10));
            assertSame(MemorySegment.NULL, first.tryMalloc(10));
            assertEquals(2, faults.injectedFailures());
        }
    }

    /** -0.0 passes the range check as the 0 it equals: it is 0, and the policy says so, not "-0.0". */
    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void withProbabilityNegativeZeroIsZero(CheckMode mode) {
        FaultInjection negativeZero = FaultInjection.withProbability(-0.0, 7);
        assertEquals("FaultInjection[probability=0.0, seed=7, injected=0]", negativeZero.toString());
        assertEquals(List.of(), failures(mode, negativeZero, 48, 64));
        assertEquals(0, negativeZero.injectedFailures());
    }

    @ParameterizedTest
    @ValueSource(doubles = {-0.01, 1.01, Double.NaN, Double.POSITIVE_INFINITY})
    void withProbabilityRejectsAProbabilityOutsideZeroToOne(double probability) {
        assertThrows(IllegalArgumentException.class, () -> FaultInjection.withProbability(probability, 1));
    }

    @Test
    void countsMustBeInRange() {
        assertThrows(IllegalArgumentException.class, () -> FaultInjection.everyNth(0));
        assertThrows(IllegalArgumentException.class, () -> FaultInjection.firstN(-1));
        assertThrows(IllegalArgumentException.class, () -> FaultInjection.afterBytes(-1));
        assertThrows(NullPointerException.class, () -> Heap.builder().faultInjection(null));
    }
}
