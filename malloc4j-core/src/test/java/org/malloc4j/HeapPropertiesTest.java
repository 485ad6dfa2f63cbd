package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Callable;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.RandomDistribution;
import net.jqwik.api.Tuple;

/**
 * Random sequences of the malloc family against a model: a list of the live blocks, each with the
 * pattern its bytes must hold. After every step no two live blocks overlap, every block is aligned
 * and at least as usable as requested, and the heap's counters add up to the model's.
 *
 * <p>A second platform thread takes part: it allocates blocks the main thread frees later and frees
 * blocks the main thread allocated, so frees by a page's owner and by other threads both happen.
 */
class HeapPropertiesTest {
    static final long KIB = 1024;
    static final long MIB = 1024 * KIB;
    /** Low enough that a sequence with a few huge blocks runs into it now and then. */
    static final long LIMIT = 64 * MIB;

    // ---- the actions ----

    sealed interface Action {
    }

    record Malloc(long byteSize) implements Action {
    }

    record Calloc(long count, long elementSize) implements Action {
    }

    record MallocAligned(long byteSize, int alignmentShift) implements Action {
    }

    record Realloc(int pick, long byteSize) implements Action {
    }

    record TryRealloc(int pick, long byteSize) implements Action {
    }

    record Free(int pick) implements Action {
    }

    /** A block allocated by the other thread. */
    record MallocElsewhere(long byteSize) implements Action {
    }

    /** A block freed by the other thread. */
    record FreeElsewhere(int pick) implements Action {
    }

    /** The last freed address freed again, unless a live block has it now. */
    record FreeAgain() implements Action {
    }

    record Trim() implements Action {
    }

    /**
     * A free of an address inside a live block, {@code offset} bytes past its start (reduced to its
     * usable size): never a block's start, so always a misuse that must change nothing.
     */
    record FreeInside(int pick, long offset) implements Action {
    }

    @Provide
    Arbitrary<List<Action>> actions() {
        Arbitrary<Long> size = sizes();
        Arbitrary<Integer> pick = Arbitraries.integers().between(0, 10_000);
        @SuppressWarnings("unchecked")
        Arbitrary<Action> action = Arbitraries.frequencyOf(
                Tuple.of(20, size.map(Malloc::new)),
                Tuple.of(5, Combinators.combine(Arbitraries.longs().between(1, 16), size)
                        .as((count, total) -> new Calloc(count, total / count))),
                Tuple.of(5, Combinators.combine(size, Arbitraries.integers().between(0, 24))
                        .as(MallocAligned::new)),
                Tuple.of(14, Combinators.combine(pick, size).as(Realloc::new)),
                Tuple.of(4, Combinators.combine(pick, size).as(TryRealloc::new)),
                Tuple.of(22, pick.map(Free::new)),
                Tuple.of(4, size.map(MallocElsewhere::new)),
                Tuple.of(5, pick.map(FreeElsewhere::new)),
                Tuple.of(2, Arbitraries.just(new FreeAgain())),
                Tuple.of(2, Combinators.combine(pick, Arbitraries.longs().between(1, 1L << 20)).as(FreeInside::new)),
                Tuple.of(1, Arbitraries.just(new Trim())));
        return action.list().ofMinSize(1).ofMaxSize(200).withSizeDistribution(RandomDistribution.uniform());
    }

    /** Sizes covering every tier: zero, small, medium, large, the boundaries, and now and then huge. */
    static Arbitrary<Long> sizes() {
        @SuppressWarnings("unchecked")
        Arbitrary<Long> size = Arbitraries.frequencyOf(
                Tuple.of(2, Arbitraries.just(0L)),
                Tuple.of(30, Arbitraries.longs().between(1, 128)),
                Tuple.of(25, Arbitraries.longs().between(129, 8 * KIB)),
                Tuple.of(15, Arbitraries.longs().between(8 * KIB + 1, 128 * KIB)),
                Tuple.of(8, Arbitraries.longs().between(128 * KIB + 1, 4 * MIB)),
                Tuple.of(2, Arbitraries.of(8 * KIB, 8 * KIB + 1, 128 * KIB, 128 * KIB + 1, 16 * MIB)),
                Tuple.of(1, Arbitraries.longs().between(16 * MIB + 1, 20 * MIB)));
        return size;
    }

    // ---- the model ----

    record Block(MemorySegment segment, long seed, long alignment) {
        long byteSize() {
            return segment.byteSize();
        }
    }

    static final class Run implements AutoCloseable {
        final Heap heap = Heap.builder().name("properties").maxCommittedBytes(LIMIT)
                .purgeDelay(Duration.ofHours(1)).build();
        final ExecutorService elsewhere = Executors.newSingleThreadExecutor(
                task -> Thread.ofPlatform().name("elsewhere").unstarted(task));
        final List<Block> live = new ArrayList<>();
        long nextSeed = 1;
        long lastFreed;
        int step;

