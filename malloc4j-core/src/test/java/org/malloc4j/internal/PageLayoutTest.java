package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A page laid out again in place for another size class keeps its slack array when it is wide,
 * long and reusable enough, and otherwise takes one its heap's pages let go ({@link SpareSlackArrays}); a page from the pool takes a new one: these check that no entry of an earlier layout ever reads as a live block of the new
 * one, so a free of a block never handed out is still refused and a live block is claimed exactly
 * once, whatever the classes and whatever was live when the layout changed.
 */
class PageLayoutTest {
    private static final long SPAN = 512 << 10;
    /** Block sizes whose slacks are bytes, shorts and ints, so layouts both keep and change arrays. */
    private static final long[] SIZES = {16, 48, 112, 240, 256, 1024, 8192, 20_000, 70_000};

    /** The spare arrays the pages of one heap share, as its span allocator keeps them. */
    private final SpareSlackArrays spares = new SpareSlackArrays();

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
                page.format(SizeClasses.classOf(from), spares, true);
                int handedOut = 1 + random.nextInt(page.capacity);
                for (int i = 0; i < handedOut; i++) {
                    assertTrue(page.allocate(from - random.nextInt((int) Math.min(from, 16)), null) != 0);
                }
                for (int i = 0; i < handedOut; i++) {
                    assertTrue(page.release(i) >= 0, from + " B block " + i);
                    page.freeLocal(i);
                }
                page.retire();
                page.format(SizeClasses.classOf(to), spares, true);
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
                page.format(SizeClasses.classOf(from), spares, true);
                page.allocate(from, null);
                page.retire();
                page.format(SizeClasses.classOf(to), spares, true);
                assertNothingLive(page, "first block kept, " + from + " B -> " + to + " B");
                assertEachClaimedOnce(page, to, random, "first block kept, " + from + " B -> " + to + " B");
            }
        }
    }

    /** Live blocks other than the first one when the layout changes. */
    @Test
    void aPageLaidOutAgainWithOtherBlocksLiveMarksEveryBlockFree() {
        Page page = page();
        page.format(SizeClasses.classOf(48), spares, true);
        for (int i = 0; i < 10; i++) {
            page.allocate(40, null);
        }
        page.release(0);
        page.freeLocal(0);
        page.retire();
        page.format(SizeClasses.classOf(112), spares, true);
        assertNothingLive(page, "blocks 1..9 live at the new layout");
    }

    /**
     * A layout of another entry width gives the page's array to the spares, and a later layout of
     * that width takes it back instead of allocating, on the same page or another: pages that change
     * class again and again (a block grown by realloc, page after page) make no garbage. The spares
     * keep one array a width, the longest.
     */
    @Test
    void aLayoutOfAnotherWidthLeavesItsArrayForTheNextLayoutOfThatWidth() {
        Page page = page();
        page.format(SizeClasses.classOf(16), spares, true);
        byte[] bytes = page.slack8;
        assertEquals(0, spares.metadataBytes());
        page.format(SizeClasses.classOf(256), spares, true);
        short[] shorts = page.slack16;
        assertNull(page.slack8, "the present layout's arrays are of its width only");
        assertEquals(16 + bytes.length, spares.metadataBytes());
        page.format(SizeClasses.classOf(70_000), spares, true);
        int[] ints = page.slack32;
        assertEquals(16 + bytes.length + 16 + 2L * shorts.length, spares.metadataBytes());
        page.format(SizeClasses.classOf(48), spares, true);
        assertTrue(bytes == page.slack8, "the one-byte entries taken back");
        Page other = page();
        other.format(SizeClasses.classOf(1024), spares, true);
        assertTrue(shorts == other.slack16, "the two-byte entries taken back by another page, for fewer blocks");
        other.format(SizeClasses.classOf(100_000), spares, true);
        assertTrue(ints == other.slack32, "the four-byte entries taken back by it");
        assertEquals(16 + 2L * shorts.length, spares.metadataBytes(), "the two-byte entries kept again");
        Page third = page();
        Page fourth = page();
        third.format(SizeClasses.classOf(8192), spares, true);
        assertTrue(shorts == third.slack16);
        fourth.format(SizeClasses.classOf(8192), spares, true);
        third.format(SizeClasses.classOf(16), spares, true);
        fourth.format(SizeClasses.classOf(16), spares, true);
        assertEquals(16 + 2L * shorts.length, spares.metadataBytes(), "a shorter array than the one kept is let go");
        assertNothingLive(page, "one-byte entries taken back");
        assertNothingLive(other, "four-byte entries taken back");
    }

    /**
     * Three pages sharing their spare arrays through 300 layouts of random classes, each used by
     * random blocks and freed (in place of its only block, as a growing realloc does, every fourth
     * time): no layout ever finds a block live that it did not hand out, whichever page's array it
     * took, and its free bitmap hands out only blocks it freed.
     */
    @Test
    void aPageThroughManyLayoutsNeverInheritsALiveBlock() {
        SplittableRandom random = new SplittableRandom(9);
        Page[] pages = {page(), page(), page()};
        for (Page each : pages) {
            each.format(SizeClasses.classOf(SIZES[random.nextInt(SIZES.length)]), spares, random.nextBoolean());
        }
        for (int round = 0; round < 300; round++) {
            Page page = pages[random.nextInt(pages.length)];
            long size = page.blockSize;
            String what = "layout " + round + " (" + size + " B)";
            assertNothingLive(page, what);
            boolean inPlace = round % 4 == 3;
            int count = inPlace ? 1 : 1 + random.nextInt(page.capacity);
            for (int i = 0; i < count; i++) {
                assertTrue(page.allocate(size - random.nextInt((int) Math.min(size, 16)), null) != 0, what);
            }
            if (!inPlace) {
                // Blocks freed in this layout are what its free bitmap hands out again, and only them.
                java.util.Set<Long> freed = new java.util.HashSet<>();
                for (int i = 0; i < count; i += 1 + random.nextInt(3)) {
                    assertTrue(page.release(i) >= 0, what + ": block " + i);
                    page.freeLocal(i);
                    freed.add(page.address(i));
                }
                for (int n = freed.size(); n > 0; n--) {
                    long address = page.allocate(size, null) & Page.ADDRESS_MASK;
                    assertTrue(freed.remove(address), what + ": handed out 0x" + Long.toHexString(address) + ", not freed");
                }
            }
            for (int i = inPlace ? 0 : count - 1; i >= 0; i--) {
                assertTrue(page.release(i) >= 0, what + ": block " + i);
                if (!inPlace) {
                    page.freeLocal(i);
                }
            }
            page.retire();
            page.format(SizeClasses.classOf(SIZES[random.nextInt(SIZES.length)]), spares, random.nextBoolean());
        }
    }

    /**
     * A page taken from the pool gets a kept array, or else a new array of even length, which no
     * later layout takes, of that page or another; a page laid out again in place gets one of odd
     * length, which later layouts reuse. Only the first kind may be claimed from with one compare-and-set by
     * another thread ({@link Page#claimFromOther}).
     */
    @Test
    void aFreshLayoutsArrayServesThatLayoutOnly() {
        Page page = page();
        page.format(SizeClasses.classOf(16), spares, false);
        byte[] fresh = page.slack8;
        assertEquals(0, fresh.length % 2, "a fresh array's length is even");
        page.retire();
        page.format(SizeClasses.classOf(32), spares, true);
        byte[] reusable = page.slack8;
        assertNotSame(fresh, reusable, "a fresh array is not laid out again, even in place");
        assertEquals(1, reusable.length % 2, "an array laid out in place has an odd length");
        assertEquals(0, spares.metadataBytes(), "nor is a fresh array kept");
        page.retire();
        page.format(SizeClasses.classOf(48), spares, true);
        assertSame(reusable, page.slack8, "a reusable array serves the next layout in place");
        page.retire();
        page.format(SizeClasses.classOf(64), spares, false);
        assertNotSame(reusable, page.slack8, "a page from the pool takes a new array");
        assertEquals(0, page.slack8.length % 2);
        assertEquals(16 + reusable.length, spares.metadataBytes(), "the reusable one is kept");
        Page other = page();
        other.format(SizeClasses.classOf(64), spares, true);
        assertSame(reusable, other.slack8, "and taken by another page's layout in place");
        Page third = page();
        third.format(SizeClasses.classOf(16), spares, false);
        third.retire();
        third.format(SizeClasses.classOf(256), spares, true);
        assertEquals(0, spares.metadataBytes(), "a fresh array of another width is not kept either");
        Page fourth = page();
        fourth.format(SizeClasses.classOf(16), spares, true);
        byte[] kept = fourth.slack8;
        fourth.format(SizeClasses.classOf(256), spares, true);
        Page fifth = page();
        fifth.format(SizeClasses.classOf(48), spares, false);
        assertSame(kept, fifth.slack8, "a page from the pool takes a kept array before it allocates one");
    }

    /** The single compare-and-set claim of another thread: only where it is certainly right. */
    @Test
    void anotherThreadClaimsAtOnceOnlyALiveUnheldBlockOfAFreshArrayInAThreadHeapsPage() {
        Page page = page();
        page.format(SizeClasses.classOf(48), spares, false);
        for (int i = 0; i < 4; i++) {
            page.allocate(40, null);
        }
        assertEquals(-1, page.claimFromOther(page.address(1)), "a page no thread owns: a stripe's, or none's");
        page.ownerThread = Thread.currentThread();
        assertEquals(1, page.claimFromOther(page.address(1)));
        assertEquals(-1, page.claimFromOther(page.address(1)), "claimed already");
        assertEquals(Page.RELEASE_FREED, page.release(1));
        assertEquals(-1, page.claimFromOther(page.address(2) + 16), "an interior address");
        assertEquals(-1, page.claimFromOther(page.address(5)), "past the bump pointer");
        page.setOwned(2, true);
        assertEquals(-1, page.claimFromOther(page.address(2)), "a held block");
        assertEquals(8, page.release(2), "and it is still live, its slack unchanged");

        Page inPlace = page();
        inPlace.format(SizeClasses.classOf(48), spares, true);
        inPlace.allocate(40, null);
        inPlace.ownerThread = Thread.currentThread();
        assertEquals(-1, inPlace.claimFromOther(inPlace.address(0)), "a reusable array: the full path claims");
        assertEquals(8, inPlace.release(0));
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
