package org.malloc4j;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A downcall (C's {@code qsort}) holds a block while its comparator, called back in Java, closes
 * the heap: the close never unmaps the memory under the downcall, says so, and a close after the
 * downcall returned finishes.
 */
class HeapCloseDuringDowncallTest {

    /** Every check mode; sampled twice, so both a fast block and a sampled one are held. */
    static Stream<Heap.Builder> heaps() {
        return Stream.of(
                Heap.builder().name("fast"),
                Heap.builder().name("sampled").checkMode(CheckMode.SAMPLED),
                Heap.builder().name("sampled-every-block").checkMode(CheckMode.SAMPLED).sampleInterval(1),
                Heap.builder().name("full").checkMode(CheckMode.FULL));
    }

    @ParameterizedTest
    @MethodSource("heaps")
    void aHeapBlockADowncallUsesStaysMappedAndTheCloseSaysSoThenACloseAfterTheDowncallFinishes(Heap.Builder builder)
            throws Throwable {
        Heap heap = builder.build();
        MemorySegment held = heap.malloc(8192);
        held.fill((byte) 7);
        MemorySegment pooled = FixedSizePool.builder(heap, 64).build().allocate();

        Downcalls.whileHeldByADowncall(held, () -> {
            IllegalStateException refused = assertThrows(IllegalStateException.class, heap::close);
            assertTrue(refused.getMessage().contains("a downcall is using"), refused.getMessage());
            assertTrue(heap.isClosed(), "the heap is closed to every caller");
            assertThrows(IllegalStateException.class, () -> heap.malloc(16));
            assertThrows(IllegalStateException.class, () -> pooled.get(JAVA_BYTE, 0));
            assertEquals(7, held.get(JAVA_BYTE, 0), "still mapped under the downcall");
            assertEquals(7, held.get(JAVA_BYTE, 8191));
        });

        heap.close();
        assertTrue(heap.isClosed());
        assertThrows(IllegalStateException.class, () -> held.get(JAVA_BYTE, 0));
        IllegalStateException again = assertThrows(IllegalStateException.class, heap::close);
        assertTrue(again.getMessage().contains("already closed"), again.getMessage());
    }

    /**
     * The memory a refused close leaves mapped is still committed, and the stats say so until the
     * close that unmaps it: they used to give 0 committed bytes beside the reserved bytes left.
     * A huge block in a region of its own is unmapped by the first close, and stops counting.
     */
    @ParameterizedTest
    @MethodSource("heaps")
    void theMemoryARefusedCloseLeftMappedStaysCommittedInTheStatsUntilTheCloseThatUnmapsIt(Heap.Builder builder)
            throws Throwable {
        Heap heap = builder.build();
        MemorySegment held = heap.malloc(8192);
        held.fill((byte) 7);
        MemorySegment huge = heap.malloc(40L << 20);
        huge.fill((byte) 1);
        long[] whileHeld = new long[4];

        Downcalls.whileHeldByADowncall(held, () -> {
            assertThrows(IllegalStateException.class, heap::close);
            HeapStats left = heap.stats();
            whileHeld[0] = left.committedBytes();
            whileHeld[1] = left.reservedBytes();
            whileHeld[2] = heap.footprintBytes() - left.metadataBytes();
        });

        assertTrue(whileHeld[0] >= 8192, "committed " + whileHeld[0] + " with an 8 KiB block left mapped");
        assertTrue(whileHeld[0] < 40L << 20, "committed " + whileHeld[0] + ": the huge block's region was unmapped");
        assertTrue(whileHeld[0] <= whileHeld[1], "committed " + whileHeld[0] + " of " + whileHeld[1] + " reserved");
        assertEquals(whileHeld[0], whileHeld[2], "the footprint counts what the stats count");
        heap.close();
        assertEquals(0, heap.stats().committedBytes());
        assertEquals(0, heap.stats().reservedBytes());
        assertEquals(heap.stats().metadataBytes(), heap.footprintBytes());
    }

    /**
     * A fast heap whose blocks all lie in the one region a downcall holds: a refused close unmaps
     * nothing, so its committed bytes stay exactly what they were.
     */
    @org.junit.jupiter.api.Test
    void aRefusedCloseThatUnmapsNothingLeavesTheCommittedBytesAsTheyWere() throws Throwable {
        Heap heap = Heap.builder().name("one region").build();
        MemorySegment held = heap.malloc(100);
        List<MemorySegment> others = new ArrayList<>();
        for (int size = 16; size <= 200_000; size = size * 3 / 2 + 16) {
            MemorySegment block = heap.malloc(size);
            block.fill((byte) 3);
            others.add(block);
        }
        heap.free(others.get(3));
        long before = heap.stats().committedBytes();
        long[] whileHeld = new long[1];

        Downcalls.whileHeldByADowncall(held, () -> {
            assertThrows(IllegalStateException.class, heap::close);
            whileHeld[0] = heap.stats().committedBytes();
        });

        assertTrue(before > 200_000, "committed " + before);
        assertEquals(before, whileHeld[0]);
        heap.close();
        assertEquals(0, heap.stats().committedBytes());
    }

    /**
     * Memory the purger returned from an idle owner's pages, as holes the owner has not taken over
     * yet, is not committed, and a refused close does not count it again: it used to, so that 1.2 MB
     * committed before the close read 19 MB after it.
     */
    @org.junit.jupiter.api.Test
    void aRefusedCloseDoesNotCountAgainWhatThePurgerReturnedFromAnIdleOwnersPages() throws Throwable {
        Heap heap = Heap.builder().name("purged holes").purgeDelay(java.time.Duration.ofMillis(50)).build();
        List<MemorySegment> blocks = new ArrayList<>();
        for (int i = 0; i < 300_000; i++) {
            MemorySegment block = heap.malloc(64);
            block.fill((byte) 1);
            blocks.add(block);
        }
        // Another thread frees all but one block of each 64 KiB page: frees this idle owner leaves
        // to the purger, which returns their memory as holes for the owner to take over.
        Thread freer = Thread.ofPlatform().start(() -> {
            for (int i = 1; i < blocks.size(); i++) {
                if (i % 1024 != 0) {
                    heap.free(blocks.get(i));
                }
            }
        });
        freer.join();
        // Until the purger is done: under 4 MiB, and the same over six purge delays.
        long deadline = System.nanoTime() + 30_000_000_000L;
        long last = -1;
        for (long now = heap.stats().committedBytes(); (now > 4L << 20 || now != last) && System.nanoTime() < deadline;
                now = heap.stats().committedBytes()) {
            last = now;
            Thread.sleep(300);
        }
        long[] counts = org.malloc4j.internal.InternalsProbe.committedCountedAndSummed(heap);
        assertTrue(counts[0] <= 4L << 20, "the purger left " + counts[0] + " bytes committed");
        assertEquals(counts[0], counts[1], "committed bytes counted, and summed over the pages");
        long[] whileHeld = new long[1];

        Downcalls.whileHeldByADowncall(blocks.get(0), () -> {
            assertThrows(IllegalStateException.class, heap::close);
            whileHeld[0] = heap.stats().committedBytes();
        });

        assertEquals(counts[0], whileHeld[0]);
        heap.close();
        assertEquals(0, heap.stats().committedBytes());
    }

    /**
     * While a close waits for a downcall on another thread to let go of a region, everything is
     * still mapped, and another thread's stats say so: they used to give 0 committed bytes beside
     * all the reserved ones.
     */
    @ParameterizedTest
    @MethodSource("heaps")
    void statsReadWhileACloseWaitsForADowncallCountAllThatIsStillCommitted(Heap.Builder builder) throws Throwable {
        Heap heap = builder.build();
        MemorySegment held = heap.malloc(8192);
        List<MemorySegment> large = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            MemorySegment block = heap.malloc(200_000);
            block.fill((byte) 2);
            large.add(block);
        }
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        Thread downcall = Downcalls.holdOnAnotherThread(held, release);
        java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicReference<String> wrong = new java.util.concurrent.atomic.AtomicReference<>();
        Thread reader = Thread.ofPlatform().start(() -> {
            while (!done.get()) {
                HeapStats stats = heap.stats();
                if (stats.reservedBytes() > 64L << 20 && stats.committedBytes() < 300L * 200_000) {
                    wrong.compareAndSet(null, stats.toString());
                }
            }
        });
        try {
            IllegalStateException refused = assertThrows(IllegalStateException.class, heap::close);
            assertTrue(refused.getMessage().contains("a downcall is using"), refused.getMessage());
        } finally {
            done.set(true);
            reader.join();
            release.countDown();
            downcall.join();
        }
        assertEquals(null, wrong.get(), "a snapshot with the memory still mapped but not counted committed");
        heap.close();
        assertEquals(0, heap.stats().committedBytes());
        assertEquals(0, heap.stats().reservedBytes());
    }

    /**
     * A footprint read that begins while a close waits for a downcall, and so waits for the close's
     * span lock (a fast heap's), gives the close's outcome: it used to add the committed bytes of the
     * close's start (162 MB) to the metadata left after it. (A checked heap's close waits for its
     * blocks' own arenas without that lock, so a read then gives the moment's figure, all still mapped.)
     */
    @org.junit.jupiter.api.Test
    void aFootprintReadThatWaitsForACloseGivesWhatTheCloseLeft() throws Throwable {
        Heap heap = Heap.builder().name("footprint during close").build();
        for (int i = 0; i < 300; i++) {
            heap.malloc(200_000).fill((byte) 1);
        }
        MemorySegment held = heap.malloc(8192);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        Thread downcall = Downcalls.holdOnAnotherThread(held, release);
        java.util.concurrent.atomic.AtomicLong read = new java.util.concurrent.atomic.AtomicLong(-1);
        Thread reader = Thread.ofPlatform().start(() -> {
            while (!heap.isClosed()) {
                Thread.onSpinWait();
            }
            read.set(heap.footprintBytes());
        });
        Thread releaser = Thread.ofPlatform().start(() -> {
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
            release.countDown();
        });
        heap.close();
        reader.join();
        releaser.join();
        downcall.join();
        assertEquals(0, heap.stats().committedBytes());
        assertTrue(read.get() <= heap.footprintBytes(),
                "read " + read.get() + " during the close, " + heap.footprintBytes() + " after it");
    }

    /**
     * A downcall on another thread that returns soon (here after 100 ms; in a program, the memset of
     * a calloc begun before the close, on a thread waiting for a processor) is waited for: the close
     * unmaps everything and throws nothing. It used to give up after 10 ms, say a downcall the
     * program never made was using the memory, and leave the region mapped.
     */
    @ParameterizedTest
    @MethodSource("heaps")
    void aDowncallOnAnotherThreadThatReturnsSoonIsWaitedFor(Heap.Builder builder) throws Throwable {
        Heap heap = builder.build();
        MemorySegment held = heap.malloc(8192);
        java.util.concurrent.CountDownLatch holding = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
        Thread downcall = Thread.ofPlatform().start(() -> {
            try {
                Downcalls.whileHeldByADowncall(held, () -> {
                    holding.countDown();
                    try {
                        Thread.sleep(100);
                    } catch (InterruptedException e) {
                        throw new AssertionError(e);
                    }
                });
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        holding.await();
        heap.close();
        downcall.join();
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
        assertTrue(heap.isClosed());
        assertEquals(0, heap.stats().reservedBytes(), "memory left mapped");
        assertThrows(IllegalStateException.class, () -> held.get(JAVA_BYTE, 0));
    }

    /**
     * A free of a huge block that waited for the heap's lock while a close ran, and found the
     * downcall that held the block gone once it got the lock, must say the heap is closed and free
     * nothing: it used to close the block's arena itself and return, after which every close said a
     * downcall was still using 32 MiB, and the heap never finished closing.
     */
    @org.junit.jupiter.api.Test
    void aHugeFreeThatWaitedOutACloseSaysTheHeapIsClosedAndTheNextCloseFinishes() throws Throwable {
        Heap heap = Heap.builder().name("huge free after close").build();
        MemorySegment huge = heap.malloc(20L << 20);
        java.util.concurrent.locks.ReentrantLock spanLock = org.malloc4j.internal.InternalsProbe.spanLock(heap);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicReference<Throwable> freed = new java.util.concurrent.atomic.AtomicReference<>();
        Thread downcall = Downcalls.holdOnAnotherThread(huge.asSlice(0, 16), release);
        Thread freer;
        spanLock.lock();
        try {
            freer = Thread.ofPlatform().start(() -> {
                try {
                    heap.free(huge);
                    freed.set(new AssertionError("the free returned normally"));
                } catch (Throwable t) {
                    freed.set(t);
                }
            });
            while (!spanLock.hasQueuedThread(freer)) {
                Thread.onSpinWait();
            }
            IllegalStateException refused = assertThrows(IllegalStateException.class, heap::close);
            assertTrue(refused.getMessage().contains("a downcall is using"), refused.getMessage());
            release.countDown();
            downcall.join();
        } finally {
            spanLock.unlock();
        }
        freer.join();
        assertTrue(freed.get() instanceof IllegalStateException ise && ise.getMessage().contains("is closed"),
                String.valueOf(freed.get()));
        heap.close();
        assertEquals(0, heap.stats().reservedBytes());
        assertEquals(0, heap.stats().committedBytes());
    }

    /**
     * However many blocks or regions downcalls hold, a close waits for them 250 ms in all, not 250 ms
     * each (eight held blocks of a FULL heap, each with an arena of its own, made it wait 2 s).
     */
    @ParameterizedTest
    @MethodSource("heaps")
    void aCloseWaitsForHeldMemoryOnceNotOnceForEachHeldBlock(Heap.Builder builder) throws Throwable {
        Heap heap = builder.build();
        List<MemorySegment> held = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            // 20 MiB each: huge blocks, a region of its own each, in FAST mode too.
            held.add(heap.malloc(20L << 20));
        }
        long[] tookNanos = new long[1];
        holdAll(held, 0, () -> {
            long start = System.nanoTime();
            IllegalStateException refused = assertThrows(IllegalStateException.class, heap::close);
            tookNanos[0] = System.nanoTime() - start;
            assertTrue(refused.getMessage().contains("a downcall is using"), refused.getMessage());
        });
        assertTrue(tookNanos[0] < 1_000_000_000L, "the close waited " + tookNanos[0] / 1_000_000 + " ms for 8 held blocks");
        heap.close();
        assertEquals(0, heap.stats().reservedBytes());
    }

    /** Runs {@code action} while nested downcalls hold every block of {@code blocks} from {@code from} on. */
    private static void holdAll(List<MemorySegment> blocks, int from, Runnable action) throws Throwable {
        if (from == blocks.size()) {
            action.run();
            return;
        }
        // A slice of 8 elements for qsort: its scope is the block's, and sorting it is quick.
        Downcalls.whileHeldByADowncall(blocks.get(from).asSlice(0, 16), () -> {
            try {
                holdAll(blocks, from + 1, action);
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
        });
    }

    /**
     * A close of the heap by a cleanup action is carried out when the close that runs the cleanup
     * action returns: a downcall that used the heap's memory at the time has returned by then, and
     * the heap unmaps everything. (Bug, earlier: a close after the downcall returned, from the same
     * cleanup action, returned quietly with the memory still mapped.)
     */
    @ParameterizedTest
    @MethodSource("heaps")
    void aCloseFromACleanupActionDuringADowncallUnmapsAsTheScopesCloseReturns(Heap.Builder builder) throws Throwable {
        Heap heap = builder.build();
        MemorySegment held = heap.malloc(8192);
        Arena scope = heap.newScope();
        scope.allocate(8).reinterpret(8, scope, ignored -> {
            try {
                Downcalls.whileHeldByADowncall(held, heap::close);
            } catch (Throwable e) {
                throw new AssertionError(e);
            }
            assertTrue(heap.isClosed());
            heap.close();
        });
        scope.close();
        assertThrows(IllegalStateException.class, () -> held.get(JAVA_BYTE, 0), "unmapped");
        assertEquals(0, heap.stats().reservedBytes());
        IllegalStateException again = assertThrows(IllegalStateException.class, heap::close);
        assertTrue(again.getMessage().contains("already closed"), again.getMessage());
    }

    /**
     * A downcall still using the heap's memory when the close that ran the cleanup action returns:
     * that close says so, as the heap's own close would, and a close after the downcall unmaps.
     */
    @ParameterizedTest
    @MethodSource("heaps")
    void aCloseFromACleanupActionCarriedOutDuringADowncallSaysSoAndALaterCloseUnmaps(Heap.Builder builder)
            throws Throwable {
        Heap heap = builder.build();
        MemorySegment held = heap.malloc(8192);
        held.fill((byte) 7);
        Arena scope = heap.newScope();
        scope.allocate(8).reinterpret(8, scope, ignored -> heap.close());
        Downcalls.whileHeldByADowncall(held, () -> {
            IllegalStateException refused = assertThrows(IllegalStateException.class, scope::close);
            assertTrue(refused.getMessage().contains("a downcall is using"), refused.getMessage());
            assertFalse(scope.scope().isAlive());
            assertTrue(heap.isClosed());
            assertEquals(7, held.get(JAVA_BYTE, 8191), "still mapped under the downcall");
        });
        heap.close();
        assertThrows(IllegalStateException.class, () -> held.get(JAVA_BYTE, 0), "unmapped");
        assertEquals(0, heap.stats().reservedBytes());
    }

    /** A block of a pool, a scope or a bump arena on the heap, and what closes that holder. */
    record Holder(String kind, Function<Heap, MemorySegment> allocate) {
        @Override
        public String toString() {
            return kind;
        }
    }

    static Stream<Arguments> heldByDependents() {
        List<Holder> holders = List.of(
                new Holder("pool block", heap -> FixedSizePool.builder(heap, 8192).name("held").build().allocate()),
                new Holder("shared scope block", heap -> heap.newSharedScope().allocate(8192)),
                new Holder("confined scope block", heap -> heap.newScope().allocate(8192)),
                new Holder("bump arena slice", heap -> BumpArena.ofConfined(heap).allocate(8192, 16)));
        List<Arguments> all = new ArrayList<>();
        heaps().forEach(builder -> holders.forEach(holder -> all.add(Arguments.of(builder, holder))));
        return all.stream();
    }

    @ParameterizedTest
    @MethodSource("heldByDependents")
    void aBlockOfAScopeArenaOrPoolADowncallUsesKeepsTheHeapOpenThenACloseAfterTheDowncallFinishes(
            Heap.Builder builder, Holder holder) throws Throwable {
        Heap heap = builder.build();
        MemorySegment held = holder.allocate().apply(heap);
        held.fill((byte) 7);
        Arena other = heap.newSharedScope();
        MemorySegment ofOther = other.allocate(64);

        Downcalls.whileHeldByADowncall(held, () -> {
            IllegalStateException refused = assertThrows(IllegalStateException.class, heap::close);
            assertTrue(refused.getMessage().contains("a downcall is using"), refused.getMessage());
            assertFalse(heap.isClosed(), "the heap stays open");
            assertFalse(other.scope().isAlive(), "every other dependent is closed");
            assertThrows(IllegalStateException.class, () -> ofOther.get(JAVA_BYTE, 0));
            assertEquals(7, held.get(JAVA_BYTE, 0), "still mapped under the downcall");
            assertEquals(7, held.get(JAVA_BYTE, 8191));
            heap.free(heap.malloc(16));
        });

        heap.close();
        assertTrue(heap.isClosed());
        assertThrows(IllegalStateException.class, () -> held.get(JAVA_BYTE, 0));
    }
}
