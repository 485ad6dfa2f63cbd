package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.FutureTask;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.malloc4j.Heap;
import org.junit.jupiter.api.Test;

/**
 * The malloc fast path finds the calling thread's current pages through a cache slot chosen by
 * the low bits of its id, which threads share. A thread that finds another's pages in its slot
 * must not allocate from them.
 */
class CurrentPageCacheTest {
    /** The cache's slots: ids this far apart share one. */
    private static final int SLOTS = 64;

    @Test
    void threadsSharingACacheSlotEachAllocateFromTheirOwnPages() throws Exception {
        Worker first = new Worker();
        Worker second;
        do {
            second = new Worker();
        } while ((second.thread.threadId() - first.thread.threadId()) % SLOTS != 0);
        try (Heap heap = Heap.builder().name("current page cache").build()) {
            HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
            // In turn: the first fills the slot, the second finds the first's pages there, then
            // the first finds the second's.
            long a = first.call(() -> heap.mallocAddress(64));
            long b = second.call(() -> heap.mallocAddress(64));
            long c = first.call(() -> heap.mallocAddress(64));

            Page firstPage = RegionMap.slicePage(a, core);
            Page secondPage = RegionMap.slicePage(b, core);
            assertSame(first.thread, firstPage.ownerThread);
            assertNotSame(firstPage, secondPage, "the second thread allocated from the first one's page");
            assertSame(second.thread, secondPage.ownerThread);
            assertSame(firstPage, RegionMap.slicePage(c, core), "the first thread left its page");
            assertEquals(3, heap.stats().liveBlocks());
            for (long block : new long[] {a, b, c}) {
                heap.freeAddress(block);
            }
            assertEquals(0, heap.stats().liveBlocks());
        } finally {
            first.thread.interrupt();
            second.thread.interrupt();
        }
    }

    /** A thread that lives on between the calls it runs, one at a time. */
    private static final class Worker {
        private final BlockingQueue<Runnable> calls = new LinkedBlockingQueue<>();
        final Thread thread = new Thread(this::serve);

        Worker() {
            thread.setDaemon(true);
            thread.start();
        }

        private void serve() {
            try {
                while (true) {
                    calls.take().run();
                }
            } catch (InterruptedException e) {
                // the test is over
            }
        }

        <T> T call(Callable<T> call) throws Exception {
            FutureTask<T> task = new FutureTask<>(call);
            calls.put(task);
            return task.get(30, TimeUnit.SECONDS);
        }
    }
}
