package org.malloc4j.internal;

import java.util.concurrent.locks.ReentrantLock;
import org.malloc4j.Heap;

/** For tests outside this package: a look at a heap's internals. */
public final class InternalsProbe {
    private InternalsProbe() {
    }

    /** @return whether {@code thread} has a thread heap of its own in {@code heap} ({@link VirtualThreadHeaps}) */
    public static boolean hasOwnHeap(Heap heap, Thread thread) {
        VirtualThreadHeaps heaps = (VirtualThreadHeaps) read(core(heap), HeapCore.class, "virtualHeaps");
        return heaps.find(thread) != null;
    }

    /** @return the span lock of {@code heap}, a heap in {@code CheckMode.FAST}, which close and large frees take */
    public static ReentrantLock spanLock(Heap heap) {
        return core(heap).spans.lock;
    }

    /**
     * @return for {@code heap}, a heap in {@code CheckMode.FAST}: its count of committed bytes, and
     *     the committed bytes its mappings hold summed page by page, read together under the span lock
     */
    public static long[] committedCountedAndSummed(Heap heap) {
        SpanAllocator spans = core(heap).spans;
        spans.lock.lock();
        try {
            return new long[] {spans.committed.get(), spans.committedInMappings()};
        } finally {
            spans.lock.unlock();
        }
    }

    private static HeapCore core(Heap heap) {
        return (HeapCore) read(heap, Heap.class, "core");
    }

    private static Object read(Object owner, Class<?> type, String name) {
        try {
            return Fields.read(owner, type, name);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }
}
