package org.malloc4j.internal;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * The one daemon thread that returns retired pages' memory to the OS after the purge delay, for
 * every heap, and hands the pages of ended threads to the heap. It runs while some heap has
 * retired pages, and once a second while platform threads have thread heaps (to find those that
 * ended); a process whose heaps have neither has no wake-ups.
 *
 * <p>Every thread's first malloc asks for a run, so nothing here may fail for good when that
 * malloc meets a full Java heap: the executor is made at the first run asked for, not in this
 * class's initialization (a class whose initialization fails is unusable for the rest of the
 * process), again at the next ask if making it failed; runs are objects of a class, not lambdas
 * (a lambda whose first linking fails fails so at every later call); and a run that cannot be
 * queued for want of Java memory leaves the heap's next ask to queue one.
 */
final class Purger {
    /** The executor's thread (a new one if a task killed the last). */
    private static volatile Thread purgerThread;
    /** Made at the first run asked for ({@link #executor}). */
    private static volatile ScheduledExecutorService executor;

    private Purger() {
    }

    /**
     * Makes sure {@code core} is purged within {@code delayNanos}. When a run is queued already but
     * for later (the once-a-second look for ended threads), an earlier run is queued and takes over
     * the heap's chain of runs; the later one then finds itself superseded and does nothing.
     */
    static void schedule(HeapCore core, long delayNanos) {
        schedule(core, delayNanos, System.nanoTime());
    }

    /**
     * {@link #schedule(HeapCore, long)} for a caller that read the time already, {@code now}: a
     * thread that keeps the pages it empties on its free path, or puts one into the pool.
     */
    static void schedule(HeapCore core, long delayNanos, long now) {
        long at = now + delayNanos;
        if (queueIfLater(core, delayNanos, at)) {
            return;
        }
        // A run under way may have looked at the heap before what asks now was there, and then
        // queue its next for a second later (the look for ended threads). Either it sees the flag
        // as it ends, and asks again, or this sees it ended, its next run queued (finishRun). A
        // run that starts after the first read looks at what asks now. The run's own retiring of
        // pages needs no other run: its next is due when the first of them is.
        if (core.purgeRunning && Thread.currentThread() != purgerThread) {
            core.purgeAskedWhileRunning = true;
            if (!core.purgeRunning) {
                queueIfLater(core, delayNanos, at);
            }
        }
    }

    /** @return whether a run was queued at {@code at}: none was queued, or one for much later */
    private static boolean queueIfLater(HeapCore core, long delayNanos, long at) {
        // Read before the compare-and-set, which fails, at a cost, while a run is queued.
        if ((!core.purgeScheduled.get() && core.purgeScheduled.compareAndSet(false, true))
                || core.purgeWakeAt - at > delayNanos / 4) {
            queue(core, at);
            return true;
        }
        return false;
    }

    private static void queue(HeapCore core, long at) {
        core.purgeWakeAt = at;
        try {
            executor().schedule(new Run(core, at), Math.max(0, at - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (OutOfMemoryError e) {
            // No run is queued (or one is, but no thread could start to run it yet): the next ask
            // queues one. The caller's malloc or free has done its work, and must not fail for
            // this; a run queued meanwhile for later finds itself superseded by this wake-up time
            // and leaves the next ask to queue.
            core.purgeScheduled.set(false);
        }
    }

    private static ScheduledExecutorService executor() {
        ScheduledExecutorService made = executor;
        if (made == null) {
            synchronized (Purger.class) {
                made = executor;
                if (made == null) {
                    made = Executors.newSingleThreadScheduledExecutor(new PurgerThreads());
                    executor = made;
                }
            }
        }
        return made;
    }

    /**
     * Makes the executor's daemon thread, and lets one that the JDK's executor lost to a full Java
     * heap (its queue's waits and its worker's bookkeeping allocate) die unprinted; the executor
     * starts another for the next run. The default handler prints the stack, and the process's
     * first stack printed initializes the JDK's own classes for it ({@code StackTraceElement}'s set
     * of the JDK's modules): one that fails to, under that full Java heap, leaves every later stack
     * trace of the process failing with a {@link NoClassDefFoundError}, malloc4j's misuse reports
     * among them. Any other throwable goes to the thread group's handler, as it would without this.
     * One object for both, made with the executor: a handler class initialized at a thread's death
     * could fail so too.
     */
    static final class PurgerThreads implements ThreadFactory, Thread.UncaughtExceptionHandler {
        @Override
        public Thread newThread(Runnable task) {
            Thread thread = new Thread(task, "malloc4j-purger");
            thread.setDaemon(true);
            thread.setUncaughtExceptionHandler(this);
            purgerThread = thread;
            return thread;
        }

        @Override
        public void uncaughtException(Thread thread, Throwable thrown) {
            if (!(thrown instanceof OutOfMemoryError)) {
                thread.getThreadGroup().uncaughtException(thread, thrown);
            }
        }
    }

    /** A queued run for one heap, due at {@code at}. */
    private static final class Run implements Runnable {
        private final HeapCore core;
        private final long at;

        Run(HeapCore core, long at) {
            this.core = core;
            this.at = at;
        }

        @Override
        public void run() {
            Purger.run(core, at);
        }
    }

    private static void run(HeapCore core, long at) {
        if (core.purgeWakeAt != at) {
            return;
        }
        startRun(core);
        long due;
        try {
            due = core.purgeDue();
        } catch (RuntimeException | Error e) {
            core.purgeScheduled.set(false);
            finishRun(core, -1);
            if (core.isClosed()) {
                // The heap closed under this run (it collects the stripes' empty pages before it
                // takes the span lock, which the close holds): nothing is left to purge or to say.
                return;
            }
            // The executor would drop it unseen and, the run flag still set, the heap would never be
            // purged again: say so, and let the heap's next retired page or free ask for a run. Not
            // when the Java heap ran out: the logger's first use would then fail too, and leave
            // the JDK's logging unusable for the rest of the process.
            if (!(e instanceof OutOfMemoryError)) {
                System.getLogger(Purger.class.getName()).log(System.Logger.Level.WARNING,
                        "malloc4j: the purger failed on a heap; it runs again when the heap asks", e);
            }
            return;
        }
        finishRun(core, due);
    }

    /** A run for {@code core} starts: what asks for one from now on may come after its look. */
    static void startRun(HeapCore core) {
        core.purgeRunning = true;
        core.purgeAskedWhileRunning = false;
    }

    /**
     * A run for {@code core} ends: queues its next, due at {@code due} (none if negative), then
     * one a purge delay from now if something asked for a run meanwhile. (Kept pages waited a
     * second, for the look for ended threads, instead of a purge delay: their owner kept them
     * between the run's look at its heap and the run's end: 2 times in 500 batches paced near
     * the delay.)
     */
    static void finishRun(HeapCore core, long due) {
        if (due >= 0) {
            queue(core, due);
        }
        core.purgeRunning = false;
        if (core.purgeAskedWhileRunning) {
            core.purgeAskedWhileRunning = false;
            schedule(core, core.purgeDelayNanos);
        }
    }
}
