package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.malloc4j.CheckMode;

/** When the purger runs: what it is asked for, not how long anything took. */
class PurgerTest {

    @Test
    void memoryRetiredWhileTheOnceASecondThreadCheckIsQueuedIsPurgedWithinThePurgeDelay() {
        long delay = Duration.ofMillis(100).toNanos();
        HeapCore core = core("purger", delay);
        try {
            // The first malloc registers this thread's heap, which queues the look for ended
            // threads a second from now.
            long block = core.malloc(1 << 20, true);
            long freedAt = System.nanoTime();
            core.free(block);
            // The freed span waits in the pool: a run must now be due within the delay, not at the
            // thread check's second.
            assertNextRunWithinTheDelay(core, freedAt, System.nanoTime(), delay);
        } finally {
            core.close();
        }
    }

    @Test
    void memoryRetiredWhileARunEndsIsPurgedWithinThePurgeDelayNotAtTheNextThreadCheck() {
        long delay = Duration.ofMillis(100).toNanos();
        HeapCore core = core("purger-race", delay);
        try {
            long block = core.malloc(1 << 20, true);
            // A run under way, due now, that has looked at the heap already.
            core.purgeWakeAt = System.nanoTime();
            Purger.startRun(core);
            long freedAt = System.nanoTime();
            core.free(block);
            // It found nothing waiting, and queues its next for the look for ended threads.
            Purger.finishRun(core, System.nanoTime() + Duration.ofSeconds(1).toNanos());
            assertNextRunWithinTheDelay(core, freedAt, System.nanoTime(), delay);
        } finally {
            core.close();
        }
    }

    @Test
    void blocksOfAnEndedThreadFreedOnAVirtualThreadGoBackWithNoThreadHeapLeft() throws Exception {
        long delay = Duration.ofMillis(20).toNanos();
        HeapCore core = core("purger-ended", delay);
        try {
            long[] blocks = new long[4000];
            Thread owner = Thread.ofPlatform().start(() -> {
                for (int i = 0; i < blocks.length; i++) {
                    blocks[i] = core.malloc(512, true);
                }
            });
            owner.join();
            // The look for ended threads, now rather than a second from now: the pages lose their
            // owner, and the heap is left with no thread heap to bring the purger back.
            core.purgeDue();
            long committed = core.stats().committedBytes();
            assertTrue(committed >= blocks.length * 512L, "committed " + committed + " B");
            long[] freed = new long[2];
            Thread.ofVirtual().start(() -> {
                freed[0] = System.nanoTime();
                for (long block : blocks) {
                    core.free(block);
                }
                freed[1] = System.nanoTime();
            }).join();
            assertNextRunWithinTheDelay(core, freed[0], freed[1], delay);
            for (int poll = 0; poll < 100 && committed > 0; poll++) {
                Thread.sleep(50);
                committed = core.stats().committedBytes();
            }
            assertTrue(committed == 0, "an ended thread's 2 MB freed on a virtual thread still hold " + committed
                    + " B committed 5 s later\n" + core.stats().toText());
        } finally {
            core.close();
        }
    }

    /**
     * A purger thread that the JDK's executor loses to a full Java heap dies unprinted (printing
     * its stack then could leave every later stack trace of the process failing); anything else it
     * dies of goes to its thread group's handler, as without the purger's own.
     */
    @Test
    void aPurgerThreadLostToAFullJavaHeapDiesUnprintedAndAnyOtherFailureIsHandledAsUsual() throws Exception {
        List<Throwable> handled = new CopyOnWriteArrayList<>();
        ThreadGroup group = new ThreadGroup("purger-test") {
            @Override
            public void uncaughtException(Thread thread, Throwable thrown) {
                handled.add(thrown);
            }
        };
        OutOfMemoryError javaHeap = new OutOfMemoryError("Java heap space");
        IllegalStateException other = new IllegalStateException("a failure of the executor's own");
        // The factory's threads join the group of the thread that makes them.
        Thread maker = new Thread(group, () -> {
            Purger.PurgerThreads threads = new Purger.PurgerThreads();
            for (RuntimeException thrown : new RuntimeException[] {null, other}) {
                Thread purger = threads.newThread(() -> {
                    if (thrown == null) {
                        throw javaHeap;
                    }
                    throw thrown;
                });
                assertTrue(purger.isDaemon());
                purger.start();
                try {
                    purger.join();
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
            }
        });
        maker.start();
        maker.join();
        assertEquals(List.of(other), handled);
    }

    /**
     * The next run is due within the purge delay of the frees made from {@code freedFrom} to
     * {@code freedTo} (a quarter of the delay later at most, the slack a queued run is allowed):
     * counted from their end, as the run may be asked for at the last of them.
     */
    private static void assertNextRunWithinTheDelay(HeapCore core, long freedFrom, long freedTo, long delay) {
        long wakeAt = core.purgeWakeAt;
        assertTrue(wakeAt - freedFrom >= 0 && wakeAt - freedTo <= delay + delay / 4, "the purger's next run is due "
                + (wakeAt - freedTo) / 1_000_000 + " ms after the frees ended (which took "
                + (freedTo - freedFrom) / 1_000_000 + " ms), with a purge delay of " + delay / 1_000_000 + " ms");
    }

    private static HeapCore core(String name, long purgeDelayNanos) {
        return HeapCore.create(new HeapConfig(name, Long.MAX_VALUE, Duration.ofNanos(purgeDelayNanos),
                CheckMode.FAST, HeapConfig.DEFAULT_SAMPLE_INTERVAL, 0, null, true));
    }
}
