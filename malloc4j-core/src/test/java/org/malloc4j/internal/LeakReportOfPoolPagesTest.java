package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.malloc4j.LeakReport;
import org.junit.jupiter.api.Test;

/**
 * How a leak report treats the pages of a holder that hands out blocks from inside them, whatever
 * the holder does while the report is built: a page given back since the live blocks were listed
 * is no leak, and the blocks whose take was not recorded are said to be so for the reason that
 * applies to the heap's mode.
 */
class LeakReportOfPoolPagesTest {
    private static final StackTraceElement TAKE = new StackTraceElement("App", "take", "App.java", 7);

    @Test
    void aPageGivenBackWhileTheReportIsBuiltIsLeftOut() {
        BlockHolder pool = new BlockHolder("FixedSizePool 'p'", (address, tally) -> {
            if (address == 0x1000) {
                return false;  // given back meanwhile
            }
            tally.add(new StackTraceElement[] {TAKE}, 16);
            return true;
        });
        BlockRecord gone = held(0x1000, 64, pool);
        BlockRecord kept = held(0x2000, 64, pool);

        LeakReport report = SanitizerReports.leaks(List.of(gone, kept), "h", false);

        assertEquals(1, report.blocks(), report.text());
        assertEquals(64, report.bytes(), report.text());
        LeakReport.Site site = report.sites().getFirst();
        assertEquals(1, site.blocks(), report.text());
        assertEquals(1, site.handedOutBlocks(), report.text());
        assertEquals(List.of(TAKE), site.handedOut().getFirst().stack(), report.text());
        assertTrue(report.text().endsWith("SUMMARY: malloc4j: 64 byte(s) leaked in 1 allocation(s)."), report.text());
    }

    @Test
    void everyPageGivenBackLeavesNoLeak() {
        BlockHolder pool = new BlockHolder("FixedSizePool 'p'", (address, tally) -> false);

        LeakReport report = SanitizerReports.leaks(List.of(held(0x1000, 64, pool)), "h", false);

        assertTrue(report.isEmpty(), report.text());
        assertEquals("", report.text());
    }

    @Test
    void blocksWhoseTakeWasNotRecordedAreExplainedByTheHeapsMode() {
        BlockHolder pool = new BlockHolder("FixedSizePool 'p'", (address, tally) -> {
            tally.add(null, 16);
            return true;
        });
        List<BlockRecord> live = List.of(held(0x1000, 64, pool));

        String full = SanitizerReports.leaks(live, "h", false).text();
        String sampled = SanitizerReports.leaks(live, "h", true).text();

        assertTrue(full.contains("    16 byte(s) in 1 block(s) whose take was not recorded (taken on another thread"
                + " while this report read the pool, which has no lock)\n"), full);
        assertTrue(sampled.contains("    16 byte(s) in 1 block(s) whose take was not recorded (sampled mode records"
                + " one block in the heap's sampleInterval)\n"), sampled);
    }

    /**
     * Two pools of one name, whose pages were allocated at one place, hand out blocks of different
     * sizes taken at one place: a group per size, so a group's bytes are its blocks times one size.
     */
    @Test
    void blocksTakenAtOnePlaceAreGroupedBySize() {
        BlockHolder small = new BlockHolder("FixedSizePool 'p'", (address, tally) -> {
            tally.add(new StackTraceElement[] {TAKE}, 16);
            tally.add(new StackTraceElement[] {TAKE}, 16);
            tally.add(null, 16);
            return true;
        });
        BlockHolder large = new BlockHolder("FixedSizePool 'p'", (address, tally) -> {
            tally.add(new StackTraceElement[] {TAKE}, 256);
            tally.add(null, 256);
            return true;
        });

        LeakReport report = SanitizerReports.leaks(List.of(held(0x1000, 64, small), held(0x2000, 64, large)), "h",
                false);

        assertEquals(1, report.sites().size(), report.text());
        assertEquals(List.of(new LeakReport.HandedOut(1, 256, List.of(TAKE), true),
                new LeakReport.HandedOut(2, 32, List.of(TAKE), true),
                new LeakReport.HandedOut(1, 16, List.of(), false),
                new LeakReport.HandedOut(1, 256, List.of(), false)), report.sites().getFirst().handedOut(), report.text());
    }

    /** A native thread calling in through an upcall has no frame outside malloc4j: its take is recorded all the same. */
    @Test
    void aTakeRecordedWithNoFrameIsReportedAsSuch() {
        BlockHolder pool = new BlockHolder("FixedSizePool 'p'", (address, tally) -> {
            tally.add(new StackTraceElement[0], 16);
            return true;
        });

        LeakReport report = SanitizerReports.leaks(List.of(held(0x1000, 64, pool)), "h", false);

        assertEquals(List.of(new LeakReport.HandedOut(1, 16, List.of(), true)),
                report.sites().getFirst().handedOut(), report.text());
        assertTrue(report.text().contains("    16 byte(s) in 1 block(s) taken from:\n"
                + "        (no frames outside malloc4j)\n"), report.text());
    }

    private static BlockRecord held(long address, long byteSize, BlockHolder holder) {
        BlockRecord block = new BlockRecord(address, address, byteSize, byteSize);
        block.owner = holder;
        return block;
    }
}
