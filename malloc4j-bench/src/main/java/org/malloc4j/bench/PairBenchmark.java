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
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One allocation and its free, back to back, on one thread: the cost of a block whose lifetime is a
 * few statements. Each method is a peer; the score is ns per malloc+free pair.
 *
 * <p>Native peers come twice: raw (addresses, as C would use them) and wrapped as a
 * {@link MemorySegment} of the block's size (what a Java program needs for bounds-checked access).
 * {@code Arena.ofConfined()}/{@code ofShared()} per block zero the memory they hand out (the FFM
 * contract); the others do not.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {Jvm.NATIVE_ACCESS, Jvm.OPEN_NIO, Jvm.NO_NETTY_LEAK_DETECTION, Jvm.NETTY_UNSAFE})
public class PairBenchmark {
    private static final Heap HEAP = Peers.Malloc4j.HEAP;

    /** The request sizes, cycled through by one thread. */
    @State(Scope.Thread)
    public static class Requests extends SizeStream {
        @Param({"16", "64", "256", "1024", "4096", "65536", "1048576", "mixed"})
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
    public long glibcSegment(Requests s) {
        long size = s.next();
        MemorySegment block = Natives.segment(Glibc.malloc(size), size);
        Glibc.free(block.address());
        return block.address();
    }

    @Benchmark
    public long jemallocRaw(Requests s, Peers.JemallocAvailable check) {
        long address = Jemalloc.malloc(s.next());
        Jemalloc.free(address);
        return address;
    }

    @Benchmark
    public long jemallocSegment(Requests s, Peers.JemallocAvailable check) {
        long size = s.next();
        MemorySegment block = Natives.segment(Jemalloc.malloc(size), size);
        Jemalloc.free(block.address());
        return block.address();
    }

    @Benchmark
    public long mimallocRaw(Requests s, Peers.MimallocAvailable check) {
        long address = Mimalloc.malloc(s.next());
        Mimalloc.free(address);
        return address;
    }

    @Benchmark
    public long mimallocSegment(Requests s, Peers.MimallocAvailable check) {
        long size = s.next();
        MemorySegment block = Natives.segment(Mimalloc.malloc(size), size);
        Mimalloc.free(block.address());
        return block.address();
    }

    @Benchmark
    public long tcmallocRaw(Requests s, Peers.TcmallocAvailable check) {
        long address = Tcmalloc.malloc(s.next());
        Tcmalloc.free(address);
        return address;
    }

    @Benchmark
    public long tcmallocSegment(Requests s, Peers.TcmallocAvailable check) {
        long size = s.next();
        MemorySegment block = Natives.segment(Tcmalloc.malloc(size), size);
        Tcmalloc.free(block.address());
        return block.address();
    }

    @Benchmark
    public long arenaConfined(Requests s) {
        try (Arena arena = Arena.ofConfined()) {
            return arena.allocate(s.next(), Heap.MIN_ALIGNMENT).address();
        }
    }

    @Benchmark
    public long arenaShared(Requests s) {
        try (Arena arena = Arena.ofShared()) {
            return arena.allocate(s.next(), Heap.MIN_ALIGNMENT).address();
        }
    }

    @Benchmark
    public long unsafe(Requests s) {
        long address = Peers.Unsafe.allocate(s.next());
        Peers.Unsafe.free(address);
        return address;
    }

    @Benchmark
    public ByteBuf nettyPooled(Requests s) {
        ByteBuf buffer = Peers.NettyPooled.ALLOCATOR.directBuffer((int) s.next());
        buffer.release();
        return buffer;
    }

    @Benchmark
    public ByteBuf nettyAdaptive(Requests s) {
        ByteBuf buffer = Peers.NettyAdaptive.ALLOCATOR.directBuffer((int) s.next());
        buffer.release();
        return buffer;
    }

    @Benchmark
    public ArrowBuf arrow(Requests s, Peers.Arrow arrow) {
        ArrowBuf buffer = arrow.root.buffer(s.next());
        buffer.close();
        return buffer;
    }
}
