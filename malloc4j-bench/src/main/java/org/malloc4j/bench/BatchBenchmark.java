package org.malloc4j.bench;

import io.netty.buffer.ByteBuf;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.memory.ArrowBuf;
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
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * {@value #BLOCKS} blocks of mixed sizes ({@value Sizes#MIXED_MIN} to {@value Sizes#MIXED_MAX}
 * bytes) allocated, then all freed in a shuffled order: many live blocks at once, frees out of
 * allocation order. The score is ns per malloc+free pair (the invocation's time / {@value #BLOCKS}).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {Jvm.NATIVE_ACCESS, Jvm.OPEN_NIO, Jvm.NO_NETTY_LEAK_DETECTION, Jvm.NETTY_UNSAFE,
        Jvm.HEAP_MIN, Jvm.HEAP_MAX, Jvm.HEAP_PRE_TOUCH})
@OperationsPerInvocation(BatchBenchmark.BLOCKS)
public class BatchBenchmark {
    /** Blocks a batch holds. */
    public static final int BLOCKS = 1000;
    private static final Heap HEAP = Peers.Malloc4j.HEAP;
    /** The floor's free lists: one thread's, as each fork runs one. */
    private static final FreeListFloor FLOOR = new FreeListFloor();

    /** The batch's sizes, free order and slots, all made before measuring. */
    @State(Scope.Thread)
    public static class Batch {
        public long[] sizes;
        public int[] freeOrder;
        public long[] addresses;
        public MemorySegment[] segments;
        public Arena[] arenas;
        public ByteBuf[] buffers;
        public ArrowBuf[] arrowBuffers;

        @Setup
        public void setup() {
            sizes = Sizes.of(Sizes.MIXED, BLOCKS);
            freeOrder = Sizes.shuffledOrder(BLOCKS);
            addresses = new long[BLOCKS];
            segments = new MemorySegment[BLOCKS];
            arenas = new Arena[BLOCKS];
            buffers = new ByteBuf[BLOCKS];
            arrowBuffers = new ArrowBuf[BLOCKS];
        }
    }

    @Benchmark
    @Baseline(1)
    public void malloc4jRaw(Batch b) {
        for (int i = 0; i < BLOCKS; i++) {
            b.addresses[i] = HEAP.mallocAddress(b.sizes[i]);
        }
        for (int i = 0; i < BLOCKS; i++) {
            HEAP.freeAddress(b.addresses[b.freeOrder[i]]);
        }
    }

    @Benchmark
    @Baseline(2)
    public void malloc4jSegment(Batch b) {
        for (int i = 0; i < BLOCKS; i++) {
            b.segments[i] = HEAP.malloc(b.sizes[i]);
        }
        for (int i = 0; i < BLOCKS; i++) {
            HEAP.free(b.segments[b.freeOrder[i]]);
        }
    }

    /** {@link FreeListFloor}'s batch: free lists in Java arrays with no checks, the bookkeeping alone. */
    @Benchmark
    public void freeListFloor(Batch b) {
        for (int i = 0; i < BLOCKS; i++) {
            b.addresses[i] = FLOOR.malloc(b.sizes[i]);
        }
        for (int i = 0; i < BLOCKS; i++) {
            FLOOR.free(b.addresses[b.freeOrder[i]]);
        }
    }

    @Benchmark
    public void glibcRaw(Batch b) {
        for (int i = 0; i < BLOCKS; i++) {
            b.addresses[i] = Glibc.malloc(b.sizes[i]);
        }
        for (int i = 0; i < BLOCKS; i++) {
            Glibc.free(b.addresses[b.freeOrder[i]]);
        }
    }

    @Benchmark
    public void jemallocRaw(Batch b, Peers.JemallocAvailable check) {
        for (int i = 0; i < BLOCKS; i++) {
            b.addresses[i] = Jemalloc.malloc(b.sizes[i]);
        }
        for (int i = 0; i < BLOCKS; i++) {
            Jemalloc.free(b.addresses[b.freeOrder[i]]);
        }
    }

