package org.malloc4j;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntConsumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Closing a heap while other threads still allocate, write and free (a misuse): each of their calls
 * either works or throws {@link IllegalStateException}, never a misuse report about their own
 * blocks, and a segment handed out as the heap closes throws on access instead of reaching
 * unmapped memory (which would crash the JVM).
 */
class HeapCloseRaceTest {
    /**
     * Bug: of two closes at once, the second could find the first finished after it looked and
     * return normally too, though the heap was already closed (29 of 20,000 rounds of this test).
     */
    @Test
    void ofTwoClosesAtOnceOneSaysTheHeapIsClosedOrBeingClosed() throws Exception {
        int bothReturned = 0;
        for (int round = 0; round < 20_000; round++) {
            Heap heap = Heap.builder().name("two-closes-" + round).build();
            java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(2);
            java.util.concurrent.atomic.AtomicInteger returned = new java.util.concurrent.atomic.AtomicInteger();
            java.util.concurrent.atomic.AtomicReference<Throwable> wrong = new java.util.concurrent.atomic.AtomicReference<>();
            Thread[] closers = new Thread[2];
            for (int t = 0; t < 2; t++) {
                closers[t] = Thread.ofPlatform().start(() -> {
                    try {
                        start.await();
                        heap.close();
                        returned.incrementAndGet();
                    } catch (IllegalStateException refused) {
                        String message = refused.getMessage();
                        if (!message.endsWith("is already closed") && !message.contains("is being closed by thread")) {
                            wrong.set(refused);
                        }
                    } catch (Exception e) {
                        wrong.set(e);
                    }
                });
            }
            for (Thread closer : closers) {
                closer.join();
            }
            assertEquals(null, wrong.get(), "round " + round);
            assertTrue(heap.isClosed());
            assertEquals(0, heap.stats().reservedBytes());
            if (returned.get() != 1) {
                bothReturned++;
            }
        }
        assertEquals(0, bothReturned, "rounds where both closes, or neither, returned normally");
    }

    private static final int ROUNDS = 100;
    private static final int THREADS = 16;

    @ParameterizedTest
    @CsvSource({"FAST, 1", "SAMPLED, 2", "FULL, 1"})
    void callsRacingCloseWorkOrSayTheHeapIsClosed(CheckMode mode, int interval) throws InterruptedException {
        ConcurrentLinkedQueue<Throwable> wrong = new ConcurrentLinkedQueue<>();
        // A checked heap reports the blocks live at close as leaks, on standard error: hundreds
        // of reports here, all expected, kept out of the build's log.
        PrintStream err = System.err;
        System.setErr(new PrintStream(OutputStream.nullOutputStream()));
        try {
            race(mode, interval, wrong);
        } finally {
            System.setErr(err);
        }
        assertEquals(List.of(), List.copyOf(wrong));
    }

