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
 *
 * <p>Only arrays of odd length ever serve a second layout: those of pages whose lone block changes class in place
 * ({@link Page#format}), which change class again and again. A page taken from the pool takes one
 * from here if there is one, else a new array of even length, which no later layout reuses, so
 * that a thread freeing another thread's block can claim it with one compare-and-set wherever the
 * array's length is even ({@link Page#claimFromOther}).
 */
final class SpareSlackArrays {
    private static final long ARRAY_HEADER_BYTES = 16;

    /** The array kept for each entry width: index 0 one-byte entries, 1 two-byte, 2 four-byte. */
    private final Object[] kept = new Object[3];
    /** The Java heap bytes of {@link #kept}'s arrays, kept as they change: every layout asks. */
    private long bytes;
    /** A bitmap of zeros made ahead for a layout in place ({@link #prepareBitmap}), or null. */
    private long[] bitmap;

    /** @return whether {@code array} may serve more than one layout: whether its length is odd */
    static boolean reusable(Object array) {
        return (Array.getLength(array) & 1) != 0;
    }

    /**
     * For a page taken from the pool: a kept array, or else a new one of even length, which serves
     * this layout only and is never kept.
     *
     * @param width bytes an entry: 1, 2 or 4
     * @return an array of {@code width} that holds {@code capacity} entries
     */
    Object forNewLayout(int width, int capacity) {
        Object spare = takeKept(width, capacity);
        return spare != null ? spare : allocate(width, capacity + (capacity & 1));
    }

    /**
     * For a page whose lone block changes class in place: {@code current} if it is {@linkplain #reusable
     * reusable} and holds {@code capacity} entries, else a kept or new reusable array of
     * {@code width} that does. A new one of one-byte entries holds as many as the page has 16-byte
     * blocks, so that it serves every later layout of its width: a block grown by realloc from 16 B
     * passes through four such layouts, and the next round's 16 B page takes it back.
     *
     * @param width bytes an entry: 1, 2 or 4 ({@code byte[]}, {@code short[]}, {@code int[]})
     * @param current the page's own array of that width, or null
     * @param spanBytes the page's span, in bytes
     */
    Object entries(int width, Object current, int capacity, long spanBytes) {
        if (current != null && reusable(current) && Array.getLength(current) >= capacity) {
            return current;
        }
        Object spare = takeKept(width, capacity);
        if (spare != null) {
            return spare;
        }
        return allocate(width, reusableLength(width, capacity, spanBytes));
    }

    /** @return the length of a new reusable array for {@link #entries} */
    private static int reusableLength(int width, int capacity, long spanBytes) {
        int length = width == 1 ? Math.max(capacity, (int) (spanBytes >>> 4)) : capacity;
        return length | 1;
    }

    /**
     * Makes ahead the array {@link #entries} would allocate for these arguments, if any, and keeps
     * it for that call: the longest of its width, since the kept one is shorter than it needs.
     */
    void prepare(int width, Object current, int capacity, long spanBytes) {
        if (current != null && reusable(current) && Array.getLength(current) >= capacity) {
            return;
        }
        Object spare = kept[slot(width)];
        if (spare == null || Array.getLength(spare) < capacity) {
            keep(width, allocate(width, reusableLength(width, capacity, spanBytes)));
        }
    }

    /** Makes ahead a bitmap of {@code words} zeros for {@link #takeBitmap}, unless one is kept already. */
    void prepareBitmap(int words) {
        if (bitmap == null || bitmap.length < words) {
            bitmap = new long[words];
        }
    }

    /** @return the bitmap made ahead if it holds {@code words}, all zeros (no longer kept then), else null */
    long[] takeBitmap(int words) {
        long[] made = bitmap;
        if (made == null || made.length < words) {
            return null;
        }
        bitmap = null;
        return made;
    }

    /** @return the array kept for {@code width} if it holds {@code capacity} entries (no longer kept then), else null */
    private Object takeKept(int width, int capacity) {
        int slot = slot(width);
        Object spare = kept[slot];
        if (spare != null && Array.getLength(spare) >= capacity) {
            kept[slot] = null;
            bytes -= bytesOf(spare, slot);
            return spare;
        }
        return null;
    }

    private static Object allocate(int width, int length) {
        return switch (width) {
            case 1 -> new byte[length];
            case 2 -> new short[length];
            default -> new int[length];
        };
    }

    /**
     * Keeps a page's array of all-free entries that its new layout does not use, if it is
     * {@linkplain #reusable reusable} and the longest of its width so far.
     *
     * @param width bytes an entry of {@code array}
     * @param array the array, or null for none
     */
    void keep(int width, Object array) {
        int slot = slot(width);
        Object old = kept[slot];
        if (array != null && reusable(array) && (old == null || Array.getLength(array) > Array.getLength(old))) {
            bytes += bytesOf(array, slot) - (old == null ? 0 : bytesOf(old, slot));
            kept[slot] = array;
        }
    }

    /** Lets every kept array go. */
    void clear() {
        java.util.Arrays.fill(kept, null);
        bytes = 0;
        bitmap = null;
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
