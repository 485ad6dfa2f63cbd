package org.malloc4j.internal;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
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
    /** Blocks and bytes by take stack. */
    private final Map<List<StackTraceElement>, long[]> byStack = new LinkedHashMap<>();
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
        long[] counts = byStack.computeIfAbsent(Arrays.asList(takenAt), stack -> new long[2]);
        counts[0]++;
        counts[1] += byteSize;
    }

    /** @return the groups, largest first, the blocks whose take was not recorded last */
    List<LeakReport.HandedOut> groups() {
        List<LeakReport.HandedOut> groups = new ArrayList<>();
        byStack.forEach((stack, counts) -> groups.add(new LeakReport.HandedOut(counts[0], counts[1], stack, true)));
        groups.sort(Comparator.comparingLong(LeakReport.HandedOut::bytes).reversed());
        if (unrecordedBlocks > 0) {
            groups.add(new LeakReport.HandedOut(unrecordedBlocks, unrecordedBytes, List.of(), false));
        }
        return groups;
    }
}
