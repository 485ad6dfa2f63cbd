package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * A leak report names what holds a leaked block: a pool, arena, scope or growable array left open
 * leaks its whole page, chunk or storage, which the program never allocated by that size itself,
 * so the holder is what tells it where to look.
 */
class LeakHolderTest {
    @Test
    void blocksOfHoldersLeftOpenAreReportedWithTheirHolder() {
        try (Heap heap = Heap.builder().name("holders").checkMode(CheckMode.FULL).leakReportAtClose(false).build()) {
            FixedSizePool pool = FixedSizePool.builder(heap, 16).name("nodes").build();
            pool.allocate();
            BumpArena arena = BumpArena.ofConfined(heap);
            arena.allocate(10, 8);
            NativeLongArray longs = new NativeLongArray(heap);
            longs.add(1);
            Arena scope = heap.newScope();
            scope.allocate(24);
            heap.malloc(40);

            LeakReport leaks = heap.leaks();
            Map<String, LeakReport.Site> byHolder = leaks.sites().stream()
                    .collect(Collectors.toMap(LeakReport.Site::heldBy, Function.identity()));
            assertEquals(Map.of("FixedSizePool 'nodes'", 1L, "a BumpArena", 1L, "a NativeLongArray", 1L,
                    "a heap scope", 1L, "", 1L), leaks.sites().stream()
                    .collect(Collectors.toMap(LeakReport.Site::heldBy, LeakReport.Site::blocks)), leaks.text());
            assertEquals(40, byHolder.get("").bytes());
            assertEquals("blocksOfHoldersLeftOpenAreReportedWithTheirHolder",
                    byHolder.get("a NativeLongArray").stack().get(0).getMethodName(), leaks.text());
            String text = leaks.text();
            for (LeakReport.Site site : leaks.sites()) {
                String heading = "Direct leak of " + site.bytes() + " byte(s) in 1 object(s)"
                        + (site.heldBy().isEmpty() ? ""
                                : " held by " + site.heldBy() + ", which was not closed (closing it frees them),")
                        + " allocated from:\n";
                assertTrue(text.contains(heading), heading + " in\n" + text);
            }

            // Closed, the holders free what they held: only the plain block is left.
            pool.close();
            arena.close();
            longs.close();
            scope.close();
            LeakReport left = heap.leaks();
            assertEquals(1, left.blocks());
            assertEquals("", left.sites().getFirst().heldBy());
            assertTrue(left.text().contains("Direct leak of 40 byte(s) in 1 object(s) allocated from:\n"), left.text());
        }
    }

    /** Two holders, even of one name, are two leaks: closing one frees only its own blocks. */
    @Test
    void blocksAllocatedAtOneLineForTwoHoldersAreTwoSites() {
        try (Heap heap = Heap.builder().name("two-pools").checkMode(CheckMode.FULL).leakReportAtClose(false).build()) {
            for (String name : new String[] {"a", "b", "pool", "pool"}) {
                FixedSizePool.builder(heap, 32).name(name).build().allocate();
            }
            for (int i = 0; i < 2; i++) {
                new NativeLongArray(heap).add(i);
            }
            LeakReport leaks = heap.leaks();
            assertEquals(6, leaks.sites().size(), leaks.text());
            assertEquals(leaks.sites().get(0).stack(), leaks.sites().get(1).stack());
            assertEquals(List.of("FixedSizePool 'a'", "FixedSizePool 'b'", "FixedSizePool 'pool'",
                    "FixedSizePool 'pool'", "a NativeLongArray", "a NativeLongArray"),
                    leaks.sites().stream().map(LeakReport.Site::heldBy).sorted().toList());
            assertTrue(leaks.sites().stream().allMatch(site -> site.blocks() == 1), leaks.text());
        }
    }
}
