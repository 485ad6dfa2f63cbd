package org.malloc4j.bench;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.malloc4j.Heap;
import org.malloc4j.bench.Natives.Glibc;
import org.malloc4j.bench.Natives.Jemalloc;
import org.malloc4j.bench.Natives.Mimalloc;
import org.malloc4j.bench.Natives.Tcmalloc;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A buffer grown by {@code realloc} from {@value #FIRST} bytes to {@value #LAST} bytes, doubling each
 * time (16 reallocs), then freed, as a growable array grows. The blocks' contents are not touched, so
 * what is measured is the allocator (in place or move, and the copy it makes when it moves). The
 * score is ns per whole growth.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {Jvm.NATIVE_ACCESS,
        Jvm.HEAP_MIN, Jvm.HEAP_MAX, Jvm.HEAP_PRE_TOUCH})
public class ReallocGrowthBenchmark {
    /** The first size. */
    public static final long FIRST = 16;
    /** The last size: 1 MiB. */
    public static final long LAST = 1 << 20;
    private static final Heap HEAP = Peers.Malloc4j.HEAP;

    @Benchmark
    @Baseline(1)
    public long malloc4jRaw() {
        long address = HEAP.mallocAddress(FIRST);
        for (long size = FIRST * 2; size <= LAST; size *= 2) {
            address = HEAP.reallocAddress(address, size);
        }
        HEAP.freeAddress(address);
        return address;
    }

    @Benchmark
    @Baseline(2)
    public long malloc4jSegment() {
        MemorySegment block = HEAP.malloc(FIRST);
        for (long size = FIRST * 2; size <= LAST; size *= 2) {
            block = HEAP.realloc(block, size);
        }
        HEAP.free(block);
        return block.address();
    }

    @Benchmark
    public long glibc() {
        long address = Glibc.malloc(FIRST);
        for (long size = FIRST * 2; size <= LAST; size *= 2) {
            address = Glibc.realloc(address, size);
        }
        Glibc.free(address);
        return address;
    }

    @Benchmark
    public long jemalloc(Peers.JemallocAvailable check) {
        long address = Jemalloc.malloc(FIRST);
        for (long size = FIRST * 2; size <= LAST; size *= 2) {
            address = Jemalloc.realloc(address, size);
        }
        Jemalloc.free(address);
        return address;
    }

    @Benchmark
    public long mimalloc(Peers.MimallocAvailable check) {
        long address = Mimalloc.malloc(FIRST);
        for (long size = FIRST * 2; size <= LAST; size *= 2) {
            address = Mimalloc.realloc(address, size);
        }
        Mimalloc.free(address);
        return address;
    }

    @Benchmark
    public long tcmalloc(Peers.TcmallocAvailable check) {
        long address = Tcmalloc.malloc(FIRST);
        for (long size = FIRST * 2; size <= LAST; size *= 2) {
            address = Tcmalloc.realloc(address, size);
        }
        Tcmalloc.free(address);
        return address;
    }

    @Benchmark
    public long unsafe() {
        long address = Peers.Unsafe.allocate(FIRST);
        for (long size = FIRST * 2; size <= LAST; size *= 2) {
            address = Peers.Unsafe.reallocate(address, size);
        }
        Peers.Unsafe.free(address);
        return address;
    }
}
