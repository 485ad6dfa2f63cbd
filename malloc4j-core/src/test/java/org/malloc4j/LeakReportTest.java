package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A report a program builds itself (a test's expected report, say) is as immutable and consistent as the heap's. */
class LeakReportTest {
    private static final StackTraceElement FRAME = new StackTraceElement("App", "alloc", "App.java", 7);

    @Test
    void aReportKeepsCopiesOfTheListsItWasGiven() {
        List<StackTraceElement> stack = new ArrayList<>(List.of(FRAME));
        LeakReport.Site site = new LeakReport.Site(1, 8, stack);
        List<LeakReport.Site> sites = new ArrayList<>(List.of(site));
        LeakReport report = new LeakReport(1, 8, sites, "text");

        stack.add(FRAME);
        sites.clear();

        assertEquals(List.of(FRAME), site.stack());
        assertEquals(List.of(site), report.sites());
        assertThrows(UnsupportedOperationException.class, () -> report.sites().add(site));
        assertThrows(UnsupportedOperationException.class, () -> site.stack().add(FRAME));
    }

    @Test
    void blocksAndBytesMustBeTheSitesSums() {
        List<LeakReport.Site> sites = List.of(new LeakReport.Site(2, 16, List.of(FRAME)),
                new LeakReport.Site(1, 8, List.of(FRAME), "a BumpArena", 1));

        assertEquals(3, new LeakReport(3, 24, sites, "").blocks());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new LeakReport(0, 0, sites, ""));
        assertTrue(e.getMessage().contains("(3 blocks, 24 bytes)"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new LeakReport(3, 23, sites, ""));
        assertThrows(IllegalArgumentException.class, () -> new LeakReport(1, 0, List.of(), ""));
        assertTrue(new LeakReport(0, 0, List.of(), "").isEmpty());
        LeakReport.Site huge = new LeakReport.Site(Long.MAX_VALUE, 8, List.of(FRAME));
        assertThrows(IllegalArgumentException.class,
                () -> new LeakReport(Long.MIN_VALUE, 16, List.of(huge, new LeakReport.Site(1, 8, List.of(FRAME))), ""));
    }

    /** Printing a report, as a user first would, shows the report, not the record's fields. */
    @Test
    void aReportPrintsAsItsText() {
        try (Heap heap = Heap.builder().name("printed").checkMode(CheckMode.FULL).build()) {
            assertTrue(heap.leaks().toString().startsWith("no leaks recorded"), heap.leaks().toString());
            MemorySegment block = heap.malloc(24);
            LeakReport leaks = heap.leaks();
            assertEquals(leaks.text(), leaks.toString());
            assertTrue(leaks.toString().startsWith("ERROR: malloc4j: detected memory leaks in heap 'printed'"),
                    leaks.toString());
            heap.free(block);
        }
        // FAST records no site: its empty report must not read as an all-clear.
        try (Heap fast = Heap.builder().name("fast").checkMode(CheckMode.FAST).build()) {
            MemorySegment block = fast.malloc(24);
            assertTrue(fast.leaks().toString().contains("FAST"), fast.leaks().toString());
            fast.free(block);
        }
    }

    /** The text is empty when there are no leaks, as the record says: a report of none cannot read as one of some. */
    @Test
    void aReportWithNoSiteHasNoText() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new LeakReport(0, 0, List.of(), "ERROR: malloc4j: detected memory leaks"));
        assertTrue(e.getMessage().contains("no site has no text"), e.getMessage());
        assertEquals("text", new LeakReport(1, 8, List.of(new LeakReport.Site(1, 8, List.of(FRAME))), "text").text());
    }

    @Test
    void aSiteHasABlockAtLeastAndNoNegativeCount() {
        assertThrows(IllegalArgumentException.class, () -> new LeakReport.Site(0, 0, List.of(FRAME)));
        assertThrows(IllegalArgumentException.class, () -> new LeakReport.Site(1, -1, List.of(FRAME)));
        assertThrows(IllegalArgumentException.class, () -> new LeakReport.Site(1, 8, List.of(FRAME), "a BumpArena", -1));
        // Each null is named, not told by the JDK's words about a copy's parameter.
        assertEquals("stack", assertThrows(NullPointerException.class,
                () -> new LeakReport.Site(1, 8, null)).getMessage());
        assertEquals("heldBy", assertThrows(NullPointerException.class,
                () -> new LeakReport.Site(1, 8, List.of(FRAME), null, 0)).getMessage());
        assertEquals("handedOut", assertThrows(NullPointerException.class,
                () -> new LeakReport.Site(1, 8, List.of(FRAME), "FixedSizePool 'p'", 1, true, null)).getMessage());
        assertEquals("text", assertThrows(NullPointerException.class,
                () -> new LeakReport(0, 0, List.of(), null)).getMessage());
        assertEquals("sites", assertThrows(NullPointerException.class,
                () -> new LeakReport(0, 0, null, "")).getMessage());
    }

    @Test
    void onlyHeldBlocksHaveANewestHolderAndItIsNotNegative() {
        assertEquals(7, new LeakReport.Site(1, 8, List.of(FRAME), "a BumpArena", 2, false, List.of(), 7).newestHolder());
        assertEquals(0, new LeakReport.Site(1, 8, List.of(FRAME), "a BumpArena", 2, false, List.of()).newestHolder(),
                "not known");
        assertThrows(IllegalArgumentException.class,
                () -> new LeakReport.Site(1, 8, List.of(FRAME), "a BumpArena", 1, false, List.of(), -1));
        assertThrows(IllegalArgumentException.class,
                () -> new LeakReport.Site(1, 8, List.of(FRAME), "", 0, false, List.of(), 3));
    }
}
