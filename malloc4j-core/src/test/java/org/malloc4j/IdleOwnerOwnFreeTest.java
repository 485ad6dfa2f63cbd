package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.malloc4j.internal.InternalsProbe;

/**
 * The free memory in the pages of a thread that stops allocating (a platform thread, or a virtual
 * thread with a thread heap of its own) goes back to the OS
 * after the purge delay, with no call, whichever thread freed the blocks: its own frees too, not
 * only other threads'. Likewise for the pages a thread left in use when it ended. Live blocks
 * beside the returned memory keep their bytes, and the owner that comes back, even while the
 * purger works on its pages, allocates from them as before.
 */
class IdleOwnerOwnFreeTest {
    private static final long MIB = 1024 * 1024;

    /**
     * The thread frees nine blocks in ten itself and another thread the tenth: what stays is at
     * most the pages its size classes allocate from, one each, which the purger leaves to it
     * (blocks of 16-1,024 B: 64 KiB pages, of some 30 classes).
     */
    @Test
    void blocksAnIdleThreadFreedItselfGoBackAfterThePurgeDelay() throws Exception {
        try (Heap heap = Heap.builder().name("idle-own-free").purgeDelay(Duration.ofMillis(50)).build();
                IdleThread owner = new IdleThread()) {
            List<MemorySegment> blocks = new ArrayList<>();
            List<MemorySegment> others = new ArrayList<>();
            owner.run(() -> {
                SplittableRandom random = new SplittableRandom(11);
                for (long bytes = 0; bytes < 64 * MIB; ) {
                    MemorySegment block = heap.malloc(16 + random.nextInt(1009));
                    block.fill((byte) 1);
                    blocks.add(block);
                    bytes += block.byteSize();
                }
                for (int i = 0; i < blocks.size(); i++) {
                    if (i % 10 == 0) {
                        others.add(blocks.get(i));
                    } else {
                        heap.free(blocks.get(i));
                    }
                }
            });
            others.forEach(heap::free);
            long peak = heap.stats().peakCommittedBytes();
            assertTrue(peak >= 64 * MIB, heap.stats().toText());

            long committed = PurgeTest.pollCommittedUntilAtMost(heap, peak / 20);

            HeapStats stats = heap.stats();
            assertTrue(committed <= peak / 20, "an idle thread's pages still commit " + committed + " B of a " + peak
                    + " B peak after it freed their blocks itself\n" + stats.toText());
            assertEquals(0, stats.liveBlocks());
            heap.check();
        }
    }

    /** trim() on any thread returns the free memory of every live thread's pages (of a waiting one's current ones too). */
    @Test
    void trimOnAnotherThreadReturnsWhatALiveThreadFreedItself() throws Exception {
        try (Heap heap = Heap.builder().name("idle-own-trim").purgeDelay(Duration.ofHours(1)).build();
                IdleThread owner = new IdleThread()) {
            List<MemorySegment> blocks = owner.produce(heap, 32 * MIB, 17);
            KeptBlocks[] kept = new KeptBlocks[1];
            owner.run(() -> kept[0] = KeptBlocks.freeRunsBetween(heap, blocks, 17));
            long before = heap.stats().committedBytes();
            assertTrue(before >= 16 * MIB, "the thread's own frees emptied its pages: nothing left to return\n"
                    + heap.stats().toText());

            heap.trim();

            HeapStats stats = heap.stats();
            assertTrue(stats.committedBytes() <= before / 2, "trim() on another thread left " + stats.committedBytes()
                    + " of " + before + " B committed\n" + stats.toText());
            kept[0].assertIntact();
            heap.check();
            owner.run(() -> kept[0].freeAll(heap));
        }
    }

