package org.malloc4j.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.function.LongBinaryOperator;
import java.util.function.LongConsumer;
import java.util.function.LongUnaryOperator;
import org.malloc4j.Heap;
import org.malloc4j.bench.Natives.Glibc;
import org.malloc4j.bench.Natives.Jemalloc;
import org.malloc4j.bench.Natives.Mimalloc;
import org.malloc4j.bench.Natives.Tcmalloc;
import org.malloc4j.cli.Trace;
import org.malloc4j.cli.TraceFinder;
import org.malloc4j.cli.TraceFormatException;
import org.malloc4j.cli.TraceSource;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One pass over a real program's allocation trace (the {@code .rep} format of
 * {@code malloc4j replay}): every malloc, realloc and free in the program's order, then a free of
 * each block still live, so the next pass starts from an empty heap. Blocks are not written, as in
 * {@code malloc4j replay}'s timed passes. The score is ns per pass; divide by the trace's requests
 * for ns per request (gcc's cc1 at -O2: 325,037 requests).
 *
 * <p>{@code trace} names a trace bundled with the command line ({@code set/name}, by default gcc's
 * cc1) or a {@code .rep} file: {@code -p trace=../shared/traces/real/perl-wordfreq.rep}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {Jvm.NATIVE_ACCESS,
        Jvm.HEAP_MIN, Jvm.HEAP_MAX, Jvm.HEAP_PRE_TOUCH})
public class ReplayBenchmark {
    private static final Heap HEAP = Peers.Malloc4j.HEAP;

    @Param({"real/gcc-cc1-O2"})
    public String trace;

    private byte[] kinds;
    private int[] ids;
    private long[] sizes;
    private long[] blocks;

    /**
     * The three requests a trace makes, bound to one allocator. A record's fields are trusted as
     * constants, so in a pass given a {@code static final} one the JIT inlines each call.
     */
    private record MallocFamily(LongUnaryOperator malloc, LongBinaryOperator realloc, LongConsumer free) {
    }

    private static final MallocFamily MALLOC4J = new MallocFamily(HEAP::mallocAddress, HEAP::reallocAddress,
            HEAP::freeAddress);
    /**
     * The pass's own cost, the floor under every allocator's score: "addresses" counted up from a
     * bump pointer, never freed and never touched, as {@code SegmentAllocator.slicingAllocator}
     * is for the pair benchmarks. Reading the trace and its table of live blocks takes this much
     * of each peer's time; the rest is the allocator's (and the downcall's).
     */
    private static final MallocFamily NEVER_FREES = new MallocFamily(NeverFrees::malloc, NeverFrees::realloc,
            NeverFrees::free);
    /** The floor's free lists: one thread's, as a pass is. */
    private static final FreeListFloor FLOOR = new FreeListFloor();
    /**
     * {@link FreeListFloor}: free lists kept in Java arrays with no checks, the bookkeeping of an
     * allocator written in Java and nothing else, beside {@link #NEVER_FREES}, the pass alone.
     */
    private static final MallocFamily FREE_LIST_FLOOR = new MallocFamily(FLOOR::malloc, FLOOR::realloc, FLOOR::free);
    private static final MallocFamily GLIBC = new MallocFamily(Glibc::malloc, Glibc::realloc, Glibc::free);
    private static final MallocFamily JEMALLOC = new MallocFamily(Jemalloc::malloc, Jemalloc::realloc,
            Jemalloc::free);
    private static final MallocFamily MIMALLOC = new MallocFamily(Mimalloc::malloc, Mimalloc::realloc,
            Mimalloc::free);
    private static final MallocFamily TCMALLOC = new MallocFamily(Tcmalloc::malloc, Tcmalloc::realloc,
            Tcmalloc::free);
    private static final MallocFamily GLIBC_STANDARD = new MallocFamily(Natives.Standard.Glibc::malloc,
            Natives.Standard.Glibc::realloc, Natives.Standard.Glibc::free);
    private static final MallocFamily JEMALLOC_STANDARD = new MallocFamily(Natives.Standard.Jemalloc::malloc,
            Natives.Standard.Jemalloc::realloc, Natives.Standard.Jemalloc::free);
    private static final MallocFamily MIMALLOC_STANDARD = new MallocFamily(Natives.Standard.Mimalloc::malloc,
            Natives.Standard.Mimalloc::realloc, Natives.Standard.Mimalloc::free);
    private static final MallocFamily TCMALLOC_STANDARD = new MallocFamily(Natives.Standard.Tcmalloc::malloc,
            Natives.Standard.Tcmalloc::realloc, Natives.Standard.Tcmalloc::free);

