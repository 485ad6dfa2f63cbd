package org.malloc4j.internal;

import org.malloc4j.Heap;

/** For tests outside this package: whether a virtual thread has earned a thread heap of its own. */
public final class VirtualThreadHeapsProbe {
    private VirtualThreadHeapsProbe() {
    }

    /** @return whether {@code thread} has a thread heap of its own in {@code heap} ({@link VirtualThreadHeaps}) */
    public static boolean hasOwnHeap(Heap heap, Thread thread) {
        try {
            HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
            VirtualThreadHeaps heaps = (VirtualThreadHeaps) Fields.read(core, HeapCore.class, "virtualHeaps");
            return heaps.find(thread) != null;
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }
}
