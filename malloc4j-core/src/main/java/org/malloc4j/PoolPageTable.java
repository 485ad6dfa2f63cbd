package org.malloc4j;

/**
 * Finds the {@link PoolPage} an address belongs to in O(1): an open-addressing hash table (linear
 * probing, at most half full) keyed by the page's base address. Every page of a pool starts at a
 * multiple of the pool's page alignment (a power of two at least as large as the page), so
 * {@code address & -pageAlignment} is the key of the only page that can hold {@code address}.
 * Not thread-safe; the pool guards it.
 */
final class PoolPageTable {
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;
    private static final int INITIAL_SLOTS = 16;

    private final int alignmentShift;
    private long[] keys = new long[INITIAL_SLOTS];
    private PoolPage[] pages = new PoolPage[INITIAL_SLOTS];
    private int size;

    /** @param pageAlignment the power of two every page base is a multiple of */
    PoolPageTable(long pageAlignment) {
        this.alignmentShift = Long.numberOfTrailingZeros(pageAlignment);
    }

    int size() {
        return size;
    }

    /** @return the page whose base is {@code address & -pageAlignment}, or null */
    PoolPage find(long address) {
        long key = (address >>> alignmentShift) << alignmentShift;
        int mask = keys.length - 1;
        for (int slot = slot(key, mask); ; slot = (slot + 1) & mask) {
            PoolPage page = pages[slot];
            if (page == null || keys[slot] == key) {
                return page;
            }
        }
    }

    void add(PoolPage page) {
        if (2 * (size + 1) > keys.length) {
            rehash(keys.length * 2);
        }
        insert(page);
        size++;
    }

    void remove(PoolPage page) {
        int mask = keys.length - 1;
        int slot = slot(page.base, mask);
        while (pages[slot] != page) {
            slot = (slot + 1) & mask;
        }
        // Backward-shift deletion: move later entries of the probe run into the hole.
        int hole = slot;
        for (int next = (hole + 1) & mask; pages[next] != null; next = (next + 1) & mask) {
            int home = slot(keys[next], mask);
            if (((next - home) & mask) >= ((next - hole) & mask)) {
                keys[hole] = keys[next];
                pages[hole] = pages[next];
                hole = next;
            }
        }
        keys[hole] = 0;
        pages[hole] = null;
        size--;
    }

    /** @return every page, in no particular order */
    PoolPage[] pages() {
        PoolPage[] all = new PoolPage[size];
        int count = 0;
        for (PoolPage page : pages) {
            if (page != null) {
                all[count++] = page;
            }
        }
        return all;
    }

    private void insert(PoolPage page) {
        int mask = keys.length - 1;
        int slot = slot(page.base, mask);
        while (pages[slot] != null) {
            slot = (slot + 1) & mask;
        }
        keys[slot] = page.base;
        pages[slot] = page;
    }

    private void rehash(int slots) {
        PoolPage[] old = pages;
        keys = new long[slots];
        pages = new PoolPage[slots];
        for (PoolPage page : old) {
            if (page != null) {
                insert(page);
            }
        }
    }

    private int slot(long key, int mask) {
        long hash = (key >>> alignmentShift) * GOLDEN;
        return (int) (hash ^ (hash >>> 32)) & mask;
    }
}
