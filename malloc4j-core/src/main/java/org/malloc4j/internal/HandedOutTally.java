package org.malloc4j.internal;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.malloc4j.LeakReport;

/**
 * The blocks a holder still has handed out from inside one leak site's blocks, grouped by where
 * they were taken, as LeakSanitizer groups leaks by stack. Filled by {@link HandedOutBlocks}; one
 * report's, used by one thread.
 */
public final class HandedOutTally {
    /**
     * Blocks and bytes by take stack array. The records of one stack share its array
     * ({@link StackDepot}), so counting by identity spares a hash of every frame per block; arrays
     * with the same frames (recorded once the depot was full) are merged by {@link #groups}.
     */
    private final Map<StackTraceElement[], long[]> byArray = new IdentityHashMap<>();
    /** The keys of {@link #byArray} as first counted, so that groups of equal size keep that order. */
    private final List<StackTraceElement[]> arrays = new ArrayList<>();
    private long unrecordedBlocks;
    private long unrecordedBytes;

    HandedOutTally() {
    }

    /**
     * Counts one block still handed out.
     *
     * @param takenAt where it was taken, innermost frame first, malloc4j's own frames left out; null
     *     when the holder did not record it
     * @param byteSize the block's size in bytes
     */
    public void add(StackTraceElement[] takenAt, long byteSize) {
        if (takenAt == null) {
            unrecordedBlocks++;
            unrecordedBytes += byteSize;
            return;
        }
        long[] counts = countsOf(takenAt);
        counts[0]++;
        counts[1] += byteSize;
    }

    /** Adds {@code other}'s counts to these. */
    void add(HandedOutTally other) {
        for (StackTraceElement[] stack : other.arrays) {
            long[] counts = other.byArray.get(stack);
            long[] sum = countsOf(stack);
            sum[0] += counts[0];
            sum[1] += counts[1];
        }
        unrecordedBlocks += other.unrecordedBlocks;
        unrecordedBytes += other.unrecordedBytes;
    }

    private long[] countsOf(StackTraceElement[] stack) {
        long[] counts = byArray.get(stack);
        if (counts == null) {
            counts = new long[2];
            byArray.put(stack, counts);
            arrays.add(stack);
        }
        return counts;
    }

    /** @return the groups, largest first, the blocks whose take was not recorded last */
    List<LeakReport.HandedOut> groups() {
        Map<List<StackTraceElement>, long[]> byStack = new LinkedHashMap<>();
        for (StackTraceElement[] stack : arrays) {
            long[] counts = byArray.get(stack);
            long[] sum = byStack.computeIfAbsent(Arrays.asList(stack), frames -> new long[2]);
            sum[0] += counts[0];
            sum[1] += counts[1];
        }
        List<LeakReport.HandedOut> groups = new ArrayList<>();
        byStack.forEach((stack, counts) -> groups.add(new LeakReport.HandedOut(counts[0], counts[1], stack, true)));
        groups.sort(Comparator.comparingLong(LeakReport.HandedOut::bytes).reversed());
        if (unrecordedBlocks > 0) {
            groups.add(new LeakReport.HandedOut(unrecordedBlocks, unrecordedBytes, List.of(), false));
        }
        return groups;
    }
}