        <T> T elsewhere(Callable<T> call) {
            Future<T> future = elsewhere.submit(call);
            try {
                return future.get();
            } catch (ExecutionException e) {
                if (e.getCause() instanceof RuntimeException runtime) {
                    throw runtime;
                }
                if (e.getCause() instanceof Error error) {
                    throw error;
                }
                throw new AssertionError(e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }

        void apply(Action action) {
            switch (action) {
                case Malloc(long byteSize) -> allocated(guard(() -> heap.malloc(byteSize)), byteSize, 16, false);
                case Calloc(long count, long elementSize) ->
                        allocated(heap.tryCalloc(count, elementSize), count * elementSize, 16, true);
                case MallocAligned(long byteSize, int shift) ->
                        allocated(guard(() -> heap.mallocAligned(byteSize, 1L << shift)), byteSize, 1L << shift, false);
                case Realloc(int pick, long byteSize) -> resize(pick, byteSize, false);
                case TryRealloc(int pick, long byteSize) -> resize(pick, byteSize, true);
                case Free(int pick) -> free(pick, false);
                case MallocElsewhere(long byteSize) ->
                        allocated(elsewhere(() -> heap.tryMalloc(byteSize)), byteSize, 16, false);
                case FreeElsewhere(int pick) -> free(pick, true);
                case FreeAgain() -> freeAgain();
                case FreeInside(int pick, long offset) -> freeInside(pick, offset);
                case Trim() -> heap.trim();
            }
        }

        /** Runs a throwing allocation; exhaustion is allowed and must change nothing. */
        MemorySegment guard(java.util.function.Supplier<MemorySegment> allocation) {
            try {
                return allocation.get();
            } catch (HeapExhaustedError e) {
                return MemorySegment.NULL;
            }
        }

        void allocated(MemorySegment segment, long byteSize, long alignment, boolean zeroed) {
            if (segment.equals(MemorySegment.NULL)) {
                // Exhausted: the model is unchanged, and check() verifies the heap agrees.
                return;
            }
            assertEquals(byteSize, segment.byteSize());
            if (zeroed) {
                long dirty = Patterns.firstNonZero(segment, byteSize);
                assertEquals(-1, dirty, () -> "calloc(" + byteSize + ") has a non-zero byte at " + dirty
                        + ", step " + step);
            }
            long seed = nextSeed++;
            Patterns.fill(segment, seed);
            live.add(new Block(segment, seed, Math.max(16, alignment)));
        }

        void resize(int pick, long byteSize, boolean trying) {
            if (live.isEmpty()) {
                allocated(trying ? heap.tryRealloc(MemorySegment.NULL, byteSize)
                        : guard(() -> heap.realloc(MemorySegment.NULL, byteSize)), byteSize, 16, false);
                return;
            }
            int index = pick % live.size();
            Block old = live.get(index);
            MemorySegment resized = trying ? heap.tryRealloc(old.segment(), byteSize)
                    : guard(() -> heap.realloc(old.segment(), byteSize));
            if (resized.equals(MemorySegment.NULL)) {
                long lost = Patterns.firstMismatch(old.segment(), old.seed(), old.byteSize());
                assertEquals(-1, lost, () -> "a failed realloc changed the old block at " + lost);
                return;
            }
            assertEquals(byteSize, resized.byteSize());
            long kept = Math.min(old.byteSize(), byteSize);
            long lost = Patterns.firstMismatch(resized, old.seed(), kept);
            assertEquals(-1, lost, () -> "realloc " + old.byteSize() + " -> " + byteSize + " lost byte " + lost
                    + ", step " + step);
            long seed = nextSeed++;
            Patterns.fill(resized, seed);
            live.set(index, new Block(resized, seed, 16));
        }

        void free(int pick, boolean fromElsewhere) {
            if (live.isEmpty()) {
                return;
            }
            Block block = live.remove(pick % live.size());
            long corrupt = Patterns.firstMismatch(block.segment(), block.seed(), block.byteSize());
            assertEquals(-1, corrupt, () -> "a live block of " + block.byteSize() + " bytes changed at offset "
                    + corrupt + " before step " + step);
            if (fromElsewhere) {
                elsewhere(() -> {
                    heap.free(block.segment());
                    return null;
                });
            } else {
                heap.free(block.segment());
            }
            lastFreed = block.segment().address();
        }

        void freeAgain() {
            long address = lastFreed;
            if (address == 0 || live.stream().anyMatch(b -> b.segment().address() == address)) {
                return;
            }
            HeapStats before = heap.stats();
            assertThrows(MemoryMisuseException.class, () -> heap.freeAddress(address));
            assertEquals(before, heap.stats(), "a rejected free changed the counters");
        }

        void freeInside(int pick, long offset) {
            if (live.isEmpty()) {
                return;
            }
            MemorySegment block = live.get(pick % live.size()).segment();
            long usable = heap.usableSize(block);
            if (usable < 2) {
                return;
            }
            long address = block.address() + 1 + offset % (usable - 1);
            HeapStats before = heap.stats();
            MemoryMisuseException e = assertThrows(MemoryMisuseException.class, () -> heap.freeAddress(address));
            assertEquals(MemoryMisuseException.Kind.BAD_FREE, e.kind(), e::getMessage);
            assertEquals(before, heap.stats(), "a rejected free changed the counters");
        }

        void check() {
            long requested = 0;
            long usable = 0;
            List<long[]> spans = new ArrayList<>(live.size());
            for (Block block : live) {
                long address = block.segment().address();
                assertEquals(0, address % block.alignment(),
                        () -> "0x" + Long.toHexString(address) + " is not aligned to " + block.alignment());
                long usableSize = heap.usableSize(block.segment());
                assertTrue(usableSize >= block.byteSize(), "usable size below the request");
                requested += block.byteSize();
                usable += usableSize;
                spans.add(new long[] {address, address + usableSize});
            }
            spans.sort(Comparator.comparingLong(span -> span[0]));
            for (int i = 1; i < spans.size(); i++) {
                long end = spans.get(i - 1)[1];
                long start = spans.get(i)[0];
                assertTrue(end <= start, () -> "live blocks overlap: one ends at 0x" + Long.toHexString(end)
                        + ", the next starts at 0x" + Long.toHexString(start) + ", step " + step);
            }
            HeapStats stats = heap.stats();
            String context = " after step " + step + "\n" + stats.toText();
            assertEquals(live.size(), stats.liveBlocks(), "liveBlocks" + context);
            assertEquals(requested, stats.requestedBytes(), "requestedBytes" + context);
            assertEquals(usable, stats.usableBytes(), "usableBytes" + context);
            assertTrue(stats.usableBytes() <= stats.committedBytes(), "usable > committed" + context);
            assertTrue(stats.committedBytes() <= stats.reservedBytes(), "committed > reserved" + context);
            assertTrue(stats.committedBytes() <= LIMIT, "committed past the limit" + context);
            assertTrue(stats.peakCommittedBytes() >= stats.committedBytes(), "peak below current" + context);
            long[] committed = org.malloc4j.internal.InternalsProbe.committedCountedAndSummed(heap);
            assertEquals(committed[0], committed[1], "committed bytes counted, and summed over the pages" + context);
        }

        void finish() {
            for (Block block : live) {
                long corrupt = Patterns.firstMismatch(block.segment(), block.seed(), block.byteSize());
                assertEquals(-1, corrupt, "a live block changed at the end");
            }
            live.forEach(block -> heap.free(block.segment()));
            live.clear();
            check();
            elsewhere(() -> {
                heap.trim();
                return null;
            });
            heap.trim();
            assertEquals(0, heap.stats().committedBytes(), "trim with nothing live left memory committed\n"
                    + heap.stats().toText());
        }

        @Override
        public void close() {
            elsewhere.shutdownNow();
            heap.close();
        }
    }

    @Property(tries = 50)
    void randomSequencesKeepBlocksDisjointAlignedIntactAndCounted(@ForAll("actions") List<Action> actions) {
        try (Run run = new Run()) {
            for (Action action : actions) {
                run.step++;
                run.apply(action);
                run.check();
            }
            run.finish();
        }
    }

    @Property(tries = 30)
    void smallBlocksOnlyKeepTheSameInvariantsOverLongerSequences(
            @ForAll("smallActions") List<Action> actions) {
        try (Run run = new Run()) {
            for (Action action : actions) {
                run.step++;
                run.apply(action);
                run.check();
            }
            run.finish();
        }
    }

    @Provide
    Arbitrary<List<Action>> smallActions() {
        Arbitrary<Long> size = Arbitraries.longs().between(0, 2 * KIB);
        Arbitrary<Integer> pick = Arbitraries.integers().between(0, 10_000);
        @SuppressWarnings("unchecked")
        Arbitrary<Action> action = Arbitraries.frequencyOf(
                Tuple.of(30, size.map(Malloc::new)),
                Tuple.of(8, Combinators.combine(Arbitraries.longs().between(1, 8), size)
                        .as((count, total) -> new Calloc(count, total / count))),
                Tuple.of(10, Combinators.combine(pick, size).as(Realloc::new)),
                Tuple.of(25, pick.map(Free::new)),
                Tuple.of(8, size.map(MallocElsewhere::new)),
                Tuple.of(8, pick.map(FreeElsewhere::new)),
                Tuple.of(2, Arbitraries.just(new FreeAgain())),
                Tuple.of(2, Combinators.combine(pick, Arbitraries.longs().between(1, 4 * KIB)).as(FreeInside::new)));
        return action.list().ofMinSize(100).ofMaxSize(600).withSizeDistribution(RandomDistribution.uniform());
    }
}
