package org.malloc4j.bench;

import io.netty.buffer.ByteBuf;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.memory.ArrowBuf;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * One allocation and its free, back to back, on one thread: the cost of a block whose lifetime is a
 * few statements. Each method is a peer (the shared ones are {@link PairPeers}'); the score is ns per
 * malloc+free pair.
 *
 * <p>Native peers come four times: raw (addresses, as C would use them) and wrapped as a
 * {@link MemorySegment} of the block's size (what a Java program needs for bounds-checked access),
 * each through critical downcalls ({@code glibcRaw}, {@code glibcSegment}) and through standard
 * ones ({@code glibcStandardRaw}, {@code glibcStandardSegment}; {@link Natives.Standard}).
 * {@code Arena.ofConfined()}/{@code ofShared()} per block zero the memory they hand out (the FFM
 * contract); the others do not.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {Jvm.NATIVE_ACCESS, Jvm.OPEN_NIO, Jvm.NO_NETTY_LEAK_DETECTION, Jvm.NETTY_UNSAFE,
        Jvm.HEAP_MIN, Jvm.HEAP_MAX, Jvm.HEAP_PRE_TOUCH})
public class PairBenchmark extends PairPeers {
    /** The request sizes, cycled through by one thread. */
    @Param({"16", "64", "256", "1024", "4096", "65536", "1048576", "mixed"})
    public String size;

    @Override
    protected String sizeSpec() {
        return size;
    }

    @Benchmark
    public long glibcSegment() {
        long bytes = next();
        MemorySegment block = Natives.segment(Glibc.malloc(bytes), bytes);
        Glibc.free(block.address());
        return block.address();
    }

    @Benchmark
    public long jemallocSegment(Peers.JemallocAvailable check) {
        long bytes = next();
        MemorySegment block = Natives.segment(Jemalloc.malloc(bytes), bytes);
        Jemalloc.free(block.address());
        return block.address();
    }

    @Benchmark
    public long mimallocSegment(Peers.MimallocAvailable check) {
        long bytes = next();
        MemorySegment block = Natives.segment(Mimalloc.malloc(bytes), bytes);
        Mimalloc.free(block.address());
        return block.address();
    }

    @Benchmark
    public long tcmallocSegment(Peers.TcmallocAvailable check) {
        long bytes = next();
        MemorySegment block = Natives.segment(Tcmalloc.malloc(bytes), bytes);
        Tcmalloc.free(block.address());
        return block.address();
    }

    @Benchmark
    public long glibcStandardSegment() {
        long bytes = next();
        MemorySegment block = Natives.segment(Natives.Standard.Glibc.malloc(bytes), bytes);
        Natives.Standard.Glibc.free(block.address());
        return block.address();
    }

    @Benchmark
    public long jemallocStandardSegment(Peers.JemallocAvailable check) {
        long bytes = next();
        MemorySegment block = Natives.segment(Natives.Standard.Jemalloc.malloc(bytes), bytes);
        Natives.Standard.Jemalloc.free(block.address());
        return block.address();
    }

    @Benchmark
    public long mimallocStandardSegment(Peers.MimallocAvailable check) {
        long bytes = next();
        MemorySegment block = Natives.segment(Natives.Standard.Mimalloc.malloc(bytes), bytes);
        Natives.Standard.Mimalloc.free(block.address());
        return block.address();
    }

    @Benchmark
    public long tcmallocStandardSegment(Peers.TcmallocAvailable check) {
        long bytes = next();
        MemorySegment block = Natives.segment(Natives.Standard.Tcmalloc.malloc(bytes), bytes);
        Natives.Standard.Tcmalloc.free(block.address());
        return block.address();
    }

    @Benchmark
    public long arenaShared() {
        return Peers.blockInOwnArena(Arena.ofShared(), next());
    }

    @Benchmark
    public ByteBuf nettyPooled() {
        ByteBuf buffer = Peers.NettyPooled.ALLOCATOR.directBuffer((int) next());
        buffer.release();
        return buffer;
    }

    @Benchmark
    public ByteBuf nettyAdaptive() {
        ByteBuf buffer = Peers.NettyAdaptive.ALLOCATOR.directBuffer((int) next());
        buffer.release();
        return buffer;
    }

    @Benchmark
    public ArrowBuf arrow(Peers.Arrow arrow) {
        ArrowBuf buffer = arrow.root.buffer(next());
        buffer.close();
        return buffer;
    }
}
