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
