package org.malloc4j.internal;

import java.util.HashSet;
import java.util.Set;

/** For tests: which small pages a set of blocks lies in. */
final class PagesOfBlocks {
    private PagesOfBlocks() {
    }

    /** @return the 64 KiB slices that {@code blocks}, addresses of blocks of small pages, start in */
    static Set<Long> pagesOf(long[] blocks) {
        Set<Long> pages = new HashSet<>();
        for (long address : blocks) {
            pages.add(address >>> Region.SLICE_SHIFT);
        }
        return pages;
    }
}
