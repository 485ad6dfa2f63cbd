package org.malloc4j.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.malloc4j.CheckMode;
import org.malloc4j.Heap;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What malloc4j's checks cost: the same malloc+free pair on heaps built with {@link CheckMode#FAST},
 * {@link CheckMode#SAMPLED} (the default interval: one allocation in 50,000 checked) and
 * {@link CheckMode#FULL}, through the segment API and the raw API, and one block in a scope of its
 * own ({@link Heap#newScope()}, allocated and closed). The ratios to {@code fastRaw},
 * {@code fastSegment} and {@code fastScope} are the overhead of each mode. Score: ns per pair (per
 * scope).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {Jvm.NATIVE_ACCESS,
        Jvm.HEAP_MIN, Jvm.HEAP_MAX, Jvm.HEAP_PRE_TOUCH})
public class CheckModeBenchmark {

    /** Mixed request sizes, cycled through by one thread. */
    @State(Scope.Thread)
    public static class Requests extends SizeStream {
        @Setup
        public void setup() {
            init(Sizes.MIXED);
        }
    }

    /** A heap of its own in one check mode, closed after the trial. */
    public abstract static class ModeHeap {
        public Heap heap;

        abstract CheckMode mode();

        @Setup(Level.Trial)
        public void open() {
            heap = Heap.builder().name("bench-" + mode().name().toLowerCase(java.util.Locale.ROOT))
                    .checkMode(mode()).build();
        }

        @TearDown(Level.Trial)
        public void close() {
            heap.close();
        }
    }

    @State(Scope.Benchmark)
    public static class FastHeap extends ModeHeap {
        @Override
        CheckMode mode() {
            return CheckMode.FAST;
        }
    }

    @State(Scope.Benchmark)
    public static class SampledHeap extends ModeHeap {
        @Override
        CheckMode mode() {
            return CheckMode.SAMPLED;
        }
    }

    @State(Scope.Benchmark)
    public static class FullHeap extends ModeHeap {
        @Override
        CheckMode mode() {
            return CheckMode.FULL;
        }
    }

    private static long segmentPair(Heap heap, long size) {
        MemorySegment block = heap.malloc(size);
        heap.free(block);
        return block.address();
    }

    private static long rawPair(Heap heap, long size) {
        long address = heap.mallocAddress(size);
        heap.freeAddress(address);
        return address;
    }

    private static long scopePair(Heap heap, long size) {
        try (Arena scope = heap.newScope()) {
            return scope.allocate(size).address();
        }
    }

    @Benchmark
    @Baseline(1)
    public long fastRaw(Requests s, FastHeap h) {
        return rawPair(h.heap, s.next());
    }

    @Benchmark
    public long sampledRaw(Requests s, SampledHeap h) {
        return rawPair(h.heap, s.next());
    }

    @Benchmark
    public long fullRaw(Requests s, FullHeap h) {
        return rawPair(h.heap, s.next());
    }

    @Benchmark
    @Baseline(2)
    public long fastSegment(Requests s, FastHeap h) {
        return segmentPair(h.heap, s.next());
    }

    @Benchmark
    public long sampledSegment(Requests s, SampledHeap h) {
        return segmentPair(h.heap, s.next());
    }

    @Benchmark
    public long fullSegment(Requests s, FullHeap h) {
        return segmentPair(h.heap, s.next());
    }

    @Benchmark
    @Baseline(3)
    public long fastScope(Requests s, FastHeap h) {
        return scopePair(h.heap, s.next());
    }

    @Benchmark
    public long fullScope(Requests s, FullHeap h) {
        return scopePair(h.heap, s.next());
    }
}