    @Benchmark
    public void mimallocRaw(Batch b, Peers.MimallocAvailable check) {
        for (int i = 0; i < BLOCKS; i++) {
            b.addresses[i] = Mimalloc.malloc(b.sizes[i]);
        }
        for (int i = 0; i < BLOCKS; i++) {
            Mimalloc.free(b.addresses[b.freeOrder[i]]);
        }
    }

    @Benchmark
    public void tcmallocRaw(Batch b, Peers.TcmallocAvailable check) {
        for (int i = 0; i < BLOCKS; i++) {
            b.addresses[i] = Tcmalloc.malloc(b.sizes[i]);
        }
        for (int i = 0; i < BLOCKS; i++) {
            Tcmalloc.free(b.addresses[b.freeOrder[i]]);
        }
    }

    @Benchmark
    public void glibcStandardRaw(Batch b) {
        for (int i = 0; i < BLOCKS; i++) {
            b.addresses[i] = Natives.Standard.Glibc.malloc(b.sizes[i]);
        }
        for (int i = 0; i < BLOCKS; i++) {
            Natives.Standard.Glibc.free(b.addresses[b.freeOrder[i]]);
        }
    }

    @Benchmark
    public void jemallocStandardRaw(Batch b, Peers.JemallocAvailable check) {
        for (int i = 0; i < BLOCKS; i++) {
            b.addresses[i] = Natives.Standard.Jemalloc.malloc(b.sizes[i]);
        }
        for (int i = 0; i < BLOCKS; i++) {
            Natives.Standard.Jemalloc.free(b.addresses[b.freeOrder[i]]);
        }
    }

    @Benchmark
    public void mimallocStandardRaw(Batch b, Peers.MimallocAvailable check) {
        for (int i = 0; i < BLOCKS; i++) {
            b.addresses[i] = Natives.Standard.Mimalloc.malloc(b.sizes[i]);
        }
        for (int i = 0; i < BLOCKS; i++) {
            Natives.Standard.Mimalloc.free(b.addresses[b.freeOrder[i]]);
        }
    }

    @Benchmark
    public void tcmallocStandardRaw(Batch b, Peers.TcmallocAvailable check) {
        for (int i = 0; i < BLOCKS; i++) {
            b.addresses[i] = Natives.Standard.Tcmalloc.malloc(b.sizes[i]);
        }
        for (int i = 0; i < BLOCKS; i++) {
            Natives.Standard.Tcmalloc.free(b.addresses[b.freeOrder[i]]);
        }
    }

    @Benchmark
    public void glibcSegment(Batch b) {
        for (int i = 0; i < BLOCKS; i++) {
            b.segments[i] = Natives.segment(Glibc.malloc(b.sizes[i]), b.sizes[i]);
        }
        for (int i = 0; i < BLOCKS; i++) {
            Glibc.free(b.segments[b.freeOrder[i]].address());
        }
    }

    @Benchmark
    public void jemallocSegment(Batch b, Peers.JemallocAvailable check) {
        for (int i = 0; i < BLOCKS; i++) {
            b.segments[i] = Natives.segment(Jemalloc.malloc(b.sizes[i]), b.sizes[i]);
        }
        for (int i = 0; i < BLOCKS; i++) {
            Jemalloc.free(b.segments[b.freeOrder[i]].address());
        }
    }

    @Benchmark
    public void mimallocSegment(Batch b, Peers.MimallocAvailable check) {
        for (int i = 0; i < BLOCKS; i++) {
            b.segments[i] = Natives.segment(Mimalloc.malloc(b.sizes[i]), b.sizes[i]);
        }
        for (int i = 0; i < BLOCKS; i++) {
            Mimalloc.free(b.segments[b.freeOrder[i]].address());
        }
    }

    @Benchmark
    public void tcmallocSegment(Batch b, Peers.TcmallocAvailable check) {
        for (int i = 0; i < BLOCKS; i++) {
            b.segments[i] = Natives.segment(Tcmalloc.malloc(b.sizes[i]), b.sizes[i]);
        }
        for (int i = 0; i < BLOCKS; i++) {
            Tcmalloc.free(b.segments[b.freeOrder[i]].address());
        }
    }

