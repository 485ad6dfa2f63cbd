package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A page laid out again for another size class keeps its slack array when it is wide and long
 * enough: these check that no entry of an earlier layout ever reads as a live block of the new
 * one, so a free of a block never handed out is still refused and a live block is claimed exactly
 * once, whatever the classes and whatever was live when the layout changed.
 */
class PageLayoutTest {
    private static final long SPAN = 512 << 10;
    /** Block sizes whose slacks are bytes, shorts and ints, so layouts both keep and change arrays. */
    private static final long[] SIZES = {16, 48, 112, 240, 256, 1024, 8192, 20_000, 70_000};

    private static Page page() {
        Page page = new Page(null, 0, 8, 1L << 32, SPAN);
        // Its memory counts as committed: these layouts never ask a heap for more.
        page.commitEnd = SPAN;
        return page;
    }

    @Test
    void afterEveryChangeOfClassNoBlockIsLiveUntilHandedOutAndEachIsClaimedOnce() {
        SplittableRandom random = new SplittableRandom(7);
        for (long from : SIZES) {
            for (long to : SIZES) {
                Page page = page();
                page.format(SizeClasses.classOf(from));
                int handedOut = 1 + random.nextInt(page.capacity);
                for (int i = 0; i < handedOut; i++) {
                    assertTrue(page.allocate(from - random.nextInt((int) Math.min(from, 16)), null) != 0);
                }
                for (int i = 0; i < handedOut; i++) {
                    assertTrue(page.release(i) >= 0, from + " B block " + i);
                    page.freeLocal(i);
                }
                page.retire();
                page.format(SizeClasses.classOf(to));
                assertNothingLive(page, from + " B -> " + to + " B");
                assertEachClaimedOnce(page, to, random, from + " B -> " + to + " B");
            }
        }
    }

    /** A block alone in its page, at its start, changes class with the page (a growing realloc). */
    @Test
    void aPageLaidOutAgainUnderItsOnlyLiveBlockMarksThatBlockFree() {
        SplittableRandom random = new SplittableRandom(8);
        for (long from : SIZES) {
            for (long to : SIZES) {
                Page page = page();
                page.format(SizeClasses.classOf(from));
                page.allocate(from, null);
                page.retire();
                page.format(SizeClasses.classOf(to));
                assertNothingLive(page, "first block kept, " + from + " B -> " + to + " B");
                assertEachClaimedOnce(page, to, random, "first block kept, " + from + " B -> " + to + " B");
            }
        }
    }

    /** Live blocks other than the first one when the layout changes. */
    @Test
    void aPageLaidOutAgainWithOtherBlocksLiveMarksEveryBlockFree() {
        Page page = page();
        page.format(SizeClasses.classOf(48));
        for (int i = 0; i < 10; i++) {
            page.allocate(40, null);
        }
        page.release(0);
        page.freeLocal(0);
        page.retire();
        page.format(SizeClasses.classOf(112));
        assertNothingLive(page, "blocks 1..9 live at the new layout");
    }

    private static void assertNothingLive(Page page, String what) {
        for (int i = 0; i < page.capacity; i++) {
            assertEquals(Page.RELEASE_NOT_ALLOCATED, page.release(i), what + ": block " + i + " of " + page.capacity);
        }
    }

    private static void assertEachClaimedOnce(Page page, long size, SplittableRandom random, String what) {
        int count = 1 + random.nextInt(page.capacity);
        long[] requested = new long[count];
        for (int i = 0; i < count; i++) {
            requested[i] = size - random.nextInt((int) Math.min(size, 16));
            assertTrue(page.allocate(requested[i], null) != 0, what);
        }
        for (int i = 0; i < count; i++) {
            assertEquals(page.blockSize - requested[i], page.release(i), what + ": block " + i);
            assertEquals(Page.RELEASE_FREED, page.release(i), what + ": block " + i + " again");
        }
        if (count < page.capacity) {
            assertEquals(Page.RELEASE_NOT_ALLOCATED, page.release(count), what + ": past the bump pointer");
        }
    }
}
