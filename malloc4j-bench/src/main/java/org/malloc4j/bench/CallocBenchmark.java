package org.malloc4j.bench;

import java.lang.foreign.Arena;
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
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One zero-filled allocation and its free, back to back, on one thread: {@code calloc(1, size)} and
 * {@code free}, the pair {@code PairBenchmark} times for malloc. A block whose memory the allocator
 * knows to be zeros (fresh from the OS) is not filled again, so both the fill and the knowing are
 * measured. {@code Arena.ofConfined()} per block zeroes what it hands out (the FFM contract), as does
 * a malloc4j scope ({@code Heap.newScope()}, an {@code Arena} whose blocks come from the heap). The
 * score is ns per pair.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {Jvm.NATIVE_ACCESS,
        Jvm.HEAP_MIN, Jvm.HEAP_MAX, Jvm.HEAP_PRE_TOUCH})
@State(Scope.Thread)
public class CallocBenchmark extends SizeStream {
    private static final Heap HEAP = Peers.Malloc4j.HEAP;

    /** The request sizes, cycled through by one thread. */
    @Param({"64", "1024", "mixed"})
    public String size;

    @Setup
    public void setup() {
        init(size);
    }

    @Benchmark
    @Baseline(1)
    public long malloc4jRaw() {
        long address = HEAP.callocAddress(1, next());
        HEAP.freeAddress(address);
        return address;
    }

    @Benchmark
    public long malloc4jScope() {
        return Peers.blockInOwnArena(HEAP.newScope(), next());
    }

    @Benchmark
    public long glibcRaw() {
        long address = Glibc.calloc(1, next());
        Glibc.free(address);
        return address;
    }

    @Benchmark
    public long jemallocRaw(Peers.JemallocAvailable check) {
        long address = Jemalloc.calloc(1, next());
        Jemalloc.free(address);
        return address;
    }

    @Benchmark
    public long mimallocRaw(Peers.MimallocAvailable check) {
        long address = Mimalloc.calloc(1, next());
        Mimalloc.free(address);
        return address;
    }

    @Benchmark
    public long tcmallocRaw(Peers.TcmallocAvailable check) {
        long address = Tcmalloc.calloc(1, next());
        Tcmalloc.free(address);
        return address;
    }

    @Benchmark
    public long arenaConfined() {
        return Peers.blockInOwnArena(Arena.ofConfined(), next());
    }
}
