package org.malloc4j;

import java.util.ArrayList;
import java.util.List;

/**
 * The closes of heaps, scopes and bump arenas under way on one thread, and the heaps whose close a
 * cleanup action they ran asked for meanwhile.
 *
 * <p>The JDK hands each cleanup action of a closing arena a segment over its block that no arena
 * guards ({@code segment.reinterpret(n, arena, cleanup)}). A heap that one cleanup action closes at
 * once would unmap the blocks the later ones still read, and the JVM would die of SIGSEGV. So such
 * a close waits until every close under way on the thread has returned, whichever heap's.
 */
final class ClosesUnderWay {
    private static final ThreadLocal<ClosesUnderWay> OF_THREAD = ThreadLocal.withInitial(ClosesUnderWay::new);

    private int depth;
    private final List<Heap> deferred = new ArrayList<>();

    private ClosesUnderWay() {
    }

    /** @return the calling thread's */
    static ClosesUnderWay ofThisThread() {
        return OF_THREAD.get();
    }

    /** A close starts on this thread. */
    void enter() {
        depth++;
    }

    /**
     * A close ends on this thread.
     *
     * @return the heaps whose close to carry out now, as this was the outermost close; else none
     */
    List<Heap> exit() {
        if (--depth > 0 || deferred.isEmpty()) {
            return List.of();
        }
        List<Heap> due = List.copyOf(deferred);
        deferred.clear();
        return due;
    }

    /** @return whether a close is under way on this thread, so a cleanup action may be running */
    boolean any() {
        return depth > 0;
    }

    /** Carries out {@code heap}'s close when the outermost close under way on this thread returns. */
    void defer(Heap heap) {
        deferred.add(heap);
    }
}
