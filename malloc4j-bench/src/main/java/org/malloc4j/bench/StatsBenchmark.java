package org.malloc4j.bench;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.malloc4j.Heap;
import org.malloc4j.HeapStats;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One {@link Heap#stats()} call on a heap holding {@value #BLOCKS} blocks allocated in a row, every
 * third freed again: the fast paths count blocks but not bytes, so a call reads every page's block
 * table. {@code size} is a block size in bytes, or {@code mixed} for sizes of 1 to 64 B drawn with
 * a fixed seed, whose frees leave each page's free blocks scattered. The score is ms a call.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {Jvm.NATIVE_ACCESS,
        Jvm.HEAP_MIN, Jvm.HEAP_MAX, Jvm.HEAP_PRE_TOUCH})
@State(Scope.Benchmark)
public class StatsBenchmark {
    /** Blocks allocated; a third of them freed again. */
    public static final int BLOCKS = 4_000_000;

    @Param({"64", "mixed"})
    public String size;

    private Heap heap;

    @Setup(Level.Trial)
    public void fill() {
        heap = Heap.builder().name("stats benchmark").build();
        SplittableRandom random = new SplittableRandom(42);
        boolean mixed = size.equals("mixed");
        long fixed = mixed ? 0 : Long.parseLong(size);
        long[] blocks = new long[BLOCKS];
        for (int i = 0; i < BLOCKS; i++) {
            blocks[i] = heap.mallocAddress(mixed ? random.nextLong(1, 65) : fixed);
        }
        for (int i = 0; i < BLOCKS; i += 3) {
            heap.freeAddress(blocks[i]);
        }
    }

    @TearDown(Level.Trial)
    public void close() {
        heap.close();
    }

    @Benchmark
    @Baseline(1)
    public HeapStats stats() {
        return heap.stats();
    }
}
