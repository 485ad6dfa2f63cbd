package org.malloc4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.constraints.StringLength;
import net.jqwik.api.constraints.UniqueElements;
import org.junit.jupiter.api.Test;

class CutNamesTest {
    @Test
    void aShortNameIsShownWholeAndALongOneLosesItsMiddle() {
        CutNames names = new CutNames(List.of("  short", "  allocation-trace-from-production-run-0001"), 20, 2);
        assertEquals("  short", names.of("  short"));
        assertEquals("  allocat~-run-0001", names.of("  allocation-trace-from-production-run-0001"));
    }

    @Test
    void namesThatWouldCutAlikeShowWhatLiesBetweenTheirSharedStartAndEnd() {
        List<String> grid = List.of("  /tmp/ct2/experiments-2024/A/x/run-data/traces/t.rep",
                "  /tmp/ct2/experiments-2024/A/y/run-data/traces/t.rep",
                "  /tmp/ct2/experiments-2024/B/x/run-data/traces/t.rep",
                "  /tmp/ct2/experiments-2024/B/y/run-data/traces/t.rep");
        CutNames names = new CutNames(grid, 30, 2);
        assertEquals(List.of("  ~A/x~/run-data/traces/t.rep", "  ~A/y~/run-data/traces/t.rep",
                "  ~B/x~/run-data/traces/t.rep", "  ~B/y~/run-data/traces/t.rep"),
                grid.stream().map(names::of).toList());
    }

    @Test
    void aNameThatStartsAnotherKeepsACharacterOfItsOwn() {
        List<String> given = List.of("  benchmark-alpha-set-common-tail", "  benchmark-bravo-set-common-tail",
                "  benchmark-alpha-set-common-tail-but-longer-by-a-lot-common-tail");
        CutNames names = new CutNames(given, 20, 2);
        Set<String> shown = new HashSet<>();
        for (String name : given) {
            String fitted = names.of(name);
            assertTrue(fitted.length() <= 19 && fitted.length() > 3, fitted);
            shown.add(fitted);
        }
        assertEquals(3, shown.size(), shown.toString());
        // The first is the second's start, and both cut to "  abc-~to-cut".
        List<String> prefixes = List.of("  abc-long-enough-to-cut", "  abc-long-enough-to-cut-long-enough-to-cut");
        CutNames cut = new CutNames(prefixes, 14, 2);
        assertEquals("  ~t", cut.of(prefixes.get(0)));
        assertTrue(cut.of(prefixes.get(1)).startsWith("  ~t-"), cut.of(prefixes.get(1)));
    }

    /** Distinct names of one family (a shared start or end, short differences) stay distinct and fit the column. */
    @Property(tries = 300)
    void distinctNamesStayDistinctAndFit(@ForAll @Size(min = 2, max = 6) @UniqueElements
            List<@StringLength(min = 1, max = 3) String> middles, @ForAll @IntRange(min = 14, max = 30) int width) {
        String start = "  /tmp/some/long/folder/of/runs-";
        String end = "/traces/short1-bal.rep";
        Set<String> shown = new HashSet<>();
        // Some differ in two places, far apart: a run's name and a variant's.
        List<String> given = middles.stream().map(middle -> start + middle + "/variant-" + middle.length() + end)
                .toList();
        CutNames names = new CutNames(given, width, 2);
        for (String name : given) {
            String fitted = names.of(name);
            assertTrue(fitted.length() <= width - 1, fitted);
            assertTrue(fitted.startsWith("  "), fitted);
            shown.add(fitted);
        }
        assertEquals(given.size(), shown.size(), shown.toString());
    }
}
