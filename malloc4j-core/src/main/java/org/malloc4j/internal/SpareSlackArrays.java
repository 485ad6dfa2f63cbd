package org.malloc4j.internal;

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

    private byte[] bytes;
    private short[] shorts;
    private int[] ints;

    /** @return {@code current} if it holds {@code capacity} entries, else a kept or new array that does */
    byte[] bytes(byte[] current, int capacity) {
        if (current != null && current.length >= capacity) {
            return current;
        }
        byte[] kept = bytes;
        if (kept != null && kept.length >= capacity) {
            bytes = null;
            return kept;
        }
        return new byte[capacity];
    }

    /** As {@link #bytes}, for two-byte entries. */
    short[] shorts(short[] current, int capacity) {
        if (current != null && current.length >= capacity) {
            return current;
        }
        short[] kept = shorts;
        if (kept != null && kept.length >= capacity) {
            shorts = null;
            return kept;
        }
        return new short[capacity];
    }

    /** As {@link #bytes}, for four-byte entries. */
    int[] ints(int[] current, int capacity) {
        if (current != null && current.length >= capacity) {
            return current;
        }
        int[] kept = ints;
        if (kept != null && kept.length >= capacity) {
            ints = null;
            return kept;
        }
        return new int[capacity];
    }

    /** Keeps a page's array of all-free entries that its new layout does not use, if the longest so far. */
    void keep(byte[] array) {
        if (array != null && (bytes == null || array.length > bytes.length)) {
            bytes = array;
        }
    }

    void keep(short[] array) {
        if (array != null && (shorts == null || array.length > shorts.length)) {
            shorts = array;
        }
    }

    void keep(int[] array) {
        if (array != null && (ints == null || array.length > ints.length)) {
            ints = array;
        }
    }

    /** Lets every kept array go. */
    void clear() {
        bytes = null;
        shorts = null;
        ints = null;
    }

    /** @return the Java heap bytes of the arrays kept */
    long metadataBytes() {
        return (bytes == null ? 0 : ARRAY_HEADER_BYTES + bytes.length)
                + (shorts == null ? 0 : ARRAY_HEADER_BYTES + 2L * shorts.length)
                + (ints == null ? 0 : ARRAY_HEADER_BYTES + 4L * ints.length);
    }
}