    /**
     * A thread that allocates and frees all the time changes its pages often, and its refills wait
     * for the lock trim() takes: a trim on another thread still reaches the free memory of its
     * other pages, at once.
     */
    @Test
    void trimOnAnotherThreadReachesTheFreeMemoryOfABusyThread() throws Exception {
        try (Heap heap = Heap.builder().name("busy-own-trim").purgeDelay(Duration.ofHours(1)).build()) {
            KeptBlocks[] kept = new KeptBlocks[1];
            CountDownLatch freed = new CountDownLatch(1);
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread owner = Thread.ofPlatform().start(() -> {
                try {
                    kept[0] = KeptBlocks.freeRunsBetween(heap, IdleThread.allocatePatterned(heap, 32 * MIB, 18), 18);
                    freed.countDown();
                    // Pages' worth of blocks of one class at a time: a refill or a released page each round.
                    MemorySegment[] churn = new MemorySegment[5000];
                    while (!stop.get()) {
                        for (int i = 0; i < churn.length; i++) {
                            churn[i] = heap.malloc(16);
                        }
                        for (MemorySegment block : churn) {
                            heap.free(block);
                        }
                    }
                } catch (Throwable e) {
                    failure.set(e);
                    freed.countDown();
                }
            });
            long before;
            long after;
            try {
                freed.await();
                before = heap.stats().committedBytes();
                Thread.sleep(20);

                heap.trim();

                after = heap.stats().committedBytes();
            } finally {
                stop.set(true);
                owner.join();
            }
            assertEquals(null, failure.get());
            assertTrue(after <= before / 2, "trim() on another thread returned too little of a busy thread's free "
                    + "memory: " + before + " -> " + after + "\n" + heap.stats().toText());
            kept[0].assertIntact();
            heap.check();
            kept[0].freeAll(heap);
            heap.trim();
            assertEquals(0, heap.stats().committedBytes(), heap.stats().toText());
        }
    }

    @Test
    void liveBlocksBesideReturnedMemoryKeepTheirBytesAndTheOwnerComesBack() throws Exception {
        try (Heap heap = Heap.builder().name("idle-own-back").purgeDelay(Duration.ofMillis(20)).build();
                IdleThread owner = new IdleThread()) {
            assertFreeGoesBackAndTheOwnerComesBack(heap, owner, 32 * MIB, 12, 2);
        }
    }

    /** The same for a virtual thread with a thread heap of its own, which its pages are. */
    @Test
    void aVirtualThreadWithItsOwnHeapGivesBackAsAPlatformThreadDoes() throws Exception {
        try (Heap heap = Heap.builder().name("idle-virtual-back").purgeDelay(Duration.ofMillis(20)).build();
                IdleThread owner = IdleThread.virtual()) {
            earnOwnHeap(heap, owner);
            assertFreeGoesBackAndTheOwnerComesBack(heap, owner, 32 * MIB, 12, 2);
            assertTrue(InternalsProbe.hasOwnHeap(heap, owner.thread()));
        }
    }

    /** Makes {@code owner}, a virtual thread, allocate until it has a thread heap of its own. */
    static void earnOwnHeap(Heap heap, IdleThread owner) throws InterruptedException {
        owner.run(() -> {
            for (int i = 0; i < 20_000; i++) {
                heap.free(heap.malloc(64));
            }
        });
        assertTrue(InternalsProbe.hasOwnHeap(heap, owner.thread()), "no heap of its own after 20,000 pairs");
    }

    /**
     * {@code owner} makes {@code total} bytes of patterned blocks, keeps 5 in every 50 and frees the
     * rest, then waits: its committed bytes must fall to {@code 1 / divisor} of what they were, the
     * kept blocks keep their bytes, and when it comes back its new blocks are right (calloc's zeros
     * too) and the heap's counts add up, to no committed byte once all is freed.
     */
    static void assertFreeGoesBackAndTheOwnerComesBack(Heap heap, IdleThread owner, long total, long seed,
            long divisor) throws InterruptedException {
        List<MemorySegment> blocks = owner.produce(heap, total, seed);
        KeptBlocks[] kept = new KeptBlocks[1];
        owner.run(() -> kept[0] = KeptBlocks.freeRunsBetween(heap, blocks, seed));
        long before = heap.stats().committedBytes();

        long committed = PurgeTest.pollCommittedUntilAtMost(heap, before / divisor);

        assertTrue(committed <= before / divisor, "the idle thread's free memory did not go back: " + before + " -> "
                + committed + "\n" + heap.stats().toText());
        kept[0].assertIntact();
        heap.check();

        List<MemorySegment> again = KeptBlocks.allocateAgain(heap, owner, total, seed + 1);
        kept[0].assertIntact();
        HeapStats stats = heap.stats();
        assertEquals(kept[0].size() + again.size(), stats.liveBlocks());
        assertEquals(usableSum(heap, kept[0].blocks()) + usableSum(heap, again), stats.usableBytes());
        heap.check();
        owner.run(() -> {
            kept[0].freeAll(heap);
            again.forEach(heap::free);
            heap.trim();
        });
        assertEquals(0, heap.stats().committedBytes(), heap.stats().toText());
        assertEquals(0, heap.stats().usableBytes(), heap.stats().toText());
    }

