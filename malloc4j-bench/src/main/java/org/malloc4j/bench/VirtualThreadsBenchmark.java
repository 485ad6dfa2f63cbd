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
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;

/**
 * {@value #TASKS} tasks, each allocating and freeing one {@value #BLOCK_SIZE}-byte block, run on a
 * virtual thread each ({@code Executors.newVirtualThreadPerTaskExecutor()}) or on a fixed pool of
 * {@code availableProcessors()} platform threads. Virtual threads must not cost malloc4j a thread
 * heap each (Netty #12848): after the trial, the malloc4j benchmarks print the heap's
 * {@code metadataBytes}, which should stay small and bounded. The score is ns per task, thread
 * start and scheduling included.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {Jvm.NATIVE_ACCESS})
@OperationsPerInvocation(VirtualThreadsBenchmark.TASKS)
public class VirtualThreadsBenchmark {
    /** Tasks per invocation. */
    public static final int TASKS = 100_000;
    /** The block each task allocates. */
    public static final long BLOCK_SIZE = 64;
    private static final Heap HEAP = Peers.Malloc4j.HEAP;

    private static final Runnable MALLOC4J_TASK = () -> HEAP.freeAddress(HEAP.mallocAddress(BLOCK_SIZE));
    private static final Runnable GLIBC_TASK = () -> Glibc.free(Glibc.malloc(BLOCK_SIZE));

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
    public void malloc4jVirtual(Malloc4jStats stats) {
        onVirtualThreads(MALLOC4J_TASK);
    }

    @Benchmark
    public void malloc4jPlatform(PlatformPool pool, Malloc4jStats stats) throws InterruptedException {
        onPool(pool.pool, MALLOC4J_TASK);
    }

    @Benchmark
    public void glibcVirtual() {
        onVirtualThreads(GLIBC_TASK);
    }

    @Benchmark
    public void glibcPlatform(PlatformPool pool) throws InterruptedException {
        onPool(pool.pool, GLIBC_TASK);
    }
}
