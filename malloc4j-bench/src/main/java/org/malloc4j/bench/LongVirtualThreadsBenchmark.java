package org.malloc4j.bench;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;

/**
 * {@value #THREADS} long-lived threads at once, each doing {@value #PAIRS} malloc+free pairs of
 * {@value #BLOCK_SIZE} B back to back: virtual threads, which share malloc4j's striped heaps under
 * their locks, against platform threads, which have a thread heap each. Where
 * {@link VirtualThreadsBenchmark} is mostly the cost of starting virtual threads, this is the
 * allocator's own path for them, with two carriers allocating at once. The score is ns per pair as
 * each thread sees it (the wall time of one invocation divided by {@value #PAIRS}); starting the two
 * threads is under 0.1 % of it.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {Jvm.NATIVE_ACCESS,
        Jvm.HEAP_MIN, Jvm.HEAP_MAX, Jvm.HEAP_PRE_TOUCH})
@OperationsPerInvocation(LongVirtualThreadsBenchmark.PAIRS)
public class LongVirtualThreadsBenchmark {
    /** Pairs per thread and invocation. */
    public static final int PAIRS = 1_000_000;
    /** Threads allocating at once: one per core of the machines the suite is measured on. */
    public static final int THREADS = 2;
    /** The block each pair allocates: {@link VirtualThreadsBenchmark}'s. */
    public static final long BLOCK_SIZE = VirtualThreadsBenchmark.BLOCK_SIZE;

    private static final Runnable MALLOC4J = VirtualThreadsBenchmark.malloc4jPairs(PAIRS);
    private static final Runnable GLIBC = VirtualThreadsBenchmark.glibcPairs(PAIRS);

    private static void runOn(Thread.Builder threads, Runnable work) throws InterruptedException {
        Thread[] started = new Thread[THREADS];
        for (int t = 0; t < THREADS; t++) {
            started[t] = threads.start(work);
        }
        for (Thread thread : started) {
            thread.join();
        }
    }

    @Benchmark
    @Baseline(1)
    public void malloc4jVirtual() throws InterruptedException {
        runOn(Thread.ofVirtual(), MALLOC4J);
    }

    @Benchmark
    public void malloc4jPlatform() throws InterruptedException {
        runOn(Thread.ofPlatform(), MALLOC4J);
    }

    @Benchmark
    public void glibcVirtual() throws InterruptedException {
        runOn(Thread.ofVirtual(), GLIBC);
    }

    @Benchmark
    public void glibcPlatform() throws InterruptedException {
        runOn(Thread.ofPlatform(), GLIBC);
    }
}
