package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
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

    /**
     * Holders are numbered by when they are made, process-wide: a site says its newest, so a test
     * harness can tell holders made since a moment ({@link LeakReport#holdersMade()}) from older
     * ones that only grew since.
     */
    @Test
    void aSiteNamesTheNewestOfItsHoldersInTheOrderHoldersAreMade() {
        try (Heap heap = Heap.builder().name("numbered").checkMode(CheckMode.FULL).leakReportAtClose(false).build()) {
            long before = LeakReport.holdersMade();
            FixedSizePool old = FixedSizePool.builder(heap, 16).name("old").build();
            long mark = LeakReport.holdersMade();
            NativeLongArray[] arrays = new NativeLongArray[3];
            for (int i = 0; i < arrays.length; i++) {
                arrays[i] = new NativeLongArray(heap);
                arrays[i].add(i);
            }
            old.allocate();
            heap.malloc(8);

            Map<String, LeakReport.Site> byHolder = heap.leaks().sites().stream()
                    .collect(Collectors.toMap(LeakReport.Site::heldBy, Function.identity()));
            long oldNumber = byHolder.get("FixedSizePool 'old'").newestHolder();
            assertTrue(oldNumber > before && oldNumber <= mark, "the pool made first: " + oldNumber
                    + " not in (" + before + ", " + mark + "]");
            assertTrue(byHolder.get("a NativeLongArray").newestHolder() > mark,
                    "three arrays made after the mark: " + byHolder.get("a NativeLongArray"));
            assertEquals(0, byHolder.get("").newestHolder(), "a plain block has no holder");
            long now = LeakReport.holdersMade();
            assertTrue(now >= byHolder.get("a NativeLongArray").newestHolder() && now > mark, "mark " + now);
            NativeLongArray later = new NativeLongArray(heap);
            later.add(7);
            long newestArray = heap.leaks().sites().stream().filter(site -> site.heldBy().equals("a NativeLongArray"))
                    .mapToLong(LeakReport.Site::newestHolder).max().orElse(0);
            assertTrue(newestArray > now, "an array made after the last mark " + now + ": " + newestArray);
            later.close();
            for (NativeLongArray array : arrays) {
                array.close();
            }
            old.close();
        }
    }

    /**
     * Holders of one name whose blocks were allocated at one place (arrays made in a loop) are one
     * leak, as LeakSanitizer groups by stack, that counts its holders: closing one frees only its
     * own blocks. Holders of other names at that place are leaks of their own.
     */
    @Test
    void holdersOfOneNameMadeAtOnePlaceAreOneLeakThatCountsThem() {
        try (Heap heap = Heap.builder().name("loops").checkMode(CheckMode.FULL).leakReportAtClose(false).build()) {
            for (String name : new String[] {"a", "b", "pool", "pool"}) {
                FixedSizePool.builder(heap, 32).name(name).build().allocate();
            }
            for (int i = 0; i < 10_000; i++) {
                new NativeLongArray(heap).add(i);
            }
            LeakReport leaks = heap.leaks();
            Map<String, LeakReport.Site> byHolder = leaks.sites().stream()
                    .collect(Collectors.toMap(LeakReport.Site::heldBy, Function.identity()));
            assertEquals(java.util.Set.of("FixedSizePool 'a'", "FixedSizePool 'b'", "FixedSizePool 'pool'",
                    "a NativeLongArray"), byHolder.keySet(), leaks.text());
            assertEquals(1, byHolder.get("FixedSizePool 'a'").holders());
            assertEquals(2, byHolder.get("FixedSizePool 'pool'").holders());
            assertEquals(2, byHolder.get("FixedSizePool 'pool'").blocks());
            assertEquals(10_000, byHolder.get("a NativeLongArray").holders());
            assertEquals(10_000, byHolder.get("a NativeLongArray").blocks());
            assertTrue(leaks.text().contains("Direct leak of 640000 byte(s) in 10000 object(s) held by 10000 holders"
                    + " named a NativeLongArray, none of them closed (closing them frees them), allocated from:\n"),
                    leaks.text());
            assertTrue(leaks.text().contains(" held by FixedSizePool 'a', which was not closed"), leaks.text());
            // Four entries of up to 24 frames each; one entry a holder would be over a megabyte.
            assertTrue(leaks.text().length() < 100_000, "one entry a group, not one a holder: " + leaks.text().length());
        }
    }
}
