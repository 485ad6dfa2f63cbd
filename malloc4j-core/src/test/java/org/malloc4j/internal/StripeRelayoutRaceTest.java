package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import org.malloc4j.Heap;
import org.malloc4j.MemoryMisuseException;
import org.junit.jupiter.api.Test;

/**
 * A double free racing a legitimate free of the same block in a striped heap's page (virtual
 * threads'), while the stripe lays the emptied page out again for another size class: the late free
 * must be reported, not free whatever block the new layout has at the old block's index. The test
 * forces that schedule by holding the queue the stripe lock's waiters wait in.
 */
class StripeRelayoutRaceTest {
    private static final int ATTEMPTS = 20;

    @Test
    void aDoubleFreeWaitingForTheStripeWhileItsPageIsLaidOutAgainIsReportedAndFreesNoLiveBlock() throws Exception {
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            try (Heap heap = Heap.builder().name("relayout race").build()) {
                if (raceOnce(heap)) {
                    return;
                }
            }
        }
        // Virtual threads move between processors, and so between stripes: every attempt did.
        assumeTrue(false, "no attempt kept its virtual threads on one stripe");
    }

    /** @return false if the virtual threads did not all use one stripe, so the schedule was not set up */
    private static boolean raceOnce(Heap heap) throws Exception {
        HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
        // 16 blocks of the 4096-byte class fill a 64 KiB page; keep only the one at index 1.
        long[] blocks = onVirtualThread(core, () -> {
            long[] made = new long[16];
            for (int i = 0; i < made.length; i++) {
                made[i] = heap.mallocAddress(4000);
            }
            return made;
        });
        Page page = RegionMap.slicePage(blocks[1], core);
        for (long block : blocks) {
            if (RegionMap.slicePage(block, core) != page) {
                return false;
            }
        }
        onVirtualThread(core, () -> {
            for (int i = 0; i < blocks.length; i++) {
                if (i != 1) {
                    heap.freeAddress(blocks[i]);
                }
            }
            return null;
        });
        ThreadHeap stripe = page.owner;
        StripeLock lock = stripe.lock;
        ReentrantLock waiters = (ReentrantLock) Fields.read(lock, StripeLock.class, "waiters");
        AtomicReference<Throwable> late = new AtomicReference<>();
        waiters.lock();
        Thread lateFree;
        try {
            lock.lock();
            lateFree = Thread.ofPlatform().start(() -> {
                try {
                    heap.freeAddress(blocks[1]);
                } catch (Throwable t) {
                    late.set(t);
                }
            });
            while (!waiters.hasQueuedThread(lateFree)) {
                Thread.onSpinWait();
            }
            lock.unlock();
            // The other free wins, empties the page, and 48-byte blocks take it over.
            long[] relaid = onVirtualThread(core, () -> {
                heap.freeAddress(blocks[1]);
                long[] made = new long[4];
                for (int i = 0; i < made.length; i++) {
                    made[i] = heap.mallocAddress(48);
                }
                return made;
            });
            if (relaid[0] != blocks[0]) {
                waiters.unlock();
                lateFree.join();
                return false;
            }
            waiters.unlock();
            lateFree.join(TimeUnit.SECONDS.toMillis(10));
            assertInstanceOf(MemoryMisuseException.class, late.get(), "the late double free returned normally");
            for (long block : relaid) {
                assertTrue(heap.usableSize(block) >= 48, "a live 48-byte block was freed by another's double free");
            }
            assertEquals(relaid.length, heap.stats().liveBlocks());
            onVirtualThread(core, () -> {
                for (long block : relaid) {
                    heap.freeAddress(block);
                }
                return null;
            });
            return true;
        } finally {
            if (waiters.isHeldByCurrentThread()) {
                waiters.unlock();
            }
        }
    }

    /**
     * Runs {@code work} on a virtual thread whose stripe hint says it has made its first mallocs
     * already: it stays on the stripes (a thread asks for a heap of its own at its
     * {@link HeapCore#HANDOVER_AFTER}-th), on stripe 0 while it finds that stripe's lock free.
     */
    private static <T> T onVirtualThread(HeapCore core, Supplier<T> work) throws Exception {
        AtomicReference<T> result = new AtomicReference<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread thread = Thread.ofVirtual().unstarted(() -> {
            try {
                result.set(work.get());
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        long[] hints = (long[]) Fields.read(core, HeapCore.class, "stripeHints");
        long id = thread.threadId();
        hints[HeapCore.hintSlot(id)] = id << 24 | (long) (HeapCore.HANDOVER_AFTER + 1) << 16;
        thread.start();
        thread.join();
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
        return result.get();
    }
}
