package org.malloc4j.cli;

import java.util.function.Supplier;
import org.malloc4j.Heap;
import org.malloc4j.HeapStats;

/**
 * malloc4j through its raw API ({@link Heap#mallocAddress}, {@link Heap#reallocAddress},
 * {@link Heap#freeAddress}): a fresh heap from {@link Heap#builder()} per trace, closed after it, so
 * every trace starts from an empty heap. Footprint: {@link HeapStats#committedBytes()} plus
 * {@link HeapStats#metadataBytes()}, read with {@link Heap#footprintBytes()}.
 */
final class Malloc4jAllocator implements ReplayAllocator {
    private static final String HEAP_NAME = "replay";

    private final Supplier<Heap> heaps;
    private Heap heap;

    private Malloc4jAllocator(Supplier<Heap> heaps) {
        this.heaps = heaps;
    }

    /**
     * @param heaps makes the heap of each trace, which {@link #endTrace} closes
     * @return the adapter over those heaps (for tests that replay on a heap of their own settings)
     */
    static Malloc4jAllocator over(Supplier<Heap> heaps) {
        return new Malloc4jAllocator(heaps);
    }

    /**
     * @return the adapter
     * @throws AllocatorUnavailableException if malloc4j cannot make a heap here (an unsupported
     *     platform)
     */
    static Malloc4jAllocator open() throws AllocatorUnavailableException {
        try {
            Heap.builder().name(HEAP_NAME).build().close();
            return new Malloc4jAllocator(() -> Heap.builder().name(HEAP_NAME).build());
        } catch (UnsupportedOperationException e) {
            throw new AllocatorUnavailableException("malloc4j cannot make a heap here: " + e.getMessage(), e);
        }
    }

    @Override
    public String name() {
        return "malloc4j";
    }

    @Override
    public String footprintSource() {
        return "Heap.footprintBytes(): committedBytes + metadataBytes";
    }

    @Override
    public void startTrace(int numIds) {
        heap = heaps.get();
    }

    @Override
    public long malloc(int id, long size) {
        return heap.mallocAddress(size);
    }

    @Override
    public long realloc(int id, long address, long size) {
        return heap.reallocAddress(address, size);
    }

    @Override
    public void free(int id, long address) {
        heap.freeAddress(address);
    }

    @Override
    public long footprint() {
        return heap.footprintBytes();
    }

    @Override
    public void endTrace() {
        if (heap != null) {
            heap.close();
            heap = null;
        }
    }
}
