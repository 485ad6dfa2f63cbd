package org.malloc4j.bench;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.malloc4j.Heap;
import org.malloc4j.HeapStats;
import org.malloc4j.bench.Natives.Glibc;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;

/**
 * {@value #TASKS} tasks, each allocating and freeing {@code blocksPerTask} {@value #BLOCK_SIZE}-byte
 * blocks one after another, run on a virtual thread each
 * ({@code Executors.newVirtualThreadPerTaskExecutor()}) or on a fixed pool of
 * {@code availableProcessors()} platform threads. Virtual threads must not cost malloc4j a thread
 * heap each (Netty #12848): after the trial, the malloc4j benchmarks print the heap's
 * {@code metadataBytes}, which should stay small and bounded. The score is ns per task, thread
 * start and scheduling included. With one block a task, starting a virtual thread is most of the
 * score; with 64, the allocator's own path for virtual threads (a shared stripe under a lock,
 * against a thread heap of its own on a platform thread) is.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {Jvm.NATIVE_ACCESS,
        Jvm.HEAP_MIN, Jvm.HEAP_MAX, Jvm.HEAP_PRE_TOUCH})
@OperationsPerInvocation(VirtualThreadsBenchmark.TASKS)
public class VirtualThreadsBenchmark {
    /** Tasks per invocation. */
    public static final int TASKS = 100_000;
    /** The block each task allocates. */
    public static final long BLOCK_SIZE = 64;
    private static final Heap HEAP = Peers.Malloc4j.HEAP;

    /** The tasks, made for this trial's {@code blocksPerTask}. */
    @State(Scope.Benchmark)
    public static class Tasks {
        /** How many blocks each task allocates and frees, one after another. */
        @Param({"1", "64"})
        public int blocksPerTask;
        Runnable malloc4j;
        Runnable glibc;

        @Setup(Level.Trial)
        public void make() {
            malloc4j = malloc4jPairs(blocksPerTask);
            glibc = glibcPairs(blocksPerTask);
        }
    }

    /**
     * @return work that allocates and frees {@code count} {@value #BLOCK_SIZE}-byte blocks of
     *     malloc4j's global heap, one after another
     */
    static Runnable malloc4jPairs(int count) {
        return () -> {
            for (int i = 0; i < count; i++) {
                HEAP.freeAddress(HEAP.mallocAddress(BLOCK_SIZE));
            }
        };
    }

    /** @return the same work through glibc's malloc and free */
    static Runnable glibcPairs(int count) {
        return () -> {
            for (int i = 0; i < count; i++) {
                Glibc.free(Glibc.malloc(BLOCK_SIZE));
            }
        };
    }

    /** A fixed pool of one platform thread per processor, made once per trial. */
    @State(Scope.Benchmark)
    public static class PlatformPool {
        public ExecutorService pool;

        @Setup(Level.Trial)
        public void start() {
            pool = Executors.newFixedThreadPool(Runtime.getRuntime().availableProcessors());
        }

        @TearDown(Level.Trial)
        public void stop() throws InterruptedException {
            pool.shutdown();
            pool.awaitTermination(1, TimeUnit.MINUTES);
        }
    }

    /** Prints malloc4j's global heap counters after a trial of a malloc4j benchmark. */
    @State(Scope.Benchmark)
    public static class Malloc4jStats {
        @TearDown(Level.Trial)
        public void print(BenchmarkParams params) {
            HeapStats stats = HEAP.stats();
            System.out.printf("%n[malloc4j] after %s: metadataBytes=%,d liveBlocks=%,d committedBytes=%,d"
                    + " reservedBytes=%,d%n", params.getBenchmark(), stats.metadataBytes(), stats.liveBlocks(),
                    stats.committedBytes(), stats.reservedBytes());
            HEAP.trim();
            stats = HEAP.stats();
            System.out.printf("[malloc4j] after trim(): metadataBytes=%,d committedBytes=%,d%n",
                    stats.metadataBytes(), stats.committedBytes());
        }
    }

    private static void onVirtualThreads(Runnable task) {
        try (ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < TASKS; i++) {
                executor.execute(task);
            }
        }
    }

    private static void onPool(ExecutorService pool, Runnable task) throws InterruptedException {
        CountDownLatch done = new CountDownLatch(TASKS);
        Runnable counted = () -> {
            task.run();
            done.countDown();
        };
        for (int i = 0; i < TASKS; i++) {
            pool.execute(counted);
        }
        done.await();
    }

    @Benchmark
    @Baseline(1)
    public void malloc4jVirtual(Tasks tasks, Malloc4jStats stats) {
        onVirtualThreads(tasks.malloc4j);
    }

    @Benchmark
    public void malloc4jPlatform(Tasks tasks, PlatformPool pool, Malloc4jStats stats) throws InterruptedException {
        onPool(pool.pool, tasks.malloc4j);
    }

    @Benchmark
    public void glibcVirtual(Tasks tasks) {
        onVirtualThreads(tasks.glibc);
    }

    @Benchmark
    public void glibcPlatform(Tasks tasks, PlatformPool pool) throws InterruptedException {
        onPool(pool.pool, tasks.glibc);
    }
}
