package org.malloc4j;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.function.BiConsumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A downcall (C's {@code qsort}) holds a block while its comparator, called back in Java, frees or
 * moves it. Where the heap can tell (a huge block, in a mapping of its own; any block a checked
 * mode recorded), the free is refused with nothing changed, instead of the JDK's error escaping
 * half way through; the block stays mapped under the downcall, and a free after it succeeds.
 */
class FreeDuringDowncallTest {
    private static final long HUGE = 40L << 20;

    /** A heap, a block size the heap can tell a downcall holds, and the call that frees or moves it. */
    static Stream<Arguments> cases() {
        BiConsumer<Heap, MemorySegment> free = Heap::free;
        BiConsumer<Heap, MemorySegment> freeAddress = (heap, block) -> heap.freeAddress(block.address());
        BiConsumer<Heap, MemorySegment> move = (heap, block) -> heap.realloc(block, 2 * block.byteSize());
        return Stream.of(
                Arguments.of("fast, huge, free", Heap.builder().name("fast"), HUGE, free),
                Arguments.of("fast, huge, freeAddress", Heap.builder().name("fast"), HUGE, freeAddress),
                Arguments.of("fast, huge, realloc", Heap.builder().name("fast"), HUGE, move),
                Arguments.of("full, small, free", Heap.builder().name("full").checkMode(CheckMode.FULL), 64L, free),
                Arguments.of("full, small, realloc", Heap.builder().name("full").checkMode(CheckMode.FULL), 64L, move),
                Arguments.of("sampled every block, small, free",
                        Heap.builder().name("sampled").checkMode(CheckMode.SAMPLED).sampleInterval(1), 64L, free));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void aFreeOfABlockADowncallUsesIsRefusedAndChangesNothing(String name, Heap.Builder builder, long byteSize,
            BiConsumer<Heap, MemorySegment> freeOrMove) throws Throwable {
        try (Heap heap = builder.build()) {
            MemorySegment held = heap.malloc(byteSize);
            held.fill((byte) 7);
            HeapStats before = heap.stats();

            Downcalls.whileHeldByADowncall(held, () -> {
                IllegalStateException refused = assertThrows(IllegalStateException.class,
                        () -> freeOrMove.accept(heap, held));
                assertTrue(refused.getMessage().contains("while a downcall is using it"), refused.getMessage());
                assertEquals(7, held.get(JAVA_BYTE, 0), "still mapped under the downcall");
                assertEquals(7, held.get(JAVA_BYTE, byteSize - 1));
            });

            HeapStats after = heap.stats();
            assertEquals(1, after.liveBlocks());
            assertEquals(before.requestedBytes(), after.requestedBytes());
            assertEquals(before.usableBytes(), after.usableBytes());
            assertTrue(heap.usableSize(held.address()) >= byteSize, "the block is still live");
            heap.free(held);
            HeapStats freed = heap.stats();
            assertEquals(0, freed.liveBlocks());
            assertEquals(0, freed.requestedBytes());
            assertEquals(0, freed.usableBytes());
        }
    }

    /**
     * A checked block shrunk at the heap's limit stays in place, but its old segments die as after a
     * move: under a downcall that is refused like a move, and after it the shrink succeeds in place.
     */
    @Test
    void aCheckedBlockShrunkInPlaceAtTheLimitUnderADowncallIsRefusedLikeAMove() throws Throwable {
        try (Heap heap = Heap.builder().name("full at limit").checkMode(CheckMode.FULL).quarantineBytes(0)
                .maxCommittedBytes(8L << 20).build()) {
            MemorySegment held = heap.malloc(1000);
            held.fill((byte) 7);
            java.util.List<MemorySegment> filler = new java.util.ArrayList<>();
            for (long size = 1 << 20; size >= 16; size /= 2) {
                for (MemorySegment block; !(block = heap.tryMalloc(size)).equals(MemorySegment.NULL); ) {
                    filler.add(block);
                }
            }
            Downcalls.whileHeldByADowncall(held, () -> {
                IllegalStateException refused = assertThrows(IllegalStateException.class, () -> heap.realloc(held, 100));
                assertTrue(refused.getMessage().contains("resized while a downcall is using it"), refused.getMessage());
                assertEquals(7, held.get(JAVA_BYTE, 999), "changed under the downcall");
            });
            assertEquals(1000, heap.usableSize(held));
            MemorySegment shrunk = heap.realloc(held, 100);
            assertEquals(held.address(), shrunk.address());
            assertEquals(7, shrunk.get(JAVA_BYTE, 99));
            heap.free(shrunk);
            filler.forEach(heap::free);
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    /** An empty region a downcall kept mapped (a block freed under it) goes at the next trim after. */
    @Test
    void aRegionADowncallKeptMappedIsUnmappedByATrimAfterTheDowncall() throws Throwable {
        try (Heap heap = Heap.builder().name("kept region").build()) {
            MemorySegment held = heap.malloc(1 << 20);
            Downcalls.whileHeldByADowncall(held, () -> {
                heap.free(held);
                heap.trim();
                assertTrue(heap.stats().reservedBytes() > 0, "the region went while the downcall held it");
            });
            heap.trim();
            assertEquals(0, heap.stats().reservedBytes(), "the region stayed mapped after the downcall");
        }
    }

    /** Closing a growable array whose block a downcall uses is refused like a free: the array stays open and whole. */
    @Test
    void closingAnArrayWhoseBlockADowncallUsesIsRefusedAndLeavesItOpen() throws Throwable {
        try (Heap heap = Heap.builder().name("full").checkMode(CheckMode.FULL).build()) {
            NativeLongArray array = new NativeLongArray(heap);
            for (long i = 0; i < 10; i++) {
                array.add(i);
            }
            Downcalls.whileHeldByADowncall(array.asSegment(), () -> {
                IllegalStateException refused = assertThrows(IllegalStateException.class, array::close);
                assertTrue(refused.getMessage().contains("while a downcall is using it"), refused.getMessage());
                assertEquals(false, array.isClosed());
                assertEquals(10, array.size());
                assertEquals(9, array.get(9));
            });
            assertEquals(1, heap.stats().liveBlocks());
            array.close();
            assertTrue(array.isClosed());
            assertEquals(0, heap.stats().liveBlocks());
        }
    }
    /**
     * Bug: closing a scope or a bump arena whose segment a downcall uses threw the JDK's own
     * "Session is acquired by 1 clients", which names neither the scope nor what to do.
     */
    @Test
    void closingAScopeOrBumpArenaADowncallUsesSaysSoAndChangesNothing() throws Throwable {
        try (Heap heap = Heap.builder().name("fast").build()) {
            java.lang.foreign.Arena scope = heap.newScope();
            MemorySegment scoped = scope.allocate(64);
            Downcalls.whileHeldByADowncall(scoped, () -> {
                IllegalStateException refused = assertThrows(IllegalStateException.class, scope::close);
                assertTrue(refused.getMessage().startsWith("this scope is not closed: a downcall is using one of its"
                        + " segments; nothing changed, so close it again after the downcall returns"),
                        refused.getMessage());
                assertTrue(scope.scope().isAlive());
            });
            scoped.set(JAVA_BYTE, 0, (byte) 7);
            scope.close();
            assertEquals(0, heap.stats().liveBlocks());

            BumpArena arena = BumpArena.ofConfined(heap);
            MemorySegment slice = arena.allocate(64);
            Downcalls.whileHeldByADowncall(slice, () -> {
                IllegalStateException refused = assertThrows(IllegalStateException.class, arena::close);
                assertTrue(refused.getMessage().startsWith("this BumpArena is not closed: a downcall"),
                        refused.getMessage());
                assertEquals(false, arena.isClosed());
            });
            slice.set(JAVA_BYTE, 0, (byte) 7);
            arena.close();
            assertTrue(arena.isClosed());
            assertEquals(0, heap.stats().liveBlocks());
        }
    }
}
