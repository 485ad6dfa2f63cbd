package org.malloc4j.cli;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The bytes a checked replay writes into every block and expects to find there again: a pattern
 * derived from the block id and the byte's offset, so a block that lost its contents, got another
 * block's contents or was shifted by a moving {@code realloc} is caught. Writes and checks run a
 * word (8 bytes) at a time where the offsets allow.
 */
final class BlockPattern {
    private static final MemorySegment MEMORY = Downcalls.everything();
    private static final ValueLayout.OfLong WORD = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final long STEP = 0x9E37_79B9_7F4A_7C15L;

    private BlockPattern() {
    }

    /** Writes the pattern of block {@code id} into bytes {@code [from, to)} of the block at {@code address}. */
    static void fill(long address, int id, long from, long to) {
        long seed = seed(id);
        long offset = from;
        for (; offset < to && (offset & 7) != 0; offset++) {
            MEMORY.set(ValueLayout.JAVA_BYTE, address + offset, byteAt(seed, offset));
        }
        for (; offset + 8 <= to; offset += 8) {
            MEMORY.set(WORD, address + offset, wordAt(seed, offset));
        }
        for (; offset < to; offset++) {
            MEMORY.set(ValueLayout.JAVA_BYTE, address + offset, byteAt(seed, offset));
        }
    }

    /**
     * @return the offset of the first byte in {@code [from, to)} of the block at {@code address}
     *     that does not hold block {@code id}'s pattern, or -1 if all do
     */
    static long firstMismatch(long address, int id, long from, long to) {
        long seed = seed(id);
        long offset = from;
        for (; offset < to && (offset & 7) != 0; offset++) {
            if (MEMORY.get(ValueLayout.JAVA_BYTE, address + offset) != byteAt(seed, offset)) {
                return offset;
            }
        }
        for (; offset + 8 <= to; offset += 8) {
            if (MEMORY.get(WORD, address + offset) != wordAt(seed, offset)) {
                break;
            }
        }
        for (; offset < to; offset++) {
            if (MEMORY.get(ValueLayout.JAVA_BYTE, address + offset) != byteAt(seed, offset)) {
                return offset;
            }
        }
        return -1;
    }

    /** @return the byte block {@code id}'s pattern has at {@code offset} */
    static byte expected(int id, long offset) {
        return byteAt(seed(id), offset);
    }

    /** @return the byte at {@code address} now */
    static byte actual(long address) {
        return MEMORY.get(ValueLayout.JAVA_BYTE, address);
    }

    private static long wordAt(long seed, long offset) {
        return seed + (offset >>> 3) * STEP;
    }

    private static byte byteAt(long seed, long offset) {
        return (byte) (wordAt(seed, offset & ~7L) >>> ((offset & 7) << 3));
    }

    /** A well-mixed 64-bit value per id (SplitMix64's finalizer), so neighbouring ids differ in every byte. */
    private static long seed(int id) {
        long z = (id + 1L) * STEP;
        z = (z ^ (z >>> 30)) * 0xBF58_476D_1CE4_E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D0_49BB_1331_11EBL;
        return z ^ (z >>> 31);
    }
}
