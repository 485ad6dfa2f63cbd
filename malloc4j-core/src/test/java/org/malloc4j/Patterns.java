package org.malloc4j;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Position-dependent byte patterns for blocks, so a test can tell its block's bytes from any other
 * block's and from bytes copied to the wrong offset. The byte at an offset depends only on the seed
 * and the offset, so any prefix of a filled block can be checked.
 */
final class Patterns {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final boolean LITTLE_ENDIAN = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

    private Patterns() {
    }

    /** Fills the whole of {@code block} with the pattern of {@code seed}. */
    static void fill(MemorySegment block, long seed) {
        long size = block.byteSize();
        long longs = size >>> 3;
        for (long i = 0; i < longs; i++) {
            block.set(LONG, i << 3, word(seed, i));
        }
        for (long offset = longs << 3; offset < size; offset++) {
            block.set(ValueLayout.JAVA_BYTE, offset, patternByte(seed, offset));
        }
    }

    /**
     * @return the first offset below {@code length} where {@code block} differs from the pattern of
     *     {@code seed}, or -1 if the first {@code length} bytes all hold it
     */
    static long firstMismatch(MemorySegment block, long seed, long length) {
        long longs = length >>> 3;
        for (long i = 0; i < longs; i++) {
            if (block.get(LONG, i << 3) != word(seed, i)) {
                return i << 3;
            }
        }
        for (long offset = longs << 3; offset < length; offset++) {
            if (block.get(ValueLayout.JAVA_BYTE, offset) != patternByte(seed, offset)) {
                return offset;
            }
        }
        return -1;
    }

    /** @return the first offset below {@code length} whose byte is not zero, or -1 */
    static long firstNonZero(MemorySegment block, long length) {
        long longs = length >>> 3;
        for (long i = 0; i < longs; i++) {
            if (block.get(LONG, i << 3) != 0) {
                return i << 3;
            }
        }
        for (long offset = longs << 3; offset < length; offset++) {
            if (block.get(ValueLayout.JAVA_BYTE, offset) != 0) {
                return offset;
            }
        }
        return -1;
    }

    private static long word(long seed, long index) {
        long z = seed * 0x9E3779B97F4A7C15L + index * 0xBF58476D1CE4E5B9L + 1;
        return z ^ (z >>> 29);
    }

    private static byte patternByte(long seed, long offset) {
        int shift = (int) (offset & 7) * 8;
        long word = word(seed, offset >>> 3);
        return (byte) (LITTLE_ENDIAN ? word >>> shift : word >>> (56 - shift));
    }
}
