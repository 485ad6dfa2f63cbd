package org.malloc4j.junit;

import java.lang.foreign.MemorySegment;
import java.util.List;
import org.malloc4j.CheckMode;
import org.malloc4j.Heap;

/**
 * The note {@link Malloc4jExtension} adds to the JDK's bare "Already closed" when a heap the test
 * may have used is checked ({@link CheckMode#FULL}, or {@link CheckMode#SAMPLED} for its sampled
 * blocks): such a heap closes a freed block's segments, so the exception may be a use after free,
 * which {@link Heap#describe(MemorySegment)} tells in full. It has no stack trace of its own: it is
 * printed under the exception it explains.
 */
final class DescribeHint extends Exception {
    private static final long serialVersionUID = 1L;

    /** @param heaps the checked heaps, one or two, as the note names them: {@code "the test's heap 'T.t(Heap)'"} */
    DescribeHint(List<String> heaps) {
        super("Malloc4jExtension: " + String.join(" and ", heaps) + (heaps.size() > 1 ? " are" : " is")
                + " checked. A checked heap"
                + " closes the segments of the checked blocks it frees (every block in FULL mode, the sampled ones in"
                + " SAMPLED mode), so if the segment accessed here was such a block, this is a use after free, and"
                + " heap.describe(segment) names the block and where it was allocated and freed.", null, false, false);
    }
}
