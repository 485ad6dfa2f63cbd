package org.malloc4j.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.malloc4j.BumpArena;
import org.malloc4j.FixedSizePool;
import org.malloc4j.Heap;
import org.malloc4j.NativeIntArray;
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

/**
 * malloc4j's allocation patterns against what a Java program would use instead. One concept per
 * nested class: {@link Bump} (arena allocation), {@link IntGrowth} (a growable int array),
 * {@link Pool} (fixed-size blocks).
 */
public class PatternBenchmark {
    private static final Heap HEAP = Peers.Malloc4j.HEAP;

    private PatternBenchmark() {
    }

    /**
     * {@value #SLICES} allocations of the {@code size} parameter ({@value Sizes#MIXED}: random
     * {@value Sizes#MIXED_MIN} to {@value Sizes#MIXED_MAX} bytes), all dropped at once: a
     * {@link BumpArena} (then {@code reset()}), {@code SegmentAllocator.slicingAllocator} over a
     * preallocated segment (a new slicing allocator per round), and an {@code Arena.ofConfined()}
     * per allocation (opened and closed around it, and zeroing it). Score: ns per allocation.
     */
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    @Warmup(iterations = 3, time = 1)
    @Measurement(iterations = 5, time = 1)
    @Fork(value = 2, jvmArgsAppend = {Jvm.NATIVE_ACCESS,
            Jvm.HEAP_MIN, Jvm.HEAP_MAX, Jvm.HEAP_PRE_TOUCH})
    @OperationsPerInvocation(Bump.SLICES)
    public static class Bump {
        /** Allocations per round. */
        public static final int SLICES = 1000;

        /** The sizes, the arena and the preallocated segment, made once per trial. */
        @State(Scope.Thread)
        public static class Slices {
            @Param({"64", "mixed"})
            public String size;

            public long[] sizes;
            public BumpArena bump;
            public Arena backing;
            public MemorySegment preallocated;

            @Setup(Level.Trial)
            public void open() {
                sizes = Sizes.of(size, SLICES);
                bump = BumpArena.ofConfined(HEAP);
                long total = 0;
                for (long s : sizes) {
                    total += (s + Heap.MIN_ALIGNMENT - 1) & -Heap.MIN_ALIGNMENT;
                }
                backing = Arena.ofConfined();
                preallocated = backing.allocate(total, Heap.MIN_ALIGNMENT);
            }

            @TearDown(Level.Trial)
            public void close() {
                bump.close();
                backing.close();
            }
        }

        @Benchmark
        @Baseline(1)
        public long bumpArena(Slices s) {
            long sum = 0;
            BumpArena bump = s.bump;
            for (long size : s.sizes) {
                sum += bump.allocate(size, Heap.MIN_ALIGNMENT).address();
            }
            bump.reset();
            return sum;
        }

        @Benchmark
        public long slicingAllocator(Slices s) {
            long sum = 0;
            SegmentAllocator slicing = SegmentAllocator.slicingAllocator(s.preallocated);
            for (long size : s.sizes) {
                sum += slicing.allocate(size, Heap.MIN_ALIGNMENT).address();
            }
            return sum;
        }

        @Benchmark
        public long arenaConfined(Slices s) {
            long sum = 0;
            for (long size : s.sizes) {
                try (Arena arena = Arena.ofConfined()) {
                    sum += arena.allocate(size, Heap.MIN_ALIGNMENT).address();
                }
            }
            return sum;
        }
    }

    /**
     * {@value #COUNT} ints appended one by one to an empty growable array, which is then dropped:
     * {@link NativeIntArray} (grows by {@code realloc}), an {@code int[]} doubled by hand with
     * {@code Arrays.copyOf}, and an {@code ArrayList<Integer>} (boxing included: that is its cost).
     * Score: ns per added int.
     */
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    @Warmup(iterations = 3, time = 1)
    @Measurement(iterations = 5, time = 1)
    @Fork(value = 2, jvmArgsAppend = {Jvm.NATIVE_ACCESS,
            Jvm.HEAP_MIN, Jvm.HEAP_MAX, Jvm.HEAP_PRE_TOUCH})
    @OperationsPerInvocation(IntGrowth.COUNT)
    public static class IntGrowth {
        /** Ints added per invocation. */
        public static final int COUNT = 1_000_000;

        @Benchmark
        @Baseline(1)
        public long nativeIntArray() {
            try (NativeIntArray array = new NativeIntArray(HEAP)) {
                for (int i = 0; i < COUNT; i++) {
                    array.add(i);
                }
                return array.size();
            }
        }

        @Benchmark
        public long intArray() {
            int[] array = new int[8];
            int size = 0;
            for (int i = 0; i < COUNT; i++) {
                if (size == array.length) {
                    array = Arrays.copyOf(array, size * 2);
                }
                array[size++] = i;
            }
            return array[size - 1] + size;
        }

        @Benchmark
        public long arrayList() {
            List<Integer> list = new ArrayList<>();
            for (int i = 0; i < COUNT; i++) {
                list.add(i);
            }
            return list.size();
        }
    }

    /**
     * One block of {@code blockSize} bytes allocated and freed: a {@link FixedSizePool} (not
     * thread-safe, as a pool owned by one thread is) against a pair on the heap. Score: ns per pair;
     * the baselines are the heap pairs, so a pool's ratio under 1 is its gain.
     */
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    @Warmup(iterations = 3, time = 1)
    @Measurement(iterations = 5, time = 1)
    @Fork(value = 2, jvmArgsAppend = {Jvm.NATIVE_ACCESS,
            Jvm.HEAP_MIN, Jvm.HEAP_MAX, Jvm.HEAP_PRE_TOUCH})
    public static class Pool {
        /** The pool, made once per trial. */
        @State(Scope.Thread)
        public static class Blocks {
            @Param({"64", "1024"})
            public long blockSize;

            public FixedSizePool pool;

            @Setup(Level.Trial)
            public void open() {
                pool = FixedSizePool.builder(HEAP, blockSize).build();
            }

            @TearDown(Level.Trial)
            public void close() {
                pool.close();
            }
        }

        @Benchmark
        public long poolRaw(Blocks b) {
            long address = b.pool.allocateAddress();
            b.pool.freeAddress(address);
            return address;
        }

        @Benchmark
        public long poolSegment(Blocks b) {
            MemorySegment block = b.pool.allocate();
            b.pool.free(block);
            return block.address();
        }

        @Benchmark
        @Baseline(1)
        public long heapRaw(Blocks b) {
            long address = HEAP.mallocAddress(b.blockSize);
            HEAP.freeAddress(address);
            return address;
        }

        @Benchmark
        @Baseline(2)
        public long heapSegment(Blocks b) {
            MemorySegment block = HEAP.malloc(b.blockSize);
            HEAP.free(block);
            return block.address();
        }
    }
}