    @Benchmark
    public void glibcStandardSegment(Batch b) {
        for (int i = 0; i < BLOCKS; i++) {
            b.segments[i] = Natives.segment(Natives.Standard.Glibc.malloc(b.sizes[i]), b.sizes[i]);
        }
        for (int i = 0; i < BLOCKS; i++) {
            Natives.Standard.Glibc.free(b.segments[b.freeOrder[i]].address());
        }
    }

    @Benchmark
    public void jemallocStandardSegment(Batch b, Peers.JemallocAvailable check) {
        for (int i = 0; i < BLOCKS; i++) {
            b.segments[i] = Natives.segment(Natives.Standard.Jemalloc.malloc(b.sizes[i]), b.sizes[i]);
        }
        for (int i = 0; i < BLOCKS; i++) {
            Natives.Standard.Jemalloc.free(b.segments[b.freeOrder[i]].address());
        }
    }

    @Benchmark
    public void mimallocStandardSegment(Batch b, Peers.MimallocAvailable check) {
        for (int i = 0; i < BLOCKS; i++) {
            b.segments[i] = Natives.segment(Natives.Standard.Mimalloc.malloc(b.sizes[i]), b.sizes[i]);
        }
        for (int i = 0; i < BLOCKS; i++) {
            Natives.Standard.Mimalloc.free(b.segments[b.freeOrder[i]].address());
        }
    }

    @Benchmark
    public void tcmallocStandardSegment(Batch b, Peers.TcmallocAvailable check) {
        for (int i = 0; i < BLOCKS; i++) {
            b.segments[i] = Natives.segment(Natives.Standard.Tcmalloc.malloc(b.sizes[i]), b.sizes[i]);
        }
        for (int i = 0; i < BLOCKS; i++) {
            Natives.Standard.Tcmalloc.free(b.segments[b.freeOrder[i]].address());
        }
    }

    @Benchmark
    public void arenaConfined(Batch b) {
        for (int i = 0; i < BLOCKS; i++) {
            Arena arena = Arena.ofConfined();
            arena.allocate(b.sizes[i], Heap.MIN_ALIGNMENT);
            b.arenas[i] = arena;
        }
        for (int i = 0; i < BLOCKS; i++) {
            b.arenas[b.freeOrder[i]].close();
        }
    }

    @Benchmark
    public void unsafe(Batch b) {
        for (int i = 0; i < BLOCKS; i++) {
            b.addresses[i] = Peers.Unsafe.allocate(b.sizes[i]);
        }
        for (int i = 0; i < BLOCKS; i++) {
            Peers.Unsafe.free(b.addresses[b.freeOrder[i]]);
        }
    }

    @Benchmark
    public void nettyPooled(Batch b) {
        for (int i = 0; i < BLOCKS; i++) {
            b.buffers[i] = Peers.NettyPooled.ALLOCATOR.directBuffer((int) b.sizes[i]);
        }
        for (int i = 0; i < BLOCKS; i++) {
            b.buffers[b.freeOrder[i]].release();
        }
    }

    @Benchmark
    public void nettyAdaptive(Batch b) {
        for (int i = 0; i < BLOCKS; i++) {
            b.buffers[i] = Peers.NettyAdaptive.ALLOCATOR.directBuffer((int) b.sizes[i]);
        }
        for (int i = 0; i < BLOCKS; i++) {
            b.buffers[b.freeOrder[i]].release();
        }
    }

    @Benchmark
    public void arrow(Batch b, Peers.Arrow arrow) {
        for (int i = 0; i < BLOCKS; i++) {
            b.arrowBuffers[i] = arrow.root.buffer(b.sizes[i]);
        }
        for (int i = 0; i < BLOCKS; i++) {
            b.arrowBuffers[b.freeOrder[i]].close();
        }
    }
}
