package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A free through the heap API of a block a holder holds is refused in every mode, also while the
 * holder frees it on another thread: the holder claims the block before it drops the hold, so the
 * misused free is refused as a mismatch or finds the block freed, never frees it first (after which
 * the holder's own free failed, or freed the block the address held next).
 */
class HeldBlockFreeRaceTest {
    private static final int ROUNDS = 1_500;

    /** A holder of one 48-byte block, made and closed on a thread of its own. */
    enum Holder {
        SCOPE, POOL, ARRAY, BUMP_ARENA;

        AutoCloseable make(Heap heap, long[] address) {
            switch (this) {
                case SCOPE -> {
                    Arena scope = heap.newSharedScope();
                    address[0] = scope.allocate(48).address();
                    return scope;
                }
                case POOL -> {
                    FixedSizePool pool = FixedSizePool.builder(heap, 48).threadSafe(true).blocksPerPage(4).build();
                    address[0] = pool.allocate().address();
                    return pool;
                }
                case ARRAY -> {
                    NativeLongArray array = new NativeLongArray(heap, 6);
                    address[0] = array.asSegment().address();
                    return array;
                }
                default -> {
                    BumpArena arena = BumpArena.ofConfined(heap, 4096);
                    address[0] = arena.allocate(48).address();
                    return arena;
                }
            }
        }
    }

    /**
     * A large block's page keeps its layout after a free, till its next block: the holder's free on
     * another thread drops the hold with the block, so a second free is told a double free.
     */
    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void aLargeBlockAScopeFreedOnAnotherThreadIsFreedAgainAsADoubleFree(CheckMode mode) throws Exception {
        try (Heap heap = Heap.builder().name("held-large").checkMode(mode).build()) {
            Arena scope = heap.newSharedScope();
            long address = scope.allocate(200_000).address();
            Thread.ofPlatform().start(scope::close).join();
            MemoryMisuseException misuse = assertThrows(MemoryMisuseException.class, () -> heap.freeAddress(address));
            assertEquals(MemoryMisuseException.Kind.DOUBLE_FREE, misuse.kind(), misuse.getMessage());
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    @ParameterizedTest
    @EnumSource(Holder.class)
    void aFreeThroughTheHeapRacingTheHoldersCloseNeverFreesTheHeldBlock(Holder holder) throws Exception {
        try (Heap heap = Heap.builder().name("held-race").build()) {
            int stolen = 0;
            for (int round = 0; round < ROUNDS && stolen == 0; round++) {
                long[] address = new long[1];
                CountDownLatch made = new CountDownLatch(1);
                CompletableFuture<Throwable> closed = new CompletableFuture<>();
                Thread holderThread = Thread.ofPlatform().start(() -> {
                    try {
                        AutoCloseable held = holder.make(heap, address);
                        made.countDown();
                        held.close();
                        closed.complete(null);
                    } catch (Throwable e) {
                        closed.complete(e);
                        made.countDown();
                    }
                });
                made.await();
                while (!closed.isDone()) {
                    try {
                        heap.freeAddress(address[0]);
                        stolen++;
                        break;
                    } catch (MemoryMisuseException refused) {
                        // A mismatch while held, a double free once the holder freed it.
                    }
                }
                holderThread.join();
                assertNull(closed.get(), "the holder's close threw in round " + round);
            }
            assertEquals(0, stolen, "a free through the heap took a block " + holder + " held");
            assertEquals(0, heap.stats().liveBlocks());
        }
    }
}
