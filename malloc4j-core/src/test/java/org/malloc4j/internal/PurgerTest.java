package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
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
            assertNextRunWithinTheDelay(core, freedAt, delay);
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
            assertNextRunWithinTheDelay(core, freedAt, delay);
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
            long[] freedAt = new long[1];
            Thread.ofVirtual().start(() -> {
                freedAt[0] = System.nanoTime();
                for (long block : blocks) {
                    core.free(block);
                }
            }).join();
            assertNextRunWithinTheDelay(core, freedAt[0], delay);
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

    private static void assertNextRunWithinTheDelay(HeapCore core, long freedAt, long delay) {
        long wakeIn = core.purgeWakeAt - freedAt;
        assertTrue(wakeIn >= 0 && wakeIn <= delay + delay / 4, "the purger's next run is due in " + wakeIn / 1_000_000
                + " ms, with a purge delay of " + delay / 1_000_000 + " ms");
    }

    private static HeapCore core(String name, long purgeDelayNanos) {
        return HeapCore.create(new HeapConfig(name, Long.MAX_VALUE, Duration.ofNanos(purgeDelayNanos),
                CheckMode.FAST, HeapConfig.DEFAULT_SAMPLE_INTERVAL, 0, null, true));
    }
}