    private static void race(CheckMode mode, int interval, ConcurrentLinkedQueue<Throwable> wrong)
            throws InterruptedException {
        for (int round = 0; round < ROUNDS && wrong.isEmpty(); round++) {
            Heap.Builder builder = Heap.builder().name("closing").checkMode(mode);
            if (mode == CheckMode.SAMPLED) {
                builder.sampleInterval(interval);
            }
            Heap heap = builder.build();
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                threads.add(Thread.ofVirtual().start(() -> churn(heap, wrong)));
            }
            Thread.sleep(1);
            try {
                heap.close();
            } catch (IllegalStateException downcallOrLeak) {
                // Nothing here holds memory in a downcall; a close that throws is a failure too.
                wrong.add(downcallOrLeak);
            }
            for (Thread thread : threads) {
                assertTrue(thread.join(Duration.ofSeconds(30)), "a thread did not stop after close");
            }
        }
    }

    /**
     * A large or huge malloc waiting for the heap's lock while another thread closes the heap must
     * not map memory once the close has unmapped the rest: that mapping would outlive the heap,
     * with its block's segment still accessible.
     */
    @ParameterizedTest
    @CsvSource({"FAST, 1048576", "FAST, 20971520", "SAMPLED, 1048576"})
    void nothingMappedByCallsRacingCloseOutlivesTheHeap(CheckMode mode, long blockSize) throws InterruptedException {
        for (int round = 0; round < 20; round++) {
            Heap heap = Heap.builder().name("closing").checkMode(mode).build();
            ConcurrentLinkedQueue<MemorySegment> handedOut = new ConcurrentLinkedQueue<>();
            closeWhileThreadsAllocate(heap, 2, "round " + round, thread -> {
                while (true) {
                    handedOut.add(heap.malloc(blockSize));
                }
            });
            for (MemorySegment block : handedOut) {
                assertFalse(block.scope().isAlive(), "a block of the closed heap is still accessible");
            }
        }
    }

    /**
     * Small mallocs commit OS pages as their pages' bump pointers reach them, without the heap's
     * lock: one that checked the heap open just before a close must not leave the closed heap
     * reporting committed memory, which it no longer has.
     */
    @Test
    void aClosedHeapReportsNothingCommittedAfterSmallMallocsRacedItsClose() throws InterruptedException {
        for (int round = 0; round < 30; round++) {
            Heap heap = Heap.builder().name("closing").build();
            closeWhileThreadsAllocate(heap, 20 + round % 30, "round " + round, thread -> {
                java.util.SplittableRandom random = new java.util.SplittableRandom(thread);
                ArrayDeque<Long> mine = new ArrayDeque<>();
                while (true) {
                    mine.add(heap.mallocAddress(random.nextInt(512)));
                    if (mine.size() > 1000 || random.nextInt(3) == 0) {
                        heap.freeAddress(mine.poll());
                    }
                }
            });
        }
    }

    /**
     * A free of a huge block that found it live just before another thread closed the heap must
     * not hand back the mapping the close unmapped: kept for reuse, the range was unmapped a second
     * time when it left the closed heap's kept mappings (under anything mapped there meanwhile),
     * and the reserved bytes went below zero.
     */
    @Test
    void aHugeFreeRacingTheCloseLeavesNothingReservedAndUnmapsOnce() throws InterruptedException {
        for (int round = 0; round < 20; round++) {
            Heap heap = Heap.builder().name("closing").build();
            closeWhileThreadsAllocate(heap, 5, "round " + round, thread -> {
                while (true) {
                    heap.free(thread % 2 == 0 ? heap.malloc(40L << 20) : heap.calloc(1, 40L << 20));
                }
            });
        }
    }

    /**
     * A calloc whose fill finds its block's memory gone with a close racing it says the heap
     * closed, as every other call does, not the JDK arena's bare "Already closed".
     */
    @Test
    void aCallocRacingTheCloseSaysTheHeapIsClosed() throws InterruptedException {
        ConcurrentLinkedQueue<String> unnamed = new ConcurrentLinkedQueue<>();
        for (int round = 0; round < 200 && unnamed.isEmpty(); round++) {
            Heap heap = Heap.builder().name("closing-calloc").build();
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 3; t++) {
                long size = 4096L << (3 * t); // zeroed by copies, and twice by memset
                threads.add(Thread.ofPlatform().start(() -> {
                    try {
                        while (true) {
                            // Dirty memory, so the calloc zeroes it.
                            long block = heap.mallocAddress(size);
                            heap.freeAddress(block);
                            heap.freeAddress(heap.callocAddress(1, size));
                        }
                    } catch (IllegalStateException closed) {
                        if (!closed.getMessage().contains("heap 'closing-calloc'")) {
                            unnamed.add(closed.toString());
                        }
                    }
                }));
            }
            Thread.sleep(1);
            heap.close();
            for (Thread thread : threads) {
                assertTrue(thread.join(Duration.ofSeconds(30)), "a thread did not stop after close");
            }
        }
        assertEquals(List.of(), List.copyOf(unnamed));
    }

    /**
     * Bug: in the checked modes, a malloc or realloc whose new block's fill found the block's
     * memory unmapped by a close racing it threw the JDK's bare "Already closed" (a realloc: 14 of
     * 30 rounds in SAMPLED mode, 2 in FULL), not that the heap closed as every other call says; so
     * did a free or realloc whose check of the blocks it pushed out of a small quarantine found
     * them unmapped (this test failed in both modes, twice, in under 10 s). The JDK's end of the
     * access also sets the thread's interrupt status, which the call restores.
     */
    @ParameterizedTest
    @CsvSource({"SAMPLED", "FULL"})
    void aMallocReallocOrFreeRacingTheCloseSaysTheHeapIsClosed(CheckMode mode) throws InterruptedException {
        ConcurrentLinkedQueue<String> unnamed = new ConcurrentLinkedQueue<>();
        for (int round = 0; round < 120 && unnamed.isEmpty(); round++) {
            Heap heap = Heap.builder().name("closing-realloc").checkMode(mode).sampleInterval(2)
                    .quarantineBytes(64 << 10).leakReportAtClose(false).build();
            for (int i = 0; i < 300; i++) {
                // Live blocks, a huge one among them, for the close to take its time over.
                heap.mallocAddress(i == 299 ? 17L << 20 : 16 + i * 331);
            }
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 3; t++) {
                int thread = t;
                threads.add(Thread.ofPlatform().start(() -> {
                    java.util.Random random = new java.util.Random(thread);
                    try {
                        while (true) {
                            long block = heap.mallocAddress(thread == 0 ? 100 : 16 + random.nextInt(2000));
                            long size = thread == 0 ? 100_000 : 16 + random.nextInt(2000);
                            heap.freeAddress(heap.reallocAddress(block, size));
                        }
                    } catch (IllegalStateException closed) {
                        if (!closed.getMessage().contains("heap 'closing-realloc'")) {
                            unnamed.add(closed.toString());
                        }
                        if (Thread.interrupted()) {
                            unnamed.add("a thread left interrupted after " + closed);
                        }
                    }
                }));
            }
            Thread.sleep(round % 3);
            heap.close();
            for (Thread thread : threads) {
                assertTrue(thread.join(Duration.ofSeconds(30)), "a thread did not stop after close");
            }
        }
        assertEquals(List.of(), List.copyOf(unnamed));
    }

    /**
     * Bug: a check() on another thread as the heap closed could throw "counters disagree" (the close
     * zeroing them under it) or, in the checked modes, the JDK's bare "Already closed" of a block the
     * close unmapped under its redzone walk, though its Javadoc says a closed heap's check() throws
     * "is closed". Each mode failed within its first 11 rounds, in two runs. A walk the close ended
     * could also leave the thread interrupted (the JDK's async exception; SAMPLED, round 9).
     */
    @ParameterizedTest
    @CsvSource({"FAST", "SAMPLED", "FULL"})
    void aCheckRacingTheCloseSaysTheHeapIsClosed(CheckMode mode) throws Exception {
        List<String> otherwise = new ArrayList<>();
        for (int round = 0; round < 100 && otherwise.isEmpty(); round++) {
            Heap heap = Heap.builder().name("checked-as-it-closes").checkMode(mode).sampleInterval(2)
                    .leakReportAtClose(false).build();
            for (int i = 0; i < 200; i++) {
                heap.mallocAddress(i == 199 ? 17L << 20 : 16 + i * 37);
            }
            AtomicReference<String> thrown = new AtomicReference<>();
            java.util.concurrent.CountDownLatch checking = new java.util.concurrent.CountDownLatch(1);
            Thread checker = Thread.ofPlatform().start(() -> {
                checking.countDown();
                try {
                    while (true) {
                        heap.check();
                    }
                } catch (RuntimeException e) {
                    thrown.set(e + (Thread.interrupted() ? ", and the thread left interrupted" : ""));
                }
            });
            checking.await();
            Thread.sleep(round % 3);
            heap.close();
            assertTrue(checker.join(Duration.ofSeconds(30)), "check() did not stop after close");
            if (!thrown.get().equals("java.lang.IllegalStateException: heap 'checked-as-it-closes' is closed")) {
                otherwise.add("round " + round + ": " + thrown.get());
            }
        }
        assertEquals(List.of(), otherwise);
    }

    /**
     * Bug: a growable array's close racing the heap's close (a misuse, which the array's class
     * documentation allows for) could find the heap open, then have its free refused as the heap
     * closed: it threw the heap's "is closed", which its close does not list, and stayed open
     * (96 of 500 rounds in FULL mode). The block goes with the heap: the array is closed.
     */
    @ParameterizedTest
    @CsvSource({"FAST", "FULL"})
    void aGrowableArrayClosedAsItsHeapClosesIsClosed(CheckMode mode) throws Exception {
        assertEquals(List.of(), closedAsTheHeapCloses(mode, heap -> new NativeLongArray(heap, 1_000)));
    }

    /**
     * Bug: a pool that is not thread-safe, closed by its own thread while another closed the heap,
     * could make the heap's close throw a {@link NullPointerException}, or say a downcall was using
     * the pool and stay open (125 of 300 rounds in FAST mode). Closes of a pool are serialized.
     */
    @ParameterizedTest
    @CsvSource({"FAST", "FULL"})
    void aPoolThatIsNotThreadSafeClosedAsItsHeapClosesIsClosedWithIt(CheckMode mode) throws Exception {
        assertEquals(List.of(), closedAsTheHeapCloses(mode, heap -> {
            FixedSizePool pool = FixedSizePool.builder(heap, 40).build();
            for (int i = 0; i < 50; i++) {
                pool.allocate();
            }
            return pool;
        }));
    }

    /**
     * Closes a holder {@code make} gives on one thread while this one closes its heap, round after
     * round: the heap must close, and the holder with it, its close returning or saying it was
     * closed already.
     *
     * @return what went wrong, empty if nothing
     */
    private static List<String> closedAsTheHeapCloses(CheckMode mode,
            java.util.function.Function<Heap, AutoCloseable> make) throws Exception {
        List<String> wrong = new ArrayList<>();
        for (int round = 0; round < 300 && wrong.isEmpty(); round++) {
            Heap heap = Heap.builder().name("holder-" + round).checkMode(mode).leakReportAtClose(false).build();
            AutoCloseable holder = make.apply(heap);
            java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(2);
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            Thread closer = Thread.ofPlatform().start(() -> {
                try {
                    start.await();
                    holder.close();
                } catch (AlreadyClosedException closedByTheHeap) {
                    // The heap's close came first.
                } catch (Throwable e) {
                    thrown.set(e);
                }
            });
            start.await();
            Throwable heapThrew = null;
            try {
                heap.close();
            } catch (Throwable e) {
                heapThrew = e;
            }
            closer.join();
            boolean holderClosed = holder instanceof NativeArray array ? array.isClosed()
                    : ((FixedSizePool) holder).isClosed();
            if (thrown.get() != null || heapThrew != null || !holderClosed || !heap.isClosed()) {
                wrong.add("round " + round + ": holder threw " + thrown.get() + ", heap threw " + heapThrew
                        + ", holder closed " + holderClosed + ", heap closed " + heap.isClosed());
            }
        }
        return wrong;
    }

    /**
     * Runs {@code work} on four platform threads (each given its number) until the heap, closed
     * after {@code millis}, makes it throw {@link IllegalStateException}; then checks that no
     * thread met anything else and that the closed heap holds nothing reserved or committed.
     */
    private static void closeWhileThreadsAllocate(Heap heap, long millis, String round, IntConsumer work)
            throws InterruptedException {
        ConcurrentLinkedQueue<Throwable> wrong = new ConcurrentLinkedQueue<>();
        java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(4);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int thread = t;
            threads.add(Thread.ofPlatform().start(() -> {
                started.countDown();
                try {
                    work.accept(thread);
                } catch (IllegalStateException closed) {
                    // The heap closed.
                } catch (Throwable e) {
                    wrong.add(e);
                }
            }));
        }
        started.await();
        Thread.sleep(millis);
        PrintStream err = System.err;
        System.setErr(new PrintStream(OutputStream.nullOutputStream()));
        try {
            heap.close();
        } finally {
            System.setErr(err);
        }
        for (Thread thread : threads) {
            assertTrue(thread.join(Duration.ofSeconds(30)), "a thread did not stop after close");
        }
        assertEquals(List.of(), List.copyOf(wrong));
        HeapStats stats = heap.stats();
        assertEquals(0, stats.reservedBytes(), round + ": " + stats);
        assertEquals(0, stats.committedBytes(), round + ": " + stats);
    }

    private static void churn(Heap heap, ConcurrentLinkedQueue<Throwable> wrong) {
        ArrayDeque<MemorySegment> mine = new ArrayDeque<>();
        try {
            while (true) {
                MemorySegment block = heap.malloc(16 + mine.size() * 8);
                block.set(JAVA_BYTE, 0, (byte) 1);
                mine.add(block);
                if (mine.size() > 8) {
                    heap.free(mine.poll());
                }
            }
        } catch (IllegalStateException closed) {
            // The heap closed, or a segment's scope did with it: both say so.
        } catch (Throwable t) {
            wrong.add(t);
        }
    }
}
