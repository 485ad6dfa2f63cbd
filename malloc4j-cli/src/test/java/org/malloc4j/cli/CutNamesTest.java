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
    void namesThatWouldCutAlikeShowFromWhereTheyDiffer() {
        List<String> given = List.of("  a-very-long-common-start-X-and-a-long-common-end",
                "  a-very-long-common-start-Y-and-a-long-common-end",
                "  a-very-long-common-start-YZ-and-a-long-common-end");
        CutNames names = new CutNames(given, 24, 2);
        assertEquals("  ~X-and-a-l~common-end", names.of(given.get(0)));
        assertEquals("  ~-and-a-lo~common-end", names.of(given.get(1)));
        assertEquals("  ~Z-and-a-l~common-end", names.of(given.get(2)));
    }

    /** Distinct names of one family (a shared start or end, short differences) stay distinct and fit the column. */
    @Property(tries = 300)
    void distinctNamesStayDistinctAndFit(@ForAll @Size(min = 2, max = 6) @UniqueElements
            List<@StringLength(min = 1, max = 3) String> middles, @ForAll @IntRange(min = 14, max = 30) int width) {
        String start = "  /tmp/some/long/folder/of/runs-";
        String end = "/traces/short1-bal.rep";
        Set<String> shown = new HashSet<>();
        List<String> given = middles.stream().map(middle -> start + middle + end).toList();
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
