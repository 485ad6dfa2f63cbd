package org.malloc4j.internal;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The one daemon thread that returns retired pages' memory to the OS after the purge delay, for
 * every heap, and hands the pages of ended threads to the heap. It runs while some heap has
 * retired pages, and once a second while platform threads have thread heaps (to find those that
 * ended); a process whose heaps have neither has no wake-ups.
 */
final class Purger {
    private static final ScheduledExecutorService EXECUTOR = Executors.newSingleThreadScheduledExecutor(task -> {
        Thread thread = new Thread(task, "malloc4j-purger");
        thread.setDaemon(true);
        return thread;
    });

    private Purger() {
    }

    /** Makes sure {@code core} is purged within {@code delayNanos}. */
    static void schedule(HeapCore core, long delayNanos) {
        if (core.purgeScheduled.compareAndSet(false, true)) {
            EXECUTOR.schedule(() -> run(core), delayNanos, TimeUnit.NANOSECONDS);
        }
    }

    private static void run(HeapCore core) {
        long due = core.purgeDue();
        if (due >= 0) {
            EXECUTOR.schedule(() -> run(core), Math.max(0, due - System.nanoTime()), TimeUnit.NANOSECONDS);
        }
    }
}
