package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.invoke.VarHandle;

/**
 * A realloc in place by a thread that does not hold the page ({@link Page#setRequested}), played in
 * its two steps so a test can act between them: the block's mark, then its settling. The block is
 * on a page of one-byte entries.
 */
final class ResizeMarks {
    private ResizeMarks() {
    }

    /** Marks block {@code index} of {@code page}, live with {@code oldRequested} bytes, as the resize does. */
    static void mark(Page page, int index, long oldRequested) {
        assertEquals(1, page.slackWidth, "not a page of one-byte entries");
        assertEquals(page.blockSize - oldRequested + 1, page.slack8[index] & 0xFF, "not live with that size");
        VarHandle.fullFence();
        page.slack8[index] = Page.TENTATIVE_ENTRY;
        VarHandle.fullFence();
    }

    /** Settles the mark of {@link #mark}: the block at {@code block} is to hold {@code newRequested} bytes. */
    static int settle(Page page, long block, int index, long oldRequested, long newRequested) {
        int size = page.blockSize;
        return page.settleResizing(block, page.slack8, 1, size, index, (int) (size - oldRequested),
                (int) (size - newRequested));
    }
}
