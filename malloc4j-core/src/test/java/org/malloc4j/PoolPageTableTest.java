package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

class PoolPageTableTest {
    private static final long ALIGNMENT = 1 << 16;

    /**
     * Random adds and removes of pages from a small key range (so probe runs collide and wrap):
     * every address finds exactly the page whose base it rounds down to, as a {@link HashMap} says.
     */
    @Property(tries = 200)
    void findsWhatAHashMapFinds(@ForAll @Size(max = 200) List<@IntRange(min = 1, max = 64) Integer> keys) {
        PoolPageTable table = new PoolPageTable(ALIGNMENT);
        Map<Long, PoolPage> model = new HashMap<>();
        for (int key : keys) {
            long base = key * ALIGNMENT;
            PoolPage page = model.get(base);
            if (page == null) {
                page = new PoolPage(base, null, MemorySegment.NULL, 1, 16, 0);
                table.add(page);
                model.put(base, page);
            } else {
                table.remove(page);
                model.remove(base);
            }
            assertEquals(model.size(), table.size());
            for (int probe = 1; probe <= 64; probe++) {
                long probeBase = probe * ALIGNMENT;
                assertSame(model.get(probeBase), table.find(probeBase + probe * 3L));
            }
        }
        assertEquals(model.size(), table.pages().length);
        assertNull(table.find(0));
    }
}