    private static long usableSum(Heap heap, List<MemorySegment> blocks) {
        long sum = 0;
        for (MemorySegment block : blocks) {
            sum += heap.usableSize(block);
        }
        return sum;
    }

    @Test
    void anEndedThreadsPagesInUseGiveBackTheirFreeMemory() throws Exception {
        try (Heap heap = Heap.builder().name("ended-own-free").purgeDelay(Duration.ofMillis(20)).build()) {
            KeptBlocks[] kept = new KeptBlocks[1];
            Thread ended = Thread.ofPlatform().start(() ->
                    kept[0] = KeptBlocks.freeRunsBetween(heap, IdleThread.allocatePatterned(heap, 32 * MIB, 14), 14));
            ended.join();
            long before = heap.stats().committedBytes();

            long committed = PurgeTest.pollCommittedUntilAtMost(heap, before / 2);

            assertTrue(committed <= before / 2, "an ended thread's pages kept their free memory: " + before + " -> "
                    + committed + "\n" + heap.stats().toText());
            kept[0].assertIntact();
            heap.check();
            // A new thread takes the pages over and allocates from them.
            try (IdleThread next = new IdleThread()) {
                List<MemorySegment> again = KeptBlocks.allocateAgain(heap, next, 32 * MIB, 15);
                kept[0].assertIntact();
                heap.check();
                next.run(() -> {
                    kept[0].freeAll(heap);
                    again.forEach(heap::free);
                    heap.trim();
                });
            }
            assertEquals(0, heap.stats().committedBytes(), heap.stats().toText());
        }
    }

