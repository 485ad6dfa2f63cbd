package org.malloc4j.internal;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The live blocks of a page's state table, counted and their slack summed for {@link HeapCore#stats}:
 * eight 1-byte or four 2-byte entries a step, with no branch on an entry. An entry is a live block's
 * slack plus one, 0 for a free block and all ones for a block a thread is claiming ({@link Page}), so
 * the live entries are the nonzero ones and their slack is the entries' sum less one each, less
 * the all-ones entries' value. Freed blocks scattered through a page made the entry-by-entry loop
 * mispredict a branch for about one entry in three: `StatsBenchmark` (4,000,000 blocks, every third
 * freed) took 14.2-14.4 ms a call for blocks of 1-64 B and 2.5 ms for blocks of 64 B that way,
 * against 0.28-0.31 and 0.30 ms a step at a time (two alternated rounds).
 */
final class StateTableSums {
    private static final long LOW7_8 = 0x7F7F7F7F7F7F7F7FL;
    private static final long HIGH_8 = 0x8080808080808080L;
    private static final long LOW15_16 = 0x7FFF7FFF7FFF7FFFL;
    private static final long HIGH_16 = 0x8000800080008000L;
    private static final long EVEN_BYTES = 0x00FF00FF00FF00FFL;
    private static final long EVEN_SHORTS = 0x0000FFFF0000FFFFL;

    private StateTableSums() {
    }

    /**
     * Counts the live entries among the first {@code end} of {@code entries}, rounded down to a
     * whole step, and sums their slack.
     *
     * @param entries a {@code byte[]} ({@code width} 1) or {@code short[]} ({@code width} 2)
     * @return the entries covered, a multiple of the step; {@code counts[0]} grows by the live
     *     entries among them and {@code counts[1]} by their slack
     */
    static int addWholeSteps(Object entries, int width, int end, long[] counts) {
        MemorySegment table = width == 1 ? MemorySegment.ofArray((byte[]) entries) : MemorySegment.ofArray((short[]) entries);
        int perStep = Long.BYTES / width;
        int steps = end / perStep;
        long live = 0;
        long claiming = 0;
        long sum = 0;
        for (long step = 0; step < steps; step++) {
            long word = table.get(ValueLayout.JAVA_LONG_UNALIGNED, step * Long.BYTES);
            if (width == 1) {
                live += Long.bitCount(nonZeroBytes(word));
                claiming += Long.BYTES - Long.bitCount(nonZeroBytes(~word));
                sum += byteSum(word);
            } else {
                live += Long.bitCount(nonZeroShorts(word));
                claiming += Long.BYTES / 2 - Long.bitCount(nonZeroShorts(~word));
                sum += shortSum(word);
            }
        }
        long allOnes = width == 1 ? 0xFF : 0xFFFF;
        // A claiming block counts as live with no slack, as Page#rawSlack reads it.
        counts[0] += live;
        counts[1] += sum - live - claiming * (allOnes - 1);
        return steps * perStep;
    }

    /** @return the high bit of each byte of {@code word} that is not 0 */
    private static long nonZeroBytes(long word) {
        return (((word & LOW7_8) + LOW7_8) | word) & HIGH_8;
    }

    /** @return the high bit of each 2-byte lane of {@code word} that is not 0 */
    private static long nonZeroShorts(long word) {
        return (((word & LOW15_16) + LOW15_16) | word) & HIGH_16;
    }

    private static long byteSum(long word) {
        long pairs = (word & EVEN_BYTES) + ((word >>> 8) & EVEN_BYTES);  // four lanes of at most 510
        long quads = pairs + (pairs >>> 16);
        return (quads + (quads >>> 32)) & 0xFFFF;
    }

    private static long shortSum(long word) {
        long pairs = (word & EVEN_SHORTS) + ((word >>> 16) & EVEN_SHORTS);  // two lanes of at most 131,070
        return (pairs + (pairs >>> 32)) & 0xFFFFFFFFL;
    }
}
