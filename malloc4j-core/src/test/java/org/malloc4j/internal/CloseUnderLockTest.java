package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.malloc4j.CheckMode;

/**
 * A core is closed to callers only under its span lock: a call that holds the lock (a huge malloc
 * mapping or reusing a mapping) then never sees the heap close halfway, after it mapped memory
 * that the close would not unmap. A sampled heap closes its fast core at the start of its close.
 */
class CloseUnderLockTest {

    @Test
    void aCoreRefusesCallsOnlyOnceNoCallHoldsItsLock() throws InterruptedException {
        HeapCore core = HeapCore.create(new HeapConfig("closed under lock", Long.MAX_VALUE, Duration.ZERO,
                CheckMode.FAST, HeapConfig.DEFAULT_SAMPLE_INTERVAL, 0, null, true));
        Thread closer;
        core.spans.lock.lock();
        try {
            closer = Thread.ofPlatform().start(core::refuseCalls);
            // The closer waits for the lock this call holds.
            assertFalse(closer.join(Duration.ofMillis(200)), "the core closed under a call holding its lock");
            assertFalse(core.isClosed());
        } finally {
            core.spans.lock.unlock();
        }
        assertTrue(closer.join(Duration.ofSeconds(30)));
        assertTrue(core.isClosed());
        // As a sampled heap's close finishes: unmapping what the core holds.
        core.closeUnlessInUse(new long[0], HeldArenas.heapCloseDeadline());
    }
}
