package org.malloc4j.internal;

import org.malloc4j.Heap;
import org.malloc4j.MemoryMisuseException;

/** For the race tests: whether an address is a live block of a heap, asked without changing it. */
final class BlockLiveness {
    private BlockLiveness() {
    }

    /** @return whether {@code address} is the start of a live block of {@code heap} */
    static boolean isLive(Heap heap, long address) {
        try {
            heap.usableSize(address);
            return true;
        } catch (MemoryMisuseException freed) {
            return false;
        }
    }
}
