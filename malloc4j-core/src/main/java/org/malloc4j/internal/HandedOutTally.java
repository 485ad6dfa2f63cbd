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
 * they were taken and by block size, as LeakSanitizer groups leaks by stack: one site may hold the
 * pages of several pools of one name, whose blocks differ in size, and a group's bytes are its
 * blocks times one size. Filled by {@link HandedOutBlocks}; one report's, used by one thread.
 */
public final class HandedOutTally {
    /**
     * A take stack, by its array's identity, and a block size. The records of one stack share its
     * array ({@link StackDepot}), so counting by identity spares a hash of every frame per block;
     * arrays with the same frames (recorded while the depot did not keep them) are merged by
     * {@link #groups}. A null stack stands for the blocks whose take was not recorded.
     */
    private record Take(StackTraceElement[] stack, long byteSize) {
        @Override
        public boolean equals(Object other) {
            return other instanceof Take take && take.stack == stack && take.byteSize == byteSize;
        }

        @Override
        public int hashCode() {
            return 31 * System.identityHashCode(stack) + Long.hashCode(byteSize);
        }
    }

    /**
     * A {@link Take} by its frames: what the report groups by. Its equals and hashCode are written
     * out, as a record's own need a class of the JDK's that a full Java heap can leave failing for
     * good (see {@code SanitizerReports.LeakSite}).
     */
    private record Group(List<StackTraceElement> stack, long byteSize) {
        @Override
        public boolean equals(Object other) {
            return other instanceof Group group && group.byteSize == byteSize && group.stack.equals(stack);
        }

        @Override
        public int hashCode() {
            return 31 * stack.hashCode() + Long.hashCode(byteSize);
        }
    }

    /** Blocks and bytes by {@link Take}, in the order first counted, so that groups of equal size keep it. */
    private final Map<Take, long[]> byTake = new LinkedHashMap<>();

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
        long[] counts = byTake.computeIfAbsent(new Take(takenAt, byteSize), take -> new long[2]);
        counts[0]++;
        counts[1] += byteSize;
    }

    /** Adds {@code other}'s counts to these. */
    void add(HandedOutTally other) {
        other.byTake.forEach((take, counts) -> {
            long[] sum = byTake.computeIfAbsent(take, same -> new long[2]);
            sum[0] += counts[0];
            sum[1] += counts[1];
        });
    }

    /**
     * @return the groups, largest first, by stack and block size; the blocks whose take was not
     *     recorded last, a group for each block size
     */
    List<LeakReport.HandedOut> groups() {
        Map<Group, long[]> recorded = new LinkedHashMap<>();
        Map<Long, long[]> unrecorded = new LinkedHashMap<>();
        byTake.forEach((take, counts) -> {
            long[] sum = take.stack() == null ? unrecorded.computeIfAbsent(take.byteSize(), size -> new long[2])
                    : recorded.computeIfAbsent(new Group(Arrays.asList(take.stack()), take.byteSize()),
                            group -> new long[2]);
            sum[0] += counts[0];
            sum[1] += counts[1];
        });
        List<LeakReport.HandedOut> groups = new ArrayList<>();
        recorded.forEach((group, counts) -> groups.add(new LeakReport.HandedOut(counts[0], counts[1],
                group.stack(), true)));
        groups.sort(Comparator.comparingLong(LeakReport.HandedOut::bytes).reversed());
        unrecorded.values().forEach(counts -> groups.add(new LeakReport.HandedOut(counts[0], counts[1], List.of(),
                false)));
        return groups;
    }
}
