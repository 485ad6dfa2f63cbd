package org.malloc4j.junit;

import java.lang.foreign.MemorySegment;
import org.malloc4j.CheckMode;
import org.malloc4j.Heap;

/**
 * The note {@link Malloc4jExtension} adds to the JDK's bare "Already closed" when a heap the test
 * may have used runs in {@link CheckMode#FULL}: that mode closes a freed block's segments, so the
 * exception may be a use after free, which {@link Heap#describe(MemorySegment)} tells in full. It
 * has no stack trace of its own: it is printed under the exception it explains.
 */
final class DescribeHint extends Exception {
    private static final long serialVersionUID = 1L;

    /** @param heaps the heaps in FULL mode, as the note names them: {@code "the test's heap 'T.t(Heap)'"} */
    DescribeHint(String heaps) {
        super("Malloc4jExtension: " + heaps + " run" + (heaps.contains(" and ") ? "" : "s") + " in FULL mode,"
                + " which closes the segments of every block it frees: if the segment accessed here was such a"
                + " block, this is a use after free, and heap.describe(segment) names the block and where it was"
                + " allocated and freed.", null, false, false);
    }
}
