package org.malloc4j;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A thread that runs work on request and then waits, alive, for the next: an owner of pages that
 * stops allocating without ending (a producer between batches, a pooled worker). A platform
 * thread, or a virtual one ({@link #virtual}).
 */
public final class IdleThread implements AutoCloseable {
    private static final Runnable STOP = () -> { };
    private final SynchronousQueue<Runnable> work = new SynchronousQueue<>();
    private final Thread thread;
    private final AtomicReference<Throwable> failure = new AtomicReference<>();

    public IdleThread() {
        this(Thread.ofPlatform());
    }

    private IdleThread(Thread.Builder builder) {
        this.thread = builder.name("idle-owner").start(this::loop);
    }

    /** @return an idle thread that is a virtual thread */
    public static IdleThread virtual() {
        return new IdleThread(Thread.ofVirtual());
    }

    /** @return the thread the work runs on */
    public Thread thread() {
        return thread;
    }

    private void loop() {
        try {
            while (true) {
                Runnable task = work.take();
                if (task == STOP) {
                    return;
                }
                task.run();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Runs {@code task} on the thread and waits for it; rethrows what it threw. */
    public void run(Runnable task) throws InterruptedException {
        CountDownLatch done = new CountDownLatch(1);
        work.put(() -> {
            try {
                task.run();
            } catch (Throwable e) {
                failure.set(e);
            } finally {
                done.countDown();
            }
        });
        done.await();
        Throwable thrown = failure.getAndSet(null);
        if (thrown instanceof Error error) {
            throw error;
        }
        if (thrown != null) {
            throw new AssertionError("the idle thread's work failed", thrown);
        }
    }

    /**
     * Waits until the thread waits for its next task: {@link #run} returns once the task is done,
     * while the thread may still be on its way back to the queue.
     */
    public void awaitWaiting() throws InterruptedException {
        while (thread.getState() != Thread.State.WAITING) {
            Thread.sleep(1);
        }
    }

    /** {@link #allocatePatterned} on the thread. */
    List<MemorySegment> produce(Heap heap, long total, long seed) throws InterruptedException {
        List<List<MemorySegment>> made = new ArrayList<>();
        run(() -> made.add(allocatePatterned(heap, total, seed)));
        return made.get(0);
    }

    @Override
    public void close() {
        if (!thread.isAlive()) {
            // Closed already, or ended by an interrupt: no one would take the stop.
            return;
        }
        try {
            work.put(STOP);
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while the idle thread stopped", e);
        }
    }

    /**
     * About {@code total} bytes of blocks from 16 B to 64 KiB, block {@code i} filled with the
     * pattern of {@code seed + i} ({@link Patterns#fill}).
     */
    static List<MemorySegment> allocatePatterned(Heap heap, long total, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<MemorySegment> blocks = new ArrayList<>();
        for (long bytes = 0; bytes < total; ) {
            long size = random.nextInt(8) == 0 ? 4096 + random.nextInt(60 * 1024) : 16 + random.nextInt(2048);
            MemorySegment block = heap.malloc(size);
            Patterns.fill(block, seed + blocks.size());
            blocks.add(block);
            bytes += size;
        }
        return blocks;
    }
}
