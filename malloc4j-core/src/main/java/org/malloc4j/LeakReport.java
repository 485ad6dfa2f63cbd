package org.malloc4j;

import java.util.List;

/**
 * Blocks still live in a checked heap, grouped by allocation site as LeakSanitizer groups them.
 * In {@link CheckMode#SAMPLED} mode only sampled blocks appear; in {@link CheckMode#FAST} mode
 * no block has a recorded site, so the report is always empty.
 *
 * @param blocks live blocks found
 * @param bytes their requested bytes in total
 * @param sites one entry per distinct allocation stack, largest first
 * @param text the report, LeakSanitizer's layout; empty when there are no leaks
 */
public record LeakReport(long blocks, long bytes, List<Site> sites, String text) {
    /**
     * One allocation site's leaks.
     *
     * @param blocks how many blocks leaked from here
     * @param bytes their requested bytes
     * @param stack the allocation stack, innermost frame first, malloc4j's own frames left out
     */
    public record Site(long blocks, long bytes, List<StackTraceElement> stack) {
    }

    /** @return whether nothing leaked */
    public boolean isEmpty() {
        return blocks == 0;
    }
}
