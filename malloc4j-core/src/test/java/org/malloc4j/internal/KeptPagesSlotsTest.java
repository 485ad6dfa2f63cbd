package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

/**
 * {@link KeptPages}' own bookkeeping, on page objects with no memory behind them: what it hands
 * back is what was kept, of the class asked for, once, and never more than {@link KeptPages#CAPACITY}
 * pages at a time, whatever the order of keeps and takes.
 */
class KeptPagesSlotsTest {
    private static final long PAGE_BYTES = 64 * 1024;
    /** Keep a page of class {@code op % SMALL}; take one of that class; take any. */
    private static final int KEEP = 0;
    private static final int TAKE = 1;
    private static final int TAKE_ANY = 2;

    private static int pageNumber;

    @Property(tries = 300)
    void handsBackOnlyWhatWasKeptOfTheClassAskedForAndAtMostCapacity(
            @ForAll @Size(max = 400) List<@IntRange(min = 0, max = 3 * SizeClasses.FIRST_MEDIUM - 1) Integer> ops,
            @ForAll @IntRange(min = 1, max = SizeClasses.FIRST_MEDIUM) int classes) {
        KeptPages kept = new KeptPages();
        List<Page> model = new ArrayList<>();
        Set<Page> handedBack = new HashSet<>();
        for (int op : ops) {
            int sizeClass = (op % SizeClasses.FIRST_MEDIUM) % classes;
            switch (op / SizeClasses.FIRST_MEDIUM) {
                case KEEP -> {
                    Page page = page(sizeClass);
                    Page replaced = kept.keep(page);
                    if (model.size() < KeptPages.CAPACITY) {
                        assertNull(replaced, "a page given back with room to keep");
                    } else {
                        assertNotNull(replaced, "more than " + KeptPages.CAPACITY + " pages kept");
                        assertTrue(model.remove(replaced), "gave back a page it did not keep");
                        assertTrue(handedBack.add(replaced));
                    }
                    model.add(page);
                }
                case TAKE -> {
                    Page page = kept.take(sizeClass);
                    boolean modelHas = model.stream().anyMatch(p -> p.sizeClass == sizeClass);
                    assertEquals(modelHas, page != null, "a page of class " + sizeClass);
                    if (page != null) {
                        assertEquals(sizeClass, page.sizeClass);
                        assertTrue(model.remove(page), "took a page it did not keep");
                        assertTrue(handedBack.add(page));
                    }
                }
                default -> {
                    Page page = kept.takeAny();
                    assertEquals(!model.isEmpty(), page != null);
                    if (page != null) {
                        assertTrue(model.remove(page), "took a page it did not keep");
                        assertTrue(handedBack.add(page));
                    }
                }
            }
            assertEquals(model.isEmpty(), kept.isEmpty());
        }
        while (!model.isEmpty()) {
            Page page = kept.takeAny();
            assertNotNull(page, model.size() + " kept pages lost");
            assertTrue(model.remove(page));
        }
        assertNull(kept.takeAny());
        assertTrue(kept.isEmpty());
    }

    @Test
    void aFullRingGivesBackItsPagesOldestSlotFirst() {
        KeptPages kept = new KeptPages();
        List<Page> pages = new ArrayList<>();
        for (int i = 0; i < KeptPages.CAPACITY; i++) {
            pages.add(page(i % 4));
            assertNull(kept.keep(pages.get(i)));
        }
        for (int i = 0; i < KeptPages.CAPACITY; i++) {
            assertEquals(pages.get(i), kept.keep(page(5)), "replaced at keep " + i);
        }
        for (int sizeClass = 0; sizeClass < 4; sizeClass++) {
            assertNull(kept.take(sizeClass), "a replaced page of class " + sizeClass + " still kept");
        }
    }

    @Test
    void pagesKeptUntilThePurgerLooksOrNoneIsKeptShareOneClockRead() {
        KeptPages kept = new KeptPages();
        assertTrue(kept.needsClock());
        long first = kept.readClock();
        assertFalse(kept.needsClock());
        assertEquals(first, kept.stamp());
        Page a = keptAt(kept, 1, kept.stamp());
        Page b = keptAt(kept, 2, kept.stamp());

        kept.forgetClock();
        assertTrue(kept.needsClock(), "a page kept after the purger looked reuses an older read");
        long second = kept.readClock();
        Page c = keptAt(kept, 3, second + 1_000_000);
        assertNull(kept.takeKeptBefore(first), "a page taken before it was kept");
        Set<Page> due = new HashSet<>();
        due.add(kept.takeKeptBefore(first + 1));
        due.add(kept.takeKeptBefore(first + 1));
        assertEquals(Set.of(a, b), due);
        assertNull(kept.takeKeptBefore(first + 1), "a page kept later taken with the earlier ones");
        assertFalse(kept.needsClock());
        assertEquals(c, kept.take(3));
        assertTrue(kept.needsClock(), "a page kept with none kept reuses an older read");
    }

    private static Page keptAt(KeptPages kept, int sizeClass, long stamp) {
        Page page = page(sizeClass);
        page.releasedAtNanos = stamp;
        assertNull(kept.keep(page));
        return page;
    }

    private static Page page(int sizeClass) {
        Page page = new Page(null, 0, 1, (1L << 32) + pageNumber++ * PAGE_BYTES, PAGE_BYTES);
        page.sizeClass = sizeClass;
        return page;
    }
}
