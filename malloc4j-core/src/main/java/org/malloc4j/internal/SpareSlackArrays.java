package org.malloc4j.internal;

import java.lang.reflect.Array;

/**
 * The slack arrays that pages of one heap let go when a new layout needed entries of another width,
 * kept for the next layout of their width: at most one array of each width, the longest, so the
 * Java heap they hold stays under 5 KiB a heap (a small page's 4,096 one-byte entries, its 256
 * two-byte ones, a medium page's few four-byte ones), however many pages change class.
 *
 * <p>Laying out a page takes an array from here before it allocates one: a block grown by realloc
 * from 16 B to 1 MiB changes its page's class nine times and, moving on to a medium page, leaves
 * the next round to lay out a page for 16 B again, 4 KiB of entries allocated anew each round
 * otherwise (0.7-2.3 us a layout, most of it the Java heap's first touch of that memory here).
 *
 * <p>Every array here has all its entries free (0): a page lets an array go only at a new layout,
 * when all its blocks are free. Under the span lock, as every layout is.
 */
final class SpareSlackArrays {
    private static final long ARRAY_HEADER_BYTES = 16;

    /** The array kept for each entry width: index 0 one-byte entries, 1 two-byte, 2 four-byte. */
    private final Object[] kept = new Object[3];
    /** The Java heap bytes of {@link #kept}'s arrays, kept as they change: every layout asks. */
    private long bytes;

    /**
     * @param width bytes an entry: 1, 2 or 4 ({@code byte[]}, {@code short[]}, {@code int[]})
     * @param current the page's own array of that width, or null
     * @return {@code current} if it holds {@code capacity} entries, else a kept or new array of
     *     {@code width} that does
     */
    Object entries(int width, Object current, int capacity) {
        if (current != null && Array.getLength(current) >= capacity) {
            return current;
        }
        int slot = slot(width);
        Object spare = kept[slot];
        if (spare != null && Array.getLength(spare) >= capacity) {
            kept[slot] = null;
            bytes -= bytesOf(spare, slot);
            return spare;
        }
        return switch (width) {
            case 1 -> new byte[capacity];
            case 2 -> new short[capacity];
            default -> new int[capacity];
        };
    }

    /**
     * Keeps a page's array of all-free entries that its new layout does not use, if it is the
     * longest of its width so far.
     *
     * @param width bytes an entry of {@code array}
     * @param array the array, or null for none
     */
    void keep(int width, Object array) {
        int slot = slot(width);
        Object old = kept[slot];
        if (array != null && (old == null || Array.getLength(array) > Array.getLength(old))) {
            bytes += bytesOf(array, slot) - (old == null ? 0 : bytesOf(old, slot));
            kept[slot] = array;
        }
    }

    /** Lets every kept array go. */
    void clear() {
        java.util.Arrays.fill(kept, null);
        bytes = 0;
    }

    /** @return the Java heap bytes of the arrays kept */
    long metadataBytes() {
        return bytes;
    }

    private static long bytesOf(Object array, int slot) {
        return ARRAY_HEADER_BYTES + ((long) Array.getLength(array) << slot);
    }

    private static int slot(int width) {
        return width == 1 ? 0 : width == 2 ? 1 : 2;
    }
}
