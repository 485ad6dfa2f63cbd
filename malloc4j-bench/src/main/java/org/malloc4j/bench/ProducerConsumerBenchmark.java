package org.malloc4j.bench;

import java.util.concurrent.TimeUnit;
import org.malloc4j.Heap;
import org.malloc4j.bench.Natives.Glibc;
import org.malloc4j.bench.Natives.Jemalloc;
import org.malloc4j.bench.Natives.Mimalloc;
import org.malloc4j.bench.Natives.Tcmalloc;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.GroupThreads;
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
import org.openjdk.jmh.infra.Control;

/**
 * Blocks allocated on one thread and freed on another: a producer mallocs and hands the address
 * through a preallocated {@link SpscRing} of {@value SpscRing#CAPACITY} slots; a consumer takes it
 * and frees it (a cross-thread free: mimalloc's and malloc4j's thread-free path, jemalloc's and
 * tcmalloc's remote free). Each peer is a JMH group of one producer and one consumer thread. The
 * native peers are linked twice: {@code glibc}, {@code jemalloc}, {@code mimalloc} and
 * {@code tcmalloc} through critical downcalls, and the {@code …Standard} groups through standard
 * ones, as the JDK asks a function like {@code malloc} to be linked ({@link Natives.Standard}).
 * The {@code handoffOnly} group hands a constant through the same ring with no allocator: the
 * floor under the others' scores ({@link HandoffOnly}).
 *
 * <p>JMH reports the group's score (primary) and each thread's ({@code :malloc4jRawProducer},
 * {@code :malloc4jRawConsumer}, and so on). In the steady state both threads go at the pace of
 * the slower one, so each is the ns per handed-off block; a side that waits for the other spins
 * and counts that wait.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {Jvm.NATIVE_ACCESS,
        Jvm.HEAP_MIN, Jvm.HEAP_MAX, Jvm.HEAP_PRE_TOUCH})
public class ProducerConsumerBenchmark {
    private static final Heap HEAP = Peers.Malloc4j.HEAP;

    /** The ring a group shares, the producer's sizes, and how leftovers are freed after an iteration. */
    @State(Scope.Group)
    public abstract static class Handoff {
        @Param({"64", "mixed"})
        public String size;

        final SpscRing ring = new SpscRing();
        private long[] sizes;
        private int next;

        @Setup(Level.Trial)
        public void setup() {
            sizes = Sizes.of(size, Sizes.STREAM_LENGTH);
        }

        /** Allocates a block with this peer's malloc. */
        abstract long allocate(long size);

        /** Frees a block with this peer's free. */
        abstract void release(long address);

        /** The producer's operation: a block of the next size, queued. */
        final void produce(Control control) {
            handOff(allocate(nextSize()), control);
        }

        /** The consumer's operation: the next queued block, freed. */
        final void consume(Control control) {
            long address = take(control);
            if (address != 0) {
                release(address);
            }
        }

        final long nextSize() {
            return sizes[next++ & (Sizes.STREAM_LENGTH - 1)];
        }

        /** Producer: queues {@code address}, spinning while the ring is full; frees it itself at the iteration's end. */
        final void handOff(long address, Control control) {
            while (!ring.offer(address)) {
                if (control.stopMeasurement) {
                    release(address);
                    return;
                }
                Thread.onSpinWait();
            }
        }

        /** Consumer: the next address, spinning while the ring is empty; 0 at the iteration's end. */
        final long take(Control control) {
            long address;
            while ((address = ring.poll()) == 0) {
                if (control.stopMeasurement) {
                    return 0;
                }
                Thread.onSpinWait();
            }
            return address;
        }

        /** Frees what is still queued when both threads have stopped. */
        @TearDown(Level.Iteration)
        public void drain() {
            for (long address; (address = ring.poll()) != 0; ) {
                release(address);
            }
        }
    }

    @State(Scope.Group)
    public static class Malloc4jHandoff extends Handoff {
        @Override
        long allocate(long size) {
            return HEAP.mallocAddress(size);
        }

        @Override
        void release(long address) {
            HEAP.freeAddress(address);
        }
    }

    /**
     * The handoff alone, the floor under every group's score: a constant "address" through the same
     * ring, never allocated or freed, as {@code ReplayBenchmark.neverFreesRaw} is for a replay.
     */
    @State(Scope.Group)
    public static class HandoffOnly extends Handoff {
        private static final long ADDRESS = 16;

        @Override
        long allocate(long size) {
            return ADDRESS;
        }

        @Override
        void release(long address) {
        }
    }

    @State(Scope.Group)
    public static class GlibcHandoff extends Handoff {
        @Override
        long allocate(long size) {
            return Glibc.malloc(size);
        }

        @Override
        void release(long address) {
            Glibc.free(address);
        }
    }

    @State(Scope.Group)
    public static class JemallocHandoff extends Handoff {
        @Setup(Level.Trial)
        public void check() {
            Natives.Library.JEMALLOC.require();
        }

        @Override
        long allocate(long size) {
            return Jemalloc.malloc(size);
        }

        @Override
        void release(long address) {
            Jemalloc.free(address);
        }
    }

    @State(Scope.Group)
    public static class MimallocHandoff extends Handoff {
        @Setup(Level.Trial)
        public void check() {
            Natives.Library.MIMALLOC.require();
        }

        @Override
        long allocate(long size) {
            return Mimalloc.malloc(size);
        }

        @Override
        void release(long address) {
            Mimalloc.free(address);
        }
    }

    @State(Scope.Group)
    public static class TcmallocHandoff extends Handoff {
        @Setup(Level.Trial)
        public void check() {
            Natives.Library.TCMALLOC.require();
        }

        @Override
        long allocate(long size) {
            return Tcmalloc.malloc(size);
        }

        @Override
        void release(long address) {
            Tcmalloc.free(address);
        }
    }

    @State(Scope.Group)
    public static class GlibcStandardHandoff extends Handoff {
        @Override
        long allocate(long size) {
            return Natives.Standard.Glibc.malloc(size);
        }

        @Override
        void release(long address) {
            Natives.Standard.Glibc.free(address);
        }
    }

    @State(Scope.Group)
    public static class JemallocStandardHandoff extends Handoff {
        @Setup(Level.Trial)
        public void check() {
            Natives.Library.JEMALLOC.require();
        }

        @Override
        long allocate(long size) {
            return Natives.Standard.Jemalloc.malloc(size);
        }

        @Override
        void release(long address) {
            Natives.Standard.Jemalloc.free(address);
        }
    }

    @State(Scope.Group)
    public static class MimallocStandardHandoff extends Handoff {
        @Setup(Level.Trial)
        public void check() {
            Natives.Library.MIMALLOC.require();
        }

        @Override
        long allocate(long size) {
            return Natives.Standard.Mimalloc.malloc(size);
        }

        @Override
        void release(long address) {
            Natives.Standard.Mimalloc.free(address);
        }
    }

    @State(Scope.Group)
    public static class TcmallocStandardHandoff extends Handoff {
        @Setup(Level.Trial)
        public void check() {
            Natives.Library.TCMALLOC.require();
        }

        @Override
        long allocate(long size) {
            return Natives.Standard.Tcmalloc.malloc(size);
        }

        @Override
        void release(long address) {
            Natives.Standard.Tcmalloc.free(address);
        }
    }

    @Benchmark
    @Group("malloc4jRaw")
    @GroupThreads(1)
    @Baseline(1)
    public void malloc4jRawProducer(Malloc4jHandoff h, Control control) {
        h.produce(control);
    }

    @Benchmark
    @Group("malloc4jRaw")
    @GroupThreads(1)
    public void malloc4jRawConsumer(Malloc4jHandoff h, Control control) {
        h.consume(control);
    }

    @Benchmark
    @Group("handoffOnly")
    @GroupThreads(1)
    public void handoffOnlyProducer(HandoffOnly h, Control control) {
        h.produce(control);
    }

    @Benchmark
    @Group("handoffOnly")
    @GroupThreads(1)
    public void handoffOnlyConsumer(HandoffOnly h, Control control) {
        h.consume(control);
    }

    @Benchmark
    @Group("glibc")
    @GroupThreads(1)
    public void glibcProducer(GlibcHandoff h, Control control) {
        h.produce(control);
    }

    @Benchmark
    @Group("glibc")
    @GroupThreads(1)
    public void glibcConsumer(GlibcHandoff h, Control control) {
        h.consume(control);
    }

    @Benchmark
    @Group("jemalloc")
    @GroupThreads(1)
    public void jemallocProducer(JemallocHandoff h, Control control) {
        h.produce(control);
    }

    @Benchmark
    @Group("jemalloc")
    @GroupThreads(1)
    public void jemallocConsumer(JemallocHandoff h, Control control) {
        h.consume(control);
    }

    @Benchmark
    @Group("mimalloc")
    @GroupThreads(1)
    public void mimallocProducer(MimallocHandoff h, Control control) {
        h.produce(control);
    }

    @Benchmark
    @Group("mimalloc")
    @GroupThreads(1)
    public void mimallocConsumer(MimallocHandoff h, Control control) {
        h.consume(control);
    }

    @Benchmark
    @Group("tcmalloc")
    @GroupThreads(1)
    public void tcmallocProducer(TcmallocHandoff h, Control control) {
        h.produce(control);
    }

    @Benchmark
    @Group("tcmalloc")
    @GroupThreads(1)
    public void tcmallocConsumer(TcmallocHandoff h, Control control) {
        h.consume(control);
    }

    @Benchmark
    @Group("glibcStandard")
    @GroupThreads(1)
    public void glibcStandardProducer(GlibcStandardHandoff h, Control control) {
        h.produce(control);
    }

    @Benchmark
    @Group("glibcStandard")
    @GroupThreads(1)
    public void glibcStandardConsumer(GlibcStandardHandoff h, Control control) {
        h.consume(control);
    }

    @Benchmark
    @Group("jemallocStandard")
    @GroupThreads(1)
    public void jemallocStandardProducer(JemallocStandardHandoff h, Control control) {
        h.produce(control);
    }

    @Benchmark
    @Group("jemallocStandard")
    @GroupThreads(1)
    public void jemallocStandardConsumer(JemallocStandardHandoff h, Control control) {
        h.consume(control);
    }

    @Benchmark
    @Group("mimallocStandard")
    @GroupThreads(1)
    public void mimallocStandardProducer(MimallocStandardHandoff h, Control control) {
        h.produce(control);
    }

    @Benchmark
    @Group("mimallocStandard")
    @GroupThreads(1)
    public void mimallocStandardConsumer(MimallocStandardHandoff h, Control control) {
        h.consume(control);
    }

    @Benchmark
    @Group("tcmallocStandard")
    @GroupThreads(1)
    public void tcmallocStandardProducer(TcmallocStandardHandoff h, Control control) {
        h.produce(control);
    }

    @Benchmark
    @Group("tcmallocStandard")
    @GroupThreads(1)
    public void tcmallocStandardConsumer(TcmallocStandardHandoff h, Control control) {
        h.consume(control);
    }
}
