package org.malloc4j.internal;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A platform thread that runs work on request and then waits, alive and parked, for the next: an
 * owner of pages whose current pages the purger may take.
 */
final class WaitingOwner implements AutoCloseable {
    private static final Runnable STOP = () -> { };
    private final SynchronousQueue<Runnable> work = new SynchronousQueue<>();
    private final Thread thread = Thread.ofPlatform().name("waiting-owner").start(this::loop);

    private void loop() {
        try {
            for (Runnable task = work.take(); task != STOP; task = work.take()) {
                task.run();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Runs {@code task} on the thread, waits for it, rethrows what it threw, and waits until the thread waits again. */
    void run(Runnable task) throws InterruptedException {
        CountDownLatch done = new CountDownLatch(1);
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        work.put(() -> {
            try {
                task.run();
            } catch (Throwable e) {
                thrown.set(e);
            } finally {
                done.countDown();
            }
        });
        done.await();
        if (thrown.get() != null) {
            throw new AssertionError("the owner's work failed", thrown.get());
        }
        while (thread.getState() != Thread.State.WAITING) {
            Thread.sleep(1);
        }
    }

    @Override
    public void close() throws InterruptedException {
        work.put(STOP);
        thread.join();
    }
}
