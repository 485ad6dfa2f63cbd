package org.malloc4j.internal;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.malloc4j.CheckMode;
import org.malloc4j.Heap;
import org.malloc4j.MemoryMisuseException;
import org.malloc4j.NativeLongArray;
import org.malloc4j.NativeStructArray;

/**
 * A growable array resizes its block through the heap's realloc and holds it all the while
 * ({@link HolderCall}): another thread's free or realloc of the block through the heap (a misuse)
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

    /**
     * An array of elements aligned to more than 16 bytes resizes by malloc, copy and free. When that
     * free pushes a block written after its free out of quarantine, the report says the array's
     * resize changed nothing, as it did: the array keeps its elements and goes on.
     */
    @org.junit.jupiter.api.Test
    void aResizeOfAnAlignedArrayThatFindsAWriteAfterFreeSaysItChangedNothing() throws Exception {
        try (Heap heap = Heap.builder().name("aligned resize").checkMode(CheckMode.FULL).quarantineBytes(1024)
                .leakReportAtClose(false).build()) {
            MemoryLayout element = MemoryLayout.structLayout(JAVA_LONG, MemoryLayout.paddingLayout(56))
                    .withByteAlignment(64);
            try (NativeStructArray array = new NativeStructArray(heap, element)) {
                MemorySegment value = Arena.ofAuto().allocate(element);
                for (int i = 0; i < 4; i++) {
                    value.set(JAVA_LONG, 0, i);
                    array.add(value);
                }
                MemorySegment victim = heap.malloc(200);
                heap.free(victim);
                MemorySegment.ofAddress(victim.address()).reinterpret(200).set(JAVA_BYTE, 5, (byte) 1);
                MemoryMisuseException report = null;
                for (int i = 4; i < 200 && report == null; i++) {
                    value.set(JAVA_LONG, 0, i);
                    long size = array.size();
                    try {
                        array.add(value);
                    } catch (MemoryMisuseException e) {
                        report = e;
                        assertEquals(size, array.size(), "the add that reported went on");
                    }
                }
                assertTrue(report != null, "the write after free was never found");
                assertEquals(MemoryMisuseException.Kind.USE_AFTER_FREE, report.kind());
                assertTrue(report.getMessage().contains("resized") && report.getMessage().contains("which changed nothing"),
                        report.getMessage());
                for (int i = 0; i < array.size(); i++) {
                    assertEquals(i, array.get(i).get(JAVA_LONG, 0));
                }
                assertThrows(MemoryMisuseException.class, () -> heap.free(array.asSegment()));
            }
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
