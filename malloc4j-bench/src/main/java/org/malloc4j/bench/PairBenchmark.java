package org.malloc4j.bench;

import io.netty.buffer.ByteBuf;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;
import java.util.function.LongUnaryOperator;
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

    /** The floor's free lists: one thread's, as each fork runs one. */
    private static final FreeListFloor FLOOR = new FreeListFloor();

    @Override
    protected String sizeSpec() {
        return size;
    }

    /**
     * A pair through a native allocator whose block the program holds as a segment of its size
     * ({@link Natives#segment}), as the {@code …Segment} peers do. Each caller passes static
     * methods, constants once this is inlined into it, so each peer's calls are direct.
     */
    private long nativeSegmentPair(LongUnaryOperator malloc, LongConsumer free) {
        long bytes = next();
        MemorySegment block = Natives.segment(malloc.applyAsLong(bytes), bytes);
        free.accept(block.address());
        return block.address();
    }

    @Benchmark
    public long glibcSegment() {
        return nativeSegmentPair(Glibc::malloc, Glibc::free);
    }

    @Benchmark
    public long jemallocSegment(Peers.JemallocAvailable check) {
        return nativeSegmentPair(Jemalloc::malloc, Jemalloc::free);
    }

    @Benchmark
    public long mimallocSegment(Peers.MimallocAvailable check) {
        return nativeSegmentPair(Mimalloc::malloc, Mimalloc::free);
    }

    @Benchmark
    public long tcmallocSegment(Peers.TcmallocAvailable check) {
        return nativeSegmentPair(Tcmalloc::malloc, Tcmalloc::free);
    }

    @Benchmark
    public long glibcStandardSegment() {
        return nativeSegmentPair(Natives.Standard.Glibc::malloc, Natives.Standard.Glibc::free);
    }

    @Benchmark
    public long jemallocStandardSegment(Peers.JemallocAvailable check) {
        return nativeSegmentPair(Natives.Standard.Jemalloc::malloc, Natives.Standard.Jemalloc::free);
    }

    @Benchmark
    public long mimallocStandardSegment(Peers.MimallocAvailable check) {
        return nativeSegmentPair(Natives.Standard.Mimalloc::malloc, Natives.Standard.Mimalloc::free);
    }

    @Benchmark
    public long tcmallocStandardSegment(Peers.TcmallocAvailable check) {
        return nativeSegmentPair(Natives.Standard.Tcmalloc::malloc, Natives.Standard.Tcmalloc::free);
    }

    /** {@link FreeListFloor}'s pair: free lists in Java arrays with no checks, the bookkeeping alone. */
    @Benchmark
    public long freeListFloor() {
        long address = FLOOR.malloc(next());
        FLOOR.free(address);
        return address;
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
