package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.malloc4j.CheckMode;

/**
 * A long-lived thread (a pool's, or main) that used heaps made and closed one after another keeps
 * none of them: its thread heap in each must not keep the heap's bookkeeping reachable.
 */
class ClosedHeapReachabilityTest {

    @Test
    void aThreadThatUsedClosedHeapsDoesNotKeepThemReachable() throws InterruptedException {
        List<WeakReference<HeapCore>> closed = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            HeapCore core = HeapCore.create(new HeapConfig("used-and-closed", Long.MAX_VALUE, Duration.ZERO,
                    CheckMode.FAST, HeapConfig.DEFAULT_SAMPLE_INTERVAL, 0, null, true));
            core.free(core.malloc(64, true));
            core.close();
            closed.add(new WeakReference<>(core));
        }
        // The purger holds a heap until its queued run (the look for ended threads, a second away).
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (reachable(closed) > 0 && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(50);
        }
        assertEquals(0, reachable(closed), "closed heaps still reachable from the thread that used them");
    }

    private static int reachable(List<WeakReference<HeapCore>> cores) {
        int count = 0;
        for (WeakReference<HeapCore> core : cores) {
            if (core.get() != null) {
                count++;
            }
        }
        return count;
    }
}
