package org.malloc4j.internal;

import java.lang.foreign.MemorySegment;

/**
 * Where a realloc through the segment API leaves the segment of the block it moved to, made before
 * the old block is freed: a Java heap with no room for the segment then fails the realloc with the
 * old block live and unchanged, as every failed realloc leaves it, instead of freed under a
 * segment the program still holds. Made before the realloc changes anything.
 */
final class MovedSegment {
    /** The size the segment is made with: the realloc's new size, in bytes. */
    final long byteSize;
    /** The moved block's segment, or null while the block has not moved. */
    MemorySegment segment;

    MovedSegment(long byteSize) {
        this.byteSize = byteSize;
    }
}