    /**
     * Virtual threads share striped heaps: once none allocates from a stripe for the purge delay,
     * the stripe's free memory goes back as an idle platform thread's does.
     */
    @Test
    void virtualThreadsFreeMemoryGoesBackOnceTheyLeaveTheirStripes() throws Exception {
        try (Heap heap = Heap.builder().name("idle-stripes").purgeDelay(Duration.ofMillis(20)).build()) {
            int threads = 8;
            List<List<MemorySegment>> made = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                made.add(null);
            }
            runVirtual(threads, t -> made.set(t, IdleThread.allocatePatterned(heap, 4 * MIB, 100L * t)));
            KeptBlocks[] kept = new KeptBlocks[threads];
            runVirtual(threads, t -> kept[t] = KeptBlocks.freeRunsBetween(heap, made.get(t), 100L * t));
            long before = heap.stats().committedBytes();

            long committed = PurgeTest.pollCommittedUntilAtMost(heap, before / 2);

            assertTrue(committed <= before / 2, "the stripes' free memory did not go back: " + before + " -> "
                    + committed + "\n" + heap.stats().toText());
            for (KeptBlocks each : kept) {
                each.assertIntact();
            }
            heap.check();
            runVirtual(threads, t -> kept[t].freeAll(heap));
            heap.trim();
            assertEquals(0, heap.stats().committedBytes(), heap.stats().toText());
        }
    }

    private static void runVirtual(int threads, java.util.function.IntConsumer work) throws InterruptedException {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> started = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int index = t;
            started.add(Thread.ofVirtual().start(() -> {
                try {
                    work.accept(index);
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }));
        }
        for (Thread thread : started) {
            thread.join();
        }
        if (failure.get() != null) {
            throw new AssertionError("a virtual thread failed", failure.get());
        }
    }

    /**
     * The owner allocates in bursts and pauses between them, so that the purger, with no delay or
     * a short one, keeps returning the free memory of its pages while it comes back to them: no
     * live block may lose a byte, no block may be handed out twice, and the heap's accounts must
     * hold.
     */
    @ParameterizedTest
    @CsvSource({"0, false", "1, false", "0, true", "1, true"})
    void anOwnerComingBackWhileThePurgerWorksOnItsPagesLosesNothing(long delayMillis, boolean virtual) throws Exception {
        try (Heap heap = Heap.builder().name("idle-own-race").purgeDelay(Duration.ofMillis(delayMillis)).build();
                IdleThread owner = virtual ? IdleThread.virtual() : new IdleThread()) {
            if (virtual) {
                earnOwnHeap(heap, owner);
            }
            List<MemorySegment> kept = new ArrayList<>();
            List<Long> keptSeeds = new ArrayList<>();
            AtomicReference<String> damage = new AtomicReference<>();
            SplittableRandom random = new SplittableRandom(16);
            long seed = 1_000;
            for (int round = 0; round < 150 && damage.get() == null; round++) {
                long roundSeed = seed;
                seed += 10_000;
                owner.run(() -> {
                    List<MemorySegment> made = new ArrayList<>();
                    for (int i = 0; i < 2000; i++) {
                        long size = random.nextInt(16) == 0 ? 4096 + random.nextInt(28 * 1024) : 16 + random.nextInt(1500);
                        MemorySegment block = heap.malloc(size);
                        Patterns.fill(block, roundSeed + i);
                        made.add(block);
                    }
                    for (int i = 0; i < made.size(); i++) {
                        if (random.nextInt(10) == 0) {
                            kept.add(made.get(i));
                            keptSeeds.add(roundSeed + i);
                        } else {
                            heap.free(made.get(i));
                        }
                    }
                    // Old kept blocks go too, so pages the purger returned memory of fill again.
                    while (kept.size() > 6000) {
                        int victim = random.nextInt(kept.size());
                        MemorySegment block = kept.get(victim);
                        if (Patterns.firstMismatch(block, keptSeeds.get(victim), block.byteSize()) != -1) {
                            damage.compareAndSet(null, "a kept block lost its bytes before its free");
                        }
                        heap.free(block);
                        kept.set(victim, kept.get(kept.size() - 1));
                        keptSeeds.set(victim, keptSeeds.get(keptSeeds.size() - 1));
                        kept.remove(kept.size() - 1);
                        keptSeeds.remove(keptSeeds.size() - 1);
                    }
                });
                Thread.sleep(random.nextInt(4));
            }
            assertEquals(null, damage.get());
            assertTrue(heap.stats().purgedBytes() > 0, "the purger returned nothing while the owner paused\n"
                    + heap.stats().toText());
            KeptBlocks survivors = new KeptBlocks();
            for (int k = 0; k < kept.size(); k++) {
                survivors.add(kept.get(k), keptSeeds.get(k));
            }
            survivors.assertIntact();
            assertNoOverlap(kept);
            assertEquals(kept.size(), heap.stats().liveBlocks());
            heap.check();
            owner.run(() -> {
                kept.forEach(heap::free);
                heap.trim();
            });
            assertEquals(0, heap.stats().committedBytes(), heap.stats().toText());
        }
    }

    private static void assertNoOverlap(List<MemorySegment> blocks) {
        List<MemorySegment> sorted = new ArrayList<>(blocks);
        sorted.sort((a, b) -> Long.compareUnsigned(a.address(), b.address()));
        for (int i = 1; i < sorted.size(); i++) {
            MemorySegment before = sorted.get(i - 1);
            assertTrue(before.address() + before.byteSize() <= sorted.get(i).address(), "two live blocks overlap");
        }
    }
}