    @Setup(Level.Trial)
    public void load() throws IOException, TraceFormatException {
        Trace loaded = source(trace).read();
        kinds = loaded.kinds();
        ids = loaded.ids();
        sizes = loaded.sizes();
        blocks = new long[loaded.numIds()];
    }

    /** @return the trace named by {@code trace}: a bundled one ({@code set/name}) or a {@code .rep} file */
    static TraceSource source(String trace) {
        for (TraceSource bundled : TraceFinder.bundled()) {
            if ((bundled.set() + "/" + bundled.name()).equals(trace)) {
                return bundled;
            }
        }
        Path file = Path.of(trace);
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("trace '" + trace + "' is neither a bundled trace (set/name, as"
                    + " real/gcc-cc1-O2) nor a file");
        }
        return TraceSource.file(file);
    }

    /** @return the sum of the addresses the pass got, for the JIT to keep */
    private long pass(MallocFamily allocator) {
        long[] live = blocks;
        long sum = 0;
        for (int op = 0; op < kinds.length; op++) {
            int id = ids[op];
            switch (kinds[op]) {
                case Trace.ALLOC -> sum += live[id] = allocator.malloc().applyAsLong(sizes[op]);
                case Trace.REALLOC -> sum += live[id] = allocator.realloc().applyAsLong(live[id], sizes[op]);
                default -> {
                    allocator.free().accept(live[id]);
                    live[id] = 0;
                }
            }
        }
        for (int id = 0; id < live.length; id++) {
            if (live[id] != 0) {
                allocator.free().accept(live[id]);
                live[id] = 0;
            }
        }
        return sum;
    }

    @Benchmark
    @Baseline(1)
    public long malloc4jRaw() {
        return pass(MALLOC4J);
    }

    @Benchmark
    public long neverFreesRaw() {
        return pass(NEVER_FREES);
    }

    @Benchmark
    public long freeListFloor() {
        return pass(FREE_LIST_FLOOR);
    }

    /** {@link #NEVER_FREES}' bump pointer: one thread's, as a pass is. */
    private static final class NeverFrees {
        private static long next = 16;

        static long malloc(long byteSize) {
            long address = next;
            next = address + ((byteSize + 15) & ~15L);
            return address;
        }

        static long realloc(long address, long byteSize) {
            return malloc(byteSize);
        }

        static void free(long address) {
        }
    }

    @Benchmark
    public long glibcRaw() {
        return pass(GLIBC);
    }

    @Benchmark
    public long jemallocRaw(Peers.JemallocAvailable check) {
        return pass(JEMALLOC);
    }

    @Benchmark
    public long mimallocRaw(Peers.MimallocAvailable check) {
        return pass(MIMALLOC);
    }

    @Benchmark
    public long tcmallocRaw(Peers.TcmallocAvailable check) {
        return pass(TCMALLOC);
    }

    @Benchmark
    public long glibcStandardRaw() {
        return pass(GLIBC_STANDARD);
    }

    @Benchmark
    public long jemallocStandardRaw(Peers.JemallocAvailable check) {
        return pass(JEMALLOC_STANDARD);
    }

    @Benchmark
    public long mimallocStandardRaw(Peers.MimallocAvailable check) {
        return pass(MIMALLOC_STANDARD);
    }

    @Benchmark
    public long tcmallocStandardRaw(Peers.TcmallocAvailable check) {
        return pass(TCMALLOC_STANDARD);
    }
}
