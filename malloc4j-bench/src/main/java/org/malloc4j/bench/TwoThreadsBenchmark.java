package org.malloc4j.bench;

import java.lang.foreign.Arena;
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
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Two threads, each doing independent malloc+free pairs on the same allocator at once: whether the
 * allocator's fast path scales (per-thread heaps and caches) or contends on shared state. The score
 * is ns per pair as each thread sees it (JMH averages the two threads); a perfectly scaling allocator
 * scores as in {@link PairBenchmark}, given two free cores.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {Jvm.NATIVE_ACCESS})
@Threads(2)
public class TwoThreadsBenchmark {
    private static final Heap HEAP = Peers.Malloc4j.HEAP;

    /** Each thread's own copy of the request sizes. */
    @State(Scope.Thread)
    public static class Requests extends SizeStream {
        @Param({"64", "mixed"})
        public String size;

        @Setup
        public void setup() {
            init(size);
        }
    }

    @Benchmark
    @Baseline(1)
    public long malloc4jRaw(Requests s) {
        long address = HEAP.mallocAddress(s.next());
        HEAP.freeAddress(address);
        return address;
    }

    @Benchmark
    @Baseline(2)
    public long malloc4jSegment(Requests s) {
        MemorySegment block = HEAP.malloc(s.next());
        HEAP.free(block);
        return block.address();
    }

    @Benchmark
    public long glibcRaw(Requests s) {
        long address = Glibc.malloc(s.next());
        Glibc.free(address);
        return address;
    }

    @Benchmark
    public long jemallocRaw(Requests s, Peers.JemallocAvailable check) {
        long address = Jemalloc.malloc(s.next());
        Jemalloc.free(address);
        return address;
    }

    @Benchmark
    public long mimallocRaw(Requests s, Peers.MimallocAvailable check) {
        long address = Mimalloc.malloc(s.next());
        Mimalloc.free(address);
        return address;
    }

    @Benchmark
    public long tcmallocRaw(Requests s, Peers.TcmallocAvailable check) {
        long address = Tcmalloc.malloc(s.next());
        Tcmalloc.free(address);
        return address;
    }

    @Benchmark
    public long arenaConfined(Requests s) {
        try (Arena arena = Arena.ofConfined()) {
            return arena.allocate(s.next(), Heap.MIN_ALIGNMENT).address();
        }
    }

    @Benchmark
    public long unsafe(Requests s) {
        long address = Peers.Unsafe.allocate(s.next());
        Peers.Unsafe.free(address);
        return address;
    }
}
