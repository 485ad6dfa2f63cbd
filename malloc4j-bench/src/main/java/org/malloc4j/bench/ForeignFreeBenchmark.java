package org.malloc4j.bench;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.LongUnaryOperator;
import org.malloc4j.Heap;
import org.malloc4j.bench.Natives.Glibc;
import org.malloc4j.bench.Natives.Jemalloc;
import org.malloc4j.bench.Natives.Mimalloc;
import org.malloc4j.bench.Natives.Tcmalloc;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The free of a block that another thread allocated, on its own. Before each invocation an owner
 * thread, alive and idle between its turns, allocates {@value #BLOCKS} blocks of mixed sizes
 * ({@value Sizes#MIXED_MIN} to {@value Sizes#MIXED_MAX} bytes); the invocation frees them all on
 * the benchmark thread, in a shuffled order. The score is ns per free.
 *
 * <p>{@link ProducerConsumerBenchmark} times the same free with both threads running, where the
 * handoff and each side's wait for the other make up most of the score and vary by a factor of
 * two from run to run on 2 cores. Here no two threads run at once: the score is the cross-thread
 * free's own cost. The owner's later collection of the freed blocks (malloc4j's and mimalloc's)
 * falls in its untimed allocations; tcmalloc's and jemalloc's freeing thread keeps the blocks in
 * its own cache and gives them back in batches, inside the timed frees.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {Jvm.NATIVE_ACCESS, Jvm.HEAP_MIN, Jvm.HEAP_MAX, Jvm.HEAP_PRE_TOUCH})
@OperationsPerInvocation(ForeignFreeBenchmark.BLOCKS)
public class ForeignFreeBenchmark {
    /** Blocks the owner allocates for each invocation. */
    public static final int BLOCKS = 1000;
    private static final Heap HEAP = Peers.Malloc4j.HEAP;

    /**
     * The owner thread, and the blocks it allocated for the next invocation. Each peer's state
     * passes its malloc, which runs in the untimed setup only, and its native library, checked
     * before the trial (null for none).
     */
    @State(Scope.Thread)
    public abstract static class OwnedBlocks {
        final long[] sizes = Sizes.of(Sizes.MIXED, BLOCKS);
        final int[] freeOrder = Sizes.shuffledOrder(BLOCKS);
        final long[] addresses = new long[BLOCKS];
        private final LongUnaryOperator malloc;
        private final Natives.Library library;
        private ExecutorService owner;

        OwnedBlocks(LongUnaryOperator malloc, Natives.Library library) {
            this.malloc = malloc;
            this.library = library;
        }

        @Setup(Level.Trial)
        public void startOwner() {
            if (library != null) {
                library.require();
            }
            owner = Executors.newSingleThreadExecutor(task -> {
                Thread thread = new Thread(task, "owner");
                thread.setDaemon(true);
                return thread;
            });
        }

        /** The owner allocates the invocation's blocks; the future's completion publishes them. */
        @Setup(Level.Invocation)
        public void allocateOnOwner() throws InterruptedException, ExecutionException {
            owner.submit(() -> {
                for (int i = 0; i < BLOCKS; i++) {
                    addresses[i] = malloc.applyAsLong(sizes[i]);
                }
            }).get();
        }

        @TearDown(Level.Trial)
        public void stopOwner() {
            owner.shutdown();
        }
    }

    @State(Scope.Thread)
    public static class Malloc4jBlocks extends OwnedBlocks {
        public Malloc4jBlocks() {
            super(HEAP::mallocAddress, null);
        }
    }

    @State(Scope.Thread)
    public static class GlibcBlocks extends OwnedBlocks {
        public GlibcBlocks() {
            super(Glibc::malloc, null);
        }
    }

    @State(Scope.Thread)
    public static class JemallocBlocks extends OwnedBlocks {
        public JemallocBlocks() {
            super(Jemalloc::malloc, Natives.Library.JEMALLOC);
        }
    }

    @State(Scope.Thread)
    public static class MimallocBlocks extends OwnedBlocks {
        public MimallocBlocks() {
            super(Mimalloc::malloc, Natives.Library.MIMALLOC);
        }
    }

    @State(Scope.Thread)
    public static class TcmallocBlocks extends OwnedBlocks {
        public TcmallocBlocks() {
            super(Tcmalloc::malloc, Natives.Library.TCMALLOC);
        }
    }

    // One loop a peer, each calling its free directly: through a shared helper taking the free as
    // a lambda, the lambda's body was compiled on its own first and then called, not inlined, from
    // the loop (malloc4j-bench/perfasm).

    @Benchmark
    @Baseline(1)
    public void malloc4jRaw(Malloc4jBlocks blocks) {
        long[] addresses = blocks.addresses;
        int[] order = blocks.freeOrder;
        for (int i = 0; i < BLOCKS; i++) {
            HEAP.freeAddress(addresses[order[i]]);
        }
    }

    @Benchmark
    public void glibcRaw(GlibcBlocks blocks) {
        long[] addresses = blocks.addresses;
        int[] order = blocks.freeOrder;
        for (int i = 0; i < BLOCKS; i++) {
            Glibc.free(addresses[order[i]]);
        }
    }

    @Benchmark
    public void jemallocRaw(JemallocBlocks blocks) {
        long[] addresses = blocks.addresses;
        int[] order = blocks.freeOrder;
        for (int i = 0; i < BLOCKS; i++) {
            Jemalloc.free(addresses[order[i]]);
        }
    }

    @Benchmark
    public void mimallocRaw(MimallocBlocks blocks) {
        long[] addresses = blocks.addresses;
        int[] order = blocks.freeOrder;
        for (int i = 0; i < BLOCKS; i++) {
            Mimalloc.free(addresses[order[i]]);
        }
    }

    @Benchmark
    public void tcmallocRaw(TcmallocBlocks blocks) {
        long[] addresses = blocks.addresses;
        int[] order = blocks.freeOrder;
        for (int i = 0; i < BLOCKS; i++) {
            Tcmalloc.free(addresses[order[i]]);
        }
    }
}
