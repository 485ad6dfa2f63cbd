package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.malloc4j.CheckMode;
import org.malloc4j.Heap;
import org.malloc4j.MemoryMisuseException;
import org.malloc4j.NativeLongArray;

/**
 * A growable array resizes its block through the heap's realloc and holds it all the while
 * ({@link HolderResize}): another thread's free or realloc of the block through the heap (a misuse)
 * is refused as a mismatch in the middle of a resize as at any other time, and the array goes on
 * intact. The middle of a resize is held open here, as another thread's call racing it would find it.
 */
class HolderResizeTest {
    @ParameterizedTest
    @EnumSource(value = CheckMode.class, names = {"FAST", "FULL"})
    void aBlockItsHolderIsResizingIsRefusedToAnotherThread(CheckMode mode) throws Exception {
        try (Heap heap = Heap.builder().name("holder resize").checkMode(mode).build()) {
            Allocator core = (Allocator) Fields.read(heap, Heap.class, "core");
            NativeLongArray array = new NativeLongArray(heap);
            for (int i = 0; i < 100; i++) {
                array.add(i);
            }
            long address = array.asSegment().address();
            core.beginHolderResize(address);
            try {
                assertEquals(MemoryMisuseException.Kind.ALLOC_DEALLOC_MISMATCH,
                        kindOnAnotherThread(() -> heap.freeAddress(address)));
                assertEquals(MemoryMisuseException.Kind.ALLOC_DEALLOC_MISMATCH,
                        kindOnAnotherThread(() -> heap.reallocAddress(address, 16)));
            } finally {
                core.endHolderResize(address);
            }
            for (int i = 100; i < 5_000; i++) {
                array.add(i);
            }
            for (int i = 0; i < 5_000; i++) {
                assertEquals(i, array.get(i));
            }
            array.close();
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    /** @return the kind of the misuse {@code call} reports on another thread, or null if it reports none */
    private static MemoryMisuseException.Kind kindOnAnotherThread(Runnable call) throws Exception {
        return CompletableFuture.supplyAsync(() -> {
            try {
                call.run();
                return null;
            } catch (MemoryMisuseException misuse) {
                return misuse.kind();
            }
        }, runnable -> Thread.ofPlatform().start(runnable)).get(30, TimeUnit.SECONDS);
    }
}
