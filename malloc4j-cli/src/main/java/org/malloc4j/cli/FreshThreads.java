package org.malloc4j.cli;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * Runs each task on a new platform thread that, once the task is done, stays alive (parked) until
 * {@link #close()}. Allocators keep state per thread — a glibc arena, a jemalloc arena binding and
 * thread cache, a mimalloc thread heap, a tcmalloc thread cache — and hand a dead thread's state to
 * the next new thread. Parking the old threads makes each trace start with thread state of its own,
 * so it cannot reuse the free memory an earlier trace left behind: its footprint grows as it would
 * in a fresh process.
 */
final class FreshThreads implements AutoCloseable {
    private final CountDownLatch release = new CountDownLatch(1);
    private int started;

    /**
     * Runs a task on a new thread and waits for it.
     *
     * @param task the task
     * @param <T> its result type
     * @return its result
     * @throws RuntimeException or {@link Error} as the task threw it
     */
    <T> T run(Supplier<T> task) {
        AtomicReference<T> result = new AtomicReference<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch done = new CountDownLatch(1);
        Thread thread = Thread.ofPlatform().name("replay-" + ++started).daemon().start(() -> {
            try {
                result.set(task.get());
            } catch (RuntimeException | Error e) {
                failure.set(e);
            } finally {
                done.countDown();
            }
            parkUntilReleased();
        });
        awaitUninterruptibly(done);
        rethrow(failure.get(), thread);
        return result.get();
    }

    /** Lets every parked thread end. */
    @Override
    public void close() {
        release.countDown();
    }

    private void parkUntilReleased() {
        awaitUninterruptibly(release);
    }

    private static void awaitUninterruptibly(CountDownLatch latch) {
        boolean interrupted = false;
        while (latch.getCount() > 0) {
            try {
                latch.await();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private static void rethrow(Throwable failure, Thread thread) {
        if (failure instanceof RuntimeException e) {
            throw e;
        }
        if (failure instanceof Error e) {
            throw e;
        }
        if (failure != null) {
            throw new IllegalStateException("task on " + thread.getName() + " failed", failure);
        }
    }
}
