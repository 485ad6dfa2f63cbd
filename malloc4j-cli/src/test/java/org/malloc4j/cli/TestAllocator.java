package org.malloc4j.cli;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A correct allocator for tests, in plain Java: blocks are bumped out of one arena, 16-byte aligned,
 * never reused; realloc copies. Subclasses break it on purpose.
 */
class TestAllocator implements ReplayAllocator {
    private final Arena arena = Arena.ofShared();
    private final MemorySegment memory = arena.allocate(64 << 20, 4096);
    private final long[] sizes = new long[1 << 16];
    private long next;
    /** Requests served so far, from 1 at the first. */
    int calls;

    @Override
    public String name() {
        return "test";
    }

    @Override
    public String footprintSource() {
        return "bytes handed out";
    }

    @Override
    public void startTrace(int numIds) {
        next = 0;
    }

    @Override
    public long malloc(int id, long size) {
        calls++;
        long address = memory.address() + next;
        next += (Math.max(size, 1) + 15) & ~15L;
        sizes[id] = size;
        return address;
    }

    @Override
    public long realloc(int id, long address, long size) {
        if (address == 0) {
            return malloc(id, size);
        }
        long oldSize = sizes[id];
        long moved = malloc(id, size);
        MemorySegment.copy(memory, address - memory.address(), memory, moved - memory.address(),
                Math.min(oldSize, size));
        return moved;
    }

    @Override
    public void free(int id, long address) {
        calls++;
    }

    @Override
    public long footprint() {
        return next;
    }

    @Override
    public void endTrace() {
    }

    /** @return the memory the blocks come from, for subclasses that scribble on it */
    MemorySegment memory() {
        return memory;
    }

    @Override
    public void close() {
        arena.close();
    }
}
