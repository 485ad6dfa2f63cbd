package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * {@link StateTableSums} against the entry-by-entry reading: nonzero entries are live, an entry's
 * slack is its value less one, and an all-ones entry (a block being claimed) is live with no slack.
 */
class StateTableSumsTest {
    @Property(tries = 200)
    void byteEntriesCountAsReadOneByOne(@ForAll byte[] entries, @ForAll @IntRange(min = 0, max = 3) int skew) {
        for (int i = 0; i < entries.length; i++) {
            entries[i] = (byte) skewed(entries[i], i, skew);
        }
        assertSumsAsOneByOne(entries, 1, entries.length);
    }

    @Property(tries = 200)
    void shortEntriesCountAsReadOneByOne(@ForAll short[] entries, @ForAll @IntRange(min = 0, max = 3) int skew) {
        for (int i = 0; i < entries.length; i++) {
            entries[i] = (short) skewed(entries[i], i, skew);
        }
        assertSumsAsOneByOne(entries, 2, entries.length);
    }

    /** Skews towards the entries that matter: free (0) and claiming (all ones, -1 signed). */
    private static int skewed(int entry, int index, int skew) {
        return skew > 0 && index % (skew + 1) == 0 ? (index % 2 == 0 ? 0 : -1) : entry;
    }

    private static void assertSumsAsOneByOne(Object entries, int width, int length) {
        long[] fast = new long[2];
        int covered = StateTableSums.addWholeSteps(entries, width, length, fast);
        int perStep = Long.BYTES / width;
        assertEquals(length / perStep * perStep, covered);
        assertArrayEquals(oneByOne(entries, width, covered), fast);
    }

    @Test
    void onlyTheEntriesBeforeTheEndCount() {
        byte[] entries = new byte[32];
        java.util.Arrays.fill(entries, (byte) 7);
        long[] fast = new long[2];
        assertEquals(16, StateTableSums.addWholeSteps(entries, 1, 20, fast));
        assertArrayEquals(new long[] {16, 16 * 6}, fast);
    }

    @Test
    void extremeEntriesDoNotCarryIntoTheirNeighbours() {
        byte[] bytes = {-2, -2, -2, -2, -2, -2, -2, -2, -1, -1, -1, -1, -1, -1, -1, -1, 1, 0, 1, 0, 1, 0, 1, 0};
        long[] fast = new long[2];
        StateTableSums.addWholeSteps(bytes, 1, bytes.length, fast);
        // Eight of slack 253, eight claiming (no slack), four of slack 0.
        assertArrayEquals(new long[] {20, 8 * 253}, fast);
        short[] shorts = {-2, -2, -2, -2, -1, -1, -1, -1, 1, 0, 1, 0};
        long[] wide = new long[2];
        StateTableSums.addWholeSteps(shorts, 2, shorts.length, wide);
        assertArrayEquals(new long[] {10, 4 * 65533}, wide);
    }

    private static long[] oneByOne(Object entries, int width, int end) {
        long live = 0;
        long slack = 0;
        for (int i = 0; i < end; i++) {
            int entry = width == 1 ? ((byte[]) entries)[i] & 0xFF : ((short[]) entries)[i] & 0xFFFF;
            int allOnes = width == 1 ? 0xFF : 0xFFFF;
            if (entry != 0) {
                live++;
                slack += entry == allOnes ? 0 : entry - 1;
            }
        }
        return new long[] {live, slack};
    }
}
