package org.malloc4j.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.malloc4j.Heap;
import org.malloc4j.bench.Natives.Glibc;
import org.malloc4j.bench.Natives.Jemalloc;
import org.malloc4j.bench.Natives.Mimalloc;
import org.malloc4j.bench.Natives.Tcmalloc;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The peers that every malloc+free pair benchmark times: one allocation and its free, back to back,
 * on the calling thread. A subclass is the benchmark: it declares the {@code size} parameter's values,
 * the JMH options, and any peers of its own. Each thread has its own instance, so its own stream of
 * request sizes.
 */
@State(Scope.Thread)
public abstract class PairPeers extends SizeStream {
    private static final Heap HEAP = Peers.Malloc4j.HEAP;

    /** @return the subclass's {@code size} parameter: a byte count or {@value Sizes#MIXED} */
    protected abstract String sizeSpec();

    @Setup
    public void setup() {
        init(sizeSpec());
    }

    @Benchmark
    @Baseline(1)
    public long malloc4jRaw() {
        long address = HEAP.mallocAddress(next());
        HEAP.freeAddress(address);
        return address;
    }

    @Benchmark
    @Baseline(2)
    public long malloc4jSegment() {
        MemorySegment block = HEAP.malloc(next());
        HEAP.free(block);
        return block.address();
    }

    @Benchmark
    public long glibcRaw() {
        long address = Glibc.malloc(next());
        Glibc.free(address);
        return address;
    }

    @Benchmark
    public long jemallocRaw(Peers.JemallocAvailable check) {
        long address = Jemalloc.malloc(next());
        Jemalloc.free(address);
        return address;
    }

    @Benchmark
    public long mimallocRaw(Peers.MimallocAvailable check) {
        long address = Mimalloc.malloc(next());
        Mimalloc.free(address);
        return address;
    }

    @Benchmark
    public long tcmallocRaw(Peers.TcmallocAvailable check) {
        long address = Tcmalloc.malloc(next());
        Tcmalloc.free(address);
        return address;
    }

    @Benchmark
    public long glibcStandardRaw() {
        long address = Natives.Standard.Glibc.malloc(next());
        Natives.Standard.Glibc.free(address);
        return address;
    }

    @Benchmark
    public long jemallocStandardRaw(Peers.JemallocAvailable check) {
        long address = Natives.Standard.Jemalloc.malloc(next());
        Natives.Standard.Jemalloc.free(address);
        return address;
    }

    @Benchmark
    public long mimallocStandardRaw(Peers.MimallocAvailable check) {
        long address = Natives.Standard.Mimalloc.malloc(next());
        Natives.Standard.Mimalloc.free(address);
        return address;
    }

    @Benchmark
    public long tcmallocStandardRaw(Peers.TcmallocAvailable check) {
        long address = Natives.Standard.Tcmalloc.malloc(next());
        Natives.Standard.Tcmalloc.free(address);
        return address;
    }

    @Benchmark
    public long arenaConfined() {
        return Peers.blockInOwnArena(Arena.ofConfined(), next());
    }

    @Benchmark
    public long unsafe() {
        long address = Peers.Unsafe.allocate(next());
        Peers.Unsafe.free(address);
        return address;
    }
}
