package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.malloc4j.Heap;
import org.malloc4j.IdleThread;

/**
 * A virtual thread takes over an ended thread's heap ({@link ThreadHeap#takeOver}, without a lock
 * when its stripe's last task left the heap) while the purger, which held the heap when its owner
 * was parked, takes the heap's current pages ({@link ThreadHeap#takeCurrentPages}). The purger
 * empties the entries of the slot it reads, the taker moves the heap's entries to its own slot: a
 * page the purger took must not end up published in the new owner's slot, where the owner's next
 * malloc would allocate from it. The test drives the two methods against each other round after
 * round, from the same state each time: the owner parked and ended is what lets the purger in.
 */
class TakeOverRacesPurgerTest {
    private static final long RUN_NANOS = 2_000_000_000L;
    /**
     * Rounds run past {@link #RUN_NANOS} until this many: a loaded machine ran only 84 in the
     * 2 seconds, where an idle one runs thousands.
     */
    private static final int LEAST_ROUNDS = 100;
    private static final long MOST_NANOS = 60_000_000_000L;

    /**
     * @return an idle thread whose slot of current pages is not {@code other}'s: the slot is the id's
     *     low bits, and the ids depend on how many threads the tests before made
     */
    private static IdleThread idleThreadOutsideTheSlotOf(Thread other) {
        IdleThread idle = new IdleThread();
        while (HeapCore.currentSlot(idle.thread()) == HeapCore.currentSlot(other)) {
            IdleThread sharing = idle;
            idle = new IdleThread();
            sharing.close();
        }
        return idle;
    }

    @Test
    void aPageThePurgerTookIsNeverPublishedInTheNewOwnersSlot() throws Exception {
        Thread next = Thread.currentThread();
        try (Heap heap = Heap.builder().name("take over racing the purger").purgeDelay(Duration.ofHours(1)).build();
                IdleThread ended = idleThreadOutsideTheSlotOf(next)) {
            HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
            assertNotEquals(HeapCore.currentSlot(ended.thread()), HeapCore.currentSlot(next));
            // A current page of every class, each holding an OS page of free blocks: worth taking.
            ended.run(() -> {
                for (int c = 0; c < SizeClasses.COUNT; c++) {
                    long size = SizeClasses.blockSize(c);
                    long[] blocks = new long[(int) Math.max(3, 3 * 4096 / size + 2)];
                    for (int i = 0; i < blocks.length; i++) {
                        blocks[i] = heap.mallocAddress(size);
                    }
                    for (int i = 1; i < blocks.length; i++) {
                        heap.freeAddress(blocks[i]);
                    }
                }
            });
            ThreadHeap owned = WaitingOwner.heapOf(core, ended.thread());
            assertNotNull(owned);
            Page[] table = (Page[]) Fields.read(core, HeapCore.class, "currentPages");
            Page[] current = owned.current.clone();
            int endedSlot = HeapCore.currentSlot(ended.thread());
            int nextSlot = HeapCore.currentSlot(next);
            AtomicInteger phase = new AtomicInteger();
            AtomicReference<Page[]> took = new AtomicReference<>();
            AtomicBoolean tookAny = new AtomicBoolean();
            Thread purger = Thread.ofPlatform().start(() -> purge(owned, phase, took));
            int rounds = 0;
            try {
                for (long start = System.nanoTime(), ran; (ran = System.nanoTime() - start) < RUN_NANOS
                        || rounds < LEAST_ROUNDS && ran < MOST_NANOS; ) {
                    rounds++;
                    // The heap as its owner left it: its pages current and published in its slot.
                    owned.thread = ended.thread();
                    Fields.write(owned, ThreadHeap.class, "currentSlot", endedSlot);
                    Fields.write(owned, ThreadHeap.class, "taken", null);
                    for (int c = 0; c < SizeClasses.COUNT; c++) {
                        owned.current[c] = current[c];
                        if (current[c] != HeapCore.EMPTY_PAGE) {
                            current[c].ownerThread = ended.thread();
                        }
                        table[endedSlot | c] = current[c];
                        table[nextSlot | c] = HeapCore.EMPTY_PAGE;
                    }
                    took.set(null);
                    phase.incrementAndGet();
                    owned.takeOver(ended.thread(), next);
                    while (phase.get() != 2 * rounds) {
                        Thread.onSpinWait();
                    }
                    Page[] pages = took.get();
                    if (pages != null) {
                        tookAny.set(true);
                    }
                    for (int c = 0; pages != null && c < SizeClasses.COUNT; c++) {
                        assertTrue(pages[c] == null || table[nextSlot | c] != pages[c],
                                "round " + rounds + ": the purger took the current page of class " + c
                                        + ", and it is published in the new owner's slot");
                    }
                }
            } finally {
                phase.set(Integer.MIN_VALUE);
                purger.join();
            }
            assertTrue(rounds >= LEAST_ROUNDS, "only " + rounds + " rounds in a minute");
            assertTrue(tookAny.get(), "the purger never took a page");
        }
    }

    /** The purger's side of each round: hold the heap and take its current pages, as a look at an idle owner does. */
    private static void purge(ThreadHeap owned, AtomicInteger phase, AtomicReference<Page[]> took) {
        for (int round = 1; ; round++) {
            int phaseNow;
            while ((phaseNow = phase.get()) < 2 * round - 1) {
                if (phaseNow < 0) {
                    return;
                }
                Thread.onSpinWait();
            }
            if (phaseNow < 0) {
                return;
            }
            if (owned.holdForPurge()) {
                took.set(owned.takeCurrentPages());
                owned.releaseFromPurge();
            }
            phase.incrementAndGet();
        }
    }
}
