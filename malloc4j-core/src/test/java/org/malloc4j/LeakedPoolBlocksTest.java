package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * A pool left open leaks its pages, and the leak report says which of the pool's blocks inside them
 * are still handed out and where they were taken: the program's own {@code allocate()} calls that
 * leaked, as a plain block's report names its {@code malloc}.
 */
class LeakedPoolBlocksTest {
    private static final String TEST_FILE = "LeakedPoolBlocksTest.java";

    @Test
    void fullModeGroupsTheBlocksStillHandedOutByTheLineThatTookThem() {
        try (Heap heap = Heap.builder().name("full").checkMode(CheckMode.FULL).leakReportAtClose(false).build()) {
            FixedSizePool pool = FixedSizePool.builder(heap, 16).name("nodes").blocksPerPage(64).build();
            Set<Integer> nodeLines = new HashSet<>();
            Set<Integer> leafLines = new HashSet<>();
            List<MemorySegment> nodes = new ArrayList<>();
            List<MemorySegment> leaves = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                nodes.add(takenAt(pool.allocate(), nodeLines));
            }
            for (int i = 0; i < 2; i++) {
                leaves.add(takenAt(pool.allocate(), leafLines));
            }
            pool.free(leaves.getFirst());

            LeakReport.Site site = poolSite(heap.leaks(), "FixedSizePool 'nodes'");
            String text = heap.leaks().text();
            assertEquals(1, site.blocks(), text);
            // The page is 64 strides, each with the block's redzones in this mode.
            assertEquals(64 * pool.strideBytes(), site.bytes(), text);
            assertTrue(site.poolPages(), text);
            assertEquals(4, site.handedOutBlocks(), text);
            assertEquals(64, site.handedOutBytes(), text);
            List<LeakReport.HandedOut> groups = site.handedOut();
            assertEquals(2, groups.size(), text);
            assertGroup(groups.get(0), 3, 48, "fullModeGroupsTheBlocksStillHandedOutByTheLineThatTookThem",
                    single(nodeLines), text);
            assertGroup(groups.get(1), 1, 16, "fullModeGroupsTheBlocksStillHandedOutByTheLineThatTookThem",
                    single(leafLines), text);

            assertTrue(text.contains("  Inside it, 64 byte(s) in 4 block(s) of FixedSizePool 'nodes' still handed out,"
                    + " never given back:\n    48 byte(s) in 3 block(s) taken from:\n        #0 "
                    + groups.get(0).stack().get(0) + "\n"), text);
            assertTrue(text.contains("    16 byte(s) in 1 block(s) taken from:\n        #0 " + groups.get(1).stack().get(0)
                    + "\n"), text);
            // The page's own leak keeps LeakSanitizer's heading, its stack just above what is handed out.
            assertTrue(text.contains("Direct leak of " + 64 * pool.strideBytes() + " byte(s) in 1 object(s) held by"
                    + " FixedSizePool 'nodes', which"
                    + " was not closed (closing it frees them), allocated from:\n    #0 "), text);
        }
    }

    @Test
    void aPageWithNoBlockHandedOutSaysOnlyThePoolKeepsIt() {
        try (Heap heap = Heap.builder().name("empty").checkMode(CheckMode.FULL).leakReportAtClose(false).build()) {
            FixedSizePool pool = FixedSizePool.builder(heap, 32).name("idle").blocksPerPage(8).build();
            // The pool keeps its one empty page when its last block comes back.
            pool.free(pool.allocate());

            LeakReport leaks = heap.leaks();
            LeakReport.Site site = poolSite(leaks, "FixedSizePool 'idle'");
            assertTrue(site.poolPages(), leaks.text());
            assertEquals(List.of(), site.handedOut(), leaks.text());
            assertEquals(0, site.handedOutBlocks());
            assertTrue(leaks.text().contains("allocated from:\n    #0 ") && leaks.text().contains(
                    "\n  No block inside it is handed out: only FixedSizePool 'idle', left open, keeps it.\n"),
                    leaks.text());
        }
    }

    /** Pages taken at one line are one leak: their handed-out blocks are counted together. */
    @Test
    void theBlocksOfEveryPageOfOneSiteAreCountedTogether() {
        try (Heap heap = Heap.builder().name("pages").checkMode(CheckMode.FULL).leakReportAtClose(false).build()) {
            FixedSizePool pool = FixedSizePool.builder(heap, 24).name("many").blocksPerPage(4).build();
            Set<Integer> lines = new HashSet<>();
            for (int i = 0; i < 10; i++) {
                takenAt(pool.allocate(), lines);
            }
            LeakReport leaks = heap.leaks();
            LeakReport.Site site = poolSite(leaks, "FixedSizePool 'many'");
            assertEquals(3, site.blocks(), leaks.text());
            assertEquals(1, site.handedOut().size(), leaks.text());
            assertGroup(site.handedOut().getFirst(), 10, 240, "theBlocksOfEveryPageOfOneSiteAreCountedTogether",
                    single(lines), leaks.text());
            assertTrue(leaks.text().contains("  Inside them, 240 byte(s) in 10 block(s) of FixedSizePool 'many' still"
                    + " handed out, never given back:\n"), leaks.text());
        }
    }

    /**
     * Sampled mode records where one block in the sampling interval was taken: a sampled page's
     * other blocks are counted as not recorded, with no stack made up for them.
     */
    @Test
    void sampledModeCountsTheBlocksItDidNotRecordWithoutAStack() {
        try (Heap heap = Heap.builder().name("sampled").checkMode(CheckMode.SAMPLED).sampleInterval(2)
                .leakReportAtClose(false).build()) {
            Set<Integer> lines = new HashSet<>();
            LeakReport.Site site = null;
            // A page is itself sampled one time in two: a pool whose page was not is not in the report.
            for (int attempt = 0; attempt < 100 && site == null; attempt++) {
                String name = "sampled-" + attempt;
                FixedSizePool pool = FixedSizePool.builder(heap, 16).name(name).blocksPerPage(64).build();
                for (int i = 0; i < 64; i++) {
                    takenAt(pool.allocate(), lines);
                }
                site = heap.leaks().sites().stream().filter(s -> s.heldBy().equals("FixedSizePool '" + name + "'"))
                        .findFirst().orElse(null);
            }
            assertNotNull(site, "no page sampled in 100 tries");
            String text = heap.leaks().text();
            assertEquals(64, site.handedOutBlocks(), text);
            assertEquals(64 * 16, site.handedOutBytes(), text);
            // 64 blocks sampled one time in two: all or none of them recorded one time in 2^63.
            assertEquals(2, site.handedOut().size(), text);
            LeakReport.HandedOut recorded = site.handedOut().get(0);
            LeakReport.HandedOut unrecorded = site.handedOut().get(1);
            assertGroup(recorded, recorded.blocks(), recorded.blocks() * 16,
                    "sampledModeCountsTheBlocksItDidNotRecordWithoutAStack", single(lines), text);
            assertFalse(unrecorded.recorded(), text);
            assertEquals(List.of(), unrecorded.stack(), text);
            assertEquals(64 - recorded.blocks(), unrecorded.blocks(), text);
            assertEquals(unrecorded.blocks() * 16, unrecorded.bytes(), text);
            assertTrue(text.contains("    " + unrecorded.bytes() + " byte(s) in " + unrecorded.blocks()
                    + " block(s) whose take was not recorded (sampled mode records one block in the heap's "
                    + "sampleInterval)\n"), text);
        }
    }

    @Test
    void fastModeReportsNothing() {
        try (Heap heap = Heap.builder().name("fast").checkMode(CheckMode.FAST).leakReportAtClose(false).build()) {
            FixedSizePool pool = FixedSizePool.builder(heap, 16).name("nodes").build();
            for (int i = 0; i < 5; i++) {
                pool.allocate();
            }
            LeakReport leaks = heap.leaks();
            assertTrue(leaks.isEmpty(), leaks.text());
            assertEquals(List.of(), leaks.sites());
            assertEquals("", leaks.text());
        }
    }

    /**
     * A thread-safe pool is read under its lock: every block a full-mode report finds handed out has
     * its take recorded, however busy another thread keeps the pool.
     */
    @Test
    void aThreadSafePoolInUseIsReportedExactly() throws Exception {
        try (Heap heap = Heap.builder().name("busy").checkMode(CheckMode.FULL).leakReportAtClose(false).build()) {
            FixedSizePool pool = FixedSizePool.builder(heap, 16).name("shared").blocksPerPage(8).threadSafe(true)
                    .build();
            List<LeakReport> reports = reportWhileChurning(pool, heap);
            for (LeakReport report : reports) {
                for (LeakReport.Site site : report.sites()) {
                    assertTrue(site.handedOut().stream().allMatch(LeakReport.HandedOut::recorded), report.text());
                    assertTrue(site.handedOutBlocks() <= site.blocks() * 8, report.text());
                }
            }
        }
    }

    /**
     * A pool that is not thread-safe is read without a lock by a report on another thread: the
     * report may be out of date, but never throws and never counts more blocks than the pages hold.
     */
    @Test
    void aPoolWithoutALockInUseOnAnotherThreadNeverBreaksTheReport() throws Exception {
        try (Heap heap = Heap.builder().name("racy").checkMode(CheckMode.FULL).leakReportAtClose(false).build()) {
            FixedSizePool pool = FixedSizePool.builder(heap, 16).name("unlocked").blocksPerPage(8).build();
            List<LeakReport> reports = reportWhileChurning(pool, heap);
            for (LeakReport report : reports) {
                for (LeakReport.Site site : report.sites()) {
                    assertTrue(site.handedOutBlocks() <= site.blocks() * 8, report.text());
                    assertEquals(16 * site.handedOutBlocks(), site.handedOutBytes(), report.text());
                }
            }
        }
    }

    /** The records refuse what their documentation rules out, rather than carry it into a report. */
    @Test
    void theRecordsRefuseWhatTheirDocumentationRulesOut() {
        StackTraceElement frame = new StackTraceElement("A", "b", "A.java", 1);
        assertThrows(IllegalArgumentException.class, () -> new LeakReport.HandedOut(0, 0, List.of(frame), true));
        assertThrows(IllegalArgumentException.class, () -> new LeakReport.HandedOut(1, -5, List.of(frame), true));
        // A take recorded on a native thread, through an upcall, has no frame outside malloc4j.
        assertEquals(List.of(), new LeakReport.HandedOut(1, 16, List.of(), true).stack());
        assertThrows(IllegalArgumentException.class, () -> new LeakReport.HandedOut(1, 16, List.of(frame), false));
        LeakReport.HandedOut out = new LeakReport.HandedOut(1, 16, List.of(frame), true);
        assertThrows(IllegalArgumentException.class,
                () -> new LeakReport.Site(1, 64, List.of(frame), "a BumpArena", 1, false, List.of(out)));
        assertEquals(16, new LeakReport.Site(1, 64, List.of(frame), "FixedSizePool 'p'", 1, true, List.of(out))
                .handedOutBytes());
    }

    /** A site made as before pools said what they hand out still reads as one that hands out nothing. */
    @Test
    void aSiteMadeWithTheEarlierConstructorHandsOutNothing() {
        LeakReport.Site site = new LeakReport.Site(2, 64, List.of(), "a BumpArena", 1);
        assertFalse(site.poolPages());
        assertEquals(List.of(), site.handedOut());
        assertEquals(0, site.handedOutBytes());
    }

    /**
     * Takes and gives back blocks of {@code pool} on another thread for a while, keeping some
     * out, while this thread takes leak reports.
     *
     * @return the reports taken
     */
    private static List<LeakReport> reportWhileChurning(FixedSizePool pool, Heap heap) throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        List<Throwable> failures = new ArrayList<>();
        Thread churn = new Thread(() -> {
            List<MemorySegment> out = new ArrayList<>();
            try {
                for (int round = 0; !stop.get(); round++) {
                    out.add(pool.allocate());
                    // Up to 40 blocks out, five pages' worth: pages are added and given back as it goes.
                    if (out.size() > (round % 40)) {
                        pool.free(out.remove((round * 7) % out.size()));
                    }
                }
            } catch (Throwable e) {
                synchronized (failures) {
                    failures.add(e);
                }
            }
        });
        churn.start();
        List<LeakReport> reports = new ArrayList<>();
        long end = System.nanoTime() + 500_000_000L;
        try {
            while (System.nanoTime() < end) {
                reports.add(heap.leaks());
            }
        } finally {
            stop.set(true);
            churn.join();
        }
        assertEquals(List.of(), failures);
        // A page the pool is taking from the heap at that moment may be listed as the heap API's
        // own, a single plain block, until the pool holds it: nothing else is.
        assertTrue(reports.stream().flatMap(report -> report.sites().stream())
                        .allMatch(site -> site.poolPages() || site.heldBy().isEmpty() && site.blocks() == 1),
                "every site is a page of the pool");
        assertTrue(reports.stream().flatMap(report -> report.sites().stream()).anyMatch(site -> site.handedOutBlocks() > 0),
                "no report saw a block handed out");
        return reports;
    }

    /** @return {@code block}, having added the caller's line, where it was taken, to {@code lines} */
    private static MemorySegment takenAt(MemorySegment block, Set<Integer> lines) {
        lines.add(StackWalker.getInstance().walk(frames -> frames.skip(1).findFirst().orElseThrow()).getLineNumber());
        return block;
    }

    private static int single(Set<Integer> lines) {
        assertEquals(1, lines.size(), lines.toString());
        return lines.iterator().next();
    }

    private static LeakReport.Site poolSite(LeakReport leaks, String heldBy) {
        List<LeakReport.Site> sites = leaks.sites().stream().filter(site -> site.heldBy().equals(heldBy)).toList();
        assertEquals(1, sites.size(), leaks.text());
        return sites.getFirst();
    }

    /** Asserts a group's counts, and that its stack starts at {@code method}'s {@code line} of this test. */
    private static void assertGroup(LeakReport.HandedOut group, long blocks, long bytes, String method, int line,
            String text) {
        assertTrue(group.recorded(), text);
        assertEquals(blocks, group.blocks(), text);
        assertEquals(bytes, group.bytes(), text);
        StackTraceElement innermost = group.stack().getFirst();
        assertEquals(LeakedPoolBlocksTest.class.getName(), innermost.getClassName(), text);
        assertEquals(method, innermost.getMethodName(), text);
        assertEquals(TEST_FILE, innermost.getFileName(), text);
        assertEquals(line, innermost.getLineNumber(), text);
    }
}
