package org.malloc4j.cli;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The plain-FFM way to give native blocks their own lifetimes: one {@link Arena#ofConfined()} per
 * block, {@code free} closes it, {@code realloc} opens a new arena, copies the kept bytes and closes
 * the old one. Every allocation is zero-filled, as {@code Arena.allocate} does; the JDK takes the
 * memory from the C library's {@code malloc}, so before each trace {@code malloc_trim(0)} is called,
 * as for glibc. Footprint: RSS growth.
 */
final class ArenaAllocator extends NativeAllocator {
    /** Blocks are aligned as the other allocators align them. */
    private static final long ALIGNMENT = 16;

    private final boolean trims;
    private Arena[] arenas = new Arena[0];
    private MemorySegment[] blocks = new MemorySegment[0];

    private ArenaAllocator(boolean trims) {
        super("arena");
        this.trims = trims;
    }

    /** @return the adapter; it runs wherever FFM runs */
    static ArenaAllocator open() {
        boolean trims;
        try {
            GlibcAllocator.requireTrim();
            trims = true;
        } catch (AllocatorUnavailableException e) {
            trims = false;
        }
        return new ArenaAllocator(trims);
    }

    @Override
    public void startTrace(int numIds) {
        arenas = new Arena[numIds];
        blocks = new MemorySegment[numIds];
        super.startTrace(numIds);
    }

    @Override
    void releaseFreeMemory() {
        if (trims) {
            GlibcAllocator.trim();
        }
    }

    @Override
    public long malloc(int id, long size) {
        Arena arena = Arena.ofConfined();
        MemorySegment block = arena.allocate(size, ALIGNMENT);
        arenas[id] = arena;
        blocks[id] = block;
        return block.address();
    }

    @Override
    public long realloc(int id, long address, long size) {
        if (address == 0) {
            return malloc(id, size);
        }
        Arena arena = Arena.ofConfined();
        MemorySegment block = arena.allocate(size, ALIGNMENT);
        MemorySegment old = blocks[id];
        MemorySegment.copy(old, 0, block, 0, Math.min(old.byteSize(), size));
        arenas[id].close();
        arenas[id] = arena;
        blocks[id] = block;
        return block.address();
    }

    @Override
    public void free(int id, long address) {
        if (address == 0) {
            return;
        }
        arenas[id].close();
        arenas[id] = null;
        blocks[id] = null;
    }

    @Override
    public void endTrace() {
        arenas = new Arena[0];
        blocks = new MemorySegment[0];
        super.endTrace();
    }
}
